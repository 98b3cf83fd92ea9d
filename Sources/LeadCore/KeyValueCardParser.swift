/// Reads the simple payloads registration systems print on badges: a JSON object, `key=value` pairs, or a
/// bare badge id.
///
/// Keys are matched loosely: trimmed, `camelCase` split into words, lower-cased, and spaces, `-` and `.`
/// read as `_`; then a synonym table maps them to form fields:
///
/// | keys | field |
/// | --- | --- |
/// | `first_name` `firstname` `given_name` `first` `first name` `forename` | `first_name` |
/// | `last_name` `lastname` `surname` `family_name` `last` | `last_name` |
/// | `name` `full_name` `fn` | `first_name` + `last_name`, split at the last word, unless those are given |
/// | `email` `e-mail` `mail` `email_address` | `email` |
/// | `phone` `tel` `telephone` `mobile` `cell` `phone_number` | `phone` |
/// | `company` `org` `organization` `organisation` `company_name` | `company` |
/// | `job_title` `title` `position` `jobtitle` | `job_title` |
/// | `badge_id` `badge` `id` `barcode` `badge_number` `attendee_id` | ``DecodedCard/badgeID`` |
/// | `notes` `note` `comment` `comments` | ``DecodedCard/notes`` |
///
/// Any other key is kept as a field under its normalised name if that matches `[a-z][a-z0-9_]{0,39}`, and
/// dropped otherwise. Empty values are dropped; when a field appears twice, the later non-empty value wins.
public enum KeyValueCardParser {
    /// The most members (JSON) or pairs (`key=value`) a payload may have.
    public static let maximumFields = VCardParser.maximumProperties

    /// Parses a JSON object: string and number values are used; `null`, Booleans, arrays and nested objects
    /// are ignored.
    ///
    /// ```swift
    /// KeyValueCardParser.parseJSON(#"{"firstName":"Anna","e-mail":"anna@example.ru","badge":"A-1"}"#)
    /// // fields first_name, email; badgeID "A-1"
    /// ```
    ///
    /// - Returns: The card, or ``CardDecodeError/Reason/malformed`` (not JSON, or not an object),
    ///   ``CardDecodeError/Reason/tooLong``, ``CardDecodeError/Reason/tooManyProperties`` or
    ///   ``CardDecodeError/Reason/noUsableFields``.
    public static func parseJSON(_ text: String) -> Result<DecodedCard, CardDecodeError> {
        if let error = CardFields.checkLength(text) { return .failure(error) }
        let document: JSONValue
        do {
            document = try JSONValue.parse(Array(text.utf8))
        } catch {
            return .failure(CardDecodeError(.malformed, error.description))
        }
        guard let members = document.objectValue else {
            return .failure(CardDecodeError(.malformed, "JSON is not an object"))
        }
        guard members.count <= maximumFields else {
            return .failure(CardDecodeError(.tooManyProperties, "more than \(maximumFields) members"))
        }
        var builder = Builder()
        for member in members {
            switch member.value {
            case .string(let value): builder.add(key: member.key, value: value)
            case .number(let literal): builder.add(key: member.key, value: literal)
            default: continue
            }
        }
        return CardFields.requireUsable(builder.card())
    }

