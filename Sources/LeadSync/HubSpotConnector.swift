import LeadCore
import LeadStore

/// `Type=hubspot`: contacts through the CRM v3 batch API (crm-targets.md §1).
///
/// Leads with an email are upserted by email (`idProperty=email`): a resend updates the same contact. Leads
/// without one are created with `objectWriteTraceId` = lead id; before a batch that may have reached HubSpot is
/// sent again they are looked up (search: the lead id property when `Map.lead_id=` names one, else every mapped
/// property of contacts created since the leads were captured), so a timeout never makes a second contact.
/// With `UpsertBy=lead_id` they are upserted by the `Map.lead_id` property instead (a property created with
/// unique values): a resend updates the same contact, with no lookup and no wait for HubSpot's search index.
final class HubSpotConnector: CRMConnector {
    static let defaultBase = "https://api.hubapi.com"
    static let defaultMap: [(String, String)] = [
        ("email", "email"), ("first_name", "firstname"), ("last_name", "lastname"), ("phone", "phone"),
        ("company", "company"), ("job_title", "jobtitle"), ("notes", "message"),
    ]
    let type = "hubspot"
    let map: [(field: String, target: String)]
    let constants: [(String, String)]
    /// The contact property holding our lead id (`Map.lead_id=`), if any.
    let leadIDProperty: String?
    /// `UpsertBy=lead_id`: leads without an email are upserted by ``leadIDProperty`` (the config requires it).
    let upsertByLeadID: Bool
    /// The account's UTC offset, for the daily limit that resets at the account's midnight.
    let utcOffsetSeconds: Int64?

    init(options: [String: String]) {
        map = CRMLeadValue.fieldMap(options, defaults: HubSpotConnector.defaultMap)
        var constants = CRMLeadValue.constants(options)
        if let status = options["Status"] { constants.append(("hs_lead_status", status)) }
        if let owner = options["ResponsibleUser"] { constants.append(("hubspot_owner_id", owner)) }
        self.constants = constants
        leadIDProperty = map.first { $0.field == "lead_id" }?.target
        upsertByLeadID = options["UpsertBy"] == "lead_id" && leadIDProperty != nil
        utcOffsetSeconds = options["TimeZoneOffset"].flatMap(HubSpotConnector.parseOffset)
    }

    var digest: String { CRMLeadValue.digest(map: map, constants: constants) }

    /// `+02:00`, `-05:30`, `Z` → seconds east of UTC.
    static func parseOffset(_ text: String) -> Int64? {
        if text == "Z" || text == "UTC" { return 0 }
        let sign: Int64 = text.hasPrefix("-") ? -1 : 1
        guard text.hasPrefix("+") || text.hasPrefix("-") else { return nil }
        let parts = text.dropFirst().split(separator: ":")
        guard parts.count == 2, let h = Int64(parts[0]), let m = Int64(parts[1]), h <= 14, m < 60 else { return nil }
        return sign * (h * 3600 + m * 60)
    }

    func base(configured: String?, token: String) throws(SyncError) -> String {
        CRMLeadValue.withoutTrailingSlashes(configured ?? HubSpotConnector.defaultBase)
    }

    func headers(token: String) -> [String] { ["Authorization: Bearer \(token)"] }

    func item(for lead: Lead) -> CRMItem {
        var properties: [JSONMember] = []
        var email: String?
        for (field, target) in map {
            guard var value = CRMLeadValue.value(field, of: lead) else { continue }
            if target == "email" {
                value = value.trimmingSpaces.lowercased()
                email = value
            }
            properties.append(JSONMember(target, .string(value)))
        }
        for (name, value) in constants where !properties.contains(where: { $0.key == name }) {
            properties.append(JSONMember(name, .string(value)))
        }
        return CRMItem(
            leadID: lead.id,
            email: email,
            phone: CRMLeadValue.value("phone", of: lead),
            record: .object(properties)
        )
    }

