/// Where a lead came from.
public enum Channel: String, Sendable, CaseIterable, Hashable {
    case keyboard
    case serialTerminal = "serial-terminal"
    case scanner
    case `import`
    case staff
}

/// Staff qualification of a lead.
public enum Rating: String, Sendable, CaseIterable, Hashable {
    case hot, warm, cold
}

/// A visitor's consent as proven to the CRM: the SHA-256 of the exact text shown, its language and time.
public struct Consent: Sendable, Hashable {
    public var given: Bool
    /// Lower-case hex SHA-256 of the exact consent text the visitor saw.
    public var textSHA256: String
    public var language: String
    public var at: Timestamp

    public init(given: Bool, textSHA256: String, language: String, at: Timestamp) {
        self.given = given
        self.textSHA256 = textSHA256
        self.language = language
        self.at = at
    }

    /// Consent given now to `text` shown in `language`.
    public init(text: String, language: String, at: Timestamp = .now()) {
        self.init(given: true, textSHA256: SHA256.hex(text), language: language, at: at)
    }
}

/// One captured lead. Field names are the form's keys (`first_name`, `email`, …).
public struct Lead: Sendable, Hashable {
    /// UUIDv7, generated at capture, never changed.
    public var id: String
    /// Starts at 1 and bumps on every staff edit.
    public var revision: Int
    public var event: String
    public var kiosk: String
    public var capturedAt: Timestamp
    public var channel: Channel
    /// The device it came from (`/dev/ttyACM0`, `/dev/tty1`), if any.
    public var device: String?
    public var fields: [String: String]
    public var consent: Consent?
    public var rating: Rating?
    public var notes: String
    public var badgeID: String?
    /// The id of an earlier lead of the same event that this one duplicates.
    public var duplicateOf: String?

    public init(
        id: String = LeadID.make(),
        revision: Int = 1,
        event: String,
        kiosk: String,
        capturedAt: Timestamp = .now(),
        channel: Channel,
        device: String? = nil,
        fields: [String: String],
        consent: Consent? = nil,
        rating: Rating? = nil,
        notes: String = "",
        badgeID: String? = nil,
        duplicateOf: String? = nil
    ) {
        self.id = id
        self.revision = revision
        self.event = event
        self.kiosk = kiosk
        self.capturedAt = capturedAt
        self.channel = channel
        self.device = device
        self.fields = fields
        self.consent = consent
        self.rating = rating
        self.notes = notes
        self.badgeID = badgeID
        self.duplicateOf = duplicateOf
    }
}
