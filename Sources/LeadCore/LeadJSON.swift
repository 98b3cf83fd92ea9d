/// One sink's delivery state for a lead, as carried in a JSON Lines export record.
public struct DeliveryInfo: Sendable, Hashable {
    /// The sink's configured name.
    public var sink: String
    /// `pending`, `sending`, `synced`, `rejected` or `dead`.
    public var state: String
    /// The CRM's id for the lead, once synced.
    public var remoteID: String?
    public var attempts: Int
    public var lastError: String?

    public init(sink: String, state: String, remoteID: String? = nil, attempts: Int = 0, lastError: String? = nil) {
        self.sink = sink
        self.state = state
        self.remoteID = remoteID
        self.attempts = attempts
        self.lastError = lastError
    }
}

/// Why a lead record (a JSON object or a CSV row) could not be decoded, naming the key that was wrong.
public struct LeadDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Sendable, Hashable {
        case json(JSONError)
        case missing
        case wrongType(expected: String)
        case invalid(String)
    }

    private let code: Code
    /// The offending key as a path (`captured_at`, `fields.email`, `deliveries[1].sink`) or CSV column;
    /// empty when the record as a whole is malformed.
    public let key: String

    private init(_ code: Code, key: String) {
        self.code = code
        self.key = key
    }

    /// The record is not valid JSON.
    public static func json(_ error: JSONError) -> LeadDecodingError { LeadDecodingError(.json(error), key: "") }
    /// A required key is absent.
    public static func missing(_ key: String) -> LeadDecodingError { LeadDecodingError(.missing, key: key) }
    /// A key holds the wrong kind of value (`expected` reads "a string", "an object", …).
    public static func wrongType(_ key: String, expected: String) -> LeadDecodingError {
        LeadDecodingError(.wrongType(expected: expected), key: key)
    }
    /// A key holds a value of the right kind that is not acceptable (`reason` says why).
    public static func invalid(_ key: String, _ reason: String) -> LeadDecodingError {
        LeadDecodingError(.invalid(reason), key: key)
    }

    /// The underlying syntax error when the record is not valid JSON.
    public var jsonError: JSONError? {
        if case .json(let error) = code { return error }
        return nil
    }

    public var description: String {
        switch code {
        case .json(let error): "\(error)"
        case .missing: "missing \"\(key)\""
        case .wrongType(let expected): key.isEmpty ? "the record must be \(expected)" : "\"\(key)\" must be \(expected)"
        case .invalid(let reason): key.isEmpty ? reason : "\"\(key)\": \(reason)"
        }
    }
}

/// The lead object of SYNC-PROTOCOL.md and the JSON Lines export record built on it.
///
/// Payload keys, in this order: `lead_id`, `revision`, `captured_at`, `channel`, `fields`, `consent`, `rating`,
/// `notes`, `badge_id`, `duplicate_of`. An export record adds `event`, `kiosk`, `device` and `deliveries`.
public enum LeadJSON {
    /// Appends the protocol's lead object (what a sync batch carries) to `out`.
    ///
    /// - Parameters:
    ///   - lead: the lead to write.
    ///   - fieldOrder: the form's field names; `fields` lists these first (those the lead has), then any
    ///     other fields of the lead sorted by name, so equal leads always give equal bytes.
    ///   - out: the buffer to append to.
    public static func appendPayload(_ lead: Lead, fieldOrder: [String], to out: inout [UInt8]) {
        var w = JSONWriter()
        swap(&w.bytes, &out)
        w.beginObject()
        writePayloadMembers(lead, fieldOrder: fieldOrder, to: &w)
        w.endObject()
        swap(&w.bytes, &out)
    }

