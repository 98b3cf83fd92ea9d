import Foundation
import LeadCore
import LeadStore
import LeaddTesting
import Testing

@testable import LeadSync

@Suite(.serialized) struct AmoCRMSinkTests {
    static let token = "long-lived-test-token"

    func fixture(
        _ server: KommoContractServer,
        keys: String = "",
        rate: Double = 1000,
        token: String = token
    )
        throws -> CRMFixture
    {
        try CRMFixture(type: "amocrm", secret: token, sinkKeys: "URL=\(server.baseURL)\nRatePerSec=\(rate)\n\(keys)")
    }

    func expectEachLeadOnce(_ server: KommoContractServer, _ f: CRMFixture, _ ids: [String]) throws {
        let requestIDs = server.leads.compactMap { $0["request_id"]?.stringValue }
        #expect(requestIDs.count == ids.count)
        #expect(Set(requestIDs) == Set(ids))
        #expect(try f.leads(in: "synced", ids).count == ids.count)
    }

    @Test func backlogOf1000LeadsDrainsWithEveryLeadOnce() async throws {
        let server = try KommoContractServer(token: Self.token)
        let f = try fixture(server, keys: "Map.lead_id=555001\nPipeline=1234567\nStatus=142\nSource=Expo booth")
        let ids = try f.addLeads(1000)
        server.server.inject(.reply(.json(429, "")), pathContains: "/leads/complex")
        server.server.inject(.reply(.json(502, "")), pathContains: "/leads/complex")
        try await f.drain(f.engine())
        try expectEachLeadOnce(server, f, ids)
        let lead = try #require(server.leads.first)
        #expect(lead["pipeline_id"]?.intValue == 1_234_567)
        #expect(lead["status_id"]?.intValue == 142)
        #expect(lead["name"]?.stringValue == "Expo booth: Анна 0 L0")
        #expect(lead["custom_fields_values"]?[0]?["field_id"]?.intValue == 555_001)
        #expect(lead["custom_fields_values"]?[0]?["values"]?[0]?["value"]?.stringValue == ids[0])
        #expect(KommoContractServer.email(lead) == "visitor0@example.com")
        #expect(lead["_embedded"]?["companies"]?[0]?["name"]?.stringValue == "Acme 0")
    }

    @Test(arguments: [false, true])
    func timeoutAfterCommitMakesNoDuplicate(duplicateControl: Bool) async throws {
        let server = try KommoContractServer(token: Self.token)
        server.setDuplicateControl(duplicateControl)
        // Without duplicate control the lead id custom field is looked up before the resend.
        let f = try fixture(server, keys: duplicateControl ? "" : "Map.lead_id=555001")
        let ids = try f.addLeads(120)
        server.server.inject(.dropAfterCommit, pathContains: "/leads/complex")
        server.server.inject(.dropAfterCommit, pathContains: "/leads/complex")
        try await f.drain(f.engine())
        try expectEachLeadOnce(server, f, ids)
        let lookups = server.server.requests.filter { $0.method == "GET" && $0.path == "/api/v4/leads" }
        #expect(lookups.isEmpty == duplicateControl)
        #expect(try ids.allSatisfy { try f.state($0).remoteID != nil })
    }

    /// amoCRM creates the leads but its answer echoes no request_id: the same batch is sent again after a
    /// lookup by the lead id field, not its leads in a new batch (created a second time).
    @Test func createdLeadsMissingFromTheAnswerAreLookedUpNotCreatedAgain() async throws {
        let server = try KommoContractServer(token: Self.token)
        let f = try fixture(server, keys: "Map.lead_id=555001")
        let ids = try f.addLeads(6)
        server.server.inject(.commitThenReply(.json(200, "[]")), pathContains: "/leads/complex")
        await f.drain(try f.engine())
        try expectEachLeadOnce(server, f, ids)
    }

