import LeadCapture
public import LeadCore
import LeadStore
import LeadSync
import Logging
import ServiceLifecycle
import Systemd
import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What `main` hands the daemon: flags and the few environment variables it honours (read once, in `main`).
public struct DaemonOptions: Sendable {
    public var configPath: String
    public var demo: Bool
    /// `STATE_DIRECTORY` (systemd `StateDirectory=`).
    public var stateDirectory: String?
    /// `CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`).
    public var credentialsDirectory: String?
    /// `JOURNAL_STREAM`: when it names our stderr, logs go to journald as structured entries.
    public var journalStream: String?
    /// `TERM`, for the form.
    public var term: String?

    public init(
        configPath: String = LeaddConfig.defaultPath,
        demo: Bool = false,
        stateDirectory: String? = nil,
        credentialsDirectory: String? = nil,
        journalStream: String? = nil,
        term: String? = nil
    ) {
        self.configPath = configPath
        self.demo = demo
        self.stateDirectory = stateDirectory
        self.credentialsDirectory = credentialsDirectory
        self.journalStream = journalStream
        self.term = term
    }
}

/// A failure before the services start: configuration (exit 78) or anything else (exit 1).
public struct DaemonError: Error, CustomStringConvertible {
    public let message: String
    public let exitCode: Int32
    public var description: String { message }
}

/// The daemon: config, database, and the services under one `ServiceGroup`.
public enum Daemon {
    public static let version = "0.1.0"

    /// The config `--demo` runs on: the embedded default form in this terminal, data in `./leadd-demo/`,
    /// not in kiosk mode so Ctrl-C quits.
    public static func demoConfig(hostname: String, directory: String) -> LeaddConfig {
        var config = LeaddConfig.embeddedDefault(hostname: hostname)
        config.kiosk.dataDirectory = directory
        config.terminal.tty = LeaddConfig.Terminal.ownTerminal
        config.terminal.kiosk = false
        return config
    }

