internal import CSQLite
public import LeadCore

/// A batch as it was formed: its id, body bytes and leads never change, so a retry after a timeout, a crash or a
/// restart resends exactly the same request body under the same id (SYNC-PROTOCOL "Scheduling").
public struct FrozenBatch: Sendable, Hashable {
    /// The batch id (`webhook-id`, `Idempotency-Key`, `batch_id` in the body).
    public var id: String
    public var sink: String
    public var createdAt: Timestamp
    /// The request body, byte for byte as first sent.
    public var body: [UInt8]
    /// The leads in the body, in body order.
    public var leadIDs: [String]
    /// Failed attempts so far (the backoff exponent).
    public var failures: Int
    /// False only for a batch just formed, never handed to a sink: a resumed batch (after a failure, a timeout,
    /// a crash, a split) may have reached the receiver, so a sink whose API creates records (a CRM without an
    /// idempotency key) looks up what already exists before sending it again.
    public var mayHaveBeenSent: Bool

    public init(
        id: String,
        sink: String,
        createdAt: Timestamp,
        body: [UInt8],
        leadIDs: [String],
        failures: Int,
        mayHaveBeenSent: Bool = true
    ) {
        self.id = id
        self.sink = sink
        self.createdAt = createdAt
        self.body = body
        self.leadIDs = leadIDs
        self.failures = failures
        self.mayHaveBeenSent = mayHaveBeenSent
    }
}

/// What a sink's serializer made of the leads offered for a new batch.
public struct BatchContent: Sendable {
    /// The frozen request body.
    public var body: [UInt8]
    /// How many of the offered leads (a prefix) the body holds: fewer when the size cap was reached.
    public var count: Int

    public init(body: [UInt8], count: Int) {
        self.body = body
        self.count = count
    }
}

/// A batch's answer, recorded in the transaction that forms or resumes the next batch (one commit per batch).
public struct BatchCompletion: Sendable, Hashable {
    public var batchID: String
    public var outcomes: [String: DeliveryOutcome]

    public init(batchID: String, outcomes: [String: DeliveryOutcome]) {
        self.batchID = batchID
        self.outcomes = outcomes
    }
}

/// Why a batch waits: it decides which waits a network change may shorten.
public enum BatchRetryKind: String, Sendable {
    /// Exponential backoff after a transport error, a 5xx or a 3xx: a network change or any success shortens it.
    case backoff
    /// The receiver said when (`Retry-After`, or 5–30 s after a 409): honoured as given.
    case receiver
}

/// The next thing a sync worker can do for a sink.
public enum BatchPick: Sendable {
    /// Send this batch now; the caller holds its lease.
    case batch(FrozenBatch)
    /// The sink's oldest open batch waits until then (backoff or `Retry-After`); nothing else is formed meanwhile.
    case notDue(Timestamp, reason: String?)
    /// Another live process (`leadctl sync`, or the daemon) is sending this sink's batch; its lease ends then.
    case heldElsewhere(holder: String, until: Timestamp)
    /// Nothing due: no open batch and no pending lead due now. `nextDue` is the earliest later retry, if any.
    case idle(nextDue: Timestamp?)
    /// The sink is paused (authentication failed, or misconfigured) until resumed.
    case paused(reason: String, fingerprint: String?)
}

/// The sync worker's view of a sink's row.
public struct SinkSyncState: Sendable, Hashable {
    /// `ok`, `backoff` or `paused`.
    public var state: String
    public var reason: String?
    /// What the configuration and credential looked like when the sink was paused (not a secret: a digest).
    public var pausedFingerprint: String?
}

