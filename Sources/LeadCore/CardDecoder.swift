/// Turns one scanned payload (a badge, a QR code, a business card) into a ``DecodedCard``.
///
/// Every payload goes through the same gate before any parser sees it: at most
/// ``maximumPayloadBytes`` bytes, well-formed UTF-8 (a leading byte order mark is skipped), no NUL byte and
/// mostly printable text. With ``CardFormat/auto`` the format is then detected from the first bytes:
///
/// | payload starts with / contains | format |
/// | --- | --- |
/// | `BEGIN:VCARD` (any case) | ``VCardParser`` |
/// | `MECARD:` (any case) | ``MECardParser`` |
/// | `{` | ``KeyValueCardParser/parseJSON(_:)`` |
/// | a `=` anywhere | ``KeyValueCardParser/parseKeyValue(_:)`` |
/// | anything else | ``KeyValueCardParser/parseBadge(_:)`` |
///
/// A card must carry a name, email, phone or company (or a badge id); otherwise it fails with
/// ``CardDecodeError/Reason/noUsableFields``, so that garbage never becomes a lead. Errors never quote the
/// payload: it may hold personal data.
///
/// ```swift
/// CardDecoder.decode("MECARD:N:Petrova,Anna;EMAIL:anna@example.ru;;")
/// // .success(DecodedCard(fields: ["last_name": "Petrova", "first_name": "Anna", "email": "anna@example.ru"]))
/// CardDecoder.decode("A-10042")  // .success(DecodedCard(badgeID: "A-10042"))
/// ```
public enum CardDecoder {
    /// The longest payload accepted, in bytes (8 KiB), as DESIGN.md sets for scanner records.
    public static let maximumPayloadBytes = 8192

    /// Decodes one scanner record.
    ///
    /// - Parameters:
    ///   - bytes: The record as read from the device, without its line end.
    ///   - format: The format configured for the scanner (`Format=`), or ``CardFormat/auto`` to detect it.
    /// - Returns: The card, or why it was dropped: ``CardDecodeError/Reason/tooLong`` (over 8 KiB),
    ///   ``CardDecodeError/Reason/invalidUTF8``, ``CardDecodeError/Reason/binary`` (a NUL byte, or mostly
    ///   control characters), ``CardDecodeError/Reason/empty``, or what the format's parser reported.
    public static func decode(
        _ bytes: some Collection<UInt8>,
        format: CardFormat = .auto
    ) -> Result<DecodedCard, CardDecodeError> {
        let count = bytes.count
        guard count <= maximumPayloadBytes else {
            return .failure(CardDecodeError(.tooLong, "\(count) bytes, at most \(maximumPayloadBytes)"))
        }
        var buffer = Array(bytes)
        if buffer.starts(with: [0xEF, 0xBB, 0xBF]) { buffer.removeFirst(3) }
        if let nul = buffer.firstIndex(of: 0) {
            return .failure(CardDecodeError(.binary, "NUL byte at offset \(nul)"))
        }
        guard let text = String(validating: buffer, as: UTF8.self) else {
            return .failure(CardDecodeError(.invalidUTF8, "\(count) bytes"))
        }
        return decodeText(text, format: format)
    }

    /// Decodes a payload that is already text (typed, pasted, or read from a file).
    ///
    /// The same rules as for bytes apply; the text is measured in UTF-8 bytes.
    public static func decode(_ text: String, format: CardFormat = .auto) -> Result<DecodedCard, CardDecodeError> {
        decode(text.utf8, format: format)
    }

    /// The format ``CardFormat/auto`` picks for `text` (never ``CardFormat/auto`` itself).
    public static func detectFormat(_ text: String) -> CardFormat {
        let body = CardText.trimmed(text)
        if CardText.hasPrefixIgnoringCase(body, "BEGIN:VCARD") { return .vcard }
        if CardText.hasPrefixIgnoringCase(body, "MECARD:") { return .mecard }
        if body.utf8.first == UInt8(ascii: "{") { return .json }
        if body.utf8.contains(UInt8(ascii: "=")) { return .kv }
        return .badge
    }

    private static func decodeText(_ text: String, format: CardFormat) -> Result<DecodedCard, CardDecodeError> {
        var total = 0
        var unprintable = 0
        for scalar in text.unicodeScalars {
            total += 1
            if !CardText.isPrintable(scalar) { unprintable += 1 }
        }
        // "Mostly" binary: more than a quarter control characters. A stray escape sequence in an otherwise
        // good card is left to the validator, which strips control characters from every value.
        if unprintable * 4 > total {
            return .failure(CardDecodeError(.binary, "\(unprintable) of \(total) characters are not printable"))
        }
        if CardText.trimmed(text).isEmpty { return .failure(CardDecodeError(.empty)) }
        switch format == .auto ? detectFormat(text) : format {
        case .vcard: return VCardParser.parse(text)
        case .mecard: return MECardParser.parse(text)
        case .json: return KeyValueCardParser.parseJSON(text)
        case .kv: return KeyValueCardParser.parseKeyValue(text)
        case .badge, .auto: return KeyValueCardParser.parseBadge(text)
        }
    }
}

