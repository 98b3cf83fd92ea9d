public import LeadCore

/// One badge scanner as `leadctl status` shows it.
public struct ScannerStatus: Sendable, Hashable {
    /// `[Serial] Device=` as configured.
    public var device: String
    /// Whether leadd last reported the device open. A stale `true` left by a leadd that died is possible:
    /// check ``pid``.
    public var connected: Bool
    /// When ``connected`` last changed; nil when leadd never reported this device.
    public var since: Timestamp?
    /// Why the device is not connected (the open error, "hung up", "leadd stopped").
    public var lastError: String?
    /// The leadd process that reported the state.
    public var pid: Int32?
    /// Leads this scanner committed since the start of the local day (duplicates included: each is a scan).
    public var scansToday: Int
    /// The newest of those.
    public var lastScan: Timestamp?
    /// Records dropped today by reason (`binary garbage`, `double read`, `vcard cut off`, …).
    public var droppedToday: [String: Int]

    /// Creates a status.
    public init(
        device: String,
        connected: Bool = false,
        since: Timestamp? = nil,
        lastError: String? = nil,
        pid: Int32? = nil,
        scansToday: Int = 0,
        lastScan: Timestamp? = nil,
        droppedToday: [String: Int] = [:]
    ) {
        self.device = device
        self.connected = connected
        self.since = since
        self.lastError = lastError
        self.pid = pid
        self.scansToday = scansToday
        self.lastScan = lastScan
        self.droppedToday = droppedToday
    }

    /// Every record dropped today.
    public var droppedTotal: Int { droppedToday.values.reduce(0, +) }
}

extension LeadStore {
    // MARK: - Scanner state, written by the scanner service

    /// Records whether a scanner's device is open (leadd calls this when it opens, loses or closes it).
    ///
    /// - Parameters:
    ///   - device: The configured device path.
    ///   - connected: Whether it is open now.
    ///   - error: Why it is not, for `leadctl status`.
    ///   - pid: The process reading it.
    ///   - at: The time of the change.
    public func setScannerState(
        device: String,
        connected: Bool,
        error: String?,
        pid: Int32?,
        at: Timestamp = .now()
    ) throws {
        try db.transaction {
            _ = try db.statement(
                """
                INSERT INTO scanners (device, connected, changed_at, last_error, pid, updated_at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?3)
                ON CONFLICT (device) DO UPDATE SET
                    changed_at = CASE WHEN connected = excluded.connected THEN changed_at ELSE excluded.changed_at END,
                    connected = excluded.connected, last_error = excluded.last_error, pid = excluded.pid,
                    updated_at = excluded.updated_at
                """
            ).run([
                .text(device), .int(connected ? 1 : 0), .int(at.milliseconds), .opt(error), .opt(pid.map(Int64.init)),
            ])
        }
    }

    /// Adds dropped-record counts to a scanner's tally for the local day of `at`, in one transaction (the
    /// service batches them, so a burst of garbage costs one commit a second, not one per record).
    ///
    /// - Parameters:
    ///   - device: The configured device path.
    ///   - counts: Reason → records dropped for it.
    ///   - at: When they were dropped.
    public func addScannerDrops(device: String, _ counts: [String: Int], at: Timestamp = .now()) throws {
        guard counts.values.contains(where: { $0 > 0 }) else { return }
        let day = LocalTime.startOfDay(at).milliseconds
        try db.transaction {
            let s = try db.statement(
                """
                INSERT INTO scanner_drops (device, day, reason, count) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT (device, day, reason) DO UPDATE SET count = count + excluded.count
                """
            )
            for (reason, count) in counts.sorted(by: { $0.key < $1.key }) where count > 0 {
                s.reset()
                _ = try s.run([.text(device), .int(day), .text(reason), .int(Int64(count))])
            }
        }
    }

    // MARK: - Checkpoints off the scan path