extension LeadStore {
    /// Forms or resumes the next batch for `sink`, holding it under a lease of `leaseSeconds` for `holder`.
    ///
    /// The sink's open batches (formed earlier, not yet answered) come first, oldest first, with their frozen
    /// id and bytes. Only when the sink has none is a new batch formed from due pending leads: up to `limit`,
    /// oldest first, serialized by `build(batchID, createdAt, leads)` and frozen in the same transaction that
    /// marks the leads `sending`. A batch leased by another holder is left alone while `isAlive(holder)` says
    /// that process still runs and the lease has not ended: so one batch per sink is in flight, across processes.
    ///
    /// - Parameters:
    ///   - completing: the previous batch's answer, recorded first in the same transaction (see `completeBatch`).
    ///   - isAlive: whether the process named by a holder string still runs (a SIGKILLed daemon's lease need not
    ///     be waited out).
    ///   - build: makes the body; returns how many of the leads it took (a prefix). Taking none of a non-empty
    ///     list means the first lead alone is too large: it is marked rejected and the next ones are tried.
    public func nextBatch(
        sink: String,
        limit: Int,
        holder: String,
        leaseSeconds: Int64,
        now: Timestamp = .now(),
        completing: BatchCompletion? = nil,
        isAlive: (String) -> Bool,
        build: (String, Timestamp, [Lead]) -> BatchContent
    ) throws -> BatchPick {
        try db.transaction {
            if let completing {
                try applyCompletion(completing.batchID, sink: sink, outcomes: completing.outcomes, now: now)
            }
            let st = try sinkSyncState(sink)
            if st.state == "paused" {
                return .paused(reason: st.reason ?? "paused", fingerprint: st.pausedFingerprint)
            }
            let open = try db.cached(
                """
                SELECT batch_id, created_at, failures, next_attempt_at, holder, lease_until, last_error FROM batches
                WHERE sink = ? ORDER BY seq LIMIT 1
                """
            )
            try open.bind([.text(sink)])
            if try open.step() {
                let id = open.text(0)
                let nextAttempt = open.int64(3)
                let other = open.optText(4)
                let leaseUntil = open.optInt64(5)
                let lastError = open.optText(6)
                open.reset()
                if let other, other != holder, let leaseUntil, leaseUntil > now.milliseconds, isAlive(other) {
                    return .heldElsewhere(holder: other, until: Timestamp(milliseconds: leaseUntil))
                }
                if nextAttempt > now.milliseconds {
                    return .notDue(Timestamp(milliseconds: nextAttempt), reason: lastError)
                }
                try db.statement("UPDATE batches SET holder = ?2, lease_until = ?3 WHERE batch_id = ?1").run([
                    .text(id), .text(holder), .int(now.adding(seconds: leaseSeconds).milliseconds),
                ])
                try db.statement(
                    """
                    UPDATE deliveries SET attempts = attempts + 1, updated_at = ?3
                    WHERE sink = ?1 AND state = 'sending' AND claim_id = ?2
                    """
                ).run([.text(sink), .text(id), .int(now.milliseconds)])
                return .batch(try loadBatch(id))
            }
            open.reset()
            try reclaimOrphans(sink: sink, now: now)
            guard
                let batch = try formBatch(
                    sink: sink,
                    limit: limit,
                    holder: holder,
                    leaseSeconds: leaseSeconds,
                    now: now,
                    build: build
                )
            else { return .idle(nextDue: try nextPendingDue(sink: sink, now: now)) }
            return .batch(batch)
        }
    }

    /// While the batch `inFlight` (held by `holder`) is being sent, records `completing` (the answer to the batch
    /// before it) and freezes the next batch, in one transaction — so the commit overlaps the request instead of
    /// following it. Forms nothing when the sink is paused or has other open batches (a deferred or split one
    /// goes first) or nothing is due. The batch formed is not in flight: it is sent after `inFlight` is answered.
    public func formAhead(
        sink: String,
        limit: Int,
        holder: String,
        leaseSeconds: Int64,
        inFlight: String,
        now: Timestamp = .now(),
        completing: BatchCompletion?,
        build: (String, Timestamp, [Lead]) -> BatchContent
    ) throws -> FrozenBatch? {
        try db.transaction {
            if let completing {
                try applyCompletion(completing.batchID, sink: sink, outcomes: completing.outcomes, now: now)
            }
            guard try sinkSyncState(sink).state != "paused" else { return nil }
            let others = try db.cached("SELECT count(*) FROM batches WHERE sink = ?1 AND batch_id != ?2")
            try others.bind([.text(sink), .text(inFlight)])
            let count = try others.step() ? others.int(0) : 0
            others.reset()
            guard count == 0 else { return nil }
            return try formBatch(
                sink: sink,
                limit: limit,
                holder: holder,
                leaseSeconds: leaseSeconds,
                now: now,
                build: build
            )
        }
    }

