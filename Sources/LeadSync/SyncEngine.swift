public import LeadCore
public import LeadStore
public import Logging

/// Retry timing and retention shared by every sink (`[Sync]`, `[Retention]`).
public struct SyncSettings: Sendable, Hashable {
    public var backoff: Backoff
    /// `DeadAfterDays=`: a lead still undelivered this long after capture is `dead` (shown to staff).
    public var deadAfterDays: Int
    /// `RetryInitialSec=` in seconds: the wait before a per-lead `retry` that named no `retry_after_s`.
    public var leadRetrySeconds: Int64

    public init(retryInitialSeconds: Int = 5, retryMaxSeconds: Int = 3600, deadAfterDays: Int = 30) {
        backoff = Backoff(initialSeconds: retryInitialSeconds, maximumSeconds: retryMaxSeconds)
        self.deadAfterDays = deadAfterDays
        leadRetrySeconds = Int64(max(1, retryInitialSeconds))
    }

    public init(config: LeaddConfig) {
        self.init(
            retryInitialSeconds: config.sync.retryInitialSec,
            retryMaxSeconds: config.sync.retryMaxSec,
            deadAfterDays: config.retention.deadAfterDays
        )
    }
}

/// Why a pass ended, and so when the worker looks again.
public enum PassStop: Sendable, Hashable {
    /// Nothing due; `nextDue` is when a lead's own retry time comes (nil: wait for a new lead).
    case idle(nextDue: Timestamp?)
    /// The open batch waits for backoff or the receiver's `Retry-After` until then.
    case waiting(until: Timestamp, reason: String)
    /// Another process sends this sink's batch; its lease ends then.
    case heldElsewhere(until: Timestamp)
    /// Paused until resumed (`leadctl sync`, a new credential or configuration).
    case paused(reason: String)
    /// Shutting down.
    case cancelled
    /// The database failed (busy for longer than the busy timeout, disk full…).
    case failed(String)
}

/// What one sync pass did.
public struct PassReport: Sendable, Hashable {
    public var sink: String
    /// Attempts made (HTTP requests or files written).
    public var attempts = 0
    public var synced = 0
    public var rejected = 0
    /// Leads the receiver asked to retry later (per lead).
    public var retried = 0
    /// The pass ended like this.
    public var stop: PassStop
    /// At least one batch was answered (the network works).
    public var anySuccess: Bool { synced + rejected + retried > 0 }

    /// When the worker should look again without being woken, if ever.
    public var nextWake: Timestamp? {
        switch stop {
        case .idle(let next): next
        case .waiting(let until, _): until
        case .heldElsewhere(let until): until
        case .paused, .cancelled: nil
        case .failed: nil
        }
    }

    /// The pass ended because of a failure (backoff, pause or database).
    public var endedInFailure: Bool {
        switch stop {
        case .waiting, .paused, .failed: true
        case .idle, .heldElsewhere, .cancelled: false
        }
    }
}

/// The blocking core of a sync worker for one sink: forms or resumes frozen batches, hands them to the sink,
/// and records the answers, following the protocol's tables. Confined to one thread (it owns a store
/// connection and the sink's transport); the daemon runs it on a thread of its own, `leadctl sync` on its main
/// thread.
public final class SyncEngine {
    public let sink: any Sink
    let store: LeadStore
    let settings: SyncSettings
    let logger: Logger
    let cancel: CancellationFlag
    /// This worker's name in batch leases.
    public let holder: String
    /// How long a batch may be held before another process may take it even if the holder still runs.
    let leaseSeconds: Int64
    /// The receiver's clock minus ours, learnt from a `timestamp_out_of_tolerance` answer.
    public private(set) var clockOffsetSeconds: Int64 = 0
    private var rng = SystemRandomNumberGenerator()
    private let now: () -> Timestamp

