import Foundation
import LeadCore

/// A HubSpot CRM v3 contacts fake (crm-targets.md §1, §7.8) on loopback: Bearer token check (401
/// `INVALID_AUTHENTICATION`), `batch/upsert` by email or by a custom property created with unique values (by any
/// other: HubSpot's "non-unique" refusal), `batch/create` with `objectWriteTraceId` echoed,
/// per-input `VALIDATION_ERROR`s with multi-status 207, the 100-input cap as a 400 `VALIDATION_ERROR`, `search`
/// with `GTE`/`IN`/`EQ` filters and paging, and the 429 body with `policyName` (``throttle(_:path:)``). Standing
/// in for HubSpot's email check, an address without `@` or under the reserved `.invalid` domain is refused.
public final class HubSpotContractServer: @unchecked Sendable {
    public let server: LoopbackHTTPServer
    private let state: State

    final class State: @unchecked Sendable {
        let lock = NSLock()
        let token: String
        var batchCap = 100
        var contacts: [(id: String, properties: [String: String])] = []
        var known: Set<String> = [
            "email", "firstname", "lastname", "phone", "company", "jobtitle", "message", "hs_lead_status",
            "hubspot_owner_id", "createdate",
        ]
        /// Custom properties created with "unique values" on: upserts may name them as `idProperty`.
        var unique: Set<String> = []
        init(token: String) { self.token = token }
    }

    public init(token: String) throws {
        let state = State(token: token)
        self.state = state
        server = try LoopbackHTTPServer { HubSpotContractServer.handle($0, state) }
    }

    public var baseURL: String { server.baseURL }

    /// Creates custom contact properties (as an admin would in the HubSpot UI), with unique values or not.
    public func addProperties(_ names: [String], unique: Bool = false) {
        state.lock.withLock {
            state.known.formUnion(names)
            if unique { state.unique.formUnion(names) }
        }
    }

    /// The largest batch accepted (100 as documented; tests lower it to watch the client split).
    public func setBatchCap(_ cap: Int) { state.lock.withLock { state.batchCap = cap } }

    /// Every contact's properties.
    public var contacts: [[String: String]] { state.lock.withLock { state.contacts.map(\.properties) } }

    /// The next request to a path containing `path` gets HubSpot's documented 429 body for `policy`
    /// (`TEN_SECONDLY_ROLLING` or `DAILY`), without `Retry-After` (its presence is not documented).
    public func throttle(_ policy: String, path: String = "/batch/") {
        let message =
            policy == "DAILY"
            ? "You have reached your daily limit." : "You have reached your ten_secondly_rolling limit."
        let body: JSONValue = .obj([
            ("status", .s("error")), ("message", .s(message)), ("errorType", .s("RATE_LIMIT")),
            ("correlationId", .s(UUID().uuidString.lowercased())), ("policyName", .s(policy)),
            ("requestId", .s(UUID().uuidString.lowercased())),
        ])
        server.inject(.reply(.json(429, body)), pathContains: path)
    }

    static func error(_ status: Int, _ category: String, _ message: String) -> LoopbackHTTPServer.Reply {
        .json(
            status,
            .obj([
                ("status", .s("error")), ("message", .s(message)), ("correlationId", .s(UUID().uuidString)),
                ("category", .s(category)),
            ])
        )
    }

    static func handle(_ r: LoopbackHTTPServer.Request, _ state: State) -> LoopbackHTTPServer.Reply {
        guard r.headers["authorization"] == "Bearer \(state.token)" else {
            return error(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 authentication."
            )
        }
        if r.method == "GET", r.path == "/crm/v3/objects/contacts" {
            return .json(200, .obj([("results", .array([]))]))
        }
        guard r.method == "POST", let json = try? JSONValue.parse(r.body) else {
            return error(404, "OBJECT_NOT_FOUND", "Unknown path \(r.path)")
        }
        return state.lock.withLock {
            switch r.path {
            case "/crm/v3/objects/contacts/batch/upsert": write(json, upsert: true, state)
            case "/crm/v3/objects/contacts/batch/create": write(json, upsert: false, state)
            case "/crm/v3/objects/contacts/search": search(json, state)
            default: error(404, "OBJECT_NOT_FOUND", "Unknown path \(r.path)")
            }
        }
    }

