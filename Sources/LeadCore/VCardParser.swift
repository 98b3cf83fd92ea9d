/// Reads a vCard 2.1, 3.0 or 4.0 (RFC 2426, RFC 6350, and the 2.1 spec phones still write) into a card.
///
/// - Lines end in CRLF, LF or CR; a line starting with a space or tab continues the previous one
///   (unfolding), and a quoted-printable value ending in `=` continues on the next line (2.1 soft breaks).
/// - Property groups (`item1.EMAIL`) are ignored; parameters are read in 2.1 style (`TEL;CELL;PREF`) and
///   3.0/4.0 style (`TYPE=cell,voice`, `TYPE="work,voice"`). `ENCODING=QUOTED-PRINTABLE` and
///   `ENCODING=B`/`BASE64` values are decoded in their `CHARSET=` (UTF-8 by default; ISO-8859-1,
///   windows-1251, windows-1252 and KOI8-R are known); a value that is not valid in its charset is skipped.
/// - Escapes `\,` `\;` `\:` `\\` and `\n` are undone; any other backslash is kept as it is (2.1 does not
///   escape backslashes).
///
/// | property | becomes |
/// | --- | --- |
/// | `N` (family;given;…) | `last_name`, `first_name` |
/// | `FN` | `first_name` and `last_name` split at the last word, when `N` has no name |
/// | `EMAIL` (first) | `email` |
/// | `TEL` (the first `CELL`, else the first `WORK`, else the first that is not a fax or pager) | `phone` |
/// | `ORG` (first component) | `company` |
/// | `TITLE` | `job_title` |
/// | `NOTE` (all, one per line) | ``DecodedCard/notes`` |
/// | `X-BADGE`, `X-BADGE-ID`, `X-BADGEID`, `X-ATTENDEE-ID` | ``DecodedCard/badgeID`` (if a valid badge id) |
///
/// The text must start with `BEGIN:VCARD` (after any white space) and reach its `END:VCARD`; anything after
/// that is ignored, and so are the properties of a vCard nested inside (2.1 `AGENT`).
public enum VCardParser {
    /// The most content lines a vCard may have between `BEGIN:VCARD` and `END:VCARD`.
    public static let maximumProperties = 1000

    /// Parses one vCard.
    ///
    /// - Returns: The card, or ``CardDecodeError/Reason/tooLong`` (over 8 KiB),
    ///   ``CardDecodeError/Reason/malformed`` (no `BEGIN:VCARD` at the start, or no `END:VCARD`),
    ///   ``CardDecodeError/Reason/tooManyProperties`` or ``CardDecodeError/Reason/noUsableFields``.
    public static func parse(_ text: String) -> Result<DecodedCard, CardDecodeError> {
        if let error = CardFields.checkLength(text) { return .failure(error) }
        let lines = logicalLines(Array(CardText.trimmed(text).utf8))
        guard let first = lines.first, let begin = VCardProperty(line: first), begin.isMarker("BEGIN") else {
            return .failure(CardDecodeError(.malformed, "does not start with BEGIN:VCARD"))
        }
        var collector = VCardCollector()
        var depth = 1
        var count = 0
        for line in lines.dropFirst() {
            let property = VCardProperty(line: line)
            if let property, property.isMarker("END") {
                depth -= 1
                if depth == 0 { return CardFields.requireUsable(collector.card()) }
                continue
            }
            count += 1
            if count > maximumProperties {
                return .failure(CardDecodeError(.tooManyProperties, "more than \(maximumProperties) properties"))
            }
            guard let property else { continue }
            if property.isMarker("BEGIN") {
                depth += 1
            } else if depth == 1 {
                collector.add(property)
            }
        }
        return .failure(CardDecodeError(.malformed, "no END:VCARD"))
    }