    func probe(client: CRMClient) -> String? {
        CRMAnswer.probe(
            client,
            path: "/crm/v3/objects/contacts?limit=1",
            crm: "HubSpot",
            detail: HubSpotConnector.errorDetail
        )
    }

    // MARK: - Delivery

    func deliver(_ items: [CRMItem], lookUpFirst: Bool, client: CRMClient) -> SinkAnswer {
        var results: [String: LeadResult] = [:]
        var upserts: [CRMItem] = []
        var creates: [CRMItem] = []
        var upsertsByLeadID: [CRMItem] = []
        var emails: Set<String> = []
        for item in items {
            if let email = item.email {
                // HubSpot's behaviour with one email twice in an upsert is undefined (§7.2): the second goes in
                // the next batch, where it updates the same contact.
                if emails.insert(email).inserted {
                    upserts.append(item)
                } else {
                    results[item.leadID] = .retry(afterSeconds: 0, reason: "same email as another lead of its batch")
                }
            } else if upsertByLeadID {
                upsertsByLeadID.append(item)
            } else {
                creates.append(item)
            }
        }
        if !upserts.isEmpty {
            if let answer = upsert(upserts, by: "email", id: { $0.email ?? "" }, client, &results) { return answer }
        }
        // In a request of their own: whether HubSpot takes two idProperty values in one batch is not documented.
        if let property = leadIDProperty, !upsertsByLeadID.isEmpty {
            if let answer = upsert(upsertsByLeadID, by: property, id: \.leadID, client, &results) { return answer }
        }
        if !creates.isEmpty {
            if lookUpFirst {
                switch lookUp(creates, client: client) {
                case .failed(let answer): return answer
                case .found(let found):
                    for (lead, id) in found { results[lead] = .synced(remoteID: id) }
                    creates.removeAll { found[$0.leadID] != nil }
                }
            }
            let inputs = creates.map { item -> JSONValue in
                .object([
                    JSONMember("properties", item.record),
                    JSONMember("objectWriteTraceId", .string(item.leadID)),
                ])
            }
            if !creates.isEmpty,
                let answer = send("/crm/v3/objects/contacts/batch/create", inputs, creates, client, &results)
            {
                return answer
            }
            // A 2xx that does not name a created contact (an unreadable body, no objectWriteTraceId): it may exist.
            // The same batch is sent again, looked up first; a new batch would create it a second time.
            if creates.contains(where: { results[$0.leadID] == nil }) {
                return .retryLater(
                    afterSeconds: nil,
                    reason: "HubSpot's answer to batch create does not name every lead: sending it again after a lookup"
                )
            }
        }
        return .accepted(results)
    }

    /// One `batch/upsert` of `items` keyed by the contact property `idProperty` (`objectWriteTraceId` = lead id).
    private func upsert(
        _ items: [CRMItem],
        by idProperty: String,
        id: (CRMItem) -> String,
        _ client: CRMClient,
        _ results: inout [String: LeadResult]
    ) -> SinkAnswer? {
        let inputs = items.map { item -> JSONValue in
            .object([
                JSONMember("idProperty", .string(idProperty)),
                JSONMember("id", .string(id(item))),
                JSONMember("properties", item.record),
                JSONMember("objectWriteTraceId", .string(item.leadID)),
            ])
        }
        return send("/crm/v3/objects/contacts/batch/upsert", inputs, items, client, &results)
    }

