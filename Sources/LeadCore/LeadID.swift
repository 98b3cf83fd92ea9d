/// A lead's permanent id: a UUIDv7 (RFC 9562), time-ordered and unique across kiosks.
public enum LeadID {
    /// A new UUIDv7 for the given time, lower-case hyphenated.
    public static func make(at time: Timestamp = .now()) -> String {
        var rng = SystemRandomNumberGenerator()
        return make(at: time, using: &rng)
    }

    public static func make(at time: Timestamp, using rng: inout some RandomNumberGenerator) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let ms = UInt64(max(0, time.milliseconds))
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: ms >> (40 - 8 * UInt64(i))) }
        let r1 = rng.next() as UInt64
        let r2 = rng.next() as UInt64
        for i in 0..<8 { bytes[8 + i] = UInt8(truncatingIfNeeded: r2 >> (8 * UInt64(i))) }
        bytes[6] = 0x70 | UInt8(truncatingIfNeeded: r1 & 0x0F)
        bytes[7] = UInt8(truncatingIfNeeded: r1 >> 8)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        return format(bytes)
    }

    static func format(_ bytes: [UInt8]) -> String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(36)
        for (i, b) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(0x2D) }
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `text` is a canonical lower-case hyphenated UUID (any version).
    public static func isValid(_ text: String) -> Bool {
        // On the bulk import's writing thread for every lead: over the string's bytes, not its UTF-8 iterator.
        text.utf8.withContiguousStorageIfAvailable(isValid) ?? isValid(Array(text.utf8))
    }

    private static func isValid(_ bytes: some Collection<UInt8>) -> Bool {
        guard bytes.count == 36 else { return false }
        var i = 0
        for c in bytes {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if c != 0x2D { return false }
            } else if !((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)) {
                return false
            }
            i += 1
        }
        return true
    }

    /// The capture time encoded in a UUIDv7, if `text` is one.
    public static func timestamp(of text: String) -> Timestamp? {
        guard isValid(text) else { return nil }
        let hex = text.utf8.filter { $0 != 0x2D }.prefix(12)
        var v: Int64 = 0
        for c in hex { v = v << 4 | Int64(c <= 0x39 ? c - 0x30 : c - 0x61 + 10) }
        return Timestamp(milliseconds: v)
    }
}
