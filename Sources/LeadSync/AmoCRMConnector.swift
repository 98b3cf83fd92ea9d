import LeadCore
import LeadStore

/// `Type=amocrm` (amoCRM and Kommo share API v4): leads with one embedded contact and company each through
/// `POST /api/v4/leads/complex`, at most 50 per request, a long-lived token as Bearer (crm-targets.md §4).
///
/// Each lead's `request_id` is our lead id, so answers and validation errors map back. A retried request after a
/// timeout is safe when the account's duplicate control answers `merged:true` (a duplicate, synced), and — with
/// `Map.lead_id=<custom field id>` — because the leads are looked up by that field before a resend.
final class AmoCRMConnector: CRMConnector {
    static let defaultMap: [(String, String)] = [
        ("first_name", "first_name"), ("last_name", "last_name"), ("email", "EMAIL"), ("phone", "PHONE"),
        ("company", "company"),
    ]
    let type = "amocrm"
    let map: [(field: String, target: String)]
    let options: [String: String]
    /// The lead custom field holding our lead id (`Map.lead_id=`), if any.
    let leadIDField: String?

    init(options: [String: String]) {
        map = CRMLeadValue.fieldMap(options, defaults: AmoCRMConnector.defaultMap)
        self.options = options
        leadIDField = map.first { $0.field == "lead_id" && $0.target.allSatisfy(\.isNumber) }?.target
    }

