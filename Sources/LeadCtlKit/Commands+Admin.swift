import ArgumentParser
import LeadCore
import LeadStore
import LeadSync

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct Doctor: LeadCtlSubcommand {
    static let configuration = CommandConfiguration(
        abstract: "Integrity check, config, disk space and sinks. Never writes to the database."
    )
    @ParentCommand var root: LeadCtl
    @Flag(help: "One JSON document on stdout.") var json = false

    struct Check {
        var name: String
        var ok: Bool
        var detail: String
    }

    func run() throws {
        let (config, configPath, dbPath) = try Context.resolve(root: root)
        var checks: [Check] = []
        checks.append(
            Check(
                name: "config",
                ok: true,
                detail: configPath.map {
                    "\($0): event \(config.kiosk.event), kiosk \(config.kiosk.id), "
                        + "\(config.form.fields.count) fields, \(config.sinks.count) sinks"
                }
                    ?? "embedded default (--db)"
            )
        )
        var store: LeadStore?
        do {
            let s = try LeadStore(path: dbPath, readOnly: true)
            store = s
            let problems = try s.integrityProblems()
            if problems.isEmpty {
                let status = try s.status()
                checks.append(
                    Check(
                        name: "database",
                        ok: true,
                        detail: "\(dbPath): integrity ok, schema \(try s.schemaVersion()), \(status.leads) leads"
                    )
                )
            } else {
                checks.append(
                    Check(
                        name: "database",
                        ok: false,
                        detail: "\(dbPath): integrity check failed: " + problems.prefix(5).joined(separator: "; ")
                            + " — copy the file aside (leadctl backup) before anything else; leadd will not overwrite it"
                    )
                )
            }
        } catch let e as StoreError {
            let advice: String
            switch e.code {
            case .foreignDatabase, .notADatabase:
                advice = " — this is not leadd's database; point [Kiosk] DataDirectory elsewhere, nothing was changed"
            case .corrupt:
                advice = " — keep the file for recovery; nothing was changed"
            default: advice = ""
            }
            checks.append(Check(name: "database", ok: false, detail: e.message + advice))
        }
        let dir = dbPath.contains("/") ? String(dbPath[..<dbPath.lastIndex(of: "/")!]) : "."
        var fs = statvfs()
        if statvfs(dir.isEmpty ? "/" : dir, &fs) == 0 {
            let free = Int64(fs.f_bavail) * Int64(fs.f_frsize)
            let mb = free / 1_048_576
            checks.append(
                Check(
                    name: "disk",
                    ok: mb >= 100,
                    detail: "\(mb) MiB free in \(dir)" + (mb < 100 ? " — under 100 MiB: export and free space" : "")
                )
            )
        } else {
            checks.append(Check(name: "disk", ok: false, detail: "\(dir): \(String(cString: strerror(errno)))"))
        }
        if config.sinks.isEmpty {
            checks.append(Check(name: "sinks", ok: true, detail: "none configured (leads are exported by hand)"))
        }
        let sinkStatus = (try? store?.status().sinks) ?? []
        for sink in config.sinks {
            let s = sinkStatus.first { $0.name == sink.name }
            let queue =
                s.map { "\($0.pending) pending, \($0.synced) synced, \($0.rejected) rejected, \($0.dead) dead" }
                ?? "not registered yet"
            let probe = Doctor.probe(sink, config: config, databasePath: dbPath)
            checks.append(
                Check(
                    name: "sink \(sink.name)",
                    ok: s?.state != "paused" && probe.ok,
                    detail: "\(sink.type.rawValue): \(queue); \(probe.detail)"
                )
            )
        }
        let ok = checks.allSatisfy(\.ok)
        if json {
            var w = JSONWriter()
            w.beginObject()
            w.member("ok", ok)
            w.key("checks")
            w.beginArray()
            for c in checks {
                w.beginObject()
                w.member("name", c.name)
                w.member("ok", c.ok)
                w.member("detail", c.detail)
                w.endObject()
            }
            w.endArray()
            w.endObject()
            print(String(decoding: w.bytes, as: UTF8.self))
        } else {
            for c in checks { print("\(c.ok ? "ok  " : "FAIL") \(safe(c.name)): \(safe(c.detail))") }
        }
        if !ok { throw ExitCode(1) }
    }
}

extension Doctor {
    /// A CRM sink makes one harmless authenticated call (HubSpot: read one contact; Bitrix24: `crm.lead.fields`;
    /// amoCRM: the account) to prove the credential works; other sinks are not probed.
    static func probe(_ sink: LeaddConfig.Sink, config: LeaddConfig, databasePath: String) -> (ok: Bool, detail: String)
    {
        guard [.hubspot, .bitrix24, .amocrm].contains(sink.type) else {
            return (true, "reachability is not probed for this type")
        }
        let environment = SyncEnvironment(
            databasePath: databasePath,
            credentialsDirectory: Context.environment["CREDENTIALS_DIRECTORY"],
            appVersion: LeadCtl.version
        )
        do {
            let made = try SyncSetup.makeSink(sink, kiosk: config, environment: environment, cancel: CancellationFlag())
            guard let crm = made as? CRMSink else { return (true, "reachability is not probed for this type") }
            if let problem = crm.probe() { return (false, "credential check failed: \(problem)") }
            return (true, "credential works (one authenticated call answered)")
        } catch {
            return (false, "cannot set up: \(error)")
        }
    }
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Configuration tools.",
        subcommands: [Check.self, Example.self]
    )
    @ParentCommand var root: LeadCtl

    struct Example: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the commented default config (the packaged /etc/leadd/leadd.conf)."
        )

        func run() { print(LeaddConfig.exampleText) }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the config and its drop-ins; errors name file, line and key (exit 78)."
        )
        @ParentCommand var group: ConfigCommand

        func run() throws {
            let (config, path, db) = try Context.resolve(root: group.root)
            let files = config.files.isEmpty ? [path ?? "embedded default"] : config.files
            print("ok: \(files.joined(separator: ", "))")
            print(
                "  event \(safe(config.kiosk.event)), kiosk \(safe(config.kiosk.id)), language \(config.kiosk.language.rawValue)"
                    + (config.kiosk.country.map { ", country \($0)" } ?? "")
            )
            print(
                "  form: \(config.form.fields.map(\.name).joined(separator: ", ")), consent "
                    + (config.form.consentRequired ? "required" : "optional")
            )
            print(
                "  sinks: "
                    + (config.sinks.isEmpty
                        ? "none" : config.sinks.map { "\($0.name) (\($0.type.rawValue))" }.joined(separator: ", "))
            )
            print("  database: \(db)")
        }
    }
}