    /// Freezes a new batch of due leads held by `holder` (inside the caller's transaction); nil when none is due.
    private func formBatch(
        sink: String,
        limit: Int,
        holder: String,
        leaseSeconds: Int64,
        now: Timestamp,
        build: (String, Timestamp, [Lead]) -> BatchContent
    ) throws -> FrozenBatch? {
        while true {
            let leads = try dueLeads(sink: sink, limit: limit, now: now)
            guard !leads.isEmpty else { return nil }
            let batchID = LeadID.make(at: now)
            let content = build(batchID, now, leads.map(\.lead))
            if content.count == 0 {
                try setDelivery(
                    sink: sink,
                    seq: leads[0].seq,
                    state: "rejected",
                    error: "the lead alone is larger than a batch may be (1 MiB)",
                    now: now
                )
                continue
            }
            let taken = leads.prefix(content.count)
            let insert = try db.cached(
                """
                INSERT INTO batches (batch_id, sink, created_at, body, lead_ids, holder, lease_until)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                """
            )
            try insert.bind([.text(batchID), .text(sink), .int(now.milliseconds)])
            try bindBlob(content.body, to: insert, at: 4)
            try insert.bind(.text(taken.map(\.lead.id).joined(separator: "\n")), at: 5)
            try insert.bind(.text(holder), at: 6)
            try insert.bind(.int(now.adding(seconds: leaseSeconds).milliseconds), at: 7)
            while try insert.step() {}
            // Owned by the batch: `claim_id` is the batch id and no lease, so `claimBatch` never steals them.
            let mark = try db.cached(
                """
                UPDATE deliveries SET state = 'sending', claim_id = ?3, lease_until = NULL, attempts = attempts + 1,
                    updated_at = ?4 WHERE sink = ?1 AND lead_seq = ?2
                """
            )
            for lead in taken {
                try mark.bind(sink, at: 1)
                try mark.bind(lead.seq, at: 2)
                try mark.bind(batchID, at: 3)
                try mark.bind(now.milliseconds, at: 4)
                while try mark.step() {}
                mark.reset()
            }
            return FrozenBatch(
                id: batchID,
                sink: sink,
                createdAt: now,
                body: content.body,
                leadIDs: taken.map(\.lead.id),
                failures: 0,
                mayHaveBeenSent: false
            )
        }
    }

    /// Records a batch's answer: per-lead outcomes (only for leads the batch still owns — an edit meanwhile
    /// queued a newer revision), any lead of the batch without an outcome due again at once, the batch closed,
    /// and the sink `ok` with its last success now.
    public func completeBatch(
        _ batchID: String,
        sink: String,
        outcomes: [String: DeliveryOutcome],
        now: Timestamp = .now()
    ) throws {
        try db.transaction { try applyCompletion(batchID, sink: sink, outcomes: outcomes, now: now) }
    }

    private func applyCompletion(
        _ batchID: String,
        sink: String,
        outcomes: [String: DeliveryOutcome],
        now: Timestamp
    ) throws {
        // The leads the batch still owns (an edit meanwhile disowned its lead: that answer is for an old revision).
        let owned = try db.cached(
            """
            SELECT d.lead_seq, l.lead_id FROM deliveries d JOIN leads l ON l.seq = d.lead_seq
            WHERE d.sink = ?1 AND d.state = 'sending' AND d.claim_id = ?2
            """
        )
        try owned.bind(sink, at: 1)
        try owned.bind(batchID, at: 2)
        var seqs: [(Int64, String)] = []
        while try owned.step() { seqs.append((owned.int64(0), owned.text(1))) }
        owned.reset()
        for (seq, leadID) in seqs {
            try recordOutcome(outcomes[leadID], sink: sink, seq: seq, now: now)
        }
        try db.cached("DELETE FROM batches WHERE batch_id = ?1").run([.text(batchID)])
        try db.cached(
            """
            UPDATE sinks SET state = 'ok', state_reason = NULL, backoff_until = NULL, paused_fingerprint = NULL,
                last_success_at = ?2 WHERE name = ?1
            """
        ).run([.text(sink), .int(now.milliseconds)])
    }