    /// Appends one JSON Lines export record (the payload keys, then `event`, `kiosk`, `device` and
    /// `deliveries`) to `out`, without a trailing newline.
    public static func appendExportRecord(
        _ lead: Lead,
        deliveries: [DeliveryInfo],
        fieldOrder: [String],
        to out: inout [UInt8]
    ) {
        var w = JSONWriter()
        swap(&w.bytes, &out)
        w.beginObject()
        writePayloadMembers(lead, fieldOrder: fieldOrder, to: &w)
        w.member("event", lead.event)
        w.member("kiosk", lead.kiosk)
        w.member("device", lead.device)
        w.key("deliveries")
        w.beginArray()
        for d in deliveries {
            w.beginObject()
            w.member("sink", d.sink)
            w.member("state", d.state)
            w.member("remote_id", d.remoteID)
            w.member("attempts", d.attempts)
            w.member("last_error", d.lastError)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        swap(&w.bytes, &out)
    }

    private static func writePayloadMembers(_ lead: Lead, fieldOrder: [String], to w: inout JSONWriter) {
        w.member("lead_id", lead.id)
        w.member("revision", lead.revision)
        w.member("captured_at", lead.capturedAt)
        w.member("channel", lead.channel.rawValue)
        w.key("fields")
        w.beginObject()
        var written = 0
        for name in fieldOrder {
            if let value = lead.fields[name] {
                w.member(name, value)
                written += 1
            }
        }
        if written < lead.fields.count {
            for name in lead.fields.keys.filter({ !fieldOrder.contains($0) }).sorted() {
                w.member(name, lead.fields[name])
            }
        }
        w.endObject()
        w.key("consent")
        if let consent = lead.consent {
            w.beginObject()
            w.member("given", consent.given)
            w.member("text_sha256", consent.textSHA256)
            w.member("language", consent.language)
            w.member("at", consent.at)
            w.endObject()
        } else {
            w.null()
        }
        w.member("rating", lead.rating?.rawValue)
        w.member("notes", lead.notes)
        w.member("badge_id", lead.badgeID)
        w.member("duplicate_of", lead.duplicateOf)
    }

    /// Parses an export record or a bare payload object back into a lead.
    ///
    /// Required: `lead_id` (a canonical UUID), `captured_at` (RFC 3339), `channel` and `fields` (an object of
    /// strings). `revision` defaults to 1, `event`/`kiosk` to "" (the caller fills them), `notes` to "";
    /// unknown keys are ignored; when a key repeats, the last one counts. The JSON itself is held to
    /// ``JSONValue/parse(_:)``'s strict rules.
    /// - Returns: the lead and the `deliveries` of an export record (empty for a payload).
    /// - Throws: ``LeadDecodingError`` naming the key that was missing or wrong.
    public static func decode(
        _ bytes: some Collection<UInt8>
    ) throws(LeadDecodingError) -> (lead: Lead, deliveries: [DeliveryInfo]) {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(LeadDecodingError) in try decode(buffer: buffer) }
        }
        if let result { return try result.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer in
            Result { () throws(LeadDecodingError) in try decode(buffer: buffer) }
        }.get()
    }

    /// Decodes an already parsed export record or payload object (a lead inside a sync batch, say) by the
    /// same rules as the byte-parsing `decode`.
    public static func decode(
        _ value: JSONValue
    ) throws(LeadDecodingError) -> (lead: Lead, deliveries: [DeliveryInfo]) {
        guard case .object = value else { throw .wrongType("", expected: "a JSON object") }
        var writer = JSONWriter()
        writer.value(value)
        return try decode(writer.bytes)
    }

    // Reads straight from the bytes, without building a JSONValue tree: bulk import parses each line once.
    private static func decode(
        buffer: UnsafeBufferPointer<UInt8>
    ) throws(LeadDecodingError) -> (lead: Lead, deliveries: [DeliveryInfo]) {
        var r = LeadReader(scanner: JSONScanner(buffer))
        guard try r.peek() == openBrace else {
            // Report a syntax error before a type error.
            do { _ = try JSONValue.parse(buffer) } catch { throw .json(error) }
            throw .wrongType("", expected: "a JSON object")
        }
        var id: String?
        var revision = 1
        var capturedAt: Timestamp?
        var channel: Channel?
        var fields: [String: String]?
        var consent: Consent?
        var rating: Rating?
        var notes = ""
        var badgeID: String?
        var duplicateOf: String?
        var event = ""
        var kiosk = ""
        var device: String?
        var deliveries: [DeliveryInfo] = []

        try r.enter()
        var first = true
        while let key = try r.key(isFirst: first) {
            first = false
            switch key {
            case "lead_id":
                let text = try r.string("lead_id")
                guard LeadID.isValid(text) else { throw .invalid("lead_id", "not a lower-case hyphenated UUID") }
                id = text
            case "revision":
                guard let n = try r.int("revision", expected: "an integer"), n >= 1 else {
                    throw .invalid("revision", "must be an integer ≥ 1")
                }
                revision = n
            case "captured_at":
                capturedAt = try r.timestamp("captured_at")
            case "channel":
                let text = try r.string("channel")
                guard let c = Channel(rawValue: text) else { throw .invalid("channel", "unknown channel \"\(text)\"") }
                channel = c
            case "fields":
                guard try r.peek() == openBrace else { throw .wrongType("fields", expected: "an object") }
                try r.enter()
                var dict = [String: String](minimumCapacity: 8)
                var firstField = true
                while let fieldKey = try r.key(isFirst: firstField) {
                    firstField = false
                    let name = fieldKey.string
                    dict[name] = try r.string("fields.\(name)")
                }
                fields = dict
            case "consent":
                consent = try decodeConsent(&r)
            case "rating":
                if let text = try r.optionalString("rating") {
                    guard let value = Rating(rawValue: text) else {
                        throw .invalid("rating", "unknown rating \"\(text)\"")
                    }
                    rating = value
                } else {
                    rating = nil
                }
            case "notes":
                notes = try r.optionalString("notes") ?? ""
            case "badge_id":
                badgeID = try r.optionalString("badge_id")
            case "duplicate_of":
                duplicateOf = try r.optionalString("duplicate_of")
                if let dup = duplicateOf, !LeadID.isValid(dup) {
                    throw .invalid("duplicate_of", "not a lower-case hyphenated UUID")
                }
            case "event":
                event = try r.optionalString("event") ?? ""
            case "kiosk":
                kiosk = try r.optionalString("kiosk") ?? ""
            case "device":
                device = try r.optionalString("device")
            case "deliveries":
                deliveries = try decodeDeliveries(&r)
            default:
                try r.skip()
            }
        }
        try r.finish()
        guard let id else { throw .missing("lead_id") }
        guard let capturedAt else { throw .missing("captured_at") }
        guard let channel else { throw .missing("channel") }
        guard let fields else { throw .missing("fields") }
        let lead = Lead(
            id: id,
            revision: revision,
            event: event,
            kiosk: kiosk,
            capturedAt: capturedAt,
            channel: channel,
            device: device,
            fields: fields,
            consent: consent,
            rating: rating,
            notes: notes,
            badgeID: badgeID,
            duplicateOf: duplicateOf
        )
        return (lead, deliveries)
    }

    private static func decodeConsent(_ r: inout LeadReader) throws(LeadDecodingError) -> Consent? {
        switch try r.peek() {
        case null:
            try r.null()
            return nil
        case openBrace:
            var given: Bool?
            var sha = ""
            var language = ""
            var at: Timestamp?
            try r.enter()
            var first = true
            while let key = try r.key(isFirst: first) {
                first = false
                switch key {
                case "given": given = try r.bool("consent.given")
                case "text_sha256": sha = try r.optionalString("consent.text_sha256") ?? ""
                case "language": language = try r.optionalString("consent.language") ?? ""
                case "at": at = try r.timestamp("consent.at")
                default: try r.skip()
                }
            }
            guard let given else { throw .missing("consent.given") }
            guard let at else { throw .missing("consent.at") }
            return Consent(given: given, textSHA256: sha, language: language, at: at)
        default:
            throw .wrongType("consent", expected: "an object or null")
        }
    }

    private static func decodeDeliveries(_ r: inout LeadReader) throws(LeadDecodingError) -> [DeliveryInfo] {
        switch try r.peek() {
        case null:
            try r.null()
            return []
        case openBracket:
            var result: [DeliveryInfo] = []
            try r.enter()
            var index = 0
            while try r.hasElement(isFirst: index == 0) {
                let prefix = { "deliveries[\(index)]" }
                guard try r.peek() == openBrace else { throw .wrongType(prefix(), expected: "an object") }
                var sink: String?
                var state: String?
                var remoteID: String?
                var attempts = 0
                var lastError: String?
                try r.enter()
                var first = true
                while let key = try r.key(isFirst: first) {
                    first = false
                    switch key {
                    case "sink": sink = try r.string("\(prefix()).sink")
                    case "state": state = try r.string("\(prefix()).state")
                    case "remote_id": remoteID = try r.optionalString("\(prefix()).remote_id")
                    case "attempts":
                        guard let n = try r.int("\(prefix()).attempts", expected: "an integer ≥ 0"), n >= 0 else {
                            throw .invalid("\(prefix()).attempts", "must be an integer ≥ 0")
                        }
                        attempts = n
                    case "last_error": lastError = try r.optionalString("\(prefix()).last_error")
                    default: try r.skip()
                    }
                }
                guard let sink else { throw .missing("\(prefix()).sink") }
                guard let state else { throw .missing("\(prefix()).state") }
                result.append(
                    DeliveryInfo(sink: sink, state: state, remoteID: remoteID, attempts: attempts, lastError: lastError)
                )
                index += 1
            }
            return result
        default:
            throw .wrongType("deliveries", expected: "an array or null")
        }
    }

    private static let openBrace: UInt8 = 0x7B
    private static let openBracket: UInt8 = 0x5B
    private static let null: UInt8 = 0x6E
}