    /// Splits `bytes` into logical lines: physical lines end in CRLF, LF or CR; a line starting with a space
    /// or tab is appended to the previous one without that character; a quoted-printable line ending in `=`
    /// is joined with the next line (the `=` removed). Empty lines are dropped.
    static func logicalLines(_ bytes: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var current: [UInt8] = []
        var currentIsQP = false
        var i = 0
        let n = bytes.count
        while i < n {
            var j = i
            while j < n && bytes[j] != 0x0D && bytes[j] != 0x0A { j += 1 }
            let line = bytes[i..<j]
            i = j < n && bytes[j] == 0x0D && j + 1 < n && bytes[j + 1] == 0x0A ? j + 2 : j + 1

            if !current.isEmpty {
                if currentIsQP && current.last == UInt8(ascii: "=") && !isEndMarker(line) {
                    current.removeLast()
                    current.append(contentsOf: line)
                    continue
                }
                if let lead = line.first, lead == 0x20 || lead == 0x09 {
                    current.append(contentsOf: line.dropFirst())
                    continue
                }
                lines.append(current)
                current = []
            }
            if !line.isEmpty {
                current = Array(line)
                currentIsQP = isQuotedPrintable(line)
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    /// Whether the parameters of a property line (before its first `:`) name quoted-printable encoding.
    private static func isQuotedPrintable(_ line: ArraySlice<UInt8>) -> Bool {
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let head = line[line.startIndex..<colon]
        let needle = Array("QUOTED-PRINTABLE".utf8)
        guard head.count >= needle.count else { return false }
        var start = head.startIndex
        while start + needle.count <= head.endIndex {
            var k = 0
            while k < needle.count && CardText.lowercased(head[start + k]) == CardText.lowercased(needle[k]) {
                k += 1
            }
            if k == needle.count { return true }
            start += 1
        }
        return false
    }

    private static func isEndMarker(_ line: ArraySlice<UInt8>) -> Bool {
        let text = String(decoding: line, as: UTF8.self)
        return CardText.equalsIgnoringCase(CardText.trimmed(text), "END:VCARD")
    }
}

/// One content line: `[group.]NAME[;PARAM…]:value`.
struct VCardProperty {
    /// The upper-cased name, without its group.
    var name: String
    /// Upper-cased `TYPE=` values and bare 2.1 parameters (`CELL`, `PREF`, …).
    var types: Set<String> = []
    /// The upper-cased `ENCODING=` (or bare 2.1 `QUOTED-PRINTABLE`, `BASE64`).
    var encoding: String?
    var charset: String?
    /// `VALUE=uri`.
    var isURI = false
    /// The raw value after the first unquoted `:`.
    var value: ArraySlice<UInt8>

    /// Parses `line`, or nil when it has no `:` or a name that is not letters, digits and `-`.
    init?(line: [UInt8]) {
        let n = line.count
        var i = 0
        while i < n && line[i] != UInt8(ascii: ";") && line[i] != UInt8(ascii: ":") { i += 1 }
        guard i < n else { return nil }
        var nameBytes = line[0..<i]
        if let dot = nameBytes.lastIndex(of: UInt8(ascii: ".")) { nameBytes = nameBytes[(dot + 1)...] }
        while let c = nameBytes.last, c == 0x20 || c == 0x09 { nameBytes.removeLast() }
        let validName = nameBytes.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "-")
        }
        guard !nameBytes.isEmpty, validName else { return nil }
        name = CardText.uppercased(nameBytes)
        value = []
        while i < n && line[i] == UInt8(ascii: ";") {
            i += 1
            let start = i
            var quoted = false
            while i < n {
                let c = line[i]
                if c == UInt8(ascii: "\"") {
                    quoted.toggle()
                } else if !quoted && (c == UInt8(ascii: ";") || c == UInt8(ascii: ":")) {
                    break
                }
                i += 1
            }
            addParameter(line[start..<i])
        }
        guard i < n, line[i] == UInt8(ascii: ":") else { return nil }
        value = line[(i + 1)...]
    }

    private mutating func addParameter(_ raw: ArraySlice<UInt8>) {
        let bytes = raw.filter { $0 != UInt8(ascii: "\"") && $0 != 0x20 && $0 != 0x09 }
        guard !bytes.isEmpty else { return }
        guard let eq = bytes.firstIndex(of: UInt8(ascii: "=")) else {
            let bare = CardText.uppercased(bytes)
            switch bare {
            case "QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT": encoding = bare
            default: types.insert(bare)
            }
            return
        }
        let key = CardText.uppercased(bytes[..<eq])
        let values = bytes[(eq + 1)...].split(separator: UInt8(ascii: ",")).map { CardText.uppercased($0) }
        switch key {
        case "TYPE": types.formUnion(values)
        case "ENCODING": encoding = values.first
        case "CHARSET": charset = values.first
        case "VALUE": isURI = values.contains("URI")
        case "PREF": types.insert("PREF")
        default: break
        }
    }

    /// Whether this is `NAME:VCARD` (`BEGIN:VCARD`, `END:VCARD`).
    func isMarker(_ marker: String) -> Bool {
        name == marker && CardText.equalsIgnoringCase(CardText.trimmed(String(decoding: value, as: UTF8.self)), "VCARD")
    }

    /// The value with its transfer encoding and charset undone, line breaks as LF, escapes still in place;
    /// nil when it does not decode.
    func decodedText() -> String? {
        let text: String
        switch encoding {
        case "QUOTED-PRINTABLE":
            guard let decoded = LegacyCharset.decode(Self.quotedPrintable(value), charset: charset) else { return nil }
            text = decoded
        case "B", "BASE64":
            guard let bytes = Self.base64(value), let decoded = LegacyCharset.decode(bytes, charset: charset) else {
                return nil
            }
            text = decoded
        default:
            // The input was valid UTF-8 and was cut only at ASCII bytes.
            text = String(decoding: value, as: UTF8.self)
        }
        guard text.utf8.contains(0x0D) else { return text }
        var out: [UInt8] = []
        var previous: UInt8 = 0
        for c in text.utf8 {
            if c == 0x0D {
                out.append(0x0A)
            } else if !(c == 0x0A && previous == 0x0D) {
                out.append(c)
            }
            previous = c
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Quoted-printable: `=XX` is a byte, `=` before a line break is dropped, any other `=` stays.
    static func quotedPrintable(_ value: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(value.count)
        var i = value.startIndex
        while i < value.endIndex {
            let c = value[i]
            if c == UInt8(ascii: "="), value.endIndex - i >= 3, let hi = CardText.hexValue(value[i + 1]),
                let lo = CardText.hexValue(value[i + 2])
            {
                out.append(hi << 4 | lo)
                i += 3
                continue
            }
            out.append(c)
            i += 1
        }
        return out
    }

    /// Base64 (RFC 4648, white space ignored, padding optional), or nil on any other character.
    static func base64(_ value: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        for c in value {
            let sextet: UInt32
            switch c {
            case 0x41...0x5A: sextet = UInt32(c - 0x41)
            case 0x61...0x7A: sextet = UInt32(c - 0x61 + 26)
            case 0x30...0x39: sextet = UInt32(c - 0x30 + 52)
            case UInt8(ascii: "+"): sextet = 62
            case UInt8(ascii: "/"): sextet = 63
            case UInt8(ascii: "="), 0x20, 0x09, 0x0A, 0x0D: continue
            default: return nil
            }
            accumulator = accumulator << 6 | sextet
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        return out
    }
}

/// Gathers the properties that matter while the card is read, then builds the ``DecodedCard``.
private struct VCardCollector {
    var family: String?
    var given: String?
    var hasN = false
    var fullName: String?
    var email: String?
    var phone: (rank: Int, value: String)?
    var organization: String?
    var title: String?
    var notes: [String] = []
    var badgeID: String?

    mutating func add(_ property: VCardProperty) {
        switch property.name {
        case "N", "FN", "EMAIL", "TEL", "ORG", "TITLE", "NOTE", "X-BADGE", "X-BADGE-ID", "X-BADGEID", "X-ATTENDEE-ID":
            guard let text = property.decodedText() else { return }
            add(property, text)
        default:
            return
        }
    }

    private mutating func add(_ property: VCardProperty, _ text: String) {
        switch property.name {
        case "N" where !hasN:
            let parts = VCardText.components(text, commasAsSpaces: true)
            let familyName = parts.first ?? ""
            let givenName = parts.count > 1 ? parts[1] : ""
            if CardFields.hasContent(familyName) || CardFields.hasContent(givenName) {
                hasN = true
                family = familyName
                given = givenName
            }
        case "FN" where fullName == nil:
            let value = VCardText.unescape(text)
            if CardFields.hasContent(value) { fullName = value }
        case "EMAIL" where email == nil:
            var value = String(CardText.trimmed(VCardText.unescape(text)))
            if CardText.hasPrefixIgnoringCase(value, "mailto:") { value = String(value.dropFirst(7)) }
            if CardFields.hasContent(value) { email = value }
        case "TEL":
            addPhone(property, text)
        case "ORG" where organization == nil:
            let value = VCardText.components(text, commasAsSpaces: false).first ?? ""
            if CardFields.hasContent(value) { organization = value }
        case "TITLE" where title == nil:
            let value = VCardText.unescape(text)
            if CardFields.hasContent(value) { title = value }
        case "NOTE":
            let value = String(CardText.trimmed(VCardText.unescape(text)))
            if CardFields.hasContent(value) { notes.append(value) }
        case "X-BADGE", "X-BADGE-ID", "X-BADGEID", "X-ATTENDEE-ID":
            if badgeID == nil { badgeID = CardFields.badgeID(VCardText.unescape(text)) }
        default:
            return
        }
    }

    private mutating func addPhone(_ property: VCardProperty, _ text: String) {
        var value = String(CardText.trimmed(VCardText.unescape(text)))
        if property.isURI || CardText.hasPrefixIgnoringCase(value, "tel:") {
            if CardText.hasPrefixIgnoringCase(value, "tel:") { value = String(value.dropFirst(4)) }
            if let semicolon = value.firstIndex(of: ";") { value = String(value[..<semicolon]) }
        }
        guard CardFields.hasContent(value) else { return }
        let types = property.types
        let rank: Int
        if types.contains("CELL") || types.contains("MOBILE") || types.contains("IPHONE") {
            rank = 0
        } else if types.contains("FAX") || types.contains("PAGER") {
            rank = 3
        } else if types.contains("WORK") {
            rank = 1
        } else {
            rank = 2
        }
        if phone == nil || rank < phone!.rank { phone = (rank, value) }
    }

    func card() -> DecodedCard {
        var fields: [String: String] = [:]
        if let family { CardFields.set(CardFields.lastName, family, in: &fields) }
        if let given { CardFields.set(CardFields.firstName, given, in: &fields) }
        if !hasN, let fullName {
            // Company cards (iOS "show as company") carry the company name as FN: not a person's name.
            let isCompany = organization.map { CardText.trimmed($0) == CardText.trimmed(fullName) } ?? false
            if !isCompany { CardFields.setFullName(fullName, in: &fields) }
        }
        if let email { CardFields.set(CardFields.email, email, in: &fields) }
        if let phone { CardFields.set(CardFields.phone, phone.value, in: &fields) }
        if let organization { CardFields.set(CardFields.company, organization, in: &fields) }
        if let title { CardFields.set(CardFields.jobTitle, title, in: &fields) }
        return DecodedCard(fields: fields, badgeID: badgeID, notes: notes.isEmpty ? nil : notes.joined(separator: "\n"))
    }
}

/// vCard text values: escapes and structured (`;`-separated) values.
enum VCardText {
    /// Undoes `\\` `\,` `\;` `\:` and `\n`/`\N`; other backslashes stay as they are.
    static func unescape(_ text: some StringProtocol) -> String {
        let bytes = Array(text.utf8)
        guard bytes.contains(UInt8(ascii: "\\")) else { return String(text) }
        return String(decoding: unescape(bytes[...]), as: UTF8.self)
    }

    private static func unescape(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let c = bytes[i]
            if c == UInt8(ascii: "\\"), i + 1 < bytes.endIndex {
                let next = bytes[i + 1]
                switch next {
                case UInt8(ascii: "n"), UInt8(ascii: "N"):
                    out.append(0x0A)
                    i += 2
                    continue
                case UInt8(ascii: "\\"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: ":"):
                    out.append(next)
                    i += 2
                    continue
                default:
                    break
                }
            }
            out.append(c)
            i += 1
        }
        return out
    }

    /// The components of a structured value split at unescaped `;`, each unescaped; with `commasAsSpaces`
    /// the values inside a component (separated by unescaped `,`, as in `N`) are joined with a space.
    static func components(_ text: String, commasAsSpaces: Bool) -> [String] {
        let bytes = Array(text.utf8)
        var parts: [String] = []
        var values: [String] = []
        var start = 0
        var i = 0
        func cut(_ end: Int) {
            values.append(String(decoding: unescape(bytes[start..<end]), as: UTF8.self))
            start = end + 1
        }
        while i <= bytes.count {
            if i == bytes.count {
                cut(i)
                parts.append(values.filter { !$0.isEmpty }.joined(separator: " "))
                break
            }
            switch bytes[i] {
            case UInt8(ascii: "\\"):
                i = min(i + 2, bytes.count)
                continue
            case UInt8(ascii: ";"):
                cut(i)
                parts.append(values.filter { !$0.isEmpty }.joined(separator: " "))
                values = []
            case UInt8(ascii: ",") where commasAsSpaces:
                cut(i)
            default:
                break
            }
            i += 1
        }
        return parts
    }
}

/// The charsets vCard 2.1 files from phones and Outlook carry in `CHARSET=`.
enum LegacyCharset {
    /// `bytes` decoded from `charset` (UTF-8 when nil or unknown), or nil when they are not valid in it.
    static func decode(_ bytes: [UInt8], charset: String?) -> String? {
        let letters = (charset ?? "").utf8.filter { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: "_") }
        let name = CardText.uppercased(letters)
        switch name {
        case "ISO88591", "LATIN1", "L1":
            return map(bytes) { Unicode.Scalar($0) }
        case "WINDOWS1252", "CP1252":
            return map(bytes) { c in
                c < 0x80 || c >= 0xA0 ? Unicode.Scalar(c) : defined(cp1252[Int(c - 0x80)])
            }
        case "WINDOWS1251", "CP1251":
            return map(bytes) { c in
                switch c {
                case 0x00...0x7F: Unicode.Scalar(c)
                case 0xC0...0xFF: Unicode.Scalar(0x0410 + UInt32(c - 0xC0))
                default: defined(cp1251[Int(c - 0x80)])
                }
            }
        case "KOI8R":
            return map(bytes) { c in c < 0x80 ? Unicode.Scalar(c) : defined(koi8r[Int(c - 0x80)]) }
        default:
            return String(validating: bytes, as: UTF8.self)
        }
    }

    /// The scalar of a table entry; 0 marks a byte the charset leaves undefined.
    private static func defined(_ value: UInt16) -> Unicode.Scalar? {
        value == 0 ? nil : Unicode.Scalar(value)
    }

    private static func map(_ bytes: [UInt8], _ transform: (UInt8) -> Unicode.Scalar?) -> String? {
        var scalars = String.UnicodeScalarView()
        for c in bytes {
            guard let scalar = transform(c) else { return nil }
            scalars.append(scalar)
        }
        return String(scalars)
    }

    /// windows-1252 0x80–0x9F (0 = undefined); 0xA0–0xFF are ISO-8859-1.
    private static let cp1252: [UInt16] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,
        0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
        0x0153, 0, 0x017E, 0x0178,
    ]

    /// windows-1251 0x80–0xBF (0 = undefined); 0xC0–0xFF are А–я.
    private static let cp1251: [UInt16] = [
        0x0402, 0x0403, 0x201A, 0x0453, 0x201E, 0x2026, 0x2020, 0x2021, 0x20AC, 0x2030, 0x0409, 0x2039, 0x040A,
        0x040C, 0x040B, 0x040F, 0x0452, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0, 0x2122, 0x0459,
        0x203A, 0x045A, 0x045C, 0x045B, 0x045F, 0x00A0, 0x040E, 0x045E, 0x0408, 0x00A4, 0x0490, 0x00A6, 0x00A7,
        0x0401, 0x00A9, 0x0404, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x0407, 0x00B0, 0x00B1, 0x0406, 0x0456, 0x0491,
        0x00B5, 0x00B6, 0x00B7, 0x0451, 0x2116, 0x0454, 0x00BB, 0x0458, 0x0405, 0x0455, 0x0457,
    ]

    /// KOI8-R 0x80–0xFF.
    private static let koi8r: [UInt16] = [
        0x2500, 0x2502, 0x250C, 0x2510, 0x2514, 0x2518, 0x251C, 0x2524, 0x252C, 0x2534, 0x253C, 0x2580, 0x2584,
        0x2588, 0x258C, 0x2590, 0x2591, 0x2592, 0x2593, 0x2320, 0x25A0, 0x2219, 0x221A, 0x2248, 0x2264, 0x2265,
        0x00A0, 0x2321, 0x00B0, 0x00B2, 0x00B7, 0x00F7, 0x2550, 0x2551, 0x2552, 0x0451, 0x2553, 0x2554, 0x2555,
        0x2556, 0x2557, 0x2558, 0x2559, 0x255A, 0x255B, 0x255C, 0x255D, 0x255E, 0x255F, 0x2560, 0x2561, 0x0401,
        0x2562, 0x2563, 0x2564, 0x2565, 0x2566, 0x2567, 0x2568, 0x2569, 0x256A, 0x256B, 0x256C, 0x00A9, 0x044E,
        0x0430, 0x0431, 0x0446, 0x0434, 0x0435, 0x0444, 0x0433, 0x0445, 0x0438, 0x0439, 0x043A, 0x043B, 0x043C,
        0x043D, 0x043E, 0x043F, 0x044F, 0x0440, 0x0441, 0x0442, 0x0443, 0x0436, 0x0432, 0x044C, 0x044B, 0x0437,
        0x0448, 0x044D, 0x0449, 0x0447, 0x044A, 0x042E, 0x0410, 0x0411, 0x0426, 0x0414, 0x0415, 0x0424, 0x0413,
        0x0425, 0x0418, 0x0419, 0x041A, 0x041B, 0x041C, 0x041D, 0x041E, 0x041F, 0x042F, 0x0420, 0x0421, 0x0422,
        0x0423, 0x0416, 0x0412, 0x042C, 0x042B, 0x0417, 0x0428, 0x042D, 0x0429, 0x0427, 0x042A,
    ]
}
