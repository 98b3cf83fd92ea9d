public import Logging
public import ServiceLifecycle

/// Feeds the systemd watchdog from a service whose work would hang if the process hung.
///
/// Each beat first runs `probe` (a cheap real operation, such as a read of the database) and only when it
/// returns sends `WATCHDOG=1`: a wedged database or a deadlocked process stops the beats and systemd restarts
/// leadd. Used when no form loop beats the watchdog itself (`TTY=none`). With no watchdog configured the
/// service just waits for shutdown, with no wake-ups at all.
///
/// Given `readyStatus`, it also sends `READY=1` when it starts: from inside the `ServiceGroup`, whose SIGTERM
/// handling is in place by then (sent before `run()`, a SIGTERM right after READY would kill the process).
public struct WatchdogService: Service {
    let notifier: SystemdNotifier
    let interval: Duration?
    let readyStatus: String?
    let probe: @Sendable () async throws -> Void
    let logger: Logger

    public init(
        notifier: SystemdNotifier,
        interval: Duration?,
        readyStatus: String? = nil,
        logger: Logger,
        probe: @escaping @Sendable () async throws -> Void
    ) {
        self.notifier = notifier
        self.interval = interval
        self.readyStatus = readyStatus
        self.logger = logger
        self.probe = probe
    }

    public func run() async throws {
        if let readyStatus { notifier.ready(status: readyStatus) }
        guard let interval else {
            try? await gracefulShutdown()
            return
        }
        let half = interval / 2
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await probe()
                notifier.watchdog()
            } catch {
                logger.error("Watchdog probe failed; not feeding the watchdog", metadata: ["error": "\(error)"])
            }
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: half) } } catch { return }
        }
    }
}
