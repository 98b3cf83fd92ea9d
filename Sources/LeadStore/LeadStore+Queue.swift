public import LeadCore

/// A lead handed to a sink by `claimBatch`: the lead at the revision to deliver.
public struct ClaimedLead: Sendable, Hashable {
    public var lead: Lead
    public var attempts: Int
}

/// A set of leads claimed for one sink under a lease; only the holder of `claimID` can record their results.
public struct Claim: Sendable, Hashable {
    public var claimID: String
    public var sink: String
    public var leads: [ClaimedLead]
    public var leaseUntil: Timestamp
}

/// What a sink said about one lead.
public enum DeliveryOutcome: Sendable, Hashable {
    /// Accepted (created, updated, duplicate or stale at the receiver); `remoteID` is the CRM's id.
    case synced(remoteID: String?)
    /// Refused for good; only `leadctl retry` queues it again.
    case rejected(reason: String)
    /// Try again, not before `notBefore`.
    case retry(notBefore: Timestamp, reason: String)
}

extension LeadStore {
    /// Registers sinks by name. A sink that is new to this database gets every existing lead queued.
    /// Returns the number of leads queued for each newly added sink.
    @discardableResult
    public func ensureSinks(_ names: [String]) throws -> [String: Int] {
        try db.transaction {
            var added: [String: Int] = [:]
            let now = Timestamp.now().milliseconds
            for name in names {
                let n = try db.statement("INSERT OR IGNORE INTO sinks (name, added_at) VALUES (?, ?)").run([
                    .text(name), .int(now),
                ])
                guard n > 0 else { continue }
                added[name] = try db.statement(
                    """
                    INSERT INTO deliveries (lead_seq, sink, revision, state, updated_at)
                    SELECT seq, ?1, revision, 'pending', ?2 FROM leads
                    """
                ).run([.text(name), .int(now)])
            }
            return added
        }
    }

    /// Names of the sinks this database knows.
    public func sinkNames() throws -> [String] {
        let s = try db.statement("SELECT name FROM sinks ORDER BY name")
        var out: [String] = []
        while try s.step() { out.append(s.text(0)) }
        return out
    }

    /// Claims up to `limit` due leads for `sink` under a lease of `leaseSeconds`, oldest first.
    ///
    /// A lead is due when it is pending and its next attempt time has come, or when it is `sending` under an
    /// expired lease (its claimer died). Two processes never hold the same lead at once: the claim is one
    /// `BEGIN IMMEDIATE` transaction.
    public func claimBatch(
        sink: String,
        limit: Int,
        leaseSeconds: Int64,
        now: Timestamp = .now()
    ) throws -> Claim? {
        try db.transaction {
            let claimID = LeadID.make(at: now)
            let lease = now.adding(seconds: leaseSeconds)
            let pick = try db.statement(
                """
                SELECT lead_seq, revision, attempts FROM deliveries
                WHERE sink = ?1 AND ((state = 'pending' AND next_attempt_at <= ?2)
                                  OR (state = 'sending' AND lease_until < ?2))
                ORDER BY lead_seq LIMIT ?3
                """
            )
            try pick.bind([.text(sink), .int(now.milliseconds), .int(Int64(limit))])
            var picked: [(Int64, Int, Int)] = []
            while try pick.step() { picked.append((pick.int64(0), pick.int(1), pick.int(2))) }
            guard !picked.isEmpty else { return nil }
            let mark = try db.statement(
                """
                UPDATE deliveries SET state = 'sending', claim_id = ?3, lease_until = ?4, attempts = attempts + 1,
                    updated_at = ?5 WHERE sink = ?1 AND lead_seq = ?2
                """
            )
            let get = try db.statement("SELECT \(LeadStore.leadColumns) FROM leads WHERE seq = ?")
            var leads: [ClaimedLead] = []
            for (seq, _, attempts) in picked {
                try mark.run([.text(sink), .int(seq), .text(claimID), .int(lease.milliseconds), .int(now.milliseconds)])
                try get.bind([.int(seq)])
                guard try get.step() else { continue }
                leads.append(ClaimedLead(lead: try readLead(get), attempts: attempts + 1))
                get.reset()
            }
            return Claim(claimID: claimID, sink: sink, leads: leads, leaseUntil: lease)
        }
    }