/// A ``JSONScanner`` that speaks in ``LeadDecodingError``s: syntax errors become `.json`, and a value of the
/// wrong kind names its key (built only on that error path).
private struct LeadReader {
    var scanner: JSONScanner

    private mutating func json<T>(_ body: (inout JSONScanner) throws(JSONError) -> T) throws(LeadDecodingError) -> T {
        do {
            return try body(&scanner)
        } catch {
            throw .json(error)
        }
    }

    mutating func peek() throws(LeadDecodingError) -> UInt8 { try json { s throws(JSONError) in try s.peek() } }
    mutating func enter() throws(LeadDecodingError) { try json { s throws(JSONError) in try s.enterContainer() } }
    mutating func skip() throws(LeadDecodingError) { try json { s throws(JSONError) in try s.skipValue() } }
    mutating func null() throws(LeadDecodingError) { try json { s throws(JSONError) in try s.parseNull() } }
    mutating func finish() throws(LeadDecodingError) { try json { s throws(JSONError) in try s.finish() } }

    mutating func key(isFirst: Bool) throws(LeadDecodingError) -> JSONKey? {
        try json { s throws(JSONError) in try s.objectKey(isFirst: isFirst) }
    }

    mutating func hasElement(isFirst: Bool) throws(LeadDecodingError) -> Bool {
        try json { s throws(JSONError) in try s.hasElement(isFirst: isFirst) }
    }

