internal import CSQLite
public import LeadCore

extension LeadStore {
    static let leadColumns = """
        seq, lead_id, revision, event, kiosk, captured_at, channel, device, fields, consent_given, consent_sha256,
        consent_language, consent_at, rating, notes, badge_id, duplicate_of
        """

    /// Decodes a row selected with `leadColumns` (starting at column 0).
    func readLead(_ s: Statement) throws -> Lead {
        let fields = try s.withBytes(8) { try FieldsColumn.decode($0) }
        var consent: Consent?
        if !s.isNull(9) {
            consent = Consent(
                given: s.int64(9) != 0,
                textSHA256: s.text(10),
                language: s.text(11),
                at: Timestamp(milliseconds: s.optInt64(12) ?? s.int64(5))
            )
        }
        return Lead(
            id: s.text(1),
            revision: s.int(2),
            event: s.text(3),
            kiosk: s.text(4),
            capturedAt: Timestamp(milliseconds: s.int64(5)),
            channel: Channel(rawValue: s.text(6)) ?? .import,
            device: s.optText(7),
            fields: fields,
            consent: consent,
            rating: s.optText(13).flatMap(Rating.init(rawValue:)),
            notes: s.text(14),
            badgeID: s.optText(15),
            duplicateOf: s.optText(16)
        )
    }

    /// Commits a new lead and queues it for every sink; returns only after COMMIT, with `duplicateOf` set when
    /// an earlier lead of the same event has the same normalised email, phone or badge id.
    ///
    /// The lead is stored in full even when it is a duplicate: nothing a visitor entered is dropped.
    @discardableResult
    public func capture(_ lead: Lead, form: FormSpec) throws -> Lead {
        try db.transaction {
            guard let stored = try insert(lead, form: form, sinks: try sinkNames(), now: Timestamp.now()) else {
                throw StoreError(.constraint, "a lead with id \(lead.id) is already stored")
            }
            return stored
        }
    }

    /// The earliest lead of `event` (that is not itself a duplicate) sharing one of `keys`.
    func findOriginal(event: String, keys: DedupKeys, excluding leadID: String? = nil) throws -> String? {
        guard !keys.isEmpty else { return nil }
        // One statement: SQLite's multi-index OR uses the three partial indexes. min(seq) picks the earliest
        // match without the temporary b-tree an ORDER BY over a multi-index OR would build for every capture.
        let s = try db.cached(
            """
            SELECT min(seq), lead_id FROM leads WHERE event = ?1 AND duplicate_of IS NULL AND lead_id != ?5
              AND (email_key = ?2 OR phone_key = ?3 OR badge_key = ?4)
            """
        )
        defer { s.reset() }
        try s.bind(event, at: 1)
        try s.bind(keys.email, at: 2)
        try s.bind(keys.phone, at: 3)
        try s.bind(keys.badgeID, at: 4)
        try s.bind(leadID ?? "", at: 5)
        return try s.step() ? s.optText(1) : nil
    }

    /// Inserts inside the caller's transaction. Returns the lead as stored, or nil when a lead with its id is
    /// already stored (nothing is changed then).
    /// `sinks` are the sinks to queue it for (all of them: read once per transaction by the caller).
    func insert(
        _ lead: Lead,
        form: FormSpec,
        sinks: [String],
        now: Timestamp,
        computeDuplicate: Bool = true,
        prepared: PreparedLead? = nil
    ) throws -> Lead? {
        var lead = lead
        guard LeadID.isValid(lead.id) else {
            throw StoreError(.invalidArgument, "invalid lead id \"\(lead.id)\" (expected a lower-case UUID)")
        }
        let keys = prepared?.keys ?? DedupKeys(fields: lead.fields, badgeID: lead.badgeID, form: form)
        if computeDuplicate && lead.duplicateOf == nil {
            lead.duplicateOf = try findOriginal(event: lead.event, keys: keys, excluding: lead.id)
        }
        let s = try db.cached(
            """
            INSERT INTO leads (lead_id, revision, event, kiosk, captured_at, channel, device, fields,
                consent_given, consent_sha256, consent_language, consent_at, rating, notes, badge_id, duplicate_of,
                email_key, phone_key, badge_key, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (lead_id) DO NOTHING
            """
        )
        try bindLead(lead, keys: keys, to: s, now: now, fields: prepared?.fieldsColumn)
        while try s.step() {}
        guard db.changes > 0 else { return nil }
        let seq = db.lastInsertRowID
        // Row by row: an INSERT … SELECT FROM sinks would build a temporary b-tree for every lead.
        let queue = try db.cached(
            "INSERT INTO deliveries (lead_seq, sink, revision, state, updated_at) VALUES (?, ?, ?, 'pending', ?)"
        )
        for sink in sinks {
            try queue.bind(seq, at: 1)
            try queue.bind(sink, at: 2)
            try queue.bind(Int64(lead.revision), at: 3)
            try queue.bind(now.milliseconds, at: 4)
            while try queue.step() {}
            queue.reset()
        }
        return lead
    }

