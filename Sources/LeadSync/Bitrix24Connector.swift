import LeadCore
import LeadStore

/// `Type=bitrix24`: leads through an inbound webhook, `crm.lead.add` commands in one `batch` call (crm-targets.md
/// §3). Our lead id goes in `ORIGIN_ID` and the kiosk in `ORIGINATOR_ID`; before a batch that may have reached the
/// portal is sent again, one `batch` of `crm.lead.list` by `ORIGIN_ID` finds what was already added, so nothing
/// doubles.
final class Bitrix24Connector: CRMConnector {
    static let defaultMap: [(String, String)] = [
        ("first_name", "NAME"), ("last_name", "LAST_NAME"), ("company", "COMPANY_TITLE"), ("job_title", "POST"),
        ("email", "EMAIL"), ("phone", "PHONE"), ("notes", "COMMENTS"),
    ]
    /// Bitrix24's multi-value fields (`[{VALUE, VALUE_TYPE}]`).
    static let multiFields: Set<String> = ["EMAIL", "PHONE", "WEB", "IM"]
    let type = "bitrix24"
    let map: [(field: String, target: String)]
    let constants: [(String, String)]

    init(options: [String: String]) {
        map = CRMLeadValue.fieldMap(options, defaults: Bitrix24Connector.defaultMap)
        var constants: [(String, String)] = [
            ("SOURCE_ID", options["Source"] ?? "TRADE_SHOW"), ("STATUS_ID", options["Status"] ?? "NEW"),
        ]
        if let user = options["ResponsibleUser"] { constants.append(("ASSIGNED_BY_ID", user)) }
        constants += CRMLeadValue.constants(options)
        self.constants = constants
    }

    var digest: String { CRMLeadValue.digest(map: map, constants: constants) }

    /// The credential is the inbound webhook URL `https://portal/rest/{user}/{code}/`; `URL=` replaces its
    /// scheme and host (a proxy, a test server).
    func base(configured: String?, token: String) throws(SyncError) -> String {
        guard let rest = token.firstRange(of: "/rest/"), token.hasPrefix("https://") || token.hasPrefix("http://")
        else {
            throw SyncError(
                .credential,
                "the Bitrix24 credential must be the inbound webhook URL (https://PORTAL/rest/USER/CODE/)"
            )
        }
        let path = CRMLeadValue.withoutTrailingSlashes(String(token[rest.lowerBound...]))
        guard path.split(separator: "/").count >= 3 else {
            throw SyncError(.credential, "the Bitrix24 webhook URL lacks its user id and code (…/rest/USER/CODE/)")
        }
        guard let configured else { return String(token[..<rest.lowerBound]) + path }
        var host = CRMLeadValue.withoutTrailingSlashes(configured)
        if let r = host.firstRange(of: "/rest/") { host = String(host[..<r.lowerBound]) }
        return host + path
    }

    func headers(token: String) -> [String] { [] }

    func item(for lead: Lead) -> CRMItem {
        var fields: [JSONMember] = []
        var email: String?
        var phone: String?
        for (field, target) in map {
            guard let value = CRMLeadValue.value(field, of: lead) else { continue }
            if Bitrix24Connector.multiFields.contains(target) {
                if target == "EMAIL" { email = value.trimmingSpaces.lowercased() }
                if target == "PHONE" { phone = value }
                let entry = JSONValue.object([
                    JSONMember("VALUE", .string(value)), JSONMember("VALUE_TYPE", .string("WORK")),
                ])
                fields.append(JSONMember(target, .array([entry])))
            } else {
                fields.append(JSONMember(target, .string(value)))
            }
        }
        let name = [lead.fields["first_name"], lead.fields["last_name"]].compactMap { $0 }.joined(separator: " ")
        let company = lead.fields["company"].map { " – " + $0 } ?? ""
        fields.append(JSONMember("TITLE", .string((name.isEmpty ? lead.id : name) + company)))
        for (key, value) in constants where !fields.contains(where: { $0.key == key }) {
            fields.append(JSONMember(key, .string(value)))
        }
        fields.append(JSONMember("SOURCE_DESCRIPTION", .string(lead.event)))
        fields.append(JSONMember("ORIGINATOR_ID", .string(lead.kiosk)))
        fields.append(JSONMember("ORIGIN_ID", .string(lead.id)))
        return CRMItem(leadID: lead.id, email: email, phone: phone, record: .object(fields))
    }

    func probe(client: CRMClient) -> String? {
        CRMAnswer.probe(client, path: "/crm.lead.fields.json", crm: "Bitrix24", detail: Bitrix24Connector.errorDetail)
    }

    // MARK: - Delivery