    /// Keeps a batch (same id, same bytes) for another attempt not before `notBefore`, and shows the sink in
    /// backoff with `error` as its last error. `countsAsFailure` grows the backoff exponent.
    public func deferBatch(
        _ batchID: String,
        sink: String,
        notBefore: Timestamp,
        kind: BatchRetryKind,
        error: String,
        countsAsFailure: Bool = true,
        now: Timestamp = .now()
    ) throws {
        try db.transaction {
            try db.statement(
                """
                UPDATE batches SET failures = failures + ?2, next_attempt_at = ?3, retry_kind = ?4, holder = NULL,
                    lease_until = NULL, last_error = ?5 WHERE batch_id = ?1
                """
            ).run([
                .text(batchID), .int(countsAsFailure ? 1 : 0), .int(notBefore.milliseconds), .text(kind.rawValue),
                .text(error),
            ])
            try db.statement(
                """
                UPDATE deliveries SET last_error = ?3, updated_at = ?4 WHERE sink = ?1 AND state = 'sending' AND claim_id = ?2
                """
            ).run([.text(sink), .text(batchID), .text(error), .int(now.milliseconds)])
            try db.statement(
                """
                UPDATE sinks SET state = CASE WHEN state = 'paused' THEN state ELSE 'backoff' END, backoff_until = ?2,
                    last_error = ?3, last_error_at = ?4 WHERE name = ?1
                """
            ).run([.text(sink), .int(notBefore.milliseconds), .text(error), .int(now.milliseconds)])
        }
    }

    /// Gives a batch's lease back without counting an attempt (shutdown before or during a send): whoever runs
    /// next may send it at once, same id and bytes.
    public func releaseBatch(_ batchID: String, holder: String) throws {
        try db.transaction {
            try db.statement("UPDATE batches SET holder = NULL, lease_until = NULL WHERE batch_id = ?1 AND holder = ?2")
                .run([.text(batchID), .text(holder)])
        }
    }

    /// Replaces a batch the receiver found too large (413) by two new batches, each with half of the leads it
    /// still owns, in order and with new ids and bodies (a body is never sent under another body's id).
    /// Returns the new batch ids (fewer when fewer than two leads remained owned).
    @discardableResult
    public func splitBatch(
        _ batchID: String,
        sink: String,
        now: Timestamp = .now(),
        build: (String, Timestamp, [Lead]) -> BatchContent
    ) throws -> [String] {
        try db.transaction {
            let owned = try ownedLeads(batchID: batchID, sink: sink)
            try db.statement("DELETE FROM batches WHERE batch_id = ?").run([.text(batchID)])
            let half = (owned.count + 1) / 2
            var ids: [String] = []
            for part in [owned.prefix(half), owned.dropFirst(half)] where !part.isEmpty {
                let id = LeadID.make(at: now)
                let content = build(id, now, part.map(\.lead))
                let taken = part.prefix(max(content.count, 1))
                let insert = try db.statement(
                    """
                    INSERT INTO batches (batch_id, sink, created_at, body, lead_ids) VALUES (?1, ?2, ?3, ?4, ?5)
                    """
                )
                try insert.bind([.text(id), .text(sink), .int(now.milliseconds)])
                try bindBlob(content.body, to: insert, at: 4)
                try insert.bind(.text(taken.map(\.lead.id).joined(separator: "\n")), at: 5)
                while try insert.step() {}
                let move = try db.statement(
                    "UPDATE deliveries SET claim_id = ?3, updated_at = ?4 WHERE sink = ?1 AND lead_seq = ?2"
                )
                for lead in taken { try move.run([.text(sink), .int(lead.seq), .text(id), .int(now.milliseconds)]) }
                // Leads the body could not take go back to the queue.
                for lead in part.dropFirst(taken.count) { try requeuePending(sink: sink, seq: lead.seq, now: now) }
                ids.append(id)
            }
            return ids
        }
    }

    /// Pauses a sink (401/403, 404/410): no batch is sent until `resumeSink`, `leadctl sync`, or a change of the
    /// configuration or credential (a different `fingerprint`). The open batch keeps its id and bytes.
    public func pauseSink(
        _ sink: String,
        reason: String,
        fingerprint: String?,
        releasing batchID: String?,
        now: Timestamp = .now()
    ) throws {
        try db.transaction {
            if let batchID {
                try db.statement(
                    "UPDATE batches SET holder = NULL, lease_until = NULL, last_error = ?2 WHERE batch_id = ?1"
                )
                .run([.text(batchID), .text(reason)])
            }
            try db.statement(
                """
                UPDATE sinks SET state = 'paused', state_reason = ?2, paused_fingerprint = ?3, backoff_until = NULL,
                    last_error = ?2, last_error_at = ?4 WHERE name = ?1
                """
            ).run([.text(sink), .text(reason), .opt(fingerprint), .int(now.milliseconds)])
        }
    }