    /// Stops this connection from checkpointing the WAL inside its own commits (SQLite otherwise does it in the
    /// COMMIT that takes the WAL past 1000 pages, delaying that commit), so that the caller can run
    /// ``checkpoint()`` once it has reported the commit. Other connections keep checkpointing as usual.
    public func deferCheckpoints() throws { _ = try db.prepare("PRAGMA wal_autocheckpoint = 0").step() }

    /// Copies what it can of the WAL into the database file without waiting for readers or writers (a passive
    /// checkpoint) and, when all of it was copied, starts the WAL over now with a one-row write.
    ///
    /// The first commit after a complete checkpoint restarts the WAL: it rewrites the WAL header and syncs it
    /// before its own frames, two fsyncs instead of one. The scanner checkpoints when the line goes quiet, so
    /// the first scan after every pause would pay that; the restart is paid here, in the quiet, instead. The
    /// write records when (`meta.wal_restarted_at`). When another connection still reads the old WAL, SQLite
    /// does not restart it and the write just appends: nothing is lost either way.
    /// - Returns: Whether the whole WAL had been copied (and so the restart was attempted).
    @discardableResult
    public func checkpoint() throws -> Bool {
        let s = try db.prepare("PRAGMA wal_checkpoint(PASSIVE)")
        guard try s.step() else { return false }
        // busy, frames in the WAL, frames copied into the database file
        let (busy, frames, copied) = (s.int(0), s.int(1), s.int(2))
        s.reset()  // a statement still running would keep the write below from committing
        guard busy == 0, frames > 0, copied == frames else { return false }
        try db.transaction {
            _ = try db.statement("INSERT OR REPLACE INTO meta (key, value) VALUES ('wal_restarted_at', ?)").run([
                .text(String(Timestamp.now().milliseconds))
            ])
        }
        return true
    }

    // MARK: - Reading, for leadctl status

    /// The state, today's scans and today's drops of scanners.
    ///
    /// - Parameters:
    ///   - devices: The configured devices, in order; each gets a status even if leadd never reported it.
    ///     Nil: every device leadd has reported, sorted.
    ///   - now: Defines "today" (the local day).
    public func scannerStatuses(devices: [String]? = nil, now: Timestamp = .now()) throws -> [ScannerStatus] {
        var known: [String: ScannerStatus] = [:]
        let s = try db.statement("SELECT device, connected, changed_at, last_error, pid FROM scanners")
        while try s.step() {
            let device = s.text(0)
            known[device] = ScannerStatus(
                device: device,
                connected: s.int(1) != 0,
                since: Timestamp(milliseconds: s.int64(2)),
                lastError: s.optText(3),
                pid: s.optInt64(4).map { Int32(truncatingIfNeeded: $0) }
            )
        }
        let list = devices ?? known.keys.sorted()
        let today = LocalTime.startOfDay(now).milliseconds
        // The captured_at index bounds this to today's leads, however many are stored.
        let scans = try db.statement(
            """
            SELECT count(*), max(captured_at) FROM leads
            WHERE captured_at >= ?1 AND channel = 'scanner' AND device = ?2
            """
        )
        let drops = try db.statement("SELECT reason, count FROM scanner_drops WHERE device = ?1 AND day = ?2")
        var out: [ScannerStatus] = []
        for device in list {
            var status = known[device] ?? ScannerStatus(device: device)
            scans.reset()
            try scans.bind([.int(today), .text(device)])
            if try scans.step() {
                status.scansToday = scans.int(0)
                status.lastScan = scans.optInt64(1).map(Timestamp.init(milliseconds:))
            }
            scans.reset()
            drops.reset()
            try drops.bind([.text(device), .int(today)])
            while try drops.step() { status.droppedToday[drops.text(0)] = drops.int(1) }
            drops.reset()
            out.append(status)
        }
        return out
    }

    // MARK: - Unresolved badge scans

