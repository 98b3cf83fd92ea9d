/// What a badge, QR code or business card decodes to, before validation.
public struct DecodedCard: Sendable, Hashable {
    /// Form field values by field name (`first_name`, `last_name`, `email`, `phone`, `company`, `job_title`, …),
    /// raw as decoded: the validator cleans and normalises them.
    public var fields: [String: String]
    /// The badge id, when the payload carries one (or is one).
    public var badgeID: String?
    /// Free text the card carried (vCard NOTE), kept as the lead's notes.
    public var notes: String?

    public init(fields: [String: String] = [:], badgeID: String? = nil, notes: String? = nil) {
        self.fields = fields
        self.badgeID = badgeID
        self.notes = notes
    }
}

/// The payload formats a scanner (or a keyboard-wedge scanner) delivers.
public enum CardFormat: String, Sendable, CaseIterable, Hashable {
    /// Detect: `BEGIN:VCARD`, `MECARD:`, `{`, `key=value;…`, else a bare badge id.
    case auto
    case vcard, mecard, json, kv, badge
}

/// Why a payload did not decode. A struct around a private code so new reasons break nobody.
public struct CardDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        fileprivate let name: String
        public static let empty = Reason(name: "empty")
        public static let tooLong = Reason(name: "too long")
        public static let invalidUTF8 = Reason(name: "invalid UTF-8")
        public static let malformed = Reason(name: "malformed")
        public static let noUsableFields = Reason(name: "no usable fields")
        public static let tooManyProperties = Reason(name: "too many properties")
        public static let binary = Reason(name: "binary garbage")
        public var description: String { name }
    }

    public let reason: Reason
    /// Detail for the log (never the payload itself: it may hold personal data).
    public let detail: String

    public init(_ reason: Reason, _ detail: String = "") {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { detail.isEmpty ? reason.description : "\(reason): \(detail)" }
}