    static func hostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "kiosk" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Loads the config the options name: the embedded demo config, or the file (exit 78 on error).
    public static func loadConfig(_ options: DaemonOptions) throws(DaemonError) -> LeaddConfig {
        if options.demo {
            var cwd = [CChar](repeating: 0, count: 4096)
            let dir =
                getcwd(&cwd, cwd.count) != nil
                ? String(decoding: cwd.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/leadd-demo"
                : "leadd-demo"
            return demoConfig(hostname: hostname(), directory: dir)
        }
        do {
            return try LeaddConfig.load(path: options.configPath, hostname: hostname())
        } catch {
            throw DaemonError(message: "\(error)", exitCode: 78)
        }
    }

    /// `$STATE_DIRECTORY`, else `[Kiosk] DataDirectory`, else `/var/lib/leadd` — then `leads.sqlite3` in it.
    public static func databasePath(config: LeaddConfig, options: DaemonOptions) -> String {
        let dir =
            (options.demo ? nil : options.stateDirectory?.split(separator: ":").first.map(String.init))
            ?? config.kiosk.dataDirectory ?? "/var/lib/leadd"
        return dir + "/leads.sqlite3"
    }

    /// Reads a systemd credential: `$CREDENTIALS_DIRECTORY/NAME`, trailing newline removed.
    static func readCredential(_ name: String, directory: String?) throws(DaemonError) -> String {
        guard let directory else {
            throw DaemonError(
                message: "credential \(name): CREDENTIALS_DIRECTORY is not set (use LoadCredential= in the unit)",
                exitCode: 78
            )
        }
        let path = directory + "/" + name
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw DaemonError(message: "credential \(name): \(String(cString: strerror(errno)))", exitCode: 78)
        }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buf, buf.count)
        guard n >= 0 else {
            throw DaemonError(message: "credential \(name): \(String(cString: strerror(errno)))", exitCode: 78)
        }
        var text = String(decoding: buf[..<n], as: UTF8.self)
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        return text
    }

    /// "Ready — 42 leads today, 3 waiting to sync".
    static func statusLine(_ store: LeadStore) -> String {
        guard let s = try? store.quickStatus() else { return "Ready" }
        let waiting = s.sinks == 0 ? "no sinks configured" : "\(s.waiting) waiting to sync"
        return "Ready — \(s.leadsToday) leads today, \(waiting)"
    }

    /// Runs the daemon until SIGTERM/SIGINT (or the form's quit outside kiosk mode). Returns the exit code.
    public static func run(options: DaemonOptions) async -> Int32 {
        let config: LeaddConfig
        do { config = try loadConfig(options) } catch {
            writeStandardError("leadd: \(error.message)\n")
            return error.exitCode
        }
        let dbPath = databasePath(config: config, options: options)
        let notifier = SystemdNotifier()

        // The database is opened and migrated before any service starts (and before logging, whose file may
        // live in the data directory the store creates).
        let store: LeadStore
        do {
            store = try LeadStore(path: dbPath)
            try store.ensureSinks(config.sinks.map(\.name))
        } catch {
            writeStandardError("leadd: cannot open the lead database: \(error)\n")
            return 1
        }
        let logger = makeLogger(config: config, options: options, dbPath: dbPath)
        var staffPIN = config.staff.pin
        if let name = config.staff.pinCredential {
            do { staffPIN = try readCredential(name, directory: options.credentialsDirectory) } catch {
                writeStandardError("leadd: \(error.message)\n")
                return error.exitCode
            }
        }
        let initialStatus = statusLine(store)
        let watchdog = notifier.watchdogInterval()
        logger.info(
            "leadd starting",
            metadata: [
                "version": "\(version)", "db.path": "\(dbPath)", "event": "\(config.kiosk.event)",
                "kiosk": "\(config.kiosk.id)", "tty": "\(config.terminal.tty)",
            ]
        )

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let syncTrigger = SyncTrigger()
        // Scanners with Consent=form hand their scans to the form (the config guarantees there is one).
        var handoff: ScanHandoff?
        if config.terminal.hasForm, config.serials.contains(where: { $0.consent == .form }) {
            do { handoff = try ScanHandoff() } catch {
                writeStandardError("leadd: \(error)\n")
                return 1
            }
        }
        if config.terminal.hasForm {
            let statusPath = dbPath
            let form = FormService(
                config: config,
                databasePath: dbPath,
                logger: logger,
                term: options.term,
                staffPIN: staffPIN,
                onReady: {
                    notifier.ready(status: initialStatus)
                },
                onEvent: { event in
                    guard case .leadCaptured = event else { return }
                    syncTrigger.nudge()
                    // A fresh connection: this runs on the form's thread, and connections are not shared.
                    if let s = try? LeadStore(path: statusPath) { notifier.status(statusLine(s)) }
                },
                heartbeat: watchdog.map { (interval: $0 / 2, beat: { notifier.watchdog() }) },
                handoff: handoff
            )
            // The form ending (quit outside kiosk mode, or EOF on a non-terminal stdin) stops the daemon.
            services.append(
                .init(
                    service: form,
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup
                )
            )
        } else {
            let probePath = dbPath
            services.append(
                .init(
                    service: WatchdogService(
                        notifier: notifier,
                        interval: watchdog,
                        readyStatus: initialStatus,
                        logger: logger
                    ) {
                        _ = try LeadStore(path: probePath, readOnly: true).schemaVersion()
                    }
                )
            )
        }
        // Badge scanners: one service (and thread) per [Serial]. A scanner that is missing or unplugged is
        // retried inside its service, so neither its end nor its failure may stop the daemon.
        for serial in config.serials {
            let statusPath = dbPath
            let scanner = ScannerService(
                serial: serial,
                config: config,
                databasePath: dbPath,
                logger: logger,
                handoff: handoff,
                onEvent: { event in
                    guard case .leadCaptured = event else { return }
                    syncTrigger.nudge()
                    if let s = try? LeadStore(path: statusPath) { notifier.status(statusLine(s)) }
                }
            )
            services.append(
                .init(service: scanner, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore)
            )
        }
        // Sync: one worker per [Sink], woken by a new lead (the form's nudge), database or network changes.
        let syncEnvironment = SyncEnvironment(
            databasePath: dbPath,
            credentialsDirectory: options.credentialsDirectory,
            appVersion: version
        )
        for service in SyncSetup.services(
            config: config,
            environment: syncEnvironment,
            trigger: syncTrigger,
            logger: logger
        ) {
            services.append(.init(service: service))
        }
        services.append(.init(service: StoppingNotifier(notifier: notifier)))

        var groupConfig = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfig.gracefulShutdownSignals = [.sigterm, .sigint]
        // Below the unit's TimeoutStopSec= (15 s): a form being typed is dropped at once anyway.
        groupConfig.maximumGracefulShutdownDuration = .seconds(10)
        let group = ServiceGroup(configuration: groupConfig)
        do {
            try await group.run()
        } catch {
            logger.error("Service group failed", metadata: ["error": "\(error)"])
            notifier.stopping(status: "Failed: \(error)")
            return 1
        }
        logger.info("leadd stopped")
        return 0
    }

    /// journald when stderr is the journal; a log file beside the database when the form owns this terminal;
    /// else plain text on stderr.
    static func makeLogger(config: LeaddConfig, options: DaemonOptions, dbPath: String) -> Logger {
        let toJournal = JournalLogHandler.stderrIsJournal(journalStream: options.journalStream)
        let formOnOwnTerminal = config.terminal.usesOwnTerminal && isatty(2) == 1
        let logFile: String? =
            toJournal || !formOnOwnTerminal
            ? nil : String(dbPath[..<(dbPath.lastIndex(of: "/") ?? dbPath.endIndex)]) + "/leadd.log"
        LoggingSystem.bootstrap { label in
            if toJournal { return JournalLogHandler(label: label) }
            if let logFile { return FileLogHandler(label: label, path: logFile) }
            return StreamLogHandler.standardError(label: label)
        }
        return Logger(label: "leadd")
    }
}

/// Unbuffered write to file descriptor 2.
func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 {
            if n < 0 && errno == EINTR { continue }
            return
        }
        offset += n
    }
}