    public init(
        sink: any Sink,
        store: LeadStore,
        settings: SyncSettings,
        logger: Logger,
        cancel: CancellationFlag = .init(),
        leaseSeconds: Int64 = 120,
        holder: String = ProcessIdentity.makeHolder(),
        clock: @escaping () -> Timestamp = { .now() }
    ) {
        self.sink = sink
        self.store = store
        self.settings = settings
        self.logger = logger
        self.cancel = cancel
        self.leaseSeconds = leaseSeconds
        self.holder = holder
        self.now = clock
    }

    private var meta: Logger.Metadata { ["sink.name": "\(sink.name)"] }

    /// Sends batches until nothing is due, the sink must wait (backoff, `Retry-After`, pause), another process
    /// holds the sink's batch, or the worker is cancelled.
    public func pass() -> PassReport {
        var report = PassReport(sink: sink.name, stop: .idle(nextDue: nil))
        // A rotated secret (two in the file for a while) is picked up without a restart.
        sink.reloadCredentials()
        do {
            if let reason = sink.unavailableReason {
                if try store.sinkSyncState(sink.name).reason != reason {
                    try store.pauseSink(
                        sink.name,
                        reason: reason,
                        fingerprint: sink.fingerprint,
                        releasing: nil,
                        now: now()
                    )
                    logger.error("Sink paused", metadata: meta.merging(["sync.error": "\(reason)"]) { $1 })
                }
                report.stop = .paused(reason: reason)
                return report
            }
            let cutoff = now().adding(seconds: -Int64(settings.deadAfterDays) * 86_400)
            let dead = try store.markDead(capturedBefore: cutoff)
            if dead > 0 {
                logger.warning(
                    "Leads undelivered after the retention period marked dead",
                    metadata: meta.merging(["leads.count": "\(dead)", "retention.days": "\(settings.deadAfterDays)"]) {
                        $1
                    }
                )
            }
            var skewRetried: String?
            // A delivered batch's answer is committed in the transaction that freezes the next batch — while the
            // request of the one after is in flight when the sink can (the webhook): one commit per batch, off
            // the request's path.
            var completion: BatchCompletion?
            // The next batch, frozen and held by this worker while the previous one was in flight (not sent yet).
            var ahead: FrozenBatch?
            while true {
                if cancel.isCancelled {
                    if let c = completion {
                        try store.completeBatch(c.batchID, sink: sink.name, outcomes: c.outcomes, now: now())
                    }
                    if let a = ahead { try store.releaseBatch(a.id, holder: holder) }
                    report.stop = .cancelled
                    return report
                }
                let t = now()
                let batch: FrozenBatch
                if let a = ahead {
                    batch = a
                    ahead = nil
                } else {
                    let pick = try store.nextBatch(
                        sink: sink.name,
                        limit: sink.batchSize,
                        holder: holder,
                        leaseSeconds: leaseSeconds,
                        now: t,
                        completing: completion,
                        isAlive: ProcessIdentity.isAlive,
                        build: sink.makeBody
                    )
                    completion = nil
                    switch pick {
                    case .batch(let b): batch = b
                    case .idle(let next):
                        report.stop = .idle(nextDue: next)
                        return report
                    case .notDue(let until, let reason):
                        report.stop = .waiting(until: until, reason: reason ?? "backoff")
                        return report
                    case .heldElsewhere(_, let until):
                        report.stop = .heldElsewhere(until: until)
                        return report
                    case .paused(let reason, let fingerprint):
                        if fingerprint != sink.fingerprint {
                            try store.resumeSink(sink.name)
                            logger.notice(
                                "Sink resumed: its configuration or credential changed",
                                metadata: meta.merging(["sink.paused_reason": "\(reason)"]) { $1 }
                            )
                            continue
                        }
                        report.stop = .paused(reason: reason)
                        return report
                    }
                }
                report.attempts += 1
                let timestamp = t.seconds + clockOffsetSeconds
                let answer: SinkAnswer
                if let pipelined = sink as? any PipelinedSink {
                    pipelined.startDelivery(batch, timestamp: timestamp)
                    do {
                        ahead = try store.formAhead(
                            sink: sink.name,
                            limit: sink.batchSize,
                            holder: holder,
                            leaseSeconds: leaseSeconds,
                            inFlight: batch.id,
                            now: t,
                            completing: completion,
                            build: sink.makeBody
                        )
                        completion = nil
                    } catch {
                        // The request still ends; its batch stays open and held here, resent (replayed) next pass.
                        _ = pipelined.finishDelivery()
                        throw error
                    }
                    answer = pipelined.finishDelivery()
                } else {
                    answer = sink.deliver(batch, timestamp: timestamp)
                }
                switch try apply(answer, to: batch, at: now(), report: &report, skewRetried: &skewRetried) {
                case .next(let c):
                    completion = c
                    // A batch retried at once or split goes before the one frozen ahead of it.
                    if c == nil, let a = ahead {
                        try store.releaseBatch(a.id, holder: holder)
                        ahead = nil
                    }
                case .stop(let stop):
                    // The batch frozen ahead waits its turn behind this one, for whoever sends next.
                    if let a = ahead { try store.releaseBatch(a.id, holder: holder) }
                    report.stop = stop
                    return report
                }
            }
        } catch {
            logger.error("Sync pass failed on the database", metadata: meta.merging(["error": "\(error)"]) { $1 })
            report.stop = .failed("\(error)")
            return report
        }
    }