    /// Sends one batch request; per-lead results go to `results`, a batch-level answer is returned.
    private func send(
        _ path: String,
        _ inputs: [JSONValue],
        _ items: [CRMItem],
        _ client: CRMClient,
        _ results: inout [String: LeadResult]
    ) -> SinkAnswer? {
        let body = JSONValue.object([JSONMember("inputs", .array(inputs))])
        let response: HTTPResponse
        switch client.call(.post, path, json: body, creates: path.hasSuffix("/create")) {
        case .failure(let f): return CRMAnswer.failed(f)
        case .success(let r): response = r
        }
        let detail = HubSpotConnector.errorDetail(response.body)
        // Upserting by a property HubSpot does not hold as unique fails for every lead alike: a configuration
        // error to fix in HubSpot (or UpsertBy=), not a reason to reject the leads one by one.
        if (400...499).contains(response.status) || response.status == 207,
            let message = HubSpotConnector.nonUniqueIDProperty(response.body)
        {
            return .pause(
                reason: "misconfigured: HubSpot cannot upsert by that property (\(message)); "
                    + "turn on unique values for the Map.lead_id property in HubSpot, or remove UpsertBy="
            )
        }
        switch response.status {
        case 200, 201, 207:
            HubSpotConnector.readResults(response.body, items: items, into: &results)
            return nil
        case 400, 409:
            // A whole-batch refusal without per-item errors (one invalid input, or over the batch cap): bisect.
            if items.count == 1 {
                let item = items[0]
                if response.status == 409, let existing = HubSpotConnector.existingID(response.body) {
                    results[item.leadID] = .synced(remoteID: existing)
                } else {
                    results[item.leadID] = .rejected(reason: "HubSpot HTTP \(response.status)\(detail)")
                }
                return nil
            }
            return .tooLarge(reason: "HubSpot refused the batch (HTTP \(response.status)\(detail)): splitting it")
        case 429:
            return .retryLater(afterSeconds: rateLimitWait(response), reason: "HubSpot HTTP 429\(detail)")
        default:
            return CRMAnswer.generic(response, crm: "HubSpot", detail: detail)
        }
    }

    /// The wait a 429 asks for: `Retry-After` when sent; else 10 s for the rolling ten-second limit, and until
    /// midnight in the account's time zone for the daily one.
    func rateLimitWait(_ r: HTTPResponse, now: Timestamp = .now()) -> Int64 {
        if let after = CRMAnswer.retryAfter(r) { return max(1, after) }
        let policy = (try? JSONValue.parse(r.body))?["policyName"]?.stringValue
        guard policy == "DAILY" else { return 10 }
        let offset = utcOffsetSeconds ?? LocalTime.utcOffsetSeconds(at: now)
        let local = now.seconds + offset
        let secondsToMidnight = 86_400 - ((local % 86_400) + 86_400) % 86_400
        // A minute past midnight, so the reset has surely happened.
        return secondsToMidnight + 60
    }

    static func errorDetail(_ body: [UInt8]) -> String {
        CRMAnswer.detail(body, keys: ["category", "policyName", "message"])
    }

    /// HubSpot's message when an upsert names a property whose values are not unique, if the answer has one.
    static func nonUniqueIDProperty(_ body: [UInt8]) -> String? {
        guard let json = try? JSONValue.parse(body) else { return nil }
        let messages =
            [json["message"]?.stringValue] + (json["errors"]?.arrayValue ?? []).map { $0["message"]?.stringValue }
        return messages.compactMap { $0 }.first { $0.contains("upsert by non-unique") }.map { String($0.prefix(200)) }
    }

    /// "Contact already exists. Existing ID: 123" → "123".
    static func existingID(_ body: [UInt8]) -> String? {
        guard let message = (try? JSONValue.parse(body))?["message"]?.stringValue,
            let range = message.firstRange(of: "Existing ID: ")
        else { return nil }
        let digits = message[range.upperBound...].prefix { $0.isNumber }
        return digits.isEmpty ? nil : String(digits)
    }

