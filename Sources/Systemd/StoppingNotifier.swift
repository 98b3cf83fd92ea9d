public import ServiceLifecycle

/// Sends `STOPPING=1` the moment a graceful shutdown begins (before the other services finish), so that
/// `systemctl status` says "stopping" while the form restores the terminal.
public struct StoppingNotifier: Service {
    let notifier: SystemdNotifier

    public init(notifier: SystemdNotifier) { self.notifier = notifier }

    public func run() async throws {
        try? await gracefulShutdown()
        notifier.stopping(status: "Stopping — every captured lead is on disk")
    }
}
