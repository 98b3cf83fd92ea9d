/// The keys by which local dedup matches a lead to an earlier lead of the same event: normalised email,
/// E.164 phone and badge id.
///
/// Values are normally stored already normalised by `LeadValidator`; the keys normalise again so that an
/// imported or hand-edited lead still matches.
public struct DedupKeys: Hashable, Sendable {
    /// Lower-cased email address.
    public var email: String?
    /// E.164 phone number (`+79161234567`), or the digits (with a leading `+` if there was one) of a value
    /// that does not parse as a phone number.
    public var phone: String?
    /// Trimmed, upper-cased badge id.
    public var badgeID: String?

    public init(email: String?, phone: String?, badgeID: String?) {
        self.email = email
        self.phone = phone
        self.badgeID = badgeID
    }

    /// The keys of a lead.
    ///
    /// - Parameters:
    ///   - fields: The lead's field values.
    ///   - badgeID: The scanned badge id, if any.
    ///   - form: The form, to find the email and phone fields: the first field of type `email` (else the field
    ///     named `email`) and the first of type `phone` (else the field named `phone`).
    public init(fields: [String: String], badgeID: String?, form: FormSpec) {
        let emailField = form.fields.first { $0.type == .email }?.name ?? "email"
        let phoneField = form.fields.first { $0.type == .phone }?.name ?? "phone"
        self.email = fields[emailField].flatMap(Self.emailKey)
        self.phone = fields[phoneField].flatMap(Self.phoneKey)
        self.badgeID = badgeID.flatMap(Self.badgeKey)
    }

    /// Whether no key is present, so the lead can match nothing.
    public var isEmpty: Bool { email == nil && phone == nil && badgeID == nil }

    static func emailKey(_ value: String) -> String? {
        // Fast path for the common case, a value the validator already normalised (bulk import checks every lead).
        if isPlainASCII(
            value,
            allowing: {
                $0 == UInt8(ascii: "@") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
                    || $0 == UInt8(ascii: "+") || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39)
            }
        ),
            value.utf8.count(where: { $0 == UInt8(ascii: "@") }) == 1
        {
            return value
        }
        if let email = EmailAddress.normalize(value) { return email }
        let cleaned = TextSanitizer.clean(value, multiline: false).lowercased()
        return cleaned.isEmpty ? nil : cleaned
    }

    static func phoneKey(_ value: String) -> String? {
        if value.utf8.first == UInt8(ascii: "+"), (9...16).contains(value.utf8.count),
            value.utf8.dropFirst().allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        {
            return value
        }
        if let phone = PhoneNumber.normalize(value, defaultCountry: nil) { return phone }
        let cleaned = TextSanitizer.clean(value, multiline: false)
        let digits = String(cleaned.unicodeScalars.filter { ("0"..."9").contains($0) }.map(Character.init))
        guard !digits.isEmpty else { return nil }
        return cleaned.hasPrefix("+") ? "+" + digits : digits
    }

    static func badgeKey(_ value: String) -> String? {
        if isPlainASCII(
            value,
            allowing: { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") }
        ) {
            return value
        }
        let cleaned = TextSanitizer.clean(value, multiline: false).uppercased()
        return cleaned.isEmpty ? nil : cleaned
    }

    /// A non-empty value made only of bytes `allowed` accepts (all of them ASCII): already a canonical key.
    private static func isPlainASCII(_ value: String, allowing allowed: (UInt8) -> Bool) -> Bool {
        !value.isEmpty && value.utf8.allSatisfy(allowed)
    }
}
