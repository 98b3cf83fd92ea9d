import LeadCore

/// `leadd [--config FILE] [--demo] [--version]`, parsed by hand: three flags do not justify a reflection-based
/// parser in the daemon, whose resident memory on a kiosk board counts (swift-argument-parser's reflection
/// touched several MB of the static binary at start-up). `leadctl` keeps swift-argument-parser.
public struct LeaddCommand: Sendable {
    public var config: String = LeaddConfig.defaultPath
    public var demo = false

    public static let usage = """
        USAGE: leadd [--config <FILE>] [--demo] [--version]

        The leadd kiosk daemon: the lead form on a terminal, committed to SQLite before "thank you".

        OPTIONS:
          --config <FILE>   The config file (default: \(LeaddConfig.defaultPath)).
          --demo            The embedded default config: the form in this terminal, data in ./leadd-demo/,
                            Ctrl-C quits.
          --version         Show the version.
          -h, --help        Show help information.

        Exit codes: 0 success, 1 failure, 2 usage, 78 configuration error.
        """

    public init() {}

    /// Parses the arguments; `--help`, `--version` and usage errors come back as the exit status to use
    /// (after printing what they print).
    public static func parseOrExit(_ arguments: [String]) -> Result<LeaddCommand, ExitStatus> {
        var command = LeaddCommand()
        var i = 0
        func fail(_ message: String) -> Result<LeaddCommand, ExitStatus> {
            writeStandardError("Error: \(message)\nUsage: leadd [--config <FILE>] [--demo] [--version]\n")
            return .failure(ExitStatus(code: 2))
        }
        while i < arguments.count {
            let arg = arguments[i]
            switch arg {
            case "-h", "--help":
                print(usage)
                return .failure(ExitStatus(code: 0))
            case "--version":
                print(Daemon.version)
                return .failure(ExitStatus(code: 0))
            case "--demo":
                command.demo = true
            case "--config":
                guard i + 1 < arguments.count else { return fail("missing value for '--config <FILE>'") }
                i += 1
                command.config = arguments[i]
            default:
                if arg.hasPrefix("--config=") {
                    command.config = String(arg.dropFirst("--config=".count))
                } else {
                    return fail("unexpected argument '\(arg)'")
                }
            }
            i += 1
        }
        return .success(command)
    }
}

/// The exit status `main` should use when parsing ended the run (help, version or a usage error).
public struct ExitStatus: Error {
    public let code: Int32
}
