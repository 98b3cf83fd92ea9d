public import LeadCore
public import LeadStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One lead as a CRM connector froze it: the record in the CRM's own shape, and what a lookup before a resend
/// searches for.
struct CRMItem: Sendable, Hashable {
    var leadID: String
    var email: String?
    var phone: String?
    /// When the lead was captured (unix milliseconds): nothing was sent for it earlier.
    var capturedAt: Int64 = 0
    /// The CRM's record (a HubSpot input's `properties`, Bitrix24 `fields`, a Kommo complex lead).
    var record: JSONValue
}

/// The frozen body of a CRM batch: a JSON array of `{"lead_id","email","phone","record"}`, one per lead. The
/// request itself is written from it at each attempt, so a resend can leave out what a lookup found.
enum CRMBody {
    static func encode(_ items: [CRMItem]) -> [UInt8] {
        var w = JSONWriter()
        w.beginArray()
        for item in items {
            w.beginObject()
            w.member("lead_id", item.leadID)
            w.member("email", item.email)
            w.member("phone", item.phone)
            w.member("captured_at_ms", Int(item.capturedAt))
            w.key("record")
            w.value(item.record)
            w.endObject()
        }
        w.endArray()
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) -> [CRMItem]? {
        guard let list = (try? JSONValue.parse(bytes))?.arrayValue else { return nil }
        var items: [CRMItem] = []
        for v in list {
            guard let id = v["lead_id"]?.stringValue, let record = v["record"] else { return nil }
            items.append(
                CRMItem(
                    leadID: id,
                    email: v["email"]?.stringValue,
                    phone: v["phone"]?.stringValue,
                    capturedAt: Int64(v["captured_at_ms"]?.intValue ?? 0),
                    record: record
                )
            )
        }
        return items
    }
}

/// The values a field map can name: the form's fields, and `lead_id`, `rating`, `notes`, `event`, `kiosk`,
/// `captured_at`, `badge_id` and `channel` of the lead itself (a form field of the same name wins).
public enum CRMLeadValue {
    static func value(_ name: String, of lead: Lead) -> String? {
        if let v = lead.fields[name] { return v.isEmpty ? nil : v }
        switch name {
        case "lead_id": return lead.id
        case "rating": return lead.rating?.rawValue
        case "notes": return lead.notes.isEmpty ? nil : lead.notes
        case "event": return lead.event
        case "kiosk": return lead.kiosk
        case "captured_at": return lead.capturedAt.rfc3339
        case "badge_id": return lead.badgeID
        case "channel": return lead.channel.rawValue
        default: return nil
        }
    }

    /// `Map.` entries over `defaults` (a `Map.x=` with an empty value was removed from `options` at parsing, so
    /// a default is switched off with `Map.x=-`), in a stable order.
    static func fieldMap(_ options: [String: String], defaults: [(String, String)]) -> [(field: String, target: String)]
    {
        var map: [String: String] = [:]
        for (field, target) in defaults { map[field] = target }
        for (key, value) in options where key.hasPrefix("Map.") { map[String(key.dropFirst(4))] = value }
        return map.filter { $0.value != "-" }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// `Property.<name>=<value>` options, sorted by name.
    /// What a connector's mapping and constants amount to, one `name=value` per line: part of the sink's
    /// fingerprint, so a changed mapping resumes a paused sink.
    static func digest(map: [(field: String, target: String)], constants: [(String, String)]) -> String {
        (map.map { "\($0.field)=\($0.target)" } + constants.map { "\($0.0)=\($0.1)" }).joined(separator: "\n")
    }

    /// `base` without trailing slashes (URL bases are joined with paths that start with one).
    static func withoutTrailingSlashes(_ base: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    static func constants(_ options: [String: String], prefix: String = "Property.") -> [(String, String)] {
        options.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }.map {
            (String($0.key.dropFirst(prefix.count)), $0.value)
        }
    }
}

/// Spaces requests at least `1 / rate` seconds apart (on the monotonic clock), across every call a sink makes:
/// the CRMs count requests per account and source address, not per batch.
final class RateShaper {
    let intervalNanoseconds: Int64
    private var next: Int64 = 0

    init(ratePerSecond: Double) {
        intervalNanoseconds = Int64((1e9 / max(0.001, ratePerSecond)).rounded(.up))
    }

    static func monotonicNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Waits for the next slot; false when `cancel` was set meanwhile.
    func acquire(cancel: CancellationFlag) -> Bool {
        while true {
            if cancel.isCancelled { return false }
            let now = RateShaper.monotonicNanoseconds()
            if now >= next {
                next = now + intervalNanoseconds
                return true
            }
            let wait = min(next - now, 100_000_000)
            var ts = timespec(tv_sec: 0, tv_nsec: Int(wait))
            nanosleep(&ts, nil)
        }
    }
}

/// A connector's HTTP access to its CRM: the API base, authentication headers, the shaper.
final class CRMClient {
    let transport: CurlTransport
    /// The API base without a trailing `/`.
    let base: String
    let headers: [String]
    let shaper: RateShaper
    let cancel: CancellationFlag