    var digest: String {
        CRMLeadValue.digest(map: map, constants: options.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    func base(configured: String?, token: String) throws(SyncError) -> String {
        guard let configured else {
            throw SyncError(.configuration, "Type=amocrm needs URL=https://SUBDOMAIN.amocrm.ru (or .kommo.com)")
        }
        return CRMLeadValue.withoutTrailingSlashes(configured)
    }

    func headers(token: String) -> [String] { ["Authorization: Bearer \(token)"] }

    static func field(_ key: String, _ id: String, _ value: JSONValue, enumCode: String? = nil) -> JSONValue {
        var v = [JSONMember("value", value)]
        if let enumCode { v.insert(JSONMember("enum_code", .string(enumCode)), at: 0) }
        let idValue: JSONValue = key == "field_id" ? .number(id) : .string(id)
        return .object([JSONMember(key, idValue), JSONMember("values", .array([.object(v)]))])
    }

    func item(for lead: Lead) -> CRMItem {
        var contact: [JSONMember] = []
        var contactFields: [JSONValue] = []
        var leadFields: [JSONValue] = []
        var company: String?
        var email: String?
        var phone: String?
        for (field, target) in map {
            guard let value = CRMLeadValue.value(field, of: lead) else { continue }
            switch target {
            case "first_name", "last_name": contact.append(JSONMember(target, .string(value)))
            case "NAME": contact.append(JSONMember("name", .string(value)))
            case "company": company = value
            case "EMAIL", "PHONE":
                if target == "EMAIL" { email = value.trimmingSpaces.lowercased() } else { phone = value }
                contactFields.append(AmoCRMConnector.field("field_code", target, .string(value), enumCode: "WORK"))
            default:
                if target.hasPrefix("contact.") {
                    contactFields.append(AmoCRMConnector.field("field_id", String(target.dropFirst(8)), .string(value)))
                } else {
                    leadFields.append(AmoCRMConnector.field("field_id", target, .string(value)))
                }
            }
        }
        for (id, value) in CRMLeadValue.constants(options, prefix: "CustomField.") {
            leadFields.append(AmoCRMConnector.field("field_id", id, .string(value)))
        }
        for (code, value) in CRMLeadValue.constants(options) {
            leadFields.append(AmoCRMConnector.field("field_code", code, .string(value)))
        }
        if !contactFields.isEmpty { contact.append(JSONMember("custom_fields_values", .array(contactFields))) }
        let person = [lead.fields["first_name"], lead.fields["last_name"]].compactMap { $0 }.joined(separator: " ")
        let source = options["Source"] ?? lead.event
        var record: [JSONMember] = [
            JSONMember("name", .string("\(source): \(person.isEmpty ? lead.id : person)")),
            JSONMember("request_id", .string(lead.id)),
        ]
        for (key, option) in [
            ("pipeline_id", "Pipeline"), ("status_id", "Status"), ("responsible_user_id", "ResponsibleUser"),
        ] {
            if let id = options[option] { record.append(JSONMember(key, .number(id))) }
        }
        if !leadFields.isEmpty { record.append(JSONMember("custom_fields_values", .array(leadFields))) }
        var tags: [JSONValue] = [.object([JSONMember("name", .string(lead.event))])]
        if let s = options["Source"], s != lead.event { tags.append(.object([JSONMember("name", .string(s))])) }
        var embedded = [JSONMember("tags", .array(tags)), JSONMember("contacts", .array([.object(contact)]))]
        if let company {
            embedded.append(JSONMember("companies", .array([.object([JSONMember("name", .string(company))])])))
        }
        record.append(JSONMember("_embedded", .object(embedded)))
        return CRMItem(leadID: lead.id, email: email, phone: phone, record: .object(record))
    }

    func probe(client: CRMClient) -> String? {
        CRMAnswer.probe(client, path: "/api/v4/account", crm: "amoCRM", detail: AmoCRMConnector.errorDetail)
    }

    // MARK: - Delivery

    func deliver(_ items: [CRMItem], lookUpFirst: Bool, client: CRMClient) -> SinkAnswer {
        var results: [String: LeadResult] = [:]
        var pending = items
        if lookUpFirst, let field = leadIDField {
            for item in items {
                switch lookUp(item.leadID, field: field, client: client) {
                case .failed(let answer): return answer
                case .found(let found): if let id = found[item.leadID] { results[item.leadID] = .synced(remoteID: id) }
                }
            }
            pending.removeAll { results[$0.leadID] != nil }
        }
        // A 400 names the invalid leads; the request is taken as failed whole (§4.6) and sent again without them.
        for _ in 0..<3 where !pending.isEmpty {
            let response: HTTPResponse
            switch client.call(.post, "/api/v4/leads/complex", json: .array(pending.map(\.record)), creates: true) {
            case .failure(let f): return CRMAnswer.failed(f)
            case .success(let r): response = r
            }
            let json = try? JSONValue.parse(response.body)
            let detail = AmoCRMConnector.errorDetail(response.body)
            switch response.status {
            case 200:
                for created in json?.arrayValue ?? [] {
                    guard let id = created["id"].flatMap(WebhookAnswer.scalarText) else { continue }
                    // `merged:true`: duplicate control matched an existing lead — a duplicate, synced to it.
                    for rid in created["request_id"]?.arrayValue ?? [] {
                        if let lead = rid.stringValue { results[lead] = .synced(remoteID: id) }
                    }
                }
                // A lead whose request_id is not echoed may have been created: the same batch again (looked up
                // first when Map.lead_id= names the field); a new batch would create it a second time.
                if pending.contains(where: { results[$0.leadID] == nil }) {
                    return .retryLater(
                        afterSeconds: nil,
                        reason: "amoCRM's answer does not echo every request_id: sending the batch again"
                    )
                }
                return .accepted(results)
            case 400:
                let invalid = json?["validation-errors"]?.arrayValue ?? []
                guard !invalid.isEmpty else {
                    if pending.count == 1 {
                        results[pending[0].leadID] = .rejected(reason: "amoCRM HTTP 400\(detail)")
                        return .accepted(results)
                    }
                    return .tooLarge(reason: "amoCRM refused the request (HTTP 400\(detail)): splitting it")
                }
                for entry in invalid {
                    guard let lead = entry["request_id"]?.stringValue else { continue }
                    let reasons = (entry["errors"]?.arrayValue ?? []).map { e in
                        [e["code"]?.stringValue, e["path"]?.stringValue, e["detail"]?.stringValue].compactMap { $0 }
                            .joined(separator: " ")
                    }
                    results[lead] = .rejected(reason: "amoCRM " + String(reasons.joined(separator: "; ").prefix(400)))
                }
                let before = pending.count
                pending.removeAll { results[$0.leadID] != nil }
                if pending.count == before {
                    return .tooLarge(reason: "amoCRM refused the request (HTTP 400\(detail)): splitting it")
                }
            case 429:
                return .retryLater(afterSeconds: CRMAnswer.retryAfter(response), reason: "amoCRM HTTP 429\(detail)")
            case 403:
                return .pause(reason: "amoCRM refused access (HTTP 403: IP or account blocked?)\(detail)")
            default:
                return CRMAnswer.generic(response, crm: "amoCRM", detail: detail)
            }
        }
        return .accepted(results)
    }

    /// The lead whose custom field `field` holds `leadID`, by full-text `query` (the value checked exactly).
    func lookUp(_ leadID: String, field: String, client: CRMClient) -> CRMLookup {
        let r: HTTPResponse
        switch client.call(.get, "/api/v4/leads?limit=50&query=\(URLQuery.encode(leadID))") {
        case .failure(let f): return .failed(CRMAnswer.failed(f))
        case .success(let response): r = response
        }
        if r.status == 204 { return .found([:]) }
        guard r.status == 200, let json = try? JSONValue.parse(r.body) else {
            let detail = AmoCRMConnector.errorDetail(r.body)
            if r.status == 429 {
                return .failed(.retryLater(afterSeconds: CRMAnswer.retryAfter(r), reason: "amoCRM HTTP 429\(detail)"))
            }
            return .failed(CRMAnswer.generic(r, crm: "amoCRM", detail: detail))
        }
        for lead in json["_embedded"]?["leads"]?.arrayValue ?? [] {
            let holds = (lead["custom_fields_values"]?.arrayValue ?? []).contains { f in
                f["field_id"].flatMap(WebhookAnswer.scalarText) == field
                    && (f["values"]?.arrayValue ?? []).contains { $0["value"]?.stringValue == leadID }
            }
            if holds, let id = lead["id"].flatMap(WebhookAnswer.scalarText) { return .found([leadID: id]) }
        }
        return .found([:])
    }

    static func errorDetail(_ body: [UInt8]) -> String {
        CRMAnswer.detail(body, keys: ["title", "detail"])
    }
}