    /// How many leads are unresolved badge scans: a badge id that was not in the attendee list when scanned,
    /// and no fields yet. `leadctl list --state unresolved` lists them.
    public func unresolvedLeadCount() throws -> Int {
        Int(try db.scalarInt("SELECT count(*) FROM leads WHERE fields = '{}' AND badge_key IS NOT NULL") ?? 0)
    }

    /// Completes unresolved badge scans from the attendee list: every lead with a badge id and no fields whose
    /// badge the list knows gets the attendee's fields (cleaned as scans are, with
    /// ``LeadValidator/validateScanned(_:)``), a new revision (the old one kept in the revision history) and is
    /// queued again for every sink. A lead that now matches an earlier lead of its event by email or phone is
    /// marked as its duplicate.
    ///
    /// `leadctl attendees import` calls this right after replacing the list.
    ///
    /// - Parameters:
    ///   - validator: The form and country the fields are cleaned with.
    ///   - now: The time of the new revisions.
    /// - Returns: The completed leads as now stored, oldest first.
    @discardableResult
    public func resolveUnresolvedLeads(validator: LeadValidator, now: Timestamp = .now()) throws -> [Lead] {
        try db.transaction {
            let select = try db.prepare(
                """
                SELECT \(LeadStore.leadColumns) FROM leads
                WHERE fields = '{}' AND badge_key IS NOT NULL AND badge_key IN (SELECT badge_key FROM attendees)
                ORDER BY seq
                """
            )
            var unresolved: [(seq: Int64, lead: Lead)] = []
            while try select.step() { unresolved.append((select.int64(0), try readLead(select))) }
            var found: [(seq: Int64, lead: Lead, attendee: [String: String])] = []
            for (seq, lead) in unresolved {
                guard let badge = lead.badgeID, let attendee = try attendee(badgeID: badge) else { continue }
                found.append((seq, lead, attendee))
            }
            var resolved: [Lead] = []
            for (seq, old, attendee) in found {
                let fields = validator.validateScanned(attendee).fields
                guard !fields.isEmpty else { continue }
                var new = old
                new.fields = fields
                new.revision = old.revision + 1
                let keys = DedupKeys(fields: fields, badgeID: new.badgeID, form: validator.form)
                if new.duplicateOf == nil {
                    new.duplicateOf = try earlierOriginal(event: new.event, keys: keys, before: seq)
                }
                try saveRevision(old, form: validator.form, now: now)
                let u = try db.statement(
                    """
                    UPDATE leads SET revision = ?2, fields = ?3, duplicate_of = ?4, email_key = ?5, phone_key = ?6,
                        badge_key = ?7, updated_at = ?8 WHERE lead_id = ?1
                    """
                )
                try u.bind([.text(new.id), .int(Int64(new.revision))])
                try u.bindText(FieldsColumn.encode(new.fields), at: 3)
                try u.bind(.opt(new.duplicateOf), at: 4)
                try u.bind(.opt(keys.email), at: 5)
                try u.bind(.opt(keys.phone), at: 6)
                try u.bind(.opt(keys.badgeID), at: 7)
                try u.bind(.int(now.milliseconds), at: 8)
                while try u.step() {}
                try requeue(leadID: new.id, revision: new.revision, now: now)
                resolved.append(new)
            }
            return resolved
        }
    }

    /// The earliest lead of `event` stored before `seq`, itself no duplicate, sharing one of `keys`.
    private func earlierOriginal(event: String, keys: DedupKeys, before seq: Int64) throws -> String? {
        guard !keys.isEmpty else { return nil }
        let s = try db.statement(
            """
            SELECT min(seq), lead_id FROM leads WHERE event = ?1 AND duplicate_of IS NULL AND seq < ?5
              AND (email_key = ?2 OR phone_key = ?3 OR badge_key = ?4)
            """
        )
        defer { s.reset() }
        try s.bind(event, at: 1)
        try s.bind(keys.email, at: 2)
        try s.bind(keys.phone, at: 3)
        try s.bind(keys.badgeID, at: 4)
        try s.bind(seq, at: 5)
        return try s.step() ? s.optText(1) : nil
    }
}