    func deliver(_ items: [CRMItem], lookUpFirst: Bool, client: CRMClient) -> SinkAnswer {
        var results: [String: LeadResult] = [:]
        var pending = items
        if lookUpFirst {
            switch lookUp(items, client: client) {
            case .failed(let a): return a
            case .found(let found): for (lead, id) in found { results[lead] = .synced(remoteID: id) }
            }
            pending.removeAll { results[$0.leadID] != nil }
        }
        guard !pending.isEmpty else { return .accepted(results) }
        let commands = pending.enumerated().map { i, item in
            (
                "L\(i)",
                "crm.lead.add?"
                    + URLQuery.query(
                        Bitrix24Connector.flatten(item.record, prefix: "fields") + [
                            ("params[REGISTER_SONET_EVENT]", "N")
                        ]
                    )
            )
        }
        switch call(commands, client: client, creates: true) {
        case .failed(let a): return a
        case .answered(let ok, let errors):
            // A command that may have run (a server error) leaves the batch to be sent again, looked up first.
            var mayHaveRun: String?
            for (i, item) in pending.enumerated() {
                if let id = ok["L\(i)"].flatMap(WebhookAnswer.scalarText) {
                    results[item.leadID] = .synced(remoteID: id)
                } else if let e = errors["L\(i)"] {
                    let code = e["error"]?.stringValue ?? ""
                    let text = e["error_description"]?.stringValue ?? ""
                    let reason =
                        "Bitrix24 " + String([code, text].filter { !$0.isEmpty }.joined(separator: ": ").prefix(400))
                    switch Bitrix24Connector.commandError(code) {
                    case .notRun:
                        // A command past the batch cap was not run: it goes in the next batch at once.
                        results[item.leadID] = .retry(afterSeconds: 0, reason: reason)
                    case .limited:
                        // Refused by a limit before it ran: the next batch, after the sink's first retry wait.
                        results[item.leadID] = .retry(afterSeconds: nil, reason: reason)
                    case .mayHaveRun: mayHaveRun = mayHaveRun ?? reason
                    case .credential:
                        return .pause(reason: reason + " (the webhook lacks access: check its permissions)")
                    case .invalid: results[item.leadID] = .rejected(reason: reason)
                    }
                }
            }
            if let reason = mayHaveRun { return .retryLater(afterSeconds: nil, reason: reason) }
            // A command the answer does not mention may have added its lead: the same batch again, looked up first
            // (a new batch would add it a second time).
            if pending.contains(where: { results[$0.leadID] == nil }) {
                return .retryLater(
                    afterSeconds: nil,
                    reason: "Bitrix24's batch answer does not name every command: sending it again after a lookup"
                )
            }
        }
        return .accepted(results)
    }

    /// What a command's `result_error` code means (§3.6).
    enum CommandError {
        /// Past the batch cap: not run.
        case notRun
        /// A limit refused it before it ran.
        case limited
        /// A server error: it may have run.
        case mayHaveRun
        /// The webhook lacks access: no command of it can work until an admin acts.
        case credential
        /// A method error (validation, "Access denied." with an empty code): the same call fails the same way.
        case invalid
    }

    static func commandError(_ code: String) -> CommandError {
        switch code {
        case "ERROR_BATCH_LENGTH_EXCEEDED": .notRun
        case "QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT": .limited
        case "INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER": .mayHaveRun
        case "insufficient_scope", "NO_AUTH_FOUND", "INVALID_CREDENTIALS", "expired_token", "ACCESS_DENIED",
            "user_access_error", "OVERLOAD_LIMIT":
            .credential
        default: .invalid
        }
    }

    /// The leads of `items` the portal already holds (lead id → Bitrix24 id): by `crm.lead.list` filtered on
    /// `ORIGIN_ID`; for those not found, `crm.duplicate.findbycomm` on their e-mails and phones gives candidates
    /// whose `ORIGIN_ID` is read with `crm.lead.get` (in case the portal does not filter on `ORIGIN_ID`). A
    /// lead counts as found only when its own `ORIGIN_ID` is our lead id.
    func lookUp(_ items: [CRMItem], client: CRMClient) -> CRMLookup {
        var found: [String: String] = [:]
        func record(_ lead: JSONValue?) {
            guard let lead, let origin = lead["ORIGIN_ID"]?.stringValue,
                let id = lead["ID"].flatMap(WebhookAnswer.scalarText),
                items.contains(where: { $0.leadID == origin })
            else { return }
            found[origin] = id
        }
        let byOrigin = items.enumerated().map { i, item in
            (
                "L\(i)",
                "crm.lead.list?"
                    + URLQuery.query([
                        ("filter[ORIGIN_ID]", item.leadID), ("select[0]", "ID"), ("select[1]", "ORIGIN_ID"),
                    ])
            )
        }
        switch call(byOrigin, client: client) {
        case .failed(let a): return .failed(a)
        case .answered(let ok, _): for v in ok.values { for lead in v.arrayValue ?? [] { record(lead) } }
        }
        let rest = items.filter { found[$0.leadID] == nil }
        var byComm: [(String, String)] = []
        for (type, values) in [("EMAIL", rest.compactMap(\.email)), ("PHONE", rest.compactMap(\.phone))] {
            for (k, start) in stride(from: 0, to: values.count, by: 20).enumerated() {
                let chunk = values[start..<min(start + 20, values.count)]
                let params =
                    [("type", type), ("entity_type", "LEAD")] + chunk.enumerated().map { ("values[\($0)]", $1) }
                byComm.append(("\(type)\(k)", "crm.duplicate.findbycomm?" + URLQuery.query(params)))
            }
        }
        guard !byComm.isEmpty else { return .found(found) }
        var candidates: [String] = []
        switch call(byComm, client: client) {
        case .failed(let a): return .failed(a)
        case .answered(let ok, _):
            for v in ok.values {
                for id in v["LEAD"]?.arrayValue ?? [] {
                    if let id = WebhookAnswer.scalarText(id), !candidates.contains(id) { candidates.append(id) }
                }
            }
        }
        // The newest candidates first: a lead added by a lost attempt is among the last the portal holds.
        let newest = candidates.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.prefix(50)
        guard !newest.isEmpty else { return .found(found) }
        switch call(newest.map { ("G\($0)", "crm.lead.get?" + URLQuery.query([("id", $0)])) }, client: client)
        {
        case .failed(let a): return .failed(a)
        case .answered(let ok, _): for v in ok.values { record(v) }
        }
        return .found(found)
    }