    init(transport: CurlTransport, base: String, headers: [String], shaper: RateShaper, cancel: CancellationFlag) {
        self.transport = transport
        self.base = base
        self.headers = headers
        self.shaper = shaper
        self.cancel = cancel
    }

    /// No request starts after this (monotonic nanoseconds), so the last one ends before the batch's lease does.
    var deadline: Int64?

    /// One request to `base + path`, after the shaper allows it. A JSON `body` is sent as `application/json`.
    /// `creates`: the request makes records that a repeat would double (see ``CurlTransport/request``).
    func call(
        _ method: CurlTransport.HTTPMethod,
        _ path: String,
        json body: JSONValue? = nil,
        creates: Bool = false
    ) -> Result<HTTPResponse, TransportFailure> {
        guard shaper.acquire(cancel: cancel) else {
            return .failure(TransportFailure(message: "cancelled (shutting down)", ambiguous: false, cancelled: true))
        }
        if let deadline, RateShaper.monotonicNanoseconds() >= deadline {
            // Past it the batch's lease may run out while a request travels, and another process take the batch.
            return .failure(
                TransportFailure(
                    message: "the attempt used the time its batch lease allows; the rest waits for the next one",
                    ambiguous: false,
                    cancelled: false
                )
            )
        }
        var h = headers
        var bytes: [UInt8] = []
        if let body {
            var w = JSONWriter()
            w.value(body)
            bytes = w.bytes
            h.append("Content-Type: application/json")
        }
        h.append("Accept: application/json")
        return transport.request(method, url: base + path, headers: h, body: bytes, freshConnection: creates)
    }
}

/// What differs between CRMs; ``CRMSink`` does the rest (credential, transport, shaper, frozen body).
protocol CRMConnector: AnyObject {
    /// `Type=`.
    var type: String { get }
    /// The configuration that matters, for the sink's fingerprint.
    var digest: String { get }
    /// The API base for `configured` (`URL=`) and the credential's `token`.
    func base(configured: String?, token: String) throws(SyncError) -> String
    /// Authentication headers for `token`.
    func headers(token: String) -> [String]
    /// The lead in the CRM's shape.
    func item(for lead: Lead) -> CRMItem
    /// Delivers a batch's items; `lookUpFirst`: an earlier attempt may have created some of them, so find
    /// those first and send only the rest.
    func deliver(_ items: [CRMItem], lookUpFirst: Bool, client: CRMClient) -> SinkAnswer
    /// One harmless authenticated call: nil when it worked, else why not.
    func probe(client: CRMClient) -> String?
}

/// A sink delivering straight into a CRM (HubSpot, Bitrix24, amoCRM/Kommo): the connector maps the CRM's answers
/// onto the same per-lead results and batch answers as the webhook, so one worker drives them all.
public final class CRMSink: Sink {
    public let name: String
    public let batchSize: Int
    public private(set) var fingerprint: String
    let connector: any CRMConnector
    let settings: TransportSettings
    let configuredURL: String?
    let secretSource: () throws(SyncError) -> [String]?
    let cancel: CancellationFlag
    let shaper: RateShaper
    /// How long one delivery attempt may go on starting requests (from its batch's lease).
    var deliveryBudgetSeconds: Double
    private(set) var client: CRMClient?
    private var credentialError: String?
    public var credentialProblem: String? { credentialError }

    init(
        name: String,
        batchSize: Int,
        connector: any CRMConnector,
        settings: TransportSettings,
        configuredURL: String?,
        ratePerSecond: Double,
        leaseSeconds: Int64,
        cancel: CancellationFlag,
        secrets: @escaping () throws(SyncError) -> [String]?
    ) {
        // The last request may start at the deadline and take its whole timeout; half a minute more for the
        // answer's bookkeeping.
        deliveryBudgetSeconds = Double(
            max(Int64(settings.timeoutSeconds), leaseSeconds - Int64(settings.timeoutSeconds) - 30)
        )
        self.name = name
        self.batchSize = batchSize
        self.connector = connector
        self.settings = settings
        self.configuredURL = configuredURL
        self.cancel = cancel
        self.secretSource = secrets
        shaper = RateShaper(ratePerSecond: ratePerSecond)
        fingerprint = ""
        reloadCredentials()
    }