    /// `fields` is the already encoded `fields` column, when the caller prepared it (bulk import).
    func bindLead(_ lead: Lead, keys: DedupKeys, to s: Statement, now: Timestamp, fields: [UInt8]? = nil) throws {
        try s.bind(lead.id, at: 1)
        try s.bind(Int64(lead.revision), at: 2)
        try s.bind(lead.event, at: 3)
        try s.bind(lead.kiosk, at: 4)
        try s.bind(lead.capturedAt.milliseconds, at: 5)
        try s.bind(lead.channel.rawValue, at: 6)
        try s.bind(lead.device, at: 7)
        try s.bindText(fields ?? FieldsColumn.encode(lead.fields), at: 8)
        try s.bind(lead.consent.map { $0.given ? 1 : 0 }, at: 9)
        try s.bind(lead.consent?.textSHA256, at: 10)
        try s.bind(lead.consent?.language, at: 11)
        try s.bind(lead.consent?.at.milliseconds, at: 12)
        try s.bind(lead.rating?.rawValue, at: 13)
        try s.bind(lead.notes, at: 14)
        try s.bind(lead.badgeID, at: 15)
        try s.bind(lead.duplicateOf, at: 16)
        try s.bind(keys.email, at: 17)
        try s.bind(keys.phone, at: 18)
        try s.bind(keys.badgeID, at: 19)
        try s.bind(now.milliseconds, at: 20)
    }

    /// The lead with `id`, or nil. A unique prefix of at least 8 characters also finds it.
    public func lead(id: String) throws -> Lead? {
        let s = try db.statement("SELECT \(LeadStore.leadColumns) FROM leads WHERE lead_id = ?")
        defer { s.reset() }
        try s.bind([.text(id)])
        if try s.step() { return try readLead(s) }
        guard id.utf8.count >= 8, id.utf8.count < 36,
            id.utf8.allSatisfy({ $0 == 0x2D || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { return nil }
        let p = try db.statement(
            "SELECT \(LeadStore.leadColumns) FROM leads WHERE lead_id >= ? AND lead_id < ? ORDER BY lead_id LIMIT 2"
        )
        defer { p.reset() }
        try p.bind([.text(id), .text(id + "g")])
        guard try p.step() else { return nil }
        let found = try readLead(p)
        if try p.step() {
            throw StoreError(.invalidArgument, "lead id prefix \"\(id)\" is ambiguous; give more characters")
        }
        return found
    }

    func requireLead(_ id: String) throws -> Lead {
        guard let lead = try lead(id: id) else { throw StoreError(.notFound, "no lead with id \(id)") }
        return lead
    }

    /// Per-sink delivery state of one lead.
    public func deliveries(leadID: String) throws -> [DeliveryInfo] {
        let s = try db.statement(
            """
            SELECT d.sink, d.state, d.remote_id, d.attempts, d.last_error FROM deliveries d
            JOIN leads l ON l.seq = d.lead_seq WHERE l.lead_id = ? ORDER BY d.sink
            """
        )
        try s.bind([.text(leadID)])
        var out: [DeliveryInfo] = []
        while try s.step() {
            out.append(
                DeliveryInfo(
                    sink: s.text(0),
                    state: s.text(1),
                    remoteID: s.optText(2),
                    attempts: s.int(3),
                    lastError: s.optText(4)
                )
            )
        }
        return out
    }

    /// A staff edit: replaces the given fields (already validated), sets the rating and/or appends a note.
    /// Bumps the revision, keeps the superseded revision in `lead_revisions`, and queues the new revision for
    /// every sink (an in-flight batch of the old revision is disowned, so its result cannot mark this one synced).
    @discardableResult
    public func edit(
        id: String,
        fields: [String: String]? = nil,
        rating: Rating?? = nil,
        appendNote: String? = nil,
        form: FormSpec
    ) throws -> Lead {
        try db.transaction {
            let old = try requireLead(id)
            var new = old
            if let fields { new.fields = fields }
            if let rating { new.rating = rating }
            if let note = appendNote, !note.isEmpty {
                new.notes = old.notes.isEmpty ? note : old.notes + "\n" + note
            }
            guard new != old else { return old }
            new.revision = old.revision + 1
            let now = Timestamp.now()
            try saveRevision(old, form: form, now: now)
            let keys = DedupKeys(fields: new.fields, badgeID: new.badgeID, form: form)
            let u = try db.statement(
                """
                UPDATE leads SET revision = ?2, fields = ?3, rating = ?4, notes = ?5, email_key = ?6, phone_key = ?7,
                    badge_key = ?8, updated_at = ?9 WHERE lead_id = ?1
                """
            )
            try u.bind([.text(new.id), .int(Int64(new.revision))])
            try u.bindText(FieldsColumn.encode(new.fields), at: 3)
            try u.bind(.opt(new.rating?.rawValue), at: 4)
            try u.bind(.text(new.notes), at: 5)
            try u.bind(.opt(keys.email), at: 6)
            try u.bind(.opt(keys.phone), at: 7)
            try u.bind(.opt(keys.badgeID), at: 8)
            try u.bind(.int(now.milliseconds), at: 9)
            while try u.step() {}
            try requeue(leadID: new.id, revision: new.revision, now: now)
            return new
        }
    }

    /// The stored revisions of a lead before the current one, oldest first, as JSON Lines records.
    public func revisionHistory(id: String) throws -> [(revision: Int, record: String)] {
        let s = try db.statement("SELECT revision, record FROM lead_revisions WHERE lead_id = ? ORDER BY revision")
        try s.bind([.text(id)])
        var out: [(Int, String)] = []
        while try s.step() { out.append((s.int(0), s.text(1))) }
        return out
    }
}

/// A lead with the per-lead work of storing it already done — its `fields` column encoded and its dedup keys
/// computed — so a bulk import can do that on the thread that decodes the file, not the one that writes.
public struct PreparedLead: Sendable {
    public var lead: Lead
    public var deliveries: [DeliveryInfo]
    let fieldsColumn: [UInt8]
    let keys: DedupKeys

    public init(_ lead: Lead, deliveries: [DeliveryInfo], form: FormSpec) {
        self.lead = lead
        self.deliveries = deliveries
        self.fieldsColumn = FieldsColumn.encode(lead.fields)
        self.keys = DedupKeys(fields: lead.fields, badgeID: lead.badgeID, form: form)
    }
}
