#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time as whole milliseconds since the Unix epoch, UTC.
///
/// Leads carry times as RFC 3339 UTC strings with milliseconds (`2026-11-22T09:58:41.000Z`);
/// this type formats and parses them without Foundation's calendar machinery.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public init(seconds: Int64) { self.milliseconds = seconds * 1000 }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    public var seconds: Int64 { milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.milliseconds < b.milliseconds }

    public func adding(seconds: Int64) -> Timestamp { Timestamp(milliseconds: milliseconds + seconds * 1000) }

    public var description: String { rfc3339 }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public var rfc3339: String {
        var out = [UInt8]()
        out.reserveCapacity(24)
        appendRFC3339(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the RFC 3339 form to a byte buffer (used by the writers on their hot path).
    public func appendRFC3339(to out: inout [UInt8]) {
        let ms = Int(((milliseconds % 1000) + 1000) % 1000)
        let secs = seconds
        let days = Int(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400)
        let rem = Int(secs - Int64(days) * 86400)
        let (y, m, d) = Timestamp.civil(fromDays: days)
        func put(_ v: Int, _ width: Int) {
            // Digits appended in place, most significant first: no temporary array per number.
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var v = v
            while divisor > 0 {
                out.append(UInt8(0x30 + (v / divisor) % 10))
                v %= divisor
                divisor /= 10
            }
        }
        put(y, 4)
        out.append(0x2D)
        put(m, 2)
        out.append(0x2D)
        put(d, 2)
        out.append(0x54)
        put(rem / 3600, 2)
        out.append(0x3A)
        put(rem / 60 % 60, 2)
        out.append(0x3A)
        put(rem % 60, 2)
        out.append(0x2E)
        put(ms, 3)
        out.append(0x5A)
    }

    /// Parses RFC 3339 (`2026-11-22T09:58:41Z`, with optional fraction and a `Z` or `±HH:MM` offset);
    /// a bare date `2026-11-22` means midnight UTC.
    public init?(rfc3339 text: String) {
        var text = text
        guard let parsed = text.withUTF8({ Timestamp.parse(rfc3339: $0) }) else { return nil }
        self = parsed
    }

    static func parse(rfc3339 b: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<(from + count) {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard let y = num(0, 4), b.count >= 10, b[4] == 0x2D, let mo = num(5, 2), b[7] == 0x2D, let d = num(8, 2),
            (1...12).contains(mo), (1...31).contains(d)
        else { return nil }
        var total = Int64(Timestamp.days(fromCivil: y, mo, d)) * 86_400_000
        if b.count == 10 { return Timestamp(milliseconds: total) }
        guard b.count >= 19, b[10] == 0x54 || b[10] == 0x74 || b[10] == 0x20, let h = num(11, 2), b[13] == 0x3A,
            let mi = num(14, 2), b[16] == 0x3A, let s = num(17, 2), h < 24, mi < 60, s < 61
        else { return nil }
        total += Int64(h * 3600 + mi * 60 + s) * 1000
        var i = 19
        if i < b.count, b[i] == 0x2E {
            i += 1
            var frac = 0
            var digits = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                if digits < 3 {
                    frac = frac * 10 + Int(b[i] - 0x30)
                    digits += 1
                }
                i += 1
            }
            guard digits > 0 else { return nil }
            while digits < 3 {
                frac *= 10
                digits += 1
            }
            total += Int64(frac)
        }
        guard i < b.count else { return nil }
        if b[i] == 0x5A || b[i] == 0x7A {
            guard i + 1 == b.count else { return nil }
        } else if b[i] == 0x2B || b[i] == 0x2D {
            guard i + 6 == b.count, let oh = num(i + 1, 2), b[i + 3] == 0x3A, let om = num(i + 4, 2) else {
                return nil
            }
            let offset = Int64(oh * 3600 + om * 60) * 1000
            total += b[i] == 0x2B ? -offset : offset
        } else {
            return nil
        }
        return Timestamp(milliseconds: total)
    }

    // Howard Hinnant's days-from-civil algorithms (proleptic Gregorian).
    static func days(fromCivil y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
