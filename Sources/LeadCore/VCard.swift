/// Writes leads as vCard 4.0 (RFC 6350) for contact apps.
///
/// Uses the fields `first_name`, `last_name`, `email`, `phone`, `company` and `job_title`; the staff notes and
/// rating go into `NOTE`, the lead id into `UID` (`urn:uuid:…`) and the capture time into `REV`. Lines end in
/// CRLF and are folded at 75 octets, never inside a UTF-8 sequence.
///
/// ```
/// BEGIN:VCARD
/// VERSION:4.0
/// FN:Анна Петрова
/// N:Петрова;Анна;;;
/// EMAIL:anna@example.ru
/// TEL;VALUE=uri:tel:+79161234567
/// ORG:ООО Ромашка
/// NOTE:Rating: hot\nwants a demo
/// UID:urn:uuid:0193a5c1-…
/// REV:20261122T095841Z
/// END:VCARD
/// ```
public enum VCardWriter {
    /// The longest line, in octets and without the CRLF, that RFC 6350 §3.2 allows.
    public static let maximumLineLength = 75

    /// Appends one vCard for `lead` to `out`.
    public static func append(_ lead: Lead, to out: inout [UInt8]) {
        func field(_ name: String) -> String {
            guard let value = lead.fields[name] else { return "" }
            return trimmed(value)
        }
        let first = field("first_name")
        let last = field("last_name")
        let email = field("email")
        let phone = field("phone")
        let company = field("company")
        let title = field("job_title")

        var line: [UInt8] = []
        line.reserveCapacity(128)
        func emit() {
            appendFolded(line, to: &out)
            line.removeAll(keepingCapacity: true)
        }
        func raw(_ text: String) { line.append(contentsOf: text.utf8) }

        raw("BEGIN:VCARD")
        emit()
        raw("VERSION:4.0")
        emit()

        let fullName = [first, last].filter { !$0.isEmpty }.joined(separator: " ")
        let fn = [fullName, company, email, phone].first { !$0.isEmpty } ?? lead.id
        raw("FN:")
        appendEscaped(fn, to: &line)
        emit()

        raw("N:")
        appendEscaped(last, to: &line)
        line.append(0x3B)
        appendEscaped(first, to: &line)
        raw(";;;")
        emit()

        if !email.isEmpty {
            raw("EMAIL:")
            appendEscaped(email, to: &line)
            emit()
        }
        if !phone.isEmpty {
            if isE164(phone) {
                raw("TEL;VALUE=uri:tel:")
                raw(phone)
            } else {
                raw("TEL;VALUE=text:")
                appendEscaped(phone, to: &line)
            }
            emit()
        }
        if !company.isEmpty {
            raw("ORG:")
            appendEscaped(company, to: &line)
            emit()
        }
        if !title.isEmpty {
            raw("TITLE:")
            appendEscaped(title, to: &line)
            emit()
        }

        var note = lead.rating.map { "Rating: \($0.rawValue)" } ?? ""
        let notes = trimmed(lead.notes)
        if !notes.isEmpty { note = note.isEmpty ? notes : note + "\n" + notes }
        if !note.isEmpty {
            raw("NOTE:")
            appendEscaped(note, to: &line)
            emit()
        }

        raw("UID:urn:uuid:")
        raw(lead.id)
        emit()

        // RFC 6350 timestamp: 20261122T095841Z, i.e. the RFC 3339 form without separators and milliseconds.
        var rfc3339: [UInt8] = []
        lead.capturedAt.appendRFC3339(to: &rfc3339)
        raw("REV:")
        for (i, c) in rfc3339.enumerated() where c != 0x2D && c != 0x3A && !(19...22).contains(i) { line.append(c) }
        emit()

        raw("END:VCARD")
        emit()
    }

    private static func trimmed(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }

    /// `+` and 7–15 digits.
    private static func isE164(_ s: String) -> Bool {
        let u = s.utf8
        guard u.first == 0x2B, (8...16).contains(u.count) else { return false }
        return u.dropFirst().allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// RFC 6350 §3.4 text escaping: `\` `,` `;` are backslash-escaped and a line break (CRLF, CR or LF) becomes
    /// `\n`; other control characters, which no contact app expects, are dropped.
    static func appendEscaped(_ text: String, to out: inout [UInt8]) {
        var previousCR = false
        for c in text.utf8 {
            defer { previousCR = c == 0x0D }
            switch c {
            case 0x5C, 0x2C, 0x3B:
                out.append(0x5C)
                out.append(c)
            case 0x0D:
                out.append(0x5C)
                out.append(0x6E)
            case 0x0A:
                if !previousCR {
                    out.append(0x5C)
                    out.append(0x6E)
                }
            case 0x09:
                out.append(c)
            case 0x00..<0x20, 0x7F:
                continue
            default:
                out.append(c)
            }
        }
    }

    /// Appends `line` with CRLF, folded (CRLF and a space) so that no physical line exceeds 75 octets and no
    /// UTF-8 sequence is split.
    static func appendFolded(_ line: [UInt8], to out: inout [UInt8]) {
        var start = 0
        var limit = maximumLineLength
        while line.count - start > limit {
            var cut = start + limit
            // Back up to the first byte of a character (continuation bytes are 10xxxxxx).
            while cut > start && line[cut] & 0xC0 == 0x80 { cut -= 1 }
            out.append(contentsOf: line[start..<cut])
            out.append(contentsOf: [0x0D, 0x0A, 0x20])
            start = cut
            limit = maximumLineLength - 1  // the leading space counts
        }
        out.append(contentsOf: line[start...])
        out.append(contentsOf: [0x0D, 0x0A])
    }
}
