public import LeadCore
public import LeadStore
public import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `leadctl sync`: a sync pass from the calling process, on its own thread, coordinated with a running daemon
/// through the batch lease in the database (neither sends a batch the other holds).
public enum ManualSync {
    /// Resumes each sink (ends a pause and any backoff or `Retry-After` wait: the operator asked) and runs a pass.
    ///
    /// - Parameters:
    ///   - sinks: the `[Sink]` sections to sync.
    ///   - wait: when another process is sending a sink's batch, wait for it to finish and go on, instead of
    ///     leaving the rest to that process.
    ///   - deadline: give up waiting then.
    /// - Returns: one report per sink.
    public static func run(
        sinks: [LeaddConfig.Sink],
        config: LeaddConfig,
        environment: SyncEnvironment,
        store: LeadStore,
        wait: Bool,
        deadline: Timestamp? = nil,
        logger: Logger = Logger(label: "leadctl", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws -> [PassReport] {
        var reports: [PassReport] = []
        let watcher = wait ? DatabaseWatcher(path: environment.databasePath) : nil
        for sink in sinks {
            let engine = try SyncSetup.makeEngine(
                sink,
                config: config,
                environment: environment,
                logger: logger,
                cancel: CancellationFlag(),
                store: store
            )
            // Without its credential here (leadctl run outside the unit), say so and leave the sink as it is:
            // pausing it would stop the daemon, which may well have the credential.
            if let problem = engine.sink.credentialProblem {
                reports.append(PassReport(sink: sink.name, stop: .failed("credential unusable: \(problem)")))
                continue
            }
            if try store.resumeSink(sink.name, expediteAll: true) {
                logger.notice("Sink resumed by leadctl sync", metadata: ["sink.name": "\(sink.name)"])
            }
            var total = PassReport(sink: sink.name, stop: .idle(nextDue: nil))
            while true {
                let report = engine.pass()
                total.attempts += report.attempts
                total.synced += report.synced
                total.rejected += report.rejected
                total.retried += report.retried
                total.stop = report.stop
                guard wait, case .heldElsewhere(let until) = report.stop else { break }
                if let deadline, Timestamp.now() >= deadline { break }
                let limit = min(until, deadline ?? until)
                watcher?.waitForChange(until: limit)
            }
            reports.append(total)
        }
        return reports
    }
}

/// Blocks until the database is written by another process (inotify on its folder), or a time passes.
final class DatabaseWatcher {
    private let fd: Int32
    private let names: [Int32: Set<String>]

    init(path: String) {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        fd = inotify_init1(Int32(IN_CLOEXEC))
        let wd = fd >= 0 ? inotify_add_watch(fd, dir, UInt32(IN_MODIFY | IN_CLOSE_WRITE)) : -1
        names = [wd: [base, base + "-wal"]]
    }

    deinit { if fd >= 0 { close(fd) } }

    func waitForChange(until: Timestamp) {
        var buf = [UInt8](repeating: 0, count: 8192)
        while true {
            let left = until.milliseconds - Timestamp.now().milliseconds
            if left <= 0 { return }
            guard fd >= 0 else {
                // No inotify: sleep until the lease ends.
                usleep(UInt32(min(left, 1000) * 1000))
                continue
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, Int32(min(left, Int64(Int32.max))))
            if n <= 0 { if n < 0 && errno == EINTR { continue } else { return } }
            let got = read(fd, &buf, buf.count)
            if got > 0 && ChangeMonitor.matches(buf[..<got], names: names) { return }
        }
    }
}
