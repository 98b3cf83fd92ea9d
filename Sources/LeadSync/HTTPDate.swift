public import LeadCore

/// HTTP dates (`Date`, `Retry-After`): IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, and leniently the obsolete
/// RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`) forms (RFC 9110 §5.6.7).
public enum HTTPDate {
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let monthNames = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    /// Parses an HTTP date; nil when it is none of the three forms.
    public static func parse(_ text: some StringProtocol) -> Timestamp? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "-" }).map { String($0) }
        var day: Int?
        var month: Int?
        var year: Int?
        var clock: (Int, Int, Int)?
        for part in parts {
            if part.contains(":") {
                let hms = part.split(separator: ":").compactMap { Int($0) }
                guard hms.count == 3 else { return nil }
                clock = (hms[0], hms[1], hms[2])
            } else if let m = months.firstIndex(of: part.lowercased()) {
                month = m + 1
            } else if let n = Int(part) {
                if day == nil && part.count <= 2 && month == nil {
                    day = n
                } else if day == nil && month != nil && part.count <= 2 && year == nil {
                    day = n
                } else {
                    year = part.count == 2 ? (n < 70 ? 2000 + n : 1900 + n) : n
                }
            }
        }
        guard let day, let month, let year, let (h, mi, s) = clock, (1...31).contains(day), h < 24, mi < 60, s < 61
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Timestamp(seconds: Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + s))
    }

    /// IMF-fixdate for a `Date` header.
    public static func format(_ time: Timestamp) -> String {
        let secs = time.seconds
        let days = Int(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400)
        let rem = Int(secs - Int64(days) * 86400)
        let (y, m, d) = civil(fromDays: days)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let weekday = weekdays[((days % 7) + 7) % 7]
        return
            "\(weekday), \(two(d)) \(monthNames[m - 1]) \(y) \(two(rem / 3600)):\(two(rem / 60 % 60)):\(two(rem % 60)) GMT"
    }

    /// A `Retry-After` value (delay seconds or an HTTP date) as a delay from `now`, clamped to 0…`maximum` s.
    public static func retryAfter(_ value: String, now: Timestamp, maximum: Int64 = 86_400) -> Int64? {
        let trimmed = value.trimmingSpaces
        if let seconds = Int64(trimmed) { return min(max(seconds, 0), maximum) }
        guard let date = parse(trimmed) else { return nil }
        return min(max((date.milliseconds - now.milliseconds + 999) / 1000, 0), maximum)
    }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

extension StringProtocol {
    /// Without leading and trailing white space (a header line's CRLF is one `Character`).
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
