import Foundation
public import LeadCore

/// An amoCRM/Kommo API v4 fake (crm-targets.md §4, §7.8) on loopback: Bearer check (401 problem+json),
/// `POST /api/v4/leads/complex` with at most 50 leads (400 otherwise), `request_id` echoed as an array, the whole
/// request refused with `validation-errors[]` keyed by `request_id` for an invalid e-mail, optional duplicate
/// control (``duplicateControl``: a lead whose contact e-mail matches an *earlier* request's → `merged:true` with
/// the existing ids; never within one request), `GET /api/v4/leads?query=` (204 when nothing matches),
/// `GET /api/v4/account`, and 429 over ``requestsPerSecond`` in any one-second window.
public final class KommoContractServer: @unchecked Sendable {
    public let server: LoopbackHTTPServer
    private let state: State

    final class State: @unchecked Sendable {
        let lock = NSLock()
        let token: String
        var duplicateControl = false
        var limit = Int.max
        var recent: [Double] = []
        var throttled = 0
        var leads: [(id: Int, contactID: Int, email: String?, record: JSONValue)] = []
        init(token: String) { self.token = token }
    }

    public init(token: String) throws {
        let state = State(token: token)
        self.state = state
        server = try LoopbackHTTPServer { KommoContractServer.handle($0, state) }
    }

    public var baseURL: String { server.baseURL }

    /// The account's duplicate control for this integration (off by default, as on a fresh account).
    public func setDuplicateControl(_ on: Bool) { state.lock.withLock { state.duplicateControl = on } }

    /// Over this many requests in one second: 429.
    public func setRequestsPerSecond(_ n: Int) { state.lock.withLock { state.limit = n } }

    /// Requests answered 429.
    public var throttled: Int { state.lock.withLock { state.throttled } }

    /// Every lead stored, as sent.
    public var leads: [JSONValue] { state.lock.withLock { state.leads.map(\.record) } }

    static func problem(
        _ status: Int,
        _ title: String,
        _ detail: String,
        extra: [(String, JSONValue)] = []
    )
        -> LoopbackHTTPServer.Reply
    {
        .json(
            status,
            .obj(
                extra + [
                    ("title", .s(title)), ("type", .s("https://httpstatus.es/\(status)")), ("status", .n(status)),
                    ("detail", .s(detail)),
                ]
            ),
            headers: ["Content-Type": "application/problem+json"]
        )
    }

    static func handle(_ r: LoopbackHTTPServer.Request, _ state: State) -> LoopbackHTTPServer.Reply {
        guard r.headers["authorization"] == "Bearer \(state.token)" else {
            return problem(401, "Unauthorized", "Unauthorized")
        }
        return state.lock.withLock {
            let now = LoopbackHTTPServer.now()
            state.recent = state.recent.filter { now - $0 < 1 }
            if state.recent.count >= state.limit {
                state.throttled += 1
                return problem(429, "Too Many Requests", "Too many requests")
            }
            state.recent.append(now)
            switch (r.method, r.path) {
            case ("GET", "/api/v4/account"):
                return .json(200, .obj([("id", .n(1)), ("name", .s("Test account")), ("subdomain", .s("test"))]))
            case ("GET", "/api/v4/leads"):
                let query = r.queryItems["query"] ?? ""
                let found = state.leads.filter { query.isEmpty || "\($0.record)".contains(query) }
                guard !found.isEmpty else { return .respond(status: 204, headers: [:], body: []) }
                return .json(
                    200,
                    .obj([
                        (
                            "_embedded",
                            .obj([
                                (
                                    "leads",
                                    .array(
                                        found.map {
                                            .obj([
                                                ("id", .n($0.id)),
                                                ("custom_fields_values", $0.record["custom_fields_values"] ?? .null),
                                            ])
                                        }
                                    )
                                )
                            ])
                        )
                    ])
                )
            case ("POST", "/api/v4/leads/complex"): return complex(r.body, state)
            default: return problem(404, "Not Found", "Not Found")
            }
        }
    }

    /// The e-mail of a complex lead's contact.
    public static func email(_ record: JSONValue) -> String? {
        let fields = record["_embedded"]?["contacts"]?[0]?["custom_fields_values"]?.arrayValue ?? []
        return fields.first { $0["field_code"]?.stringValue == "EMAIL" }?["values"]?[0]?["value"]?.stringValue?
            .lowercased()
    }

    private static func complex(_ body: [UInt8], _ state: State) -> LoopbackHTTPServer.Reply {
        guard let list = (try? JSONValue.parse(body))?.arrayValue else {
            return problem(400, "Bad Request", "Request body must be an array")
        }
        guard list.count <= 50 else { return problem(400, "Bad Request", "Maximum 50 leads per request") }
        var invalid: [JSONValue] = []
        for lead in list {
            if let e = email(lead), !e.contains("@") || e.hasSuffix(".invalid") {
                invalid.append(
                    .obj([
                        ("request_id", lead["request_id"] ?? .null),
                        (
                            "errors",
                            .array([
                                .obj([
                                    ("code", .s("InvalidEmail")),
                                    ("path", .s("_embedded.contacts.0.custom_fields_values.0.values.0.value")),
                                    ("detail", .s("This value is not a valid email address.")),
                                ])
                            ])
                        ),
                    ])
                )
            }
        }
        guard invalid.isEmpty else {
            return problem(
                400,
                "Bad Request",
                "Request validation failed",
                extra: [("validation-errors", .array(invalid))]
            )
        }
        let existing = state.leads
        var answer: [JSONValue] = []
        for lead in list {
            let rid = lead["request_id"] ?? .null
            let e = email(lead)
            if state.duplicateControl, let e, let match = existing.first(where: { $0.email == e }) {
                answer.append(
                    .obj([
                        ("id", .n(match.id)), ("contact_id", .n(match.contactID)), ("company_id", .null),
                        ("request_id", .array([rid])), ("merged", .bool(true)),
                    ])
                )
                continue
            }
            let id = 9_774_000 + state.leads.count
            state.leads.append((id, id + 500_000, e, lead))
            answer.append(
                .obj([
                    ("id", .n(id)), ("contact_id", .n(id + 500_000)), ("company_id", .n(id + 900_000)),
                    ("request_id", .array([rid])), ("merged", .bool(false)),
                ])
            )
        }
        return .json(200, .array(answer))
    }
}
