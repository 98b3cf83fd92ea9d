/// Reads a MECARD (the NTT DoCoMo contact format many QR generators and badge printers use).
///
/// ```
/// MECARD:N:Petrova,Anna;TEL:+79161234567;EMAIL:anna@example.ru;ORG:Romashka;TITLE:CTO;NOTE:Call back;;
/// ```
///
/// Fields are `KEY:value` separated by `;`; in values `\;` `\:` `\,` and `\\` stand for the character itself.
///
/// | field | becomes |
/// | --- | --- |
/// | `N` (`last,first`; without a comma a full name split at the last word) | `last_name`, `first_name` |
/// | `EMAIL` (first) | `email` |
/// | `TEL` (first) | `phone` |
/// | `ORG` | `company` |
/// | `TITLE` | `job_title` |
/// | `NOTE` (all, one per line) | ``DecodedCard/notes`` |
///
/// Other fields (`SOUND`, `TEL-AV`, `ADR`, `BDAY`, `URL`, `NICKNAME`, …) are ignored.
public enum MECardParser {
    /// The most fields a MECARD may have.
    public static let maximumFields = VCardParser.maximumProperties

    /// Parses one MECARD.
    ///
    /// - Returns: The card, or ``CardDecodeError/Reason/tooLong`` (over 8 KiB),
    ///   ``CardDecodeError/Reason/malformed`` (no `MECARD:` prefix), ``CardDecodeError/Reason/tooManyProperties``
    ///   or ``CardDecodeError/Reason/noUsableFields``.
    public static func parse(_ text: String) -> Result<DecodedCard, CardDecodeError> {
        if let error = CardFields.checkLength(text) { return .failure(error) }
        let body = CardText.trimmed(text)
        guard CardText.hasPrefixIgnoringCase(body, "MECARD:") else {
            return .failure(CardDecodeError(.malformed, "does not start with MECARD:"))
        }
        let bytes = Array(body.utf8.dropFirst(7))
        let segments = split(bytes[...], at: UInt8(ascii: ";"))
        var fields: [String: String] = [:]
        var notes: [String] = []
        var count = 0
        var hasName = false
        for segment in segments {
            guard let colon = segment.firstIndex(of: UInt8(ascii: ":")) else { continue }
            count += 1
            if count > maximumFields {
                return .failure(CardDecodeError(.tooManyProperties, "more than \(maximumFields) fields"))
            }
            let key = String(CardText.trimmed(CardText.uppercased(segment[..<colon])))
            let raw = segment[(colon + 1)...]
            switch key {
            case "N" where !hasName:
                let parts = split(raw, at: UInt8(ascii: ",")).map(unescape)
                if parts.count >= 2 {
                    CardFields.set(CardFields.lastName, parts[0], in: &fields)
                    CardFields.set(CardFields.firstName, parts[1], in: &fields)
                } else if let name = parts.first {
                    CardFields.setFullName(name, in: &fields)
                }
                hasName = fields[CardFields.firstName] != nil || fields[CardFields.lastName] != nil
            case "EMAIL" where fields[CardFields.email] == nil:
                CardFields.set(CardFields.email, unescape(raw), in: &fields)
            case "TEL" where fields[CardFields.phone] == nil:
                CardFields.set(CardFields.phone, unescape(raw), in: &fields)
            case "ORG" where fields[CardFields.company] == nil:
                CardFields.set(CardFields.company, unescape(raw), in: &fields)
            case "TITLE" where fields[CardFields.jobTitle] == nil:
                CardFields.set(CardFields.jobTitle, unescape(raw), in: &fields)
            case "NOTE":
                let note = String(CardText.trimmed(unescape(raw)))
                if CardFields.hasContent(note) { notes.append(note) }
            default:
                continue
            }
        }
        let card = DecodedCard(fields: fields, notes: notes.isEmpty ? nil : notes.joined(separator: "\n"))
        return CardFields.requireUsable(card)
    }

    /// `bytes` split at each `separator` that is not escaped with a backslash; escapes are kept.
    static func split(_ bytes: ArraySlice<UInt8>, at separator: UInt8) -> [ArraySlice<UInt8>] {
        var parts: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let c = bytes[i]
            if c == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            if c == separator {
                parts.append(bytes[start..<i])
                start = i + 1
            }
            i += 1
        }
        parts.append(bytes[start..<bytes.endIndex])
        return parts
    }

    /// A value with each backslash escape replaced by the character it escapes.
    static func unescape(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.endIndex {
                i += 1
            }
            out.append(bytes[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
