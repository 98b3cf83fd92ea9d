public import LeadCore
public import LeadStore

/// The generic `webhook` sink: SYNC-PROTOCOL.md over HTTPS, Standard Webhooks signatures, `Idempotency-Key`.
public final class WebhookSink: Sink {
    public let name: String
    public let batchSize: Int
    public private(set) var fingerprint: String
    let source: BatchSource
    let fieldOrder: [String]
    let transport: CurlTransport
    let secretSource: () throws(SyncError) -> [String]?
    /// Nil while the credential cannot be read; `credentialError` says why.
    private var signer: WebhookSigner?
    private var credentialError: String?
    public var credentialProblem: String? { credentialError }
    private let configDigest: String
    private var rng = SystemRandomNumberGenerator()

    /// - Parameters:
    ///   - secrets: reads the sink's secrets (once now, again when a paused sink looks for a new credential).
    public init(
        name: String,
        batchSize: Int,
        source: BatchSource,
        fieldOrder: [String],
        transport: CurlTransport,
        secrets: @escaping () throws(SyncError) -> [String]?
    ) {
        self.name = name
        self.batchSize = batchSize
        self.source = source
        self.fieldOrder = fieldOrder
        self.transport = transport
        self.secretSource = secrets
        let t = transport.settings
        configDigest = "webhook\n\(t.url)\n\(t.caFile ?? "")\n\(t.allowInsecure)\n\(t.timeoutSeconds)"
        fingerprint = ""
        reloadCredentials()
    }

    public func reloadCredentials() {
        do throws(SyncError) {
            guard let secrets = try secretSource() else {
                throw SyncError(.credential, "no secret configured (Credential= or SecretFile=)")
            }
            signer = try WebhookSigner(secrets: secrets)
            credentialError = nil
            fingerprint = SinkFingerprint.make(configDigest, secrets: secrets)
        } catch {
            signer = nil
            credentialError = error.message
            fingerprint = SinkFingerprint.make(configDigest + "\nunreadable: " + error.message, secrets: [])
        }
    }

    public func makeBody(batchID: String, createdAt: Timestamp, leads: [Lead]) -> BatchContent {
        BatchBody.make(batchID: batchID, createdAt: createdAt, source: source, leads: leads, fieldOrder: fieldOrder)
    }

    /// The request headers of one attempt.
    func headers(_ batch: FrozenBatch, timestamp: Int64, signer: WebhookSigner) -> [String] {
        [
            "Content-Type: application/json; charset=utf-8",
            "webhook-id: \(batch.id)",
            "webhook-timestamp: \(timestamp)",
            "webhook-signature: \(signer.signature(id: batch.id, timestamp: timestamp, body: batch.body))",
            "Idempotency-Key: \"\(batch.id)\"",
        ]
    }

    public func deliver(_ batch: FrozenBatch, timestamp: Int64) -> SinkAnswer {
        startDelivery(batch, timestamp: timestamp)
        return finishDelivery()
    }

    /// The batch whose request is in flight, or the answer known without sending it.
    private var pending: (batch: FrozenBatch, early: SinkAnswer?)?

    public func startDelivery(_ batch: FrozenBatch, timestamp: Int64) {
        guard let signer else {
            pending = (batch, .pause(reason: "credential unusable: \(credentialError ?? "unknown")"))
            return
        }
        pending = (batch, nil)
        transport.start(headers: headers(batch, timestamp: timestamp, signer: signer), body: batch.body)
    }

    public func finishDelivery() -> SinkAnswer {
        guard let (batch, early) = pending else { return .retryLater(afterSeconds: nil, reason: "nothing was sent") }
        pending = nil
        if let early { return early }
        switch transport.finish() {
        case .failure(let failure):
            return failure.cancelled ? .cancelled : .retryLater(afterSeconds: nil, reason: failure.message)
        case .success(let response):
            return WebhookAnswer.map(response, batch: batch, now: Timestamp.now(), rng: &rng)
        }
    }
}

extension WebhookSink: PipelinedSink {}

