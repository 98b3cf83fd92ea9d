import Foundation
public import LeadCore

/// A Bitrix24 cloud portal fake (crm-targets.md §3, §7.8) on loopback, reached through an inbound webhook
/// `/rest/{user}/{code}/{method}[.json]`: a wrong code → 401 `INVALID_CREDENTIALS`; `batch` with at most 50
/// commands (each extra one gets `ERROR_BATCH_LENGTH_EXCEEDED` in `result_error`), `halt=0`, `crm.lead.add`
/// (a method error in `result_error` for an invalid e-mail), `crm.lead.list` with `filter[ORIGIN_ID]` and
/// `select[]`, `crm.lead.fields`; the leaky bucket (``setLeakyBucket(capacity:drainPerSecond:)``) answering
/// 503 `QUERY_LIMIT_EXCEEDED`, and 429 `OPERATION_TIME_LIMIT` with `time.operating_reset_at`
/// (``blockOperations(forSeconds:)``).
public final class Bitrix24ContractServer: @unchecked Sendable {
    public let server: LoopbackHTTPServer
    private let state: State
    public let user = "17"
    public let code: String

    final class State: @unchecked Sendable {
        let lock = NSLock()
        let prefix: String
        var leads: [[String: JSONValue]] = []
        var bucket = 0.0
        var capacity = Double.infinity
        var drain = 2.0
        var lastDrain = LoopbackHTTPServer.now()
        var refusedByBucket = 0
        var ignoresOriginFilter = false
        var addFaults: [(code: String, text: String, afterStoring: Bool)] = []
        init(prefix: String) { self.prefix = prefix }
    }

    public init(code: String = "s3cr3tc0de") throws {
        self.code = code
        let state = State(prefix: "/rest/17/\(code)/")
        self.state = state
        server = try LoopbackHTTPServer { Bitrix24ContractServer.handle($0, state) }
    }

    /// The inbound webhook URL an admin copies from the portal (the credential).
    public var webhookURL: String { "\(server.baseURL)/rest/\(user)/\(code)/" }

    /// Every lead added, its fields as sent.
    public var leads: [[String: JSONValue]] { state.lock.withLock { state.leads } }

    /// The portal's leaky bucket: over `capacity` requests in it, 503 `QUERY_LIMIT_EXCEEDED`.
    public func setLeakyBucket(capacity: Double, drainPerSecond: Double) {
        state.lock.withLock {
            state.capacity = capacity
            state.drain = drainPerSecond
        }
    }

    /// A portal whose `crm.lead.list` ignores `filter[ORIGIN_ID]` (crm-targets.md §7.9: not confirmed): it
    /// answers the first page of all leads instead.
    public func ignoreOriginFilter() { state.lock.withLock { state.ignoresOriginFilter = true } }

    /// The next `crm.lead.add` command gets `code` in `result_error` (a system error inside a batch, §3.3, §3.6);
    /// `afterStoring`: the lead is added all the same (a server error after the write).
    public func failNextAdd(code: String, description: String, afterStoring: Bool = false) {
        state.lock.withLock { state.addFaults.append((code, description, afterStoring)) }
    }

    /// How many requests the bucket refused.
    public var refusedByBucket: Int { state.lock.withLock { state.refusedByBucket } }

    /// The next `batch` gets 429 `OPERATION_TIME_LIMIT`, the budget freeing up in `seconds`.
    public func blockOperations(forSeconds seconds: Int) {
        let now = Int(Date().timeIntervalSince1970)
        let body: JSONValue = .obj([
            ("error", .s("OPERATION_TIME_LIMIT")),
            ("error_description", .s("Method is blocked due to operation time limit.")),
            ("time", .obj([("start", .n(now)), ("operating_reset_at", .n(now + seconds)), ("operating", .n(481))])),
        ])
        server.inject(.reply(.json(429, body)), pathContains: "/batch")
    }

    static func error(_ status: Int, _ code: String, _ text: String) -> LoopbackHTTPServer.Reply {
        .json(status, .obj([("error", .s(code)), ("error_description", .s(text))]))
    }