    mutating func string(_ key: @autoclosure () -> String) throws(LeadDecodingError) -> String {
        guard try peek() == 0x22 else { throw .wrongType(key(), expected: "a string") }
        return try json { s throws(JSONError) in try s.parseString() }
    }

    mutating func optionalString(_ key: @autoclosure () -> String) throws(LeadDecodingError) -> String? {
        switch try peek() {
        case 0x22: return try json { s throws(JSONError) in try s.parseString() }
        case 0x6E:
            try null()
            return nil
        default: throw .wrongType(key(), expected: "a string or null")
        }
    }

    mutating func bool(_ key: @autoclosure () -> String) throws(LeadDecodingError) -> Bool {
        switch try peek() {
        case 0x74, 0x66: return try json { s throws(JSONError) in try s.parseBool() }
        default: throw .wrongType(key(), expected: "true or false")
        }
    }

    /// The integer value, or nil for a number that is not an integer that fits in `Int`.
    mutating func int(_ key: @autoclosure () -> String, expected: String) throws(LeadDecodingError) -> Int? {
        switch try peek() {
        case 0x2D, 0x30...0x39: return Int(try json { s throws(JSONError) in try s.parseNumber() })
        default: throw .wrongType(key(), expected: expected)
        }
    }

    mutating func timestamp(_ key: @autoclosure () -> String) throws(LeadDecodingError) -> Timestamp {
        let text = try string(key())
        guard let t = Timestamp(rfc3339: text) else { throw .invalid(key(), "not an RFC 3339 time") }
        return t
    }
}
