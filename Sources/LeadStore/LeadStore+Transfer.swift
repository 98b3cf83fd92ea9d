public import LeadCore

/// What an import did.
public struct ImportResult: Sendable, Hashable {
    /// New leads stored.
    public var added = 0
    /// Leads already here at a lower revision, replaced by the newer one.
    public var updated = 0
    /// Leads already here at the same or a higher revision (importing twice changes nothing).
    public var unchanged = 0
    public init() {}
}

/// What a purge did.
public struct PurgeResult: Sendable, Hashable {
    public var purged = 0
    /// Leads old enough but kept because some sink has not synced them (purge them with `force`).
    public var keptUnsynced = 0
}

extension LeadStore {
    /// Streams every lead captured at or after `since`, oldest first, in constant memory.
    /// With `withDeliveries`, each lead comes with its per-sink delivery state (a merge over the deliveries table).
    public func forEachLead(
        since: Timestamp? = nil,
        withDeliveries: Bool = false,
        _ body: (Lead, [DeliveryInfo]) throws -> Void
    ) throws {
        // A read transaction gives a consistent snapshot while the daemon keeps writing.
        try db.transaction(immediate: false) {
            let s = try db.prepare("SELECT \(LeadStore.leadColumns) FROM leads WHERE captured_at >= ? ORDER BY seq")
            try s.bind([.int(since?.milliseconds ?? Int64.min)])
            var d: Statement?
            var pending: (seq: Int64, info: DeliveryInfo)?
            if withDeliveries {
                let ds = try db.prepare(
                    "SELECT lead_seq, sink, state, remote_id, attempts, last_error FROM deliveries ORDER BY lead_seq, sink"
                )
                d = ds
            }
            func nextDelivery() throws -> (Int64, DeliveryInfo)? {
                guard let ds = d, try ds.step() else { return nil }
                return (
                    ds.int64(0),
                    DeliveryInfo(
                        sink: ds.text(1),
                        state: ds.text(2),
                        remoteID: ds.optText(3),
                        attempts: ds.int(4),
                        lastError: ds.optText(5)
                    )
                )
            }
            if withDeliveries { pending = try nextDelivery() }
            while try s.step() {
                let seq = s.int64(0)
                let lead = try readLead(s)
                var infos: [DeliveryInfo] = []
                while let p = pending, p.seq <= seq {
                    if p.seq == seq { infos.append(p.info) }
                    pending = try nextDelivery()
                }
                try body(lead, infos)
            }
        }
    }

    /// Imports leads idempotently by lead id: a new id is added (and queued for every sink), a known id at a
    /// lower revision is replaced by the newer revision, anything else is left as it is. Delivery states from the
    /// file are kept for sinks this database knows (`synced` stays synced, so nothing is sent twice).
    /// Commits every `chunk` leads; a failure part-way leaves the earlier chunks committed (import again to resume).
    public func importLeads(
        _ records: some Sequence<(Lead, [DeliveryInfo])>,
        form: FormSpec,
        chunk: Int = 5000,
        progress: ((Int) -> Void)? = nil
    ) throws -> ImportResult {
        try importLeads(
            records.lazy.map { PreparedLead($0.0, deliveries: $0.1, form: form) },
            form: form,
            chunk: chunk,
            progress: progress
        )
    }

    /// The same for leads prepared elsewhere (``PreparedLead``), e.g. on a decoding thread.
    public func importLeads(
        _ records: some Sequence<PreparedLead>,
        form: FormSpec,
        chunk: Int = 5000,
        progress: ((Int) -> Void)? = nil
    ) throws -> ImportResult {
        var result = ImportResult()
        // A large page cache while the indexes grow by hundreds of thousands of rows; back to the default after.
        // A longer WAL between checkpoints, so index pages touched by many chunks are checkpointed once, not
        // once per chunk; back to SQLite's default (1000 pages) after.
        try db.execute("PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384")
        defer { try? db.execute("PRAGMA cache_size = -2000; PRAGMA wal_autocheckpoint = 1000") }
        // An earlier import cut short may have left its duplicates unmarked.
        try finishDeferredDuplicateMarking()
        // Into a (nearly) empty database — a kiosk restored or moved — duplicates are marked once at the end,
        // among the leads that share a key, instead of probing three indexes for every imported lead (a quarter
        // of a bulk import's time). The pending pass is recorded with the first chunk, so that an import cut
        // short is completed by the next one.
        let importStart = try db.scalarInt("SELECT coalesce(max(seq), 0) FROM leads") ?? 0
        let deferDuplicates = (try db.scalarInt("SELECT count(*) FROM leads") ?? 0) < chunk
        var iterator = records.makeIterator()
        var done = false
        var first = true
        while !done {
            try db.transaction {
                let now = Timestamp.now()
                let known = try sinkNames()
                let chunkStart = try db.scalarInt("SELECT coalesce(max(seq), 0) FROM leads") ?? 0
                if first && deferDuplicates {
                    try db.statement("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").run([
                        .text(Self.deferredDuplicatesKey), .text(String(importStart)),
                    ])
                }
                first = false
                var n = 0
                while n < chunk {
                    guard let prepared = iterator.next() else {
                        done = true
                        break
                    }
                    let (lead, deliveries) = (prepared.lead, prepared.deliveries)
                    n += 1
                    guard
                        try insert(
                            lead,
                            form: form,
                            sinks: known,
                            now: now,
                            computeDuplicate: false,
                            prepared: prepared
                        )
                            != nil
                    else {
                        let existing = try db.cached("SELECT revision FROM leads WHERE lead_id = ?")
                        try existing.bind([.text(lead.id)])
                        let revision = try existing.step() ? existing.int(0) : Int.max
                        existing.reset()
                        if lead.revision > revision {
                            try replace(with: lead, form: form, now: now)
                            result.updated += 1
                        } else {
                            result.unchanged += 1
                        }
                        continue
                    }
                    result.added += 1
                    for info in deliveries where known.contains(info.sink) && info.state == "synced" {
                        try db.statement(
                            """
                            UPDATE deliveries SET state = 'synced', remote_id = ?3, synced_at = ?4
                            WHERE sink = ?2 AND lead_seq = (SELECT seq FROM leads WHERE lead_id = ?1)
                            """
                        ).run([.text(lead.id), .text(info.sink), .opt(info.remoteID), .int(now.milliseconds)])
                    }
                }
                if !deferDuplicates { try markDuplicates(after: chunkStart) }
            }
            progress?(result.added + result.updated + result.unchanged)
        }
        try finishDeferredDuplicateMarking()
        return result
    }

