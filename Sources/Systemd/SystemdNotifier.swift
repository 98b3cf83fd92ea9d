internal import CSystemd

/// The sd_notify protocol: tells the service manager about readiness, status, watchdog and stopping.
///
/// Without `NOTIFY_SOCKET` (not under systemd) every call is a no-op. Messages go through libsystemd's
/// `sd_notify`, which reads `NOTIFY_SOCKET` itself.
public struct SystemdNotifier: Sendable {
    public init() {}

    /// Sends raw `KEY=value` lines; returns whether a notify socket took them.
    @discardableResult
    public func send(_ lines: String) -> Bool { sd_notify(0, lines) > 0 }

    /// `READY=1` with the status text.
    public func ready(status: String) { send("READY=1\nSTATUS=\(Self.oneLine(status))") }

    /// `STATUS=` — what `systemctl status` shows.
    public func status(_ text: String) { send("STATUS=\(Self.oneLine(text))") }

    /// `WATCHDOG=1`.
    public func watchdog() { send("WATCHDOG=1") }

    /// `STOPPING=1` with the status text.
    public func stopping(status: String) { send("STOPPING=1\nSTATUS=\(Self.oneLine(status))") }

    /// The watchdog interval the unit asked for (`WatchdogSec=`), or nil when no watchdog is enabled for us.
    public func watchdogInterval() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
    }

    /// A notify message is line-based: a newline inside a value would start a new assignment.
    static func oneLine(_ s: String) -> String {
        String(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
    }
}
