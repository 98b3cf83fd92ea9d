import LeaddKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// The environment is read here, once; the library never reads it.
func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

switch LeaddCommand.parseOrExit(Array(CommandLine.arguments.dropFirst())) {
case .failure(let status):
    exit(status.code)
case .success(let command):
    let options = DaemonOptions(
        configPath: command.config,
        demo: command.demo,
        stateDirectory: env("STATE_DIRECTORY"),
        credentialsDirectory: env("CREDENTIALS_DIRECTORY"),
        journalStream: env("JOURNAL_STREAM"),
        term: env("TERM")
    )
    exit(await Daemon.run(options: options))
}