    public func reloadCredentials() {
        let digest = "\(connector.type)\n\(configuredURL ?? "")\n\(connector.digest)\n\(settings.timeoutSeconds)"
        do throws(SyncError) {
            guard let secrets = try secretSource(), let token = secrets.first else {
                throw SyncError(.credential, "no token configured (Credential= or SecretFile=)")
            }
            let base = try connector.base(configured: configuredURL, token: token)
            let headers = connector.headers(token: token)
            if client?.base != base || client?.headers != headers {
                var s = settings
                s.url = base + "/"
                let transport = try CurlTransport(settings: s, cancel: cancel)
                client = CRMClient(transport: transport, base: base, headers: headers, shaper: shaper, cancel: cancel)
            }
            credentialError = nil
            fingerprint = SinkFingerprint.make(digest, secrets: [token])
        } catch {
            client = nil
            credentialError = error.message
            fingerprint = SinkFingerprint.make(digest + "\nunusable: " + error.message, secrets: [])
        }
    }

    public func makeBody(batchID: String, createdAt: Timestamp, leads: [Lead]) -> BatchContent {
        let items = leads.map { lead in
            var item = connector.item(for: lead)
            item.capturedAt = lead.capturedAt.milliseconds
            return item
        }
        return BatchContent(body: CRMBody.encode(items), count: leads.count)
    }

    public func deliver(_ batch: FrozenBatch, timestamp: Int64) -> SinkAnswer {
        guard let client else { return .pause(reason: "credential unusable: \(credentialError ?? "unknown")") }
        guard let items = CRMBody.decode(batch.body) else {
            return .rejected(reason: "the frozen batch cannot be read (written by another version?)")
        }
        // Any batch handed to a sink before may have created records: an attempt of another process (`leadctl
        // sync`, before a restart) that this one cannot know about, a timeout, a 5xx. What this process saw is no
        // proof, so every resend looks up first.
        client.deadline = RateShaper.monotonicNanoseconds() + Int64(deliveryBudgetSeconds * 1e9)
        defer { client.deadline = nil }
        return connector.deliver(items, lookUpFirst: batch.mayHaveBeenSent, client: client)
    }

    /// One harmless authenticated call (`leadctl doctor`): nil when the credential works, else why not.
    public func probe() -> String? {
        guard let client else { return "credential unusable: \(credentialError ?? "unknown")" }
        return connector.probe(client: client)
    }
}

/// What a lookup before a resend found: lead id → the CRM's record id, or the answer that stopped it.
enum CRMLookup {
    case found([String: String])
    case failed(SinkAnswer)
}

/// Answers every CRM maps the same way.
enum CRMAnswer {
    /// A transport failure: retry the same batch (a cancelled one is not counted).
    static func failed(_ f: TransportFailure) -> SinkAnswer {
        f.cancelled ? .cancelled : .retryLater(afterSeconds: nil, reason: f.message)
    }

    /// One harmless authenticated GET: nil on 200, else what went wrong.
    static func probe(_ client: CRMClient, path: String, crm: String, detail: ([UInt8]) -> String) -> String? {
        switch client.call(.get, path) {
        case .failure(let f): return f.message
        case .success(let r) where r.status == 200: return nil
        case .success(let r): return "\(crm) HTTP \(r.status)\(detail(r.body))"
        }
    }

    /// `Retry-After` in seconds, if the answer has one.
    static func retryAfter(_ r: HTTPResponse) -> Int64? {
        r.headers["retry-after"].flatMap { HTTPDate.retryAfter($0, now: .now()) }
    }

    /// The usual meaning of a status no connector-specific rule took: 401/403 pause, 404 pause (the URL is
    /// wrong), 400/405/410/415/422 pause (the request does not fit the account: a field or property that does not
    /// exist, a wrong path; the same request fails the same way until an admin acts), 5xx and anything else retry
    /// the same batch.
    static func generic(_ r: HTTPResponse, crm: String, detail: String) -> SinkAnswer {
        switch r.status {
        case 401, 403:
            return .pause(reason: "\(crm) refused the credential (HTTP \(r.status))\(detail)")
        case 402:
            return .pause(reason: "\(crm) account not paid (HTTP 402)\(detail)")
        case 404:
            return .pause(reason: "misconfigured: \(crm) answered HTTP 404 for the API path\(detail)")
        case 400, 405, 410, 415, 422:
            return .pause(reason: "misconfigured: \(crm) refused the request (HTTP \(r.status))\(detail)")
        default:
            return .retryLater(afterSeconds: retryAfter(r), reason: "\(crm) HTTP \(r.status)\(detail)")
        }
    }

    /// A short printable text from a JSON body's `keys` (the first present), `: …` or "".
    static func detail(_ body: [UInt8], keys: [String]) -> String {
        guard let json = try? JSONValue.parse(body) else { return "" }
        let parts = keys.compactMap { json[$0]?.stringValue }.filter { !$0.isEmpty }
        return parts.isEmpty ? "" : ": " + String(parts.joined(separator: ": ").prefix(300))
    }
}

/// Query strings for the CRMs' GET requests.
enum URLQuery {
    /// A query string, every byte but the unreserved ones percent-encoded.
    static func query(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    /// `text` with every byte but the unreserved ones (RFC 3986) percent-encoded.
    static func encode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(b)
            default: out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