/// The protocol's tables: an HTTP answer to a ``SinkAnswer``.
public enum WebhookAnswer {
    public static func map(
        _ r: HTTPResponse,
        batch: FrozenBatch,
        now: Timestamp,
        rng: inout some RandomNumberGenerator
    ) -> SinkAnswer {
        let status = r.status
        switch status {
        case 200..<300:
            return .accepted(results(r.body, batch: batch))
        case 300..<400:
            return .retryLater(afterSeconds: nil, reason: "HTTP \(status): redirects are not followed")
        case 400, 415, 422:
            return .rejected(reason: "batch rejected by the receiver: HTTP \(status)\(errorSuffix(r.body))")
        case 401:
            if errorCode(r.body) == "timestamp_out_of_tolerance" {
                let offset = r.headers["date"].flatMap(HTTPDate.parse).map {
                    ($0.milliseconds - now.milliseconds) / 1000
                }
                return .clockSkew(offsetSeconds: offset, reason: "HTTP 401: timestamp_out_of_tolerance")
            }
            return .pause(reason: "authentication failed (HTTP 401)")
        case 403:
            return .pause(reason: "authentication failed (HTTP 403)")
        case 404, 410:
            return .pause(reason: "misconfigured: the receiver answered HTTP \(status) for the URL")
        case 409:
            return .retryLater(
                afterSeconds: Int64.random(in: 5...30, using: &rng),
                reason: "HTTP 409: the receiver is still processing this batch"
            )
        case 413:
            return .tooLarge(reason: "HTTP 413: batch too large for the receiver")
        case 429, 503:
            let after = r.headers["retry-after"].flatMap { HTTPDate.retryAfter($0, now: now) }
            return .retryLater(afterSeconds: after, reason: "HTTP \(status)\(errorSuffix(r.body))")
        default:
            return .retryLater(afterSeconds: nil, reason: "HTTP \(status)\(errorSuffix(r.body))")
        }
    }

    /// Per-lead results of a 2xx. An empty body accepts every lead; results that cannot be read count as
    /// missing (retried, logged as a receiver bug by the worker).
    static func results(_ body: [UInt8], batch: FrozenBatch) -> [String: LeadResult] {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            return Dictionary(uniqueKeysWithValues: batch.leadIDs.map { ($0, LeadResult.synced(remoteID: nil)) })
        }
        guard let json = try? JSONValue.parse(body), let list = json["results"]?.arrayValue else { return [:] }
        var out: [String: LeadResult] = [:]
        for item in list {
            guard let id = item["lead_id"]?.stringValue, let status = item["status"]?.stringValue else { continue }
            switch status {
            case "created", "updated", "duplicate", "stale":
                out[id] = .synced(remoteID: item["remote_id"].flatMap(scalarText))
            case "rejected":
                let error = item["error"]
                var reason = error?["code"]?.stringValue ?? "rejected"
                if let field = error?["field"]?.stringValue { reason += " (\(field))" }
                if let message = error?["message"]?.stringValue { reason += ": \(message)" }
                out[id] = .rejected(reason: String(reason.prefix(500)))
            case "retry":
                let after = item["retry_after_s"].flatMap { $0.intValue.map(Int64.init) }
                out[id] = .retry(afterSeconds: after.map { min(max($0, 0), 86_400) }, reason: "receiver asked to retry")
            default:
                continue
            }
        }
        return out
    }

    static func scalarText(_ v: JSONValue) -> String? {
        if let s = v.stringValue { return s }
        if case .number(let text) = v { return text }
        return nil
    }

    static func errorCode(_ body: [UInt8]) -> String? {
        guard let json = try? JSONValue.parse(body) else { return nil }
        return json["error"]?["code"]?.stringValue ?? json["code"]?.stringValue
    }

    /// `: code: message` from a JSON error body, short and printable, or "".
    static func errorSuffix(_ body: [UInt8]) -> String {
        guard let json = try? JSONValue.parse(body) else { return "" }
        let error = json["error"] ?? json
        let parts = [error["code"]?.stringValue, error["message"]?.stringValue].compactMap { $0 }
        guard !parts.isEmpty else { return "" }
        return ": " + String(parts.joined(separator: ": ").prefix(300))
    }
}

/// A digest of a sink's configuration and secrets that reveals neither.
enum SinkFingerprint {
    static func make(_ config: String, secrets: [String]) -> String {
        var text = Array(config.utf8)
        for s in secrets { text += [0x0A] + SHA256.digest(Array(s.utf8)) }
        let digits = Array("0123456789abcdef".utf8)
        let hex = SHA256.digest(text).prefix(8).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] }
        return String(decoding: hex, as: UTF8.self)
    }
}