/// Field names the decoders fill, and the checks they share.
enum CardFields {
    static let firstName = "first_name"
    static let lastName = "last_name"
    static let email = "email"
    static let phone = "phone"
    static let company = "company"
    static let jobTitle = "job_title"

    /// The fields of which a card needs at least one (unless it carries a badge id).
    static let identifying = [firstName, lastName, email, phone, company]

    /// The longest badge id accepted.
    static let maximumBadgeLength = 64

    /// Whether `value` has something visible left once the validator has cleaned it
    /// (`TextSanitizer.clean(value, multiline:)` is not empty), without building the cleaned text.
    static func hasContent(_ value: some StringProtocol) -> Bool {
        for scalar in value.unicodeScalars {
            switch scalar.value {
            case 0x21...0x7E: return true
            case 0...0x20, 0x7F...0x9F: continue
            default:
                if !CardText.isWhitespace(scalar) && !TextSanitizer.isInvisible(scalar) { return true }
            }
        }
        return false
    }

    /// Stores `value`, trimmed, under `name` unless nothing visible is left of it.
    static func set(_ name: String, _ value: some StringProtocol, in fields: inout [String: String]) {
        let trimmed = String(CardText.trimmed(value))
        if hasContent(trimmed) { fields[name] = trimmed }
    }

    /// Fills `first_name` and `last_name` from a full name ("Anna Maria Petrova": the last word is the
    /// family name, the words before it the given names; a single word is the given name).
    static func setFullName(_ name: some StringProtocol, in fields: inout [String: String]) {
        let words = Substring(name).unicodeScalars.split(whereSeparator: CardText.isWhitespace).map {
            String(Substring($0))
        }
        guard let last = words.last else { return }
        if words.count == 1 {
            set(firstName, last, in: &fields)
        } else {
            set(firstName, words.dropLast().joined(separator: " "), in: &fields)
            set(lastName, last, in: &fields)
        }
    }

    /// A badge id: trimmed, 1–64 characters of `A–Z a–z 0–9 _ -`, or nil.
    static func badgeID(_ value: some StringProtocol) -> String? {
        let trimmed = CardText.trimmed(value)
        let utf8 = trimmed.utf8
        guard !utf8.isEmpty, utf8.count <= maximumBadgeLength else { return nil }
        let valid = utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
        return valid ? String(trimmed) : nil
    }

    /// The card, or ``CardDecodeError/Reason/noUsableFields`` when it has no name, email, phone, company or
    /// badge id.
    static func requireUsable(_ card: DecodedCard) -> Result<DecodedCard, CardDecodeError> {
        if card.badgeID != nil { return .success(card) }
        if identifying.contains(where: { card.fields[$0].map(hasContent) ?? false }) { return .success(card) }
        return .failure(CardDecodeError(.noUsableFields, "no name, email, phone, company or badge id"))
    }

    /// ``CardDecodeError/Reason/tooLong`` when `text` is over ``CardDecoder/maximumPayloadBytes``.
    static func checkLength(_ text: String) -> CardDecodeError? {
        let count = text.utf8.count
        guard count > CardDecoder.maximumPayloadBytes else { return nil }
        return CardDecodeError(.tooLong, "\(count) bytes, at most \(CardDecoder.maximumPayloadBytes)")
    }
}

/// Text helpers shared by the decoders (no Foundation).
enum CardText {
    /// `s` without leading and trailing white space (Unicode `White_Space`, line breaks included).
    static func trimmed(_ s: some StringProtocol) -> Substring {
        let scalars = Substring(s).unicodeScalars
        guard let first = scalars.firstIndex(where: { !isWhitespace($0) }),
            let last = scalars.lastIndex(where: { !isWhitespace($0) })
        else { return "" }
        return Substring(scalars[first...last])
    }

    /// Unicode `White_Space`, with a fast path for ASCII.
    @inline(__always)
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20: true
        case 0...0x7F: false
        default: scalar.properties.isWhitespace
        }
    }

    /// Whether `s` starts with the ASCII text `prefix`, ignoring ASCII case.
    static func hasPrefixIgnoringCase(_ s: some StringProtocol, _ prefix: String) -> Bool {
        var bytes = s.utf8.makeIterator()
        for expected in prefix.utf8 {
            guard let c = bytes.next(), lowercased(c) == lowercased(expected) else { return false }
        }
        return true
    }

    /// Whether `s` is the ASCII text `other`, ignoring ASCII case.
    static func equalsIgnoringCase(_ s: some StringProtocol, _ other: String) -> Bool {
        s.utf8.count == other.utf8.count && hasPrefixIgnoringCase(s, other)
    }

    /// The ASCII lower-case form of one byte.
    @inline(__always)
    static func lowercased(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c | 0x20 : c }

    /// The ASCII upper-case form of some bytes.
    static func uppercased(_ bytes: some Sequence<UInt8>) -> String {
        String(decoding: bytes.map { $0 >= 0x61 && $0 <= 0x7A ? $0 & ~0x20 : $0 }, as: UTF8.self)
    }

    /// Not a control character (TAB, CR and LF count as printable), and not U+FFFD.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: return true
        case 0x00...0x1F, 0x7F...0x9F, 0xFFFD: return false
        default: return true
        }
    }

    /// The value of an ASCII hex digit, or nil.
    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}