    /// `results[]` (created or updated contacts) and `errors[]` of a batch answer, matched to leads by
    /// `objectWriteTraceId`, else by email.
    static func readResults(_ body: [UInt8], items: [CRMItem], into results: inout [String: LeadResult]) {
        guard let json = try? JSONValue.parse(body) else { return }
        var byEmail: [String: String] = [:]
        let ids = Set(items.map(\.leadID))
        for item in items { if let e = item.email { byEmail[e] = item.leadID } }
        for r in json["results"]?.arrayValue ?? [] {
            let lead =
                r["objectWriteTraceId"]?.stringValue.flatMap { ids.contains($0) ? $0 : nil }
                ?? r["properties"]?["email"]?.stringValue.flatMap { byEmail[$0.lowercased()] }
            guard let lead, let id = r["id"].flatMap(WebhookAnswer.scalarText) else { continue }
            results[lead] = .synced(remoteID: id)
        }
        for e in json["errors"]?.arrayValue ?? [] {
            var leads: [String] = []
            if let trace = e["objectWriteTraceId"]?.stringValue { leads.append(trace) }
            for key in ["objectWriteTraceId", "objectWriteTraceIds"] {
                leads += (e["context"]?[key]?.arrayValue ?? []).compactMap(\.stringValue)
            }
            for key in ["ids", "email", "emails"] {
                leads += (e["context"]?[key]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap { byEmail[$0] } }
            }
            let category = e["category"]?.stringValue ?? "error"
            var reason = category
            if let message = e["message"]?.stringValue { reason += ": " + message }
            for lead in leads where ids.contains(lead) {
                if category == "VALIDATION_ERROR" || category == "INVALID_EMAIL" || category == "CONFLICT" {
                    results[lead] = .rejected(reason: "HubSpot " + String(reason.prefix(400)))
                } else {
                    results[lead] = .retry(afterSeconds: nil, reason: "HubSpot " + String(reason.prefix(400)))
                }
            }
        }
    }

    /// Contacts HubSpot already holds for `items` (lead id → contact id): by the lead id property, else by every
    /// mapped property among contacts created since the oldest of the leads was captured (an hour of clock skew
    /// between kiosk and HubSpot allowed).
    func lookUp(_ items: [CRMItem], client: CRMClient) -> CRMLookup {
        let since = (items.map(\.capturedAt).min() ?? 0) - 3_600_000
        var found: [String: String] = [:]
        let wanted = Array(Set(items.flatMap { $0.record.objectValue?.map(\.key) ?? [] })).sorted()
        let filter: JSONValue
        if let property = leadIDProperty {
            filter = .object([
                JSONMember("propertyName", .string(property)),
                JSONMember("operator", .string("IN")),
                JSONMember("values", .array(items.map { .string($0.leadID) })),
            ])
        } else {
            filter = .object([
                JSONMember("propertyName", .string("createdate")),
                JSONMember("operator", .string("GTE")),
                JSONMember("value", .string("\(since)")),
            ])
        }
        var after: String?
        for _ in 0..<20 {
            var members = [
                JSONMember("filterGroups", .array([.object([JSONMember("filters", .array([filter]))])])),
                JSONMember("properties", .array(wanted.map { .string($0) })),
                JSONMember("limit", .number("100")),
            ]
            if let after { members.append(JSONMember("after", .string(after))) }
            let r: HTTPResponse
            switch client.call(.post, "/crm/v3/objects/contacts/search", json: .object(members)) {
            case .failure(let f): return .failed(CRMAnswer.failed(f))
            case .success(let response): r = response
            }
            guard r.status == 200, let json = try? JSONValue.parse(r.body) else {
                let detail = HubSpotConnector.errorDetail(r.body)
                if r.status == 429 {
                    return .failed(
                        .retryLater(afterSeconds: rateLimitWait(r), reason: "HubSpot search HTTP 429\(detail)")
                    )
                }
                return .failed(CRMAnswer.generic(r, crm: "HubSpot search", detail: detail))
            }
            for contact in json["results"]?.arrayValue ?? [] {
                guard let id = contact["id"].flatMap(WebhookAnswer.scalarText), let props = contact["properties"]
                else { continue }
                for item in items where found[item.leadID] == nil {
                    if let property = leadIDProperty {
                        if props[property]?.stringValue == item.leadID { found[item.leadID] = id }
                    } else if let mine = item.record.objectValue, !mine.isEmpty,
                        mine.allSatisfy({ props[$0.key]?.stringValue == $0.value.stringValue })
                    {
                        found[item.leadID] = id
                        break
                    }
                }
            }
            guard let next = json["paging"]?["next"]?["after"].flatMap(WebhookAnswer.scalarText) else { break }
            after = next
        }
        return .found(found)
    }
}