    static func handle(_ r: LoopbackHTTPServer.Request, _ state: State) -> LoopbackHTTPServer.Reply {
        guard r.path.hasPrefix(state.prefix) else {
            return error(401, "INVALID_CREDENTIALS", "Invalid request credentials")
        }
        var method = String(r.path.dropFirst(state.prefix.count))
        if method.hasSuffix(".json") { method.removeLast(5) }
        return state.lock.withLock {
            let now = LoopbackHTTPServer.now()
            state.bucket = max(0, state.bucket - (now - state.lastDrain) * state.drain)
            state.lastDrain = now
            // A refused request overflows: it does not stay in the bucket.
            if state.bucket + 1 > state.capacity {
                state.refusedByBucket += 1
                return error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
            }
            state.bucket += 1
            let time: JSONValue = .obj([
                ("operating_reset_at", .n(Int(Date().timeIntervalSince1970) + 600)), ("operating", .n(0)),
            ])
            switch method {
            case "crm.lead.fields":
                return .json(200, .obj([("result", .obj([("ID", .obj([("type", .s("integer"))]))])), ("time", time)]))
            case "batch":
                guard let json = try? JSONValue.parse(r.body), let cmd = json["cmd"]?.objectValue else {
                    return error(400, "INVALID_ARG_VALUE", "cmd is required")
                }
                var ok: [(String, JSONValue)] = []
                var failed: [(String, JSONValue)] = []
                for (i, command) in cmd.enumerated() {
                    guard i < 50 else {
                        failed.append(
                            (
                                command.key,
                                .obj([
                                    ("error", .s("ERROR_BATCH_LENGTH_EXCEEDED")),
                                    ("error_description", .s("Max batch length exceeded")),
                                ])
                            )
                        )
                        continue
                    }
                    if (command.value.stringValue ?? "").hasPrefix("crm.lead.add?"), !state.addFaults.isEmpty {
                        let fault = state.addFaults.removeFirst()
                        if fault.afterStoring { _ = run(command.value.stringValue ?? "", state) }
                        failed.append(
                            (command.key, .obj([("error", .s(fault.code)), ("error_description", .s(fault.text))]))
                        )
                        continue
                    }
                    switch run(command.value.stringValue ?? "", state) {
                    case .success(let v): ok.append((command.key, v))
                    case .failure(let e):
                        failed.append(
                            (command.key, .obj([("error", .s("")), ("error_description", .s(e.description))]))
                        )
                    }
                }
                return .json(
                    200,
                    .obj([
                        (
                            "result",
                            .obj([
                                ("result", ok.isEmpty ? .array([]) : .obj(ok)),
                                ("result_error", failed.isEmpty ? .array([]) : .obj(failed)),
                                ("result_total", .array([])), ("result_next", .array([])), ("result_time", .array([])),
                            ])
                        ),
                        ("time", time),
                    ])
                )
            default:
                return error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
            }
        }
    }

    /// One command of a batch: `method?url-encoded params`.
    private static func run(_ command: String, _ state: State) -> Result<JSONValue, ReceiverError> {
        let parts = command.split(separator: "?", maxSplits: 1)
        var params: [(String, String)] = []
        for pair in (parts.count > 1 ? parts[1] : "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            params.append(
                (LoopbackHTTPServer.percentDecode(kv[0]), kv.count > 1 ? LoopbackHTTPServer.percentDecode(kv[1]) : "")
            )
        }
        switch parts.first.map(String.init) {
        case "crm.lead.add":
            var fields: [String: JSONValue] = [:]
            var multi: [String: [Int: [String: String]]] = [:]
            for (key, value) in params where key.hasPrefix("fields[") {
                let path = key.dropFirst(7).split(separator: "[").map { $0.replacingOccurrences(of: "]", with: "") }
                if path.count == 3, let index = Int(path[1]) {
                    multi[path[0], default: [:]][index, default: [:]][path[2]] = value
                } else if path.count == 1 {
                    fields[path[0]] = .s(value)
                }
            }
            for (name, entries) in multi {
                fields[name] = .array(
                    entries.keys.sorted().map { i in
                        .obj(entries[i]!.sorted { $0.key < $1.key }.map { ($0.key, .s($0.value)) })
                    }
                )
            }
            for email in fields["EMAIL"]?.arrayValue ?? [] {
                let v = email["VALUE"]?.stringValue ?? ""
                if !v.contains("@") || v.hasSuffix(".invalid") {
                    return .failure(ReceiverError("Error: incorrect E-mail address \"\(v)\""))
                }
            }
            guard fields["TITLE"] != nil || fields["NAME"] != nil else {
                return .failure(ReceiverError("Required fields are not filled: TITLE"))
            }
            state.leads.append(fields.merging(["ID": .s("\(3000 + state.leads.count)")]) { $1 })
            return .success(.n(3000 + state.leads.count - 1))
        case "crm.lead.get":
            guard let lead = state.leads.first(where: { $0["ID"]?.stringValue == params.first { $0.0 == "id" }?.1 })
            else { return .failure(ReceiverError("Not found")) }
            return .success(.obj(lead.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
        case "crm.duplicate.findbycomm":
            let type = params.first { $0.0 == "type" }?.1 ?? ""
            guard type == "EMAIL" || type == "PHONE" else {
                return .failure(ReceiverError("Communication type is not defined"))
            }
            let values = Set(params.filter { $0.0.hasPrefix("values[") }.map { $0.1.lowercased() })
            guard values.count <= 20 else { return .failure(ReceiverError("Too many values")) }
            let ids = state.leads.filter { lead in
                (lead[type]?.arrayValue ?? []).contains {
                    values.contains(($0["VALUE"]?.stringValue ?? "").lowercased())
                }
            }.compactMap { $0["ID"]?.stringValue.flatMap { Int($0) } }
            // The oldest 20, as documented.
            return .success(ids.isEmpty ? .array([]) : .obj([("LEAD", .array(ids.prefix(20).map { .n($0) }))]))
        case "crm.lead.list":
            let filter =
                state.ignoresOriginFilter
                ? []
                : params.filter { $0.0.hasPrefix("filter[") }.map { (String($0.0.dropFirst(7).dropLast()), $0.1) }
            let select = params.filter { $0.0.hasPrefix("select[") }.map(\.1)
            let found = state.leads.filter { lead in filter.allSatisfy { lead[$0.0]?.stringValue == $0.1 } }.prefix(50)
            return .success(
                .array(found.map { lead in .obj((select.isEmpty ? ["ID"] : select).map { ($0, lead[$0] ?? .null) }) })
            )
        default:
            return .failure(ReceiverError("Method not found!"))
        }
    }
}
