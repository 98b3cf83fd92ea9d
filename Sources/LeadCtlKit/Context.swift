import LeadCore
import LeadStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The config and the open store a command works on.
struct Context {
    /// Set once by `LeadCtl.run` from the process environment; components never read the environment themselves.
    nonisolated(unsafe) static var environment: [String: String] = [:]

    let config: LeaddConfig
    let configPath: String?
    let databasePath: String
    let store: LeadStore

    var form: FormSpec { config.form }
    var fieldNames: [String] { config.form.fields.map(\.name) }

    init(root: LeadCtl, readOnly: Bool, create: Bool = false) throws {
        (config, configPath, databasePath) = try Context.resolve(root: root)
        if !create && access(databasePath, F_OK) != 0 {
            throw CLIError.failure(Context.noDatabase(databasePath))
        }
        do {
            store = try LeadStore(path: databasePath, readOnly: readOnly)
        } catch let e as StoreError where e.code == .cantOpen && readOnly {
            throw CLIError.failure(Context.noDatabase(databasePath))
        }
        if !readOnly { try store.ensureSinks(config.sinks.map(\.name)) }
    }

    static func noDatabase(_ path: String) -> String {
        "\(path): no database here yet — leadd creates it when it starts; leadctl add and leadctl import create it too"
    }

    static func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "kiosk" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The config to use and where the database is: `--db FILE` (embedded default config), else the config file
    /// and `$STATE_DIRECTORY`, `[Kiosk] DataDirectory` or `/var/lib/leadd`.
    static func resolve(root: LeadCtl) throws -> (LeaddConfig, String?, String) {
        if let db = root.db {
            return (LeaddConfig.embeddedDefault(hostname: hostname()), nil, db)
        }
        let path = root.config ?? LeaddConfig.defaultPath
        let config: LeaddConfig
        do {
            config = try LeaddConfig.load(path: path, hostname: hostname())
        } catch {
            if root.config == nil && access(path, F_OK) != 0 {
                throw CLIError.config("\(error) — give --config FILE, or --db FILE to open a database directly")
            }
            throw CLIError.config(error.description)
        }
        let dir =
            environment["STATE_DIRECTORY"].flatMap { $0.split(separator: ":").first.map(String.init) }
            ?? config.kiosk.dataDirectory ?? "/var/lib/leadd"
        return (config, path, dir + "/leads.sqlite3")
    }
}