    /// Ends a pause. With `expediteAll` (an operator's `leadctl sync`) every open batch of the sink is due at once,
    /// whatever its backoff or `Retry-After`. Returns whether the sink was paused.
    @discardableResult
    public func resumeSink(_ sink: String, expediteAll: Bool = false) throws -> Bool {
        try db.transaction {
            let wasPaused = try sinkSyncState(sink).state == "paused"
            if expediteAll {
                try db.statement("UPDATE batches SET next_attempt_at = 0 WHERE sink = ?").run([.text(sink)])
                try db.statement(
                    """
                    UPDATE sinks SET state = 'ok', state_reason = NULL, paused_fingerprint = NULL, backoff_until = NULL
                    WHERE name = ?
                    """
                ).run([.text(sink)])
            } else if wasPaused {
                let due = try db.scalarInt("SELECT min(next_attempt_at) FROM batches WHERE sink = ?", [.text(sink)])
                try db.statement(
                    """
                    UPDATE sinks SET state = CASE WHEN ?2 > ?3 THEN 'backoff' ELSE 'ok' END, backoff_until = CASE
                        WHEN ?2 > ?3 THEN ?2 END, state_reason = NULL, paused_fingerprint = NULL WHERE name = ?1
                    """
                ).run([.text(sink), .int(due ?? 0), .int(Timestamp.now().milliseconds)])
            }
            return wasPaused
        }
    }

    /// Brings the sink's backoff waits (not the receiver's own `Retry-After`) forward to `notAfter` at the latest:
    /// the network came back, or another request succeeded. Returns how many batches moved.
    @discardableResult
    public func expediteBackoff(sink: String, notAfter: Timestamp) throws -> Int {
        try db.transaction {
            let n = try db.statement(
                """
                UPDATE batches SET next_attempt_at = ?2 WHERE sink = ?1 AND retry_kind = 'backoff' AND next_attempt_at > ?2
                """
            ).run([.text(sink), .int(notAfter.milliseconds)])
            if n > 0 {
                try db.statement(
                    "UPDATE sinks SET backoff_until = ?2 WHERE name = ?1 AND state = 'backoff' AND backoff_until > ?2"
                ).run([.text(sink), .int(notAfter.milliseconds)])
            }
            return n
        }
    }

    /// Commits of this connection skip the fsync of the WAL (`synchronous=NORMAL`): for a connection that only
    /// does sync bookkeeping (forming batches, recording answers), never for capture.
    ///
    /// Still durable across a crash of the process (SQLite's WAL guarantee); after a power cut the last few
    /// bookkeeping commits may roll back, and then a batch is sent again — which the protocol makes harmless:
    /// the receiver replays the same batch id, or upserts the same lead ids as `duplicate`. Leads themselves are
    /// committed by the capture connection with `synchronous=FULL`, whose fsync also covers these frames.
    /// It spares a drain one fsync per batch (1–6 ms on an SD card or a VM disk).
    public func relaxDurabilityForSyncBookkeeping() throws {
        try db.execute("PRAGMA synchronous = NORMAL")
    }

    /// The sink's state as the worker needs it.
    public func sinkSyncState(_ sink: String) throws -> SinkSyncState {
        let s = try db.cached("SELECT state, state_reason, paused_fingerprint FROM sinks WHERE name = ?")
        defer { s.reset() }
        try s.bind([.text(sink)])
        guard try s.step() else { throw StoreError(.notFound, "no sink named \(sink)") }
        return SinkSyncState(state: s.text(0), reason: s.optText(1), pausedFingerprint: s.optText(2))
    }