    enum BatchCall {
        /// `result.result` and `result.result_error`, by command key.
        case answered([String: JSONValue], [String: JSONValue])
        case failed(SinkAnswer)
    }

    /// One `batch` call with `halt=0`.
    private func call(_ commands: [(String, String)], client: CRMClient, creates: Bool = false) -> BatchCall {
        let body = JSONValue.object([
            JSONMember("halt", .number("0")),
            JSONMember("cmd", .object(commands.map { JSONMember($0.0, .string($0.1)) })),
        ])
        let r: HTTPResponse
        switch client.call(.post, "/batch.json", json: body, creates: creates) {
        case .failure(let f): return .failed(CRMAnswer.failed(f))
        case .success(let response): r = response
        }
        let json = try? JSONValue.parse(r.body)
        guard r.status == 200, let result = json?["result"] else { return .failed(answer(r, json: json)) }
        func members(_ v: JSONValue?) -> [String: JSONValue] {
            Dictionary((v?.objectValue ?? []).map { ($0.key, $0.value) }) { a, _ in a }
        }
        return .answered(members(result["result"]), members(result["result_error"]))
    }

    /// A batch-level refusal (§3.5, §3.6).
    func answer(_ r: HTTPResponse, json: JSONValue?, now: Timestamp = .now()) -> SinkAnswer {
        let code = json?["error"]?.stringValue ?? ""
        let detail = Bitrix24Connector.errorDetail(r.body)
        switch (r.status, code) {
        case (429, _), (_, "OPERATION_TIME_LIMIT"):
            let reset = json?["time"]?["operating_reset_at"]?.intValue ?? json?["operating_reset_at"]?.intValue
            let after: Int64? =
                if let reset { Bitrix24Connector.wait(until: Int64(reset), now: now.seconds) } else {
                    CRMAnswer.retryAfter(r)
                }
            return .retryLater(afterSeconds: after, reason: "Bitrix24 HTTP \(r.status)\(detail)")
        case (503, _), (_, "QUERY_LIMIT_EXCEEDED"):
            // The portal's leaky bucket is full (other kiosks behind the same address?): back off.
            return .retryLater(afterSeconds: CRMAnswer.retryAfter(r), reason: "Bitrix24 HTTP \(r.status)\(detail)")
        case (401, "OVERLOAD_LIMIT"):
            return .pause(
                reason: "Bitrix24 blocked this portal's REST access (OVERLOAD_LIMIT): contact Bitrix24 support"
            )
        case (400, _):
            return .tooLarge(reason: "Bitrix24 refused the batch (HTTP 400\(detail)): splitting it")
        default:
            return CRMAnswer.generic(r, crm: "Bitrix24", detail: detail)
        }
    }

    /// Seconds until `operating_reset_at`, at most a day; nil (the sink's growing backoff) when it is not ahead of
    /// our clock (a kiosk clock running fast would otherwise retry every second).
    static func wait(until reset: Int64, now: Int64) -> Int64? {
        guard reset > now else { return nil }
        return reset - now > 86_400 ? 86_400 : reset - now
    }

    static func errorDetail(_ body: [UInt8]) -> String {
        CRMAnswer.detail(body, keys: ["error", "error_description"])
    }

    /// `fields[NAME]=…`, `fields[EMAIL][0][VALUE]=…` pairs of a record.
    static func flatten(_ value: JSONValue, prefix: String) -> [(String, String)] {
        switch value {
        case .object(let members): members.flatMap { flatten($0.value, prefix: "\(prefix)[\($0.key)]") }
        case .array(let items): items.enumerated().flatMap { flatten($1, prefix: "\(prefix)[\($0)]") }
        case .string(let s): [(prefix, s)]
        case .number(let n): [(prefix, n)]
        case .bool(let b): [(prefix, b ? "Y" : "N")]
        case .null: []
        }
    }
}
