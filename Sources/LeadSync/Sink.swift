public import LeadCore
public import LeadStore

/// What a receiver said about one lead of a batch (the protocol's per-lead table).
public enum LeadResult: Sendable, Hashable {
    /// `created`, `updated`, `duplicate` or `stale`: synced for this sink, with the CRM's id if it gave one.
    case synced(remoteID: String?)
    /// `rejected`: never retried automatically; `leadctl retry` queues it again.
    case rejected(reason: String)
    /// `retry`: queue the lead again, not before `afterSeconds` (nil: the sink's first backoff step).
    case retry(afterSeconds: Int64?, reason: String)
}

/// A sink's answer to one delivery attempt of a frozen batch, already mapped from its wire form (HTTP status,
/// a file system error) onto what the worker does (the protocol's batch-level table).
public enum SinkAnswer: Sendable, Hashable {
    /// The batch was authenticated and read: one result per lead. A lead of the batch missing here is retried
    /// and logged as a receiver bug.
    case accepted([String: LeadResult])
    /// 400, 415, 422: the batch is malformed (a client bug); its leads are marked rejected with `reason`.
    case rejected(reason: String)
    /// 401/403 (authentication failed), 404/410 (misconfigured): the sink pauses until resumed.
    case pause(reason: String)
    /// 401 `timestamp_out_of_tolerance`: the receiver's clock minus ours, from its `Date` header (nil without one).
    case clockSkew(offsetSeconds: Int64?, reason: String)
    /// 413: split the batch in half and send both halves.
    case tooLarge(reason: String)
    /// Send the same batch (same id, same bytes) again later: after `afterSeconds` when the receiver said
    /// (`Retry-After`, 409), else after the sink's backoff. Also when the receiver may have stored it (a timeout
    /// after sending): its dedup turns the resend into a replay or `duplicate`.
    case retryLater(afterSeconds: Int64?, reason: String)
    /// The attempt was abandoned because the worker is shutting down; nothing is counted.
    case cancelled
}

/// A destination for leads. One worker drives every kind of sink through this protocol: the sink turns leads
/// into a frozen body once, and answers each delivery attempt with a ``SinkAnswer``.
///
/// A sink is confined to its worker's thread (it is not `Sendable`); ``deliver(_:timestamp:)`` blocks.
public protocol Sink: AnyObject {
    /// `Name=` of the `[Sink]` section.
    var name: String { get }
    /// `BatchSize=`.
    var batchSize: Int { get }
    /// A digest of what the sink is configured with, its secret included (not reversible): when it differs from
    /// the digest recorded at a pause, the configuration or credential changed and the sink resumes.
    var fingerprint: String { get }
    /// Writes the frozen body for a new batch of (a prefix of) `leads`.
    func makeBody(batchID: String, createdAt: Timestamp, leads: [Lead]) -> BatchContent
    /// One delivery attempt of `batch`, signed for `timestamp` (unix seconds, clock offset applied).
    func deliver(_ batch: FrozenBatch, timestamp: Int64) -> SinkAnswer
    /// Reads the credential again (a paused sink checks whether it was replaced).
    func reloadCredentials()
    /// Why the credential cannot be used right now (unreadable, not a `whsec_` secret), or nil. Never the secret.
    var credentialProblem: String? { get }
    /// Why this sink cannot deliver at all in this build (its leads stay queued, no batch is formed), or nil.
    var unavailableReason: String? { get }
}

extension Sink {
    public func reloadCredentials() {}
    public var credentialProblem: String? { nil }
    public var unavailableReason: String? { nil }
}

/// A sink whose delivery can be in flight while the worker does other work on its thread: the webhook's request
/// travels while the previous batch's answer is committed and the next batch is frozen. Still one batch in flight.
public protocol PipelinedSink: Sink {
    /// Starts delivering `batch` and returns without waiting for the answer.
    func startDelivery(_ batch: FrozenBatch, timestamp: Int64)
    /// Waits for the answer to the delivery `startDelivery` began.
    func finishDelivery() -> SinkAnswer
}