    /// Brings backoff waits forward to a random moment in the next `0…maxJitterSeconds` (the network came back,
    /// or another sink just succeeded), so a hall full of kiosks does not call the CRM at the same instant.
    public func networkReturned(maxJitterSeconds: Int64 = 30) {
        let at = now().milliseconds + Int64.random(in: 0...(maxJitterSeconds * 1000), using: &rng)
        do {
            if try store.expediteBackoff(sink: sink.name, notAfter: Timestamp(milliseconds: at)) > 0 {
                logger.info("Network changed: retrying soon", metadata: meta)
            }
        } catch {
            logger.error("Sync pass failed on the database", metadata: meta.merging(["error": "\(error)"]) { $1 })
        }
    }

    /// What the pass does after an answer.
    private enum Step {
        /// Go on with the next batch, recording this completion with it.
        case next(BatchCompletion?)
        case stop(PassStop)
    }

    /// Records one answer (a delivered batch's results are left to the next `nextBatch`).
    private func apply(
        _ answer: SinkAnswer,
        to batch: FrozenBatch,
        at t: Timestamp,
        report: inout PassReport,
        skewRetried: inout String?
    ) throws -> Step {
        var batchMeta = meta
        batchMeta["batch.id"] = "\(batch.id)"
        batchMeta["batch.leads"] = "\(batch.leadIDs.count)"
        switch answer {
        case .accepted(let results):
            var outcomes: [String: DeliveryOutcome] = [:]
            var missing = 0
            for id in batch.leadIDs {
                switch results[id] {
                case .synced(let remoteID)?:
                    outcomes[id] = .synced(remoteID: remoteID)
                    report.synced += 1
                case .rejected(let reason)?:
                    outcomes[id] = .rejected(reason: reason)
                    report.rejected += 1
                    logger.warning(
                        "Lead rejected by the receiver",
                        metadata: batchMeta.merging(["lead.id": "\(id)", "sync.error": "\(reason)"]) { $1 }
                    )
                case .retry(let after, let reason)?:
                    outcomes[id] = .retry(
                        notBefore: t.adding(seconds: SyncEngine.clamped(after ?? settings.leadRetrySeconds)),
                        reason: reason
                    )
                    report.retried += 1
                case nil:
                    missing += 1
                    outcomes[id] = .retry(
                        notBefore: t.adding(seconds: settings.leadRetrySeconds),
                        reason: "missing from the receiver's results (a receiver bug)"
                    )
                    report.retried += 1
                }
            }
            if missing > 0 {
                logger.error(
                    "Receiver bug: leads missing from its results; they will be sent again",
                    metadata: batchMeta.merging(["leads.missing": "\(missing)"]) { $1 }
                )
            }
            if batch.failures > 0 { logger.notice("Sink delivering again", metadata: batchMeta) }
            logger.debug("Batch delivered", metadata: batchMeta)
            return .next(BatchCompletion(batchID: batch.id, outcomes: outcomes))
        case .rejected(let reason):
            logger.error(
                "Batch rejected as malformed: a client bug; its leads are marked rejected",
                metadata: batchMeta.merging(["sync.error": "\(reason)"]) { $1 }
            )
            let outcomes = Dictionary(
                uniqueKeysWithValues: batch.leadIDs.map { ($0, DeliveryOutcome.rejected(reason: reason)) }
            )
            report.rejected += batch.leadIDs.count
            return .next(BatchCompletion(batchID: batch.id, outcomes: outcomes))
        case .pause(let reason):
            try store.pauseSink(sink.name, reason: reason, fingerprint: sink.fingerprint, releasing: batch.id, now: t)
            logger.error(
                "Sink paused; resume with leadctl sync or a new credential",
                metadata: batchMeta.merging(["sync.error": "\(reason)"]) { $1 }
            )
            return .stop(.paused(reason: reason))
        case .clockSkew(let offset, let reason):
            if let offset, skewRetried != batch.id {
                skewRetried = batch.id
                clockOffsetSeconds = offset
                logger.warning(
                    "Receiver says our clock is off: retrying once with its time",
                    metadata: batchMeta.merging(["clock.offset_s": "\(offset)"]) { $1 }
                )
                return .next(nil)
            }
            return .stop(
                try backoff(batch, reason: reason + " (check the kiosk's clock)", after: nil, at: t, meta: batchMeta)
            )
        case .tooLarge(let reason):
            if batch.leadIDs.count <= 1 {
                let outcomes = Dictionary(
                    uniqueKeysWithValues: batch.leadIDs.map {
                        ($0, DeliveryOutcome.rejected(reason: reason))
                    }
                )
                report.rejected += batch.leadIDs.count
                logger.error(
                    "Lead refused by the receiver even alone (too large, or invalid): rejected",
                    metadata: batchMeta.merging(["sync.error": "\(reason)"]) { $1 }
                )
                return .next(BatchCompletion(batchID: batch.id, outcomes: outcomes))
            }
            let ids = try store.splitBatch(batch.id, sink: sink.name, now: t, build: sink.makeBody)
            logger.notice(
                "Batch too large for the receiver: split in two",
                metadata: batchMeta.merging(["sync.error": "\(reason)", "batch.parts": "\(ids.joined(separator: ","))"])
                {
                    $1
                }
            )
            return .next(nil)
        case .retryLater(let after, let reason):
            return .stop(try backoff(batch, reason: reason, after: after, at: t, meta: batchMeta))
        case .cancelled:
            try store.releaseBatch(batch.id, holder: holder)
            return .stop(.cancelled)
        }
    }

    /// The longest wait a sink may ask for (7 days); a larger or negative one is clamped, never overflows.
    static let maximumWaitSeconds: Int64 = 7 * 86_400

    static func clamped(_ seconds: Int64) -> Int64 { min(max(seconds, 0), maximumWaitSeconds) }

    private func backoff(
        _ batch: FrozenBatch,
        reason: String,
        after: Int64?,
        at t: Timestamp,
        meta batchMeta: Logger.Metadata
    ) throws -> PassStop {
        let delay =
            after.map { SyncEngine.clamped($0) * 1000 } ?? settings.backoff.delay(failures: batch.failures, using: &rng)
        let until = Timestamp(milliseconds: t.milliseconds + delay)
        try store.deferBatch(
            batch.id,
            sink: sink.name,
            notBefore: until,
            kind: after == nil ? .backoff : .receiver,
            error: reason,
            now: t
        )
        logger.warning(
            "Batch not delivered; the same batch is retried later",
            metadata: batchMeta.merging([
                "sync.error": "\(reason)", "sync.retry_in_ms": "\(delay)", "batch.failures": "\(batch.failures + 1)",
            ]) { $1 }
        )
        return .waiting(until: until, reason: reason)
    }
}
