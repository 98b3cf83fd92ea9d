public import ArgumentParser
import LeadCore
import LeadStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `leadctl`: the staff and operator command line. Works on the database directly; no daemon or network needed.
public struct LeadCtl: ParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "leadctl",
        abstract: "Inspect, qualify and export the leads of a leadd kiosk.",
        discussion: """
            Exit codes: 0 success, 1 failure, 2 usage, 78 configuration error.
            Times are shown in local time and stored in UTC.
            """,
        version: LeadCtl.version,
        subcommands: [
            Status.self, List.self, Show.self, Add.self, Rate.self, Note.self, Export.self, Import.self,
            Stats.self, Attendees.self, Sync.self, Retry.self, Purge.self, Backup.self, Doctor.self, ConfigCommand.self,
        ]
    )

    @Option(name: .long, help: ArgumentHelp("The config file.", valueName: "FILE"))
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Open this database directly, with the embedded default config.", valueName: "FILE")
    )
    var db: String?

    public init() {}

    public func validate() throws {
        if config != nil && db != nil { throw ValidationError("give --config or --db, not both") }
    }

    /// Parses `arguments`, runs the command, and returns DESIGN's exit code (0, 1, 2 or 78), printing any
    /// error to standard error. `environment` supplies `STATE_DIRECTORY` and `CREDENTIALS_DIRECTORY` (systemd); nothing else is read.
    public static func run(arguments: [String], environment: [String: String]) -> Int32 {
        Context.environment = environment
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            return 0
        } catch let error as CLIError {
            printError("leadctl: \(error.message)")
            return error.exitCode
        } catch let error as StoreError {
            printError("leadctl: \(error.message)")
            return 1
        } catch let error as ConfigError {
            printError("leadctl: \(error)")
            return 78
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
                return 0
            }
            if !message.isEmpty { printError(message) }
            // ArgumentParser says 64 (EX_USAGE) for usage errors; DESIGN says 2.
            return code == .validationFailure ? 2 : code.rawValue
        }
    }
}

/// Commands reach the root's `--config` / `--db` through this.
protocol LeadCtlSubcommand: ParsableCommand {
    var root: LeadCtl { get }
}

extension LeadCtlSubcommand {
    /// Loads the config (exit 78 on error) and opens the store read-write, registering configured sinks.
    /// - Parameter create: Create the database when there is none (`add`, `import`, `attendees import`); the
    ///   other commands say there is none instead of leaving an empty one behind.
    func open(readOnly: Bool = false, create: Bool = false) throws -> Context {
        try Context(root: root, readOnly: readOnly, create: create)
    }
}
