import LeadCore
import LeadStore

/// Turns one framed scanner record into a committed lead, or into a reason for dropping it.
///
/// Decode (the section's `Format=`) → double-read check → attendee lookup for a badge id → field cleaning
/// (``LeadValidator/validateScanned(_:)``) → identity check → commit, or with `Consent=form` a hand-over to
/// the form. Used on the scanner thread only.
struct ScannerIntake {
    /// What became of one record.
    enum Outcome {
        /// Committed: the lead as stored, and whether it is an unresolved badge scan.
        case captured(Lead, unresolved: Bool, droppedFields: [FieldError])
        /// `Consent=form`: not stored; the cleaned card goes to the form, where the visitor consents (or not).
        case forConsent(ScanHandoff.Scan, droppedFields: [FieldError])
        /// Not stored; `reason` is a short fixed text for counters, `detail` more for the log (never the data).
        case dropped(reason: String, detail: String)
    }

    /// Fixed drop reasons of the intake itself (the framer's and the decoder's come with their frames).
    enum Reason {
        static let doubleRead = "double read"
        static let noIdentity = "no usable identity"
        static let notStored = "not stored"
        static let nextToGarbage = "badge id next to garbage"
        static let implausibleBadge = "implausible badge id"
        static let noForm = "no form for consent"
    }

    /// A bare badge id read this soon after a dropped record is taken for a piece of the same garbage: a
    /// person cannot scan again that fast, but line noise or a binary dump is full of short tokens.
    static let garbageContextMilliseconds: Int64 = 500
    /// With `Format=auto`, a bare badge id shorter than this must be in the attendee list to count: random
    /// bytes contain short letter-and-digit runs between their line breaks all the time.
    static let minimumUnlistedBadgeLength = 4

    private let serial: LeaddConfig.Serial
    private let config: LeaddConfig
    private let format: CardFormat
    private let validator: LeadValidator
    private let consentText: String
    private var repeats = DuplicateScanFilter()
    /// When the last record was dropped as garbage (monotonic ms), until a good record follows.
    private var lastGarbageAt: Int64?

    /// The longest notes kept from a card (vCard `NOTE`), in characters.
    static let maximumNotes = 2000

    init(serial: LeaddConfig.Serial, config: LeaddConfig) {
        self.serial = serial
        self.config = config
        self.format = CardFormat(rawValue: serial.format.rawValue) ?? .auto
        self.validator = LeadValidator(form: config.form, country: config.kiosk.country)
        self.consentText = serial.consentText.text(for: config.kiosk.language)
    }

    /// Notes a dropped record (by the framer, the decoder or ``take(_:store:readAt:now:)``) for the
    /// garbage-context rule. Double reads and store failures are not garbage.
    mutating func noteDropped(reason: String, at readAt: Int64) {
        guard reason != Reason.doubleRead, reason != Reason.notStored else { return }
        lastGarbageAt = readAt
    }

    /// Decodes, checks and commits one record.
    ///
    /// - Parameters:
    ///   - record: The record's bytes, as framed.
    ///   - store: Where the lead goes (and the attendee list is).
    ///   - readAt: Monotonic milliseconds of the read, for the double-read window.
    ///   - now: The capture time.
    mutating func take(_ record: [UInt8], store: LeadStore, readAt: Int64, now: Timestamp) -> Outcome {
        let card: DecodedCard
        switch CardDecoder.decode(record, format: format) {
        case .success(let decoded): card = decoded
        case .failure(let error): return .dropped(reason: error.reason.description, detail: error.detail)
        }
        let isBareBadge = card.fields.isEmpty && card.notes == nil && card.badgeID != nil
        if isBareBadge, let last = lastGarbageAt, readAt - last < Self.garbageContextMilliseconds {
            return .dropped(reason: Reason.nextToGarbage, detail: "a bare badge id read right after dropped data")
        }
        if repeats.isRepeat(record, at: readAt) {
            return .dropped(reason: Reason.doubleRead, detail: "the same payload within 2 s")
        }
        var raw = card.fields
        if let badge = card.badgeID {
            let attendee: [String: String]?
            do {
                attendee = try store.attendee(badgeID: badge)
            } catch {
                return .dropped(reason: Reason.notStored, detail: "attendee lookup failed: \(error)")
            }
            // The card's own values win over the list's: they are what the visitor carries.
            if let attendee { raw = attendee.merging(raw) { _, card in card } }
            if isBareBadge, attendee == nil, format == .auto, badge.count < Self.minimumUnlistedBadgeLength {
                return .dropped(
                    reason: Reason.implausibleBadge,
                    detail: "shorter than \(Self.minimumUnlistedBadgeLength) characters and not in the attendee list"
                )
            }
        }
        let (fields, droppedFields) = validator.validateScanned(raw)
        guard validator.hasScanIdentity(fields, badgeID: card.badgeID) else {
            return .dropped(reason: Reason.noIdentity, detail: "no name, email, phone or badge id left after cleaning")
        }
        var notes = card.notes.map { TextSanitizer.clean($0, multiline: true) } ?? ""
        if notes.count > Self.maximumNotes { notes = String(notes.prefix(Self.maximumNotes)) }
        if serial.consent == .form {
            lastGarbageAt = nil
            let scan = ScanHandoff.Scan(
                fields: fields,
                badgeID: card.badgeID,
                notes: notes,
                device: serial.device,
                readAt: readAt
            )
            return .forConsent(scan, droppedFields: droppedFields)
        }
        let lead = Lead(
            event: config.kiosk.event,
            kiosk: config.kiosk.id,
            capturedAt: now,
            channel: .scanner,
            device: serial.device,
            fields: fields,
            consent: Consent(text: consentText, language: config.kiosk.language.rawValue, at: now),
            notes: notes,
            badgeID: card.badgeID
        )
        do {
            let stored = try store.capture(lead, form: config.form)
            lastGarbageAt = nil
            return .captured(stored, unresolved: fields.isEmpty, droppedFields: droppedFields)
        } catch {
            return .dropped(reason: Reason.notStored, detail: "\(error)")
        }
    }
}
