import LeadCore
import LeadStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The scanner part of `leadctl status`: what leadd recorded in the `scanners` and `scanner_drops` tables,
/// with today's scans counted from the leads themselves.
enum ScannerReport {
    /// The configured scanners (every `[Serial]`, in order), or with `--db` every scanner leadd has reported.
    /// A scanner whose leadd process is gone is shown as not connected, whatever the table still says.
    static func statuses(_ ctx: Context) throws -> [ScannerStatus] {
        let configured = ctx.configPath == nil ? nil : ctx.config.serials.map(\.device)
        return try ctx.store.scannerStatuses(devices: configured).map { status in
            var status = status
            if status.connected, let pid = status.pid, !processIsAlive(pid) {
                status.connected = false
                status.lastError = "leadd is not running"
            }
            return status
        }
    }

    /// Whether a process with this id exists (one of another user counts).
    static func processIsAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// The `scanners` array of `status --json`: `device`, `connected`, `since`, `last_error`, `scans_today`,
    /// `last_scan`, and `dropped` as `{"total": N, "by_reason": {"binary garbage": N, …}}` (today's).
    static func writeJSON(_ scanners: [ScannerStatus], unresolved: Int, to w: inout JSONWriter) {
        w.key("scanners")
        w.beginArray()
        for s in scanners {
            w.beginObject()
            w.member("device", s.device)
            w.member("connected", s.connected)
            w.key("since")
            w.string(orNull: s.since?.rfc3339)
            w.member("last_error", s.connected ? nil : s.lastError)
            w.member("scans_today", s.scansToday)
            w.key("last_scan")
            w.string(orNull: s.lastScan?.rfc3339)
            w.key("dropped")
            w.beginObject()
            w.member("total", s.droppedTotal)
            w.key("by_reason")
            w.beginObject()
            for (reason, count) in s.droppedToday.sorted(by: { $0.key < $1.key }) { w.member(reason, count) }
            w.endObject()
            w.endObject()
            w.endObject()
        }
        w.endArray()
        w.member("unresolved_badge_scans", unresolved)
    }

    /// The scanner table of `status`, or nothing when there are no scanners and no unresolved scans.
    static func printText(_ scanners: [ScannerStatus], unresolved: Int) {
        if !scanners.isEmpty {
            var rows = [["SCANNER", "STATE", "SCANS TODAY", "LAST SCAN", "DROPPED TODAY"]]
            for s in scanners {
                var state = s.connected ? "connected" : "not connected"
                if let since = s.since { state += " since " + LocalTime.format(since, seconds: false) }
                if !s.connected, let error = s.lastError { state += ": " + error }
                var dropped = "\(s.droppedTotal)"
                if !s.droppedToday.isEmpty {
                    dropped +=
                        " ("
                        + s.droppedToday.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
                        .map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
                }
                rows.append([
                    safe(s.device), safe(state), "\(s.scansToday)",
                    s.lastScan.map { LocalTime.format($0) } ?? "—", safe(dropped),
                ])
            }
            print(table(rows))
        }
        if unresolved > 0 {
            print(
                "Unresolved badge scans: \(unresolved) (not in the attendee list; `leadctl attendees import FILE.csv` "
                    + "completes them, `leadctl list --state unresolved` lists them)"
            )
        }
    }
}