    /// When the worker should look at the sink again without being told: the oldest open batch's next attempt,
    /// or else the earliest pending lead's. Nil when nothing is queued (or the sink is paused).
    public func nextWake(sink: String, now: Timestamp = .now()) throws -> Timestamp? {
        if try sinkSyncState(sink).state == "paused" { return nil }
        let s = try db.statement("SELECT next_attempt_at, lease_until FROM batches WHERE sink = ? ORDER BY seq LIMIT 1")
        try s.bind([.text(sink)])
        if try s.step() {
            let at = max(s.int64(0), s.optInt64(1) ?? 0)
            s.reset()
            return Timestamp(milliseconds: at)
        }
        s.reset()
        guard
            let due = try db.scalarInt(
                "SELECT min(next_attempt_at) FROM deliveries WHERE sink = ? AND state = 'pending'",
                [.text(sink)]
            )
        else { return nil }
        return Timestamp(milliseconds: due)
    }

    /// The open (formed, unanswered) batches of a sink, oldest first.
    public func openBatches(sink: String) throws -> [FrozenBatch] {
        let s = try db.statement("SELECT batch_id FROM batches WHERE sink = ? ORDER BY seq")
        try s.bind([.text(sink)])
        var ids: [String] = []
        while try s.step() { ids.append(s.text(0)) }
        s.reset()
        return try ids.map { try loadBatch($0) }
    }

    /// Pending deliveries of `sink` whose next attempt is in the past: what a sync pass would send now.
    public func dueCount(sink: String, now: Timestamp = .now()) throws -> Int {
        Int(
            try db.scalarInt(
                "SELECT count(*) FROM deliveries WHERE sink = ? AND state = 'pending' AND next_attempt_at <= ?",
                [.text(sink), .int(now.milliseconds)]
            ) ?? 0
        )
    }

    // MARK: - Helpers (inside the caller's transaction)

    private func loadBatch(_ id: String) throws -> FrozenBatch {
        let s = try db.statement("SELECT sink, created_at, body, lead_ids, failures FROM batches WHERE batch_id = ?")
        defer { s.reset() }
        try s.bind([.text(id)])
        guard try s.step() else { throw StoreError(.notFound, "no open batch \(id)") }
        let n = Int(sqlite3_column_bytes(s.handle, 2))
        let body: [UInt8] =
            n == 0
            ? []
            : Array(UnsafeRawBufferPointer(start: sqlite3_column_blob(s.handle, 2), count: n))
        let ids = s.text(3).split(separator: "\n").map(String.init)
        return FrozenBatch(
            id: id,
            sink: s.text(0),
            createdAt: Timestamp(milliseconds: s.int64(1)),
            body: body,
            leadIDs: ids,
            failures: s.int(4)
        )
    }

