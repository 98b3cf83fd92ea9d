#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Names the holder of a batch lease — `pid starttime token` — and tells whether a holder still runs, so a
/// batch leased by a SIGKILLed daemon is taken over at once instead of after the lease (same host: the
/// database is a WAL file, which SQLite only shares between processes of one machine).
public enum ProcessIdentity {
    /// A new holder name for this process (the token tells two workers of one process apart).
    public static func makeHolder() -> String {
        let pid = getpid()
        let token = UInt64.random(in: 0...UInt64.max)
        return "\(pid) \(startTime(pid) ?? 0) \(String(token, radix: 16))"
    }

    /// Whether the process a holder names still runs. A holder of this very process counts as alive.
    public static func isAlive(_ holder: String) -> Bool { isAlive(holder, startTime: startTime) }

    /// `isAlive` with the start-time reader given (tests).
    static func isAlive(_ holder: String, startTime: (Int32) -> UInt64?) -> Bool {
        let parts = holder.split(separator: " ")
        guard parts.count >= 2, let pid = Int32(parts[0]), let start = UInt64(parts[1]) else { return true }
        if pid == getpid() { return true }
        guard let actual = startTime(pid) else {
            // No /proc entry to read: gone, or hidden from us (leadd.service has ProtectProc=invisible, so a
            // leadctl run by root is invisible to leadd). A process that exists but cannot be checked keeps its
            // lease until it expires: taking it over could send the batch twice.
            return kill(pid, 0) == 0 || errno == EPERM
        }
        return actual == start
    }

    /// Field 22 of `/proc/PID/stat`: when the process started, in clock ticks after boot (tells a reused pid apart).
    static func startTime(_ pid: Int32) -> UInt64? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 1024)
        let n = read(fd, &buf, buf.count)
        guard n > 0, let paren = buf[..<n].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buf[(paren + 1)..<n].split(separator: UInt8(ascii: " "))
        // Fields after ")" start at field 3 (state); starttime is field 22.
        guard fields.count > 19 else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }
}