    /// Parses `key=value` pairs separated by `;` (or, when there is no `;`, by `&` as in a URL query, whose
    /// `%XX` escapes and `+` are then decoded). Line breaks also separate pairs; a pair without `=` is
    /// ignored. A value may contain `=`: only the first one separates.
    ///
    /// ```swift
    /// KeyValueCardParser.parseKeyValue("first_name=Anna;last_name=Petrova;email=anna@example.ru")
    /// ```
    ///
    /// - Returns: The card, or ``CardDecodeError/Reason/tooLong``,
    ///   ``CardDecodeError/Reason/tooManyProperties`` or ``CardDecodeError/Reason/noUsableFields``.
    public static func parseKeyValue(_ text: String) -> Result<DecodedCard, CardDecodeError> {
        if let error = CardFields.checkLength(text) { return .failure(error) }
        let bytes = Array(text.utf8)
        let isQuery = !bytes.contains(UInt8(ascii: ";"))
        let separator = isQuery ? UInt8(ascii: "&") : UInt8(ascii: ";")
        let pairs = bytes.split(omittingEmptySubsequences: true) { $0 == separator || $0 == 0x0A || $0 == 0x0D }
        var builder = Builder()
        var count = 0
        for pair in pairs {
            guard let eq = pair.firstIndex(of: UInt8(ascii: "=")) else { continue }
            count += 1
            if count > maximumFields {
                return .failure(CardDecodeError(.tooManyProperties, "more than \(maximumFields) pairs"))
            }
            let key = pair[..<eq]
            let value = pair[(eq + 1)...]
            if isQuery {
                builder.add(key: percentDecoded(key), value: percentDecoded(value))
            } else {
                builder.add(key: String(decoding: key, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
            }
        }
        return CardFields.requireUsable(builder.card())
    }

    /// Parses a bare badge id: trimmed, 1–64 characters of `A–Z a–z 0–9 _ -`.
    ///
    /// - Returns: `DecodedCard(badgeID:)`, or ``CardDecodeError/Reason/empty`` or
    ///   ``CardDecodeError/Reason/malformed``.
    public static func parseBadge(_ text: String) -> Result<DecodedCard, CardDecodeError> {
        let trimmed = CardText.trimmed(text)
        if trimmed.isEmpty { return .failure(CardDecodeError(.empty)) }
        guard let badge = CardFields.badgeID(trimmed) else {
            let detail =
                trimmed.utf8.count > CardFields.maximumBadgeLength
                ? "a badge id has at most \(CardFields.maximumBadgeLength) characters, this has \(trimmed.count)"
                : "a badge id has only letters, digits, '_' and '-'"
            return .failure(CardDecodeError(.malformed, detail))
        }
        return .success(DecodedCard(badgeID: badge))
    }

    /// The field a payload key stands for: a form field name, `badge_id`, `notes`, `name` (a full name), or
    /// the normalised key itself; nil when the key cannot be a field name.
    ///
    /// ```swift
    /// KeyValueCardParser.fieldName(forKey: "E-Mail")     // "email"
    /// KeyValueCardParser.fieldName(forKey: "jobTitle")   // "job_title"
    /// KeyValueCardParser.fieldName(forKey: "T-shirt")    // "t_shirt"
    /// KeyValueCardParser.fieldName(forKey: "Größe")      // nil
    /// ```
    public static func fieldName(forKey key: String) -> String? {
        let normalized = normalize(key)
        if let synonym = synonyms[normalized] { return synonym }
        return isFieldName(normalized) ? normalized : nil
    }

    /// `[a-z][a-z0-9_]{0,39}`.
    private static func isFieldName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard let first = utf8.first, first >= 0x61 && first <= 0x7A, utf8.count <= 40 else { return false }
        return utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") }
    }

    /// Trimmed; `camelCase` → `camel_case`; ASCII lower-cased; runs of space, tab, `-`, `.` and `_` → one `_`,
    /// none at either end. Non-ASCII characters are kept (and then fail ``isFieldName(_:)``).
    private static func normalize(_ key: String) -> String {
        var out: [UInt8] = []
        var previous: UInt8 = 0
        var pendingUnderscore = false
        for c in CardText.trimmed(key).utf8 {
            let isSeparator =
                c == 0x20 || c == 0x09 || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
                || c == UInt8(ascii: "_")
            if isSeparator {
                pendingUnderscore = !out.isEmpty
                previous = c
                continue
            }
            let isUpper = c >= 0x41 && c <= 0x5A
            let previousIsLowerOrDigit =
                (previous >= 0x61 && previous <= 0x7A) || (previous >= 0x30 && previous <= 0x39)
            if isUpper && previousIsLowerOrDigit { pendingUnderscore = true }
            if pendingUnderscore {
                out.append(UInt8(ascii: "_"))
                pendingUnderscore = false
            }
            out.append(CardText.lowercased(c))
            previous = c
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let synonyms: [String: String] = {
        let table: [(String, [String])] = [
            (CardFields.firstName, ["first_name", "firstname", "given_name", "givenname", "first", "forename"]),
            (CardFields.lastName, ["last_name", "lastname", "surname", "family_name", "familyname", "last"]),
            (fullName, ["name", "full_name", "fullname", "fn"]),
            (CardFields.email, ["email", "e_mail", "mail", "email_address", "emailaddress"]),
            (
                CardFields.phone,
                ["phone", "tel", "telephone", "mobile", "mobile_phone", "cell", "phone_number", "phonenumber"]
            ),
            (
                CardFields.company,
                ["company", "org", "organization", "organisation", "company_name", "companyname"]
            ),
            (CardFields.jobTitle, ["job_title", "jobtitle", "title", "position"]),
            (badgeField, ["badge_id", "badgeid", "badge", "id", "barcode", "badge_number", "attendee_id"]),
            (notesField, ["notes", "note", "comment", "comments"]),
        ]
        var map: [String: String] = [:]
        for (field, keys) in table {
            for key in keys { map[key] = field }
        }
        return map
    }()

    private static let fullName = "name"
    private static let badgeField = "badge_id"
    private static let notesField = "notes"

    /// `%XX` escapes and `+` (space) decoded; the text as it was when the result would not be UTF-8.
    private static func percentDecoded(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let c = bytes[i]
            if c == UInt8(ascii: "%"), bytes.endIndex - i >= 3, let hi = CardText.hexValue(bytes[i + 1]),
                let lo = CardText.hexValue(bytes[i + 2])
            {
                out.append(hi << 4 | lo)
                i += 3
                continue
            }
            out.append(c == UInt8(ascii: "+") ? 0x20 : c)
            i += 1
        }
        return String(validating: out, as: UTF8.self) ?? String(decoding: bytes, as: UTF8.self)
    }

    /// Collects values by field while a payload is read.
    private struct Builder {
        var fields: [String: String] = [:]
        var fullName: String?
        var badgeID: String?
        var notes: String?

        mutating func add(key: String, value: String) {
            guard let field = KeyValueCardParser.fieldName(forKey: key) else { return }
            let trimmed = String(CardText.trimmed(value))
            switch field {
            case KeyValueCardParser.fullName:
                if CardFields.hasContent(trimmed) { fullName = trimmed }
            case KeyValueCardParser.badgeField:
                if let badge = CardFields.badgeID(trimmed) { badgeID = badge }
            case KeyValueCardParser.notesField:
                if CardFields.hasContent(trimmed) { notes = trimmed }
            default:
                CardFields.set(field, trimmed, in: &fields)
            }
        }

        func card() -> DecodedCard {
            var fields = self.fields
            if let fullName, fields[CardFields.firstName] == nil, fields[CardFields.lastName] == nil {
                CardFields.setFullName(fullName, in: &fields)
            }
            return DecodedCard(fields: fields, badgeID: badgeID, notes: notes)
        }
    }
}