    private func bindBlob(_ bytes: [UInt8], to s: Statement, at index: Int32) throws {
        let rc = bytes.withUnsafeBytes { raw in
            sqlite3_bind_blob(
                s.handle,
                index,
                raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1),
                Int32(raw.count),
                CSQLite_transient()
            )
        }
        if rc != SQLITE_OK { throw db.error(rc) }
    }

    private struct QueuedLead {
        var seq: Int64
        var lead: Lead
    }

    /// Due pending leads, oldest due first: `(sink, state, next_attempt_at, lead_seq)` is the index order, so
    /// a queue of 100 000 costs no sort.
    private func dueLeads(sink: String, limit: Int, now: Timestamp) throws -> [QueuedLead] {
        // The columns of `leadColumns`, in its order (`readLead` reads them by position).
        let pick = try db.cached(
            """
            SELECT l.seq, l.lead_id, l.revision, l.event, l.kiosk, l.captured_at, l.channel, l.device, l.fields,
                l.consent_given, l.consent_sha256, l.consent_language, l.consent_at, l.rating, l.notes, l.badge_id,
                l.duplicate_of
            FROM deliveries d JOIN leads l ON l.seq = d.lead_seq
            WHERE d.sink = ?1 AND d.state = 'pending' AND d.next_attempt_at <= ?2
            ORDER BY d.next_attempt_at, d.lead_seq LIMIT ?3
            """
        )
        defer { pick.reset() }
        try pick.bind(sink, at: 1)
        try pick.bind(now.milliseconds, at: 2)
        try pick.bind(Int64(max(1, limit)), at: 3)
        var leads: [QueuedLead] = []
        leads.reserveCapacity(limit)
        while try pick.step() { leads.append(QueuedLead(seq: pick.int64(0), lead: try readLead(pick))) }
        return leads
    }

    private func leadBySeq(_ seq: Int64) throws -> QueuedLead? {
        let get = try db.statement("SELECT \(LeadStore.leadColumns) FROM leads WHERE seq = ?")
        defer { get.reset() }
        try get.bind([.int(seq)])
        guard try get.step() else { return nil }
        return QueuedLead(seq: seq, lead: try readLead(get))
    }

    private func ownedLeads(batchID: String, sink: String) throws -> [QueuedLead] {
        let s = try db.statement(
            "SELECT lead_seq FROM deliveries WHERE sink = ? AND claim_id = ? AND state = 'sending' ORDER BY lead_seq"
        )
        try s.bind([.text(sink), .text(batchID)])
        var seqs: [Int64] = []
        while try s.step() { seqs.append(s.int64(0)) }
        s.reset()
        return try seqs.compactMap { try leadBySeq($0) }
    }

    private func nextPendingDue(sink: String, now: Timestamp) throws -> Timestamp? {
        try db.scalarInt(
            "SELECT min(next_attempt_at) FROM deliveries WHERE sink = ? AND state = 'pending' AND next_attempt_at > ?",
            [.text(sink), .int(now.milliseconds)]
        ).map(Timestamp.init(milliseconds:))
    }

    /// `sending` rows no open batch owns (a `claimBatch` holder that died): pending again once their lease ended.
    private func reclaimOrphans(sink: String, now: Timestamp) throws {
        try db.cached(
            """
            UPDATE deliveries SET state = 'pending', claim_id = NULL, lease_until = NULL, updated_at = ?2
            WHERE sink = ?1 AND state = 'sending' AND (lease_until IS NULL OR lease_until < ?2)
              AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.batch_id = deliveries.claim_id)
            """
        ).run([.text(sink), .int(now.milliseconds)])
    }

    /// One owned delivery's outcome; no outcome puts it back in the queue, due at once.
    private func recordOutcome(_ outcome: DeliveryOutcome?, sink: String, seq: Int64, now: Timestamp) throws {
        let s: Statement
        switch outcome {
        case .synced(let remoteID):
            s = try db.cached(
                """
                UPDATE deliveries SET state = 'synced', remote_id = coalesce(?3, remote_id), synced_at = ?4,
                    last_error = NULL, claim_id = NULL, lease_until = NULL, updated_at = ?4
                WHERE sink = ?1 AND lead_seq = ?2
                """
            )
            try s.bind(remoteID, at: 3)
        case .rejected(let reason):
            s = try db.cached(
                """
                UPDATE deliveries SET state = 'rejected', last_error = ?3, claim_id = NULL, lease_until = NULL,
                    updated_at = ?4 WHERE sink = ?1 AND lead_seq = ?2
                """
            )
            try s.bind(reason, at: 3)
        case .retry(let notBefore, let reason):
            s = try db.cached(
                """
                UPDATE deliveries SET state = 'pending', last_error = ?3, next_attempt_at = ?5, claim_id = NULL,
                    lease_until = NULL, updated_at = ?4 WHERE sink = ?1 AND lead_seq = ?2
                """
            )
            try s.bind(reason, at: 3)
            try s.bind(notBefore.milliseconds, at: 5)
        case nil:
            s = try db.cached(
                """
                UPDATE deliveries SET state = 'pending', claim_id = NULL, lease_until = NULL, updated_at = ?4
                WHERE sink = ?1 AND lead_seq = ?2
                """
            )
        }
        try s.bind(sink, at: 1)
        try s.bind(seq, at: 2)
        try s.bind(now.milliseconds, at: 4)
        while try s.step() {}
        s.reset()
    }

    private func requeuePending(sink: String, seq: Int64, now: Timestamp) throws {
        try db.statement(
            """
            UPDATE deliveries SET state = 'pending', claim_id = NULL, lease_until = NULL, updated_at = ?3
            WHERE sink = ?1 AND lead_seq = ?2
            """
        ).run([.text(sink), .int(seq), .int(now.milliseconds)])
    }

    private func setDelivery(sink: String, seq: Int64, state: String, error: String, now: Timestamp) throws {
        try db.statement(
            """
            UPDATE deliveries SET state = ?3, last_error = ?4, claim_id = NULL, lease_until = NULL, updated_at = ?5
            WHERE sink = ?1 AND lead_seq = ?2
            """
        ).run([.text(sink), .int(seq), .text(state), .text(error), .int(now.milliseconds)])
    }
}
