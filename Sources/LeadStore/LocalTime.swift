public import LeadCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Local-time helpers for what staff read. Leads are stored in UTC; the C library's zone (TZ) is used to show them.
public enum LocalTime {
    /// The local zone's offset from UTC at `time`, in seconds.
    public static func utcOffsetSeconds(at time: Timestamp) -> Int64 {
        var t = time_t(time.seconds)
        var parts = tm()
        localtime_r(&t, &parts)
        return Int64(parts.tm_gmtoff)
    }

    /// `2026-11-22 12:58:41` in local time.
    public static func format(_ time: Timestamp, seconds: Bool = true) -> String {
        var t = time_t(time.seconds)
        var parts = tm()
        localtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let date = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
        let clock = "\(two(parts.tm_hour)):\(two(parts.tm_min))" + (seconds ? ":\(two(parts.tm_sec))" : "")
        return date + " " + clock
    }

    /// The start of the local day that contains `time`, as an instant.
    public static func startOfDay(_ time: Timestamp) -> Timestamp {
        let offset = utcOffsetSeconds(at: time)
        let local = time.seconds + offset
        let dayStart = local - ((local % 86400) + 86400) % 86400
        return Timestamp(seconds: dayStart - offset)
    }
}