    /// The `meta` key holding the `seq` after which an import's duplicates still have to be marked.
    static let deferredDuplicatesKey = "import_duplicates_pending_after"

    /// Marks the duplicates an import deferred (see ``importLeads(_:form:chunk:progress:)``), if any: the same
    /// rule as ``markDuplicates(after:)``, applied only to the leads that share a key with another lead — found
    /// by one pass over each key index rather than three index probes per lead.
    func finishDeferredDuplicateMarking() throws {
        try db.transaction {
            let pending = try db.prepare("SELECT value FROM meta WHERE key = ?")
            try pending.bind([.text(Self.deferredDuplicatesKey)])
            guard try pending.step(), let after = Int64(pending.text(0)) else { return }
            try db.statement(
                """
                UPDATE leads SET duplicate_of = (\(Self.earliestOriginal))
                WHERE seq > ?1 AND duplicate_of IS NULL AND seq IN (
                    SELECT seq FROM leads WHERE email_key IS NOT NULL AND (event, email_key) IN (
                        SELECT event, email_key FROM leads WHERE email_key IS NOT NULL
                        GROUP BY event, email_key HAVING count(*) > 1)
                    UNION
                    SELECT seq FROM leads WHERE phone_key IS NOT NULL AND (event, phone_key) IN (
                        SELECT event, phone_key FROM leads WHERE phone_key IS NOT NULL
                        GROUP BY event, phone_key HAVING count(*) > 1)
                    UNION
                    SELECT seq FROM leads WHERE badge_key IS NOT NULL AND (event, badge_key) IN (
                        SELECT event, badge_key FROM leads WHERE badge_key IS NOT NULL
                        GROUP BY event, badge_key HAVING count(*) > 1))
                """
            ).run([.int(after)])
            try db.statement("DELETE FROM meta WHERE key = ?").run([.text(Self.deferredDuplicatesKey)])
        }
    }

    /// Deletes leads captured before `cutoff` whose every delivery is synced. Leads some sink has not synced
    /// (or that no sink has ever taken) are kept and counted, unless `force` is set.
    public func purge(capturedBefore cutoff: Timestamp, force: Bool) throws -> PurgeResult {
        try db.transaction {
            var result = PurgeResult()
            let unsyncedWhere = """
                (NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.lead_seq = leads.seq)
                  OR EXISTS (SELECT 1 FROM deliveries d WHERE d.lead_seq = leads.seq AND d.state != 'synced'))
                """
            let unsynced = Int(
                try db.scalarInt(
                    "SELECT count(*) FROM leads WHERE captured_at < ? AND \(unsyncedWhere)",
                    [.int(cutoff.milliseconds)]
                ) ?? 0
            )
            if force {
                result.purged = try db.statement("DELETE FROM leads WHERE captured_at < ?").run([
                    .int(cutoff.milliseconds)
                ])
            } else {
                result.purged = try db.statement(
                    "DELETE FROM leads WHERE captured_at < ? AND NOT \(unsyncedWhere)"
                ).run([.int(cutoff.milliseconds)])
                result.keptUnsynced = unsynced
            }
            return result
        }
    }