    /// A lookup amoCRM refuses as unprocessable pauses the sink with amoCRM's message.
    @Test func aLookupRefusedAsUnprocessablePausesWithAmoCRMsMessage() async throws {
        let server = try KommoContractServer(token: Self.token)
        let f = try fixture(server, keys: "Map.lead_id=555001")
        try f.addLeads(2)
        server.server.inject(.dropAfterCommit, pathContains: "/leads/complex")
        server.server.inject(
            .reply(.json(422, #"{"title":"Unprocessable Entity","status":422,"detail":"Invalid query"}"#)),
            pathContains: "/api/v4/leads"
        )
        let reason = try await f.drainUntilPaused()
        #expect(reason.contains("HTTP 422") && reason.contains("Invalid query"))
    }

    /// A resend's lookups (one GET per lead) could outlast the batch's lease, and another process take the batch
    /// meanwhile: no request starts past the attempt's budget; the batch waits for its next attempt.
    @Test func anAttemptStartsNoRequestPastItsLeaseBudget() async throws {
        let server = try KommoContractServer(token: Self.token)
        let f = try fixture(server, keys: "Map.lead_id=555001", rate: 10)
        let ids = try f.addLeads(8)
        server.server.inject(.dropAfterCommit, pathContains: "/leads/complex")
        let engine = try f.engine()
        let sink = try #require(engine.sink as? CRMSink)
        // 8 lookups at 10 a second take 0.8 s.
        sink.deliveryBudgetSeconds = 0.35
        await f.drain(engine, passes: 1)
        let before = server.server.requests.count
        let (reports, _) = await f.drain(engine, passes: 1)
        let sent = server.server.requests[before...]
        #expect((2...5).contains(sent.count) && sent.allSatisfy { $0.method == "GET" }, "\(sent.count) requests")
        guard case .waiting(_, let reason)? = reports.last?.stop else {
            Issue.record("not waiting: \(String(describing: reports.last?.stop))")
            return
        }
        #expect(reason.contains("lease"))
        sink.deliveryBudgetSeconds = 60
        await f.drain(engine)
        try expectEachLeadOnce(server, f, ids)
    }

    @Test func requestsStayUnderTheAccountsRate() async throws {
        let server = try KommoContractServer(token: Self.token)
        // Kommo allows 7 requests a second; the shaper at 6 keeps a margin for scheduling jitter.
        server.setRequestsPerSecond(7)
        let f = try fixture(server, keys: "BatchSize=2", rate: 6)
        let ids = try f.addLeads(20)
        try await f.drain(f.engine())
        #expect(server.server.requests.count == 10)
        expectSpaced(server.server.requests, atMost: 6)
        #expect(server.throttled == 0)
        try expectEachLeadOnce(server, f, ids)
    }

    @Test func faster429IsRetried() async throws {
        let server = try KommoContractServer(token: Self.token)
        server.setRequestsPerSecond(3)
        let f = try fixture(server, keys: "BatchSize=2", rate: 6)
        let ids = try f.addLeads(12)
        try await f.drain(f.engine())
        #expect(server.throttled > 0)
        try expectEachLeadOnce(server, f, ids)
    }

    @Test func validationErrorRejectsThatLeadAndTheRestAreSent() async throws {
        let server = try KommoContractServer(token: Self.token)
        let f = try fixture(server)
        let ids = try f.addLeads(5, email: { $0 == 3 ? "nobody@example.invalid" : "ok\($0)@example.com" })
        try await f.drain(f.engine())
        let bad = try f.state(ids[3])
        #expect(bad.state == "rejected")
        #expect(bad.lastError?.contains("InvalidEmail") == true)
        #expect(try f.leads(in: "synced", ids).count == 4)
        #expect(server.leads.count == 4)
    }

    @Test func overTheCapTheRequestIsSplit() async throws {
        let server = try KommoContractServer(token: Self.token)
        let f = try fixture(server)
        f.config.sinks[0].batchSize = 80
        let ids = try f.addLeads(80)
        try await f.drain(f.engine())
        try expectEachLeadOnce(server, f, ids)
    }

    @Test func wrongTokenPausesAndProbeSaysWhy() async throws {
        let server = try KommoContractServer(token: Self.token)
        let f = try fixture(server, token: "expired")
        try f.addLeads(1)
        let reason = try await f.drainUntilPaused()
        #expect(reason.contains("401"))
        #expect(try #require(try f.sink() as? CRMSink).probe()?.contains("401") == true)
        #expect(try #require(try fixture(server).sink() as? CRMSink).probe() == nil)
    }
}