    private static func write(_ json: JSONValue, upsert: Bool, _ state: State) -> LoopbackHTTPServer.Reply {
        let inputs = json["inputs"]?.arrayValue ?? []
        guard inputs.count <= state.batchCap else {
            return error(
                400,
                "VALIDATION_ERROR",
                "Batch input of size \(inputs.count) exceeds the maximum of \(state.batchCap) inputs"
            )
        }
        var results: [JSONValue] = []
        var errors: [JSONValue] = []
        for input in inputs {
            let trace = input["objectWriteTraceId"]?.stringValue
            var props: [String: String] = [:]
            for m in input["properties"]?.objectValue ?? [] { props[m.key] = m.value.stringValue ?? "" }
            var problem: String?
            if let unknown = props.keys.sorted().first(where: { !state.known.contains($0) }) {
                problem = "Property \"\(unknown)\" does not exist"
            } else if let email = props["email"],
                !email.contains("@") || email.contains(" ") || email.hasSuffix(".invalid")
            {
                problem =
                    "Property values were not valid: [{\"isValid\":false,\"message\":\"Email address \(email) is invalid\",\"error\":\"INVALID_EMAIL\",\"name\":\"email\"}]"
            } else if upsert,
                input["id"]?.stringValue == nil
                    || input["idProperty"]?.stringValue.map({ $0 != "email" && !state.unique.contains($0) }) ?? true
            {
                problem = "Unable to perform update/upsert by non-unique 0-1 property"
            }
            if let problem {
                errors.append(
                    .obj([
                        ("status", .s("error")), ("category", .s("VALIDATION_ERROR")), ("message", .s(problem)),
                        ("context", .obj([("objectWriteTraceId", .array(trace.map { [.s($0)] } ?? []))])),
                        ("objectWriteTraceId", trace.map(JSONValue.string) ?? .null),
                    ])
                )
                continue
            }
            var index: Int?
            if upsert, let property = input["idProperty"]?.stringValue, var id = input["id"]?.stringValue {
                if property == "email" { id = id.lowercased() }
                index = state.contacts.firstIndex { $0.properties[property] == id }
                props[property] = id
            }
            let isNew = index == nil
            if let i = index {
                state.contacts[i].properties.merge(props) { $1 }
            } else {
                props["createdate"] = "\(Int64(Date().timeIntervalSince1970 * 1000))"
                state.contacts.append(("\(1000 + state.contacts.count)", props))
                index = state.contacts.count - 1
            }
            let contact = state.contacts[index!]
            results.append(
                .obj([
                    ("id", .s(contact.id)), ("new", .bool(isNew)),
                    ("properties", .obj(contact.properties.sorted { $0.key < $1.key }.map { ($0.key, .s($0.value)) })),
                    ("archived", .bool(false)), ("objectWriteTraceId", trace.map(JSONValue.string) ?? .null),
                ])
            )
        }
        let body: JSONValue = .obj([
            ("status", .s("COMPLETE")), ("results", .array(results)), ("numErrors", .n(errors.count)),
            ("errors", .array(errors)),
        ])
        return .json(errors.isEmpty ? (upsert ? 200 : 201) : 207, body)
    }

    private static func search(_ json: JSONValue, _ state: State) -> LoopbackHTTPServer.Reply {
        let filters = json["filterGroups"]?[0]?["filters"]?.arrayValue ?? []
        let wanted = (json["properties"]?.arrayValue ?? []).compactMap(\.stringValue)
        let limit = min(json["limit"]?.intValue ?? 10, 200)
        let after = json["after"]?.stringValue.flatMap { Int($0) } ?? 0
        let matching = state.contacts.filter { contact in
            filters.allSatisfy { f in
                let name = f["propertyName"]?.stringValue ?? ""
                let have = contact.properties[name]
                switch f["operator"]?.stringValue {
                case "EQ": return have == f["value"]?.stringValue
                case "IN": return (f["values"]?.arrayValue ?? []).contains { $0.stringValue == have }
                case "GTE":
                    guard let h = have.flatMap({ Int64($0) }), let v = f["value"]?.stringValue.flatMap({ Int64($0) })
                    else { return false }
                    return h >= v
                default: return false
                }
            }
        }
        let page = matching.dropFirst(after).prefix(limit)
        var body: [(String, JSONValue)] = [
            ("total", .n(matching.count)),
            (
                "results",
                .array(
                    page.map { c in
                        .obj([
                            ("id", .s(c.id)),
                            ("properties", .obj(wanted.map { ($0, c.properties[$0].map(JSONValue.string) ?? .null) })),
                        ])
                    }
                )
            ),
        ]
        if after + limit < matching.count {
            body.append(("paging", .obj([("next", .obj([("after", .s("\(after + limit)"))]))])))
        }
        return .json(200, .obj(body))
    }
}