    /// Replaces the attendee list (badge id → fields) in one transaction. Returns how many were stored.
    @discardableResult
    public func replaceAttendees(_ attendees: [(badgeID: String, fields: [String: String])]) throws -> Int {
        try db.transaction {
            try db.execute("DELETE FROM attendees")
            let now = Timestamp.now().milliseconds
            let s = try db.statement(
                "INSERT OR REPLACE INTO attendees (badge_key, badge_id, fields, imported_at) VALUES (?, ?, ?, ?)"
            )
            for a in attendees {
                guard let key = DedupKeys(fields: [:], badgeID: a.badgeID, form: .default).badgeID else { continue }
                try s.bind([.text(key), .text(a.badgeID)])
                try s.bindText(FieldsColumn.encode(a.fields), at: 3)
                try s.bind(.int(now), at: 4)
                while try s.step() {}
                s.reset()
            }
            return Int(try db.scalarInt("SELECT count(*) FROM attendees") ?? 0)
        }
    }

    /// The attendee with this badge id, if the imported list has one.
    public func attendee(badgeID: String) throws -> [String: String]? {
        guard let key = DedupKeys(fields: [:], badgeID: badgeID, form: .default).badgeID else { return nil }
        let s = try db.statement("SELECT fields FROM attendees WHERE badge_key = ?")
        defer { s.reset() }
        try s.bind([.text(key)])
        guard try s.step() else { return nil }
        return try s.withBytes(0) { try FieldsColumn.decode($0) }
    }

    /// Number of attendees in the imported list.
    public func attendeeCount() throws -> Int { Int(try db.scalarInt("SELECT count(*) FROM attendees") ?? 0) }
}

extension LeadStore {
    /// Overwrites a stored lead with a newer revision of it (import), keeping the superseded one in
    /// `lead_revisions`, and queues the new revision for every sink.
    func replace(with lead: Lead, form: FormSpec, now: Timestamp) throws {
        try saveRevision(try requireLead(lead.id), form: form, now: now)
        // Parameters are numbered as in `insert`, so `bindLead` serves both.
        let u = try db.statement(
            """
            UPDATE leads SET revision = ?2, event = ?3, kiosk = ?4, captured_at = ?5, channel = ?6, device = ?7,
                fields = ?8, consent_given = ?9, consent_sha256 = ?10, consent_language = ?11, consent_at = ?12,
                rating = ?13, notes = ?14, badge_id = ?15, duplicate_of = ?16, email_key = ?17, phone_key = ?18,
                badge_key = ?19, updated_at = ?20
            WHERE lead_id = ?1
            """
        )
        try bindLead(lead, keys: DedupKeys(fields: lead.fields, badgeID: lead.badgeID, form: form), to: u, now: now)
        while try u.step() {}
        try requeue(leadID: lead.id, revision: lead.revision, now: now)
    }

    /// Sets `duplicate_of` on leads after `seq` that carry none, in one set-based statement (bulk import):
    /// the earliest earlier lead of the same event, itself no duplicate, sharing a dedup key. Rows are visited
    /// in `seq` order, so a lead duplicating one imported in the same chunk finds it.
    func markDuplicates(after seq: Int64) throws {
        try db.statement(
            """
            UPDATE leads SET duplicate_of = (\(Self.earliestOriginal))
            WHERE seq > ?1 AND duplicate_of IS NULL
              AND (email_key IS NOT NULL OR phone_key IS NOT NULL OR badge_key IS NOT NULL)
            """
        ).run([.int(seq)])
    }

    /// For the `leads` row being updated: the id of the earliest earlier lead of its event, itself not a
    /// duplicate, that shares its email, phone or badge key. Rows are updated in `seq` order, so a lead marked
    /// a duplicate a moment ago is no longer anyone's original.
    private static let earliestOriginal = """
        SELECT o.lead_id FROM leads o
        WHERE o.event = leads.event AND o.seq < leads.seq AND o.duplicate_of IS NULL
          AND (o.email_key = leads.email_key OR o.phone_key = leads.phone_key OR o.badge_key = leads.badge_key)
        ORDER BY o.seq LIMIT 1
        """

    /// Keeps a superseded revision of a lead, as its JSON Lines record, in `lead_revisions`.
    func saveRevision(_ old: Lead, form: FormSpec, now: Timestamp) throws {
        var record: [UInt8] = []
        LeadJSON.appendExportRecord(old, deliveries: [], fieldOrder: form.fields.map(\.name), to: &record)
        let r = try db.statement(
            "INSERT OR IGNORE INTO lead_revisions (lead_id, revision, record, superseded_at) VALUES (?, ?, ?, ?)"
        )
        try r.bind([.text(old.id), .int(Int64(old.revision))])
        try r.bindText(record, at: 3)
        try r.bind(.int(now.milliseconds), at: 4)
        while try r.step() {}
    }

    /// Queues `revision` of a lead for every sink, disowning any in-flight claim of an older revision.
    func requeue(leadID: String, revision: Int, now: Timestamp) throws {
        try db.statement(
            """
            UPDATE deliveries SET revision = ?2, state = 'pending', attempts = 0, next_attempt_at = 0,
                claim_id = NULL, lease_until = NULL, updated_at = ?3
            WHERE lead_seq = (SELECT seq FROM leads WHERE lead_id = ?1)
            """
        ).run([.text(leadID), .int(Int64(revision)), .int(now.milliseconds)])
    }
}
