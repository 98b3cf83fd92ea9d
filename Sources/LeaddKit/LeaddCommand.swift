public import ArgumentParser
import LeadCore

/// `leadd [--config FILE] [--demo] [--version]`.
public struct LeaddCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "leadd",
        abstract: "The leadd kiosk daemon: the lead form on a terminal, committed to SQLite before \"thank you\".",
        discussion: "Exit codes: 0 success, 1 failure, 2 usage, 78 configuration error.",
        version: Daemon.version)

    @Option(help: ArgumentHelp("The config file.", valueName: "FILE"))
    public var config: String = LeaddConfig.defaultPath

    @Flag(help: "The embedded default config: the form in this terminal, data in ./leadd-demo/, Ctrl-C quits.")
    public var demo = false

    public init() {}

    /// Parses the arguments; on a usage error or --help/--version prints and returns the exit code to use.
    public static func parseOrExit(_ arguments: [String]) -> Result<LeaddCommand, ExitStatus> {
        do {
            return .success(try parse(arguments))
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                print(message)
                return .failure(ExitStatus(code: 0))
            }
            writeStandardError(message + "\n")
            return .failure(ExitStatus(code: code == .validationFailure ? 2 : code.rawValue))
        }
    }
}

/// The exit status `main` should use when parsing ended the run (help, version or a usage error).
public struct ExitStatus: Error {
    public let code: Int32
}
