import Foundation
import LeadCore
import LeadStore
import LeadSync
import LeaddTesting
import Testing

@Suite(.serialized) struct Bitrix24SinkTests {
    func fixture(
        _ server: Bitrix24ContractServer,
        keys: String = "",
        rate: Double = 1000,
        secret: String? = nil
    )
        throws -> CRMFixture
    {
        try CRMFixture(type: "bitrix24", secret: secret ?? server.webhookURL, sinkKeys: "RatePerSec=\(rate)\n\(keys)")
    }

    func expectEachLeadOnce(_ server: Bitrix24ContractServer, _ f: CRMFixture, _ ids: [String]) throws {
        let origins = server.leads.compactMap { $0["ORIGIN_ID"]?.stringValue }
        #expect(origins.count == ids.count)
        #expect(Set(origins) == Set(ids))
        #expect(try f.leads(in: "synced", ids).count == ids.count)
        let remote = try ids.map { try f.state($0).remoteID }
        #expect(Set(remote.compactMap { $0 }) == Set(server.leads.compactMap { $0["ID"]?.stringValue }))
    }

    @Test func backlogOf1000LeadsDrainsWithEveryLeadOnce() async throws {
        let server = try Bitrix24ContractServer()
        let f = try fixture(server)
        let ids = try f.addLeads(1000)
        server.server.inject(
            .reply(.json(503, #"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#)),
            pathContains: "/batch"
        )
        server.blockOperations(forSeconds: 7)
        let (_, waits) = try await f.drain(f.engine())
        #expect(
            waits.contains { (6...8).contains($0) },
            "OPERATION_TIME_LIMIT waits until operating_reset_at: \(waits)"
        )
        try expectEachLeadOnce(server, f, ids)
        let lead = try #require(server.leads.first)
        #expect(lead["ORIGINATOR_ID"]?.stringValue == "booth-t")
        #expect(lead["NAME"]?.stringValue == "Анна 0")
        #expect(lead["EMAIL"]?[0]?["VALUE"]?.stringValue == "visitor0@example.com")
        #expect(lead["SOURCE_ID"]?.stringValue == "TRADE_SHOW")
    }

    @Test func timeoutAfterCommitMakesNoDuplicate() async throws {
        let server = try Bitrix24ContractServer()
        let f = try fixture(server)
        let ids = try f.addLeads(120)
        server.server.inject(.dropAfterCommit, pathContains: "/batch")
        server.server.inject(.dropAfterCommit, pathContains: "/batch")
        try await f.drain(f.engine())
        try expectEachLeadOnce(server, f, ids)
        let lookups = server.server.requests.filter {
            String(decoding: $0.body, as: UTF8.self).contains("crm.lead.list")
        }
        #expect(!lookups.isEmpty)
    }

    @Test func withoutAnOriginFilterTheLookupFindsLeadsByEmailAndPhone() async throws {
        let server = try Bitrix24ContractServer()
        server.ignoreOriginFilter()
        let f = try fixture(server)
        // Earlier leads fill the first page crm.lead.list answers with when it ignores the filter.
        let old = try f.addLeads(60, email: { "earlier\($0)@example.com" })
        try await f.drain(f.engine())
        // Half have no e-mail: found by phone.
        let ids = try f.addLeads(40, email: { $0 % 2 == 0 ? nil : "t\($0)@example.com" }, phoneBase: 2_000_000)
        server.server.inject(.dropAfterCommit, pathContains: "/batch")
        try await f.drain(f.engine())
        try expectEachLeadOnce(server, f, old + ids)
        let bodies = server.server.requests.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(bodies.contains { $0.contains("crm.duplicate.findbycomm") })
        #expect(bodies.contains { $0.contains("crm.lead.get") })
    }

    @Test func requestsAreSpacedByTheShaperAndTheBucketNeverOverflows() async throws {
        let server = try Bitrix24ContractServer()
        server.setLeakyBucket(capacity: 2, drainPerSecond: 10)
        let f = try fixture(server, keys: "BatchSize=5", rate: 10)
        let ids = try f.addLeads(30)
        try await f.drain(f.engine())
        #expect(server.server.requests.count == 6)
        expectSpaced(server.server.requests, atMost: 10)
        #expect(server.refusedByBucket == 0)
        try expectEachLeadOnce(server, f, ids)
    }

    @Test func fullBucketIsRetriedUntilEveryLeadIsIn() async throws {
        let server = try Bitrix24ContractServer()
        // Unshaped, far faster than the portal drains its bucket: the fourth request of the first pass already
        // overflows it, and later ones get 503 until it has drained. A resend looks up first (two requests before
        // the add), so the bucket holds three, and the drain really sleeps a little at each wait for the bucket
        // to drain: skipping the engine's waits alone would resend faster than any portal drains.
        server.setLeakyBucket(capacity: 3, drainPerSecond: 5)
        let f = try fixture(server, keys: "BatchSize=10", rate: 10_000)
        let ids = try f.addLeads(40)
        try await f.drain(f.engine(), passes: 200, realPause: 0.7)
        #expect(server.refusedByBucket > 0)
        try expectEachLeadOnce(server, f, ids)
    }

    @Test func everyResendLooksUpFirst() async throws {
        let server = try Bitrix24ContractServer()
        let f = try fixture(server)
        let ids = try f.addLeads(10)
        // Even a refusal that came before anything ran (503, 429) is followed by a lookup: another process
        // (`leadctl sync`) may have sent the same batch meanwhile.
        server.server.inject(
            .reply(.json(503, #"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#)),
            pathContains: "/batch"
        )
        try await f.drain(f.engine())
        func lookups() -> Int {
            server.server.requests.filter { String(decoding: $0.body, as: UTF8.self).contains("crm.lead.list") }.count
        }
        #expect(lookups() == 1)
        // A 500 may come after the leads were added: the resend looks first.
        let more = try f.addLeads(5, email: { "more\($0)@example.com" })
        server.server.inject(
            .reply(.json(500, #"{"error":"INTERNAL_SERVER_ERROR","error_description":""}"#)),
            pathContains: "/batch"
        )
        try await f.drain(f.engine())
        #expect(lookups() == 2)
        try expectEachLeadOnce(server, f, ids + more)
    }

    /// The portal adds the leads but its answer names none of the commands: the same batch is sent again after
    /// a lookup, not its leads in a new batch (added a second time).
    @Test func addedLeadsMissingFromTheAnswerAreLookedUpNotAddedAgain() async throws {
        let server = try Bitrix24ContractServer()
        let f = try fixture(server)
        let ids = try f.addLeads(6)
        server.server.inject(
            .commitThenReply(.json(200, #"{"result":{"result":[],"result_error":[]},"time":{}}"#)),
            pathContains: "/batch"
        )
        await f.drain(try f.engine())
        try expectEachLeadOnce(server, f, ids)
    }

    /// Per-command system errors (§3.6): a limit or a server error is retried (a server error may have added the
    /// lead: the same batch again, looked up first), never rejected; only method errors reject.
    @Test func transientCommandErrorsAreRetriedNotRejected() async throws {
        let server = try Bitrix24ContractServer()
        let f = try fixture(server)
        let ids = try f.addLeads(6)
        server.failNextAdd(code: "OPERATION_TIME_LIMIT", description: "Method is blocked due to operation time limit.")
        server.failNextAdd(code: "QUERY_LIMIT_EXCEEDED", description: "Too many requests")
        server.failNextAdd(code: "INTERNAL_SERVER_ERROR", description: "Internal server error", afterStoring: true)
        server.failNextAdd(code: "ERROR_UNEXPECTED_ANSWER", description: "Server returned an unexpected response.")
        await f.drain(try f.engine())
        #expect(try f.leads(in: "rejected", ids).isEmpty)
        try expectEachLeadOnce(server, f, ids)
    }

    /// A command refused for the webhook's access pauses the sink; its lead is not rejected.
    @Test func accessErrorInACommandPausesTheSink() async throws {
        let server = try Bitrix24ContractServer()
        let f = try fixture(server)
        let ids = try f.addLeads(2)
        server.failNextAdd(code: "insufficient_scope", description: "The request requires higher privileges.")
        let reason = try await f.drainUntilPaused()
        #expect(reason.contains("insufficient_scope"))
        #expect(try f.leads(in: "rejected", ids).isEmpty)
    }

    /// A batch of one lead the portal refuses whole (HTTP 400) cannot be split further: the lead is rejected
    /// with Bitrix24's reason, not a made-up "HTTP 413".
    @Test func aSingleLeadRefusedWholeIsRejectedWithBitrixReason() async throws {
        let server = try Bitrix24ContractServer()
        let f = try fixture(server)
        let ids = try f.addLeads(1)
        server.server.inject(
            .reply(.json(400, #"{"error":"INVALID_ARG_VALUE","error_description":"Field PHONE is malformed"}"#)),
            pathContains: "/batch"
        )
        await f.drain(try f.engine())
        let lead = try f.state(ids[0])
        #expect(lead.state == "rejected")
        #expect(lead.lastError?.contains("INVALID_ARG_VALUE: Field PHONE is malformed") == true)
        #expect(lead.lastError?.contains("413") == false)
    }

    @Test func methodErrorRejectsTheLeadWithBitrixReason() async throws {
        let server = try Bitrix24ContractServer()
        let f = try fixture(server)
        let ids = try f.addLeads(4, email: { $0 == 1 ? "nobody@example.invalid" : "ok\($0)@example.com" })
        try await f.drain(f.engine())
        let bad = try f.state(ids[1])
        #expect(bad.state == "rejected")
        #expect(bad.lastError?.contains("incorrect E-mail address") == true)
        #expect(try f.leads(in: "synced", ids).count == 3)
    }

    @Test func commandsPastTheBatchCapGoInTheNextBatch() async throws {
        let server = try Bitrix24ContractServer()
        let f = try fixture(server)
        // BatchSize= cannot exceed 50 in a config file; set past it here to watch the portal's refusal.
        f.config.sinks[0].batchSize = 60
        let ids = try f.addLeads(60)
        try await f.drain(f.engine())
        try expectEachLeadOnce(server, f, ids)
        #expect(server.server.requests.count == 2)
    }

    @Test func urlReplacesThePortalOfTheWebhookAndAWrongCodePauses() async throws {
        let server = try Bitrix24ContractServer()
        let f = try fixture(
            server,
            keys: "URL=\(server.server.baseURL)",
            secret: "https://portal.bitrix24.com/rest/17/\(server.code)/"
        )
        let ids = try f.addLeads(3)
        try await f.drain(f.engine())
        try expectEachLeadOnce(server, f, ids)
        let sink = try #require(try f.sink() as? CRMSink)
        #expect(sink.probe() == nil)

        let wrong = try fixture(server, secret: "\(server.server.baseURL)/rest/17/wrong/")
        try wrong.addLeads(1)
        let reason = try await wrong.drainUntilPaused()
        #expect(reason.contains("401") && reason.contains("INVALID_CREDENTIALS"))
        #expect(!reason.contains("wrong"))
        let notURL = try fixture(server, secret: "s3cr3tc0de")
        #expect(try #require(try notURL.sink() as? CRMSink).probe()?.contains("inbound webhook URL") == true)
    }
}