    /// Records a sink's per-lead outcomes for a claim. Outcomes for leads no longer held by `claimID`
    /// (lease expired and re-claimed, or edited meanwhile) are ignored. Returns how many were applied.
    @discardableResult
    public func recordResults(
        claimID: String,
        sink: String,
        outcomes: [String: DeliveryOutcome],
        now: Timestamp = .now()
    ) throws -> Int {
        try db.transaction {
            var applied = 0
            let base = "WHERE sink = ?1 AND claim_id = ?2 AND lead_seq = (SELECT seq FROM leads WHERE lead_id = ?3)"
            for (leadID, outcome) in outcomes {
                switch outcome {
                case .synced(let remoteID):
                    applied += try db.statement(
                        """
                        UPDATE deliveries SET state = 'synced', remote_id = coalesce(?4, remote_id), synced_at = ?5,
                            last_error = NULL, claim_id = NULL, lease_until = NULL, updated_at = ?5 \(base)
                        """
                    ).run([.text(sink), .text(claimID), .text(leadID), .opt(remoteID), .int(now.milliseconds)])
                case .rejected(let reason):
                    applied += try db.statement(
                        """
                        UPDATE deliveries SET state = 'rejected', last_error = ?4, claim_id = NULL,
                            lease_until = NULL, updated_at = ?5 \(base)
                        """
                    ).run([.text(sink), .text(claimID), .text(leadID), .text(reason), .int(now.milliseconds)])
                case .retry(let notBefore, let reason):
                    applied += try db.statement(
                        """
                        UPDATE deliveries SET state = 'pending', last_error = ?4, next_attempt_at = ?6,
                            claim_id = NULL, lease_until = NULL, updated_at = ?5 \(base)
                        """
                    ).run([
                        .text(sink), .text(claimID), .text(leadID), .text(reason), .int(now.milliseconds),
                        .int(notBefore.milliseconds),
                    ])
                }
            }
            return applied
        }
    }

    /// Gives a claim back untouched (the batch was never sent): its leads are due again at once.
    public func releaseClaim(_ claimID: String, sink: String) throws {
        try db.transaction {
            try db.statement(
                """
                UPDATE deliveries SET state = 'pending', attempts = max(attempts - 1, 0), claim_id = NULL,
                    lease_until = NULL WHERE sink = ? AND claim_id = ?
                """
            ).run([.text(sink), .text(claimID)])
        }
    }

    /// Queues rejected or dead deliveries of the given leads again (all sinks). Returns how many were queued.
    @discardableResult
    public func retry(leadIDs: [String]) throws -> Int {
        try db.transaction {
            var n = 0
            for id in leadIDs {
                let lead = try requireLead(id)
                n += try db.statement(
                    """
                    UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = 0, updated_at = ?2
                    WHERE state IN ('rejected', 'dead') AND lead_seq = (SELECT seq FROM leads WHERE lead_id = ?1)
                    """
                ).run([.text(lead.id), .int(Timestamp.now().milliseconds)])
            }
            return n
        }
    }

    /// Queues every rejected delivery again. Returns how many were queued.
    @discardableResult
    public func retryAllRejected() throws -> Int {
        try db.transaction {
            try db.statement(
                """
                UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = 0, updated_at = ?
                WHERE state = 'rejected'
                """
            ).run([.int(Timestamp.now().milliseconds)])
        }
    }

    /// Marks pending deliveries of leads captured before `cutoff` as dead (retention period over).
    @discardableResult
    public func markDead(capturedBefore cutoff: Timestamp) throws -> Int {
        try db.transaction {
            try db.statement(
                """
                UPDATE deliveries SET state = 'dead', claim_id = NULL, lease_until = NULL, updated_at = ?2
                WHERE state IN ('pending', 'sending')
                  AND lead_seq IN (SELECT seq FROM leads WHERE captured_at < ?1)
                """
            ).run([.int(cutoff.milliseconds), .int(Timestamp.now().milliseconds)])
        }
    }
}
