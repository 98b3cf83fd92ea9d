import Foundation
import LeadCore
import LeadStore
import LeadSync
import LeaddTesting
import Testing

@Suite(.serialized) struct HubSpotSinkTests {
    static let token = "pat-eu1-test-0000"

    func fixture(
        _ server: HubSpotContractServer,
        keys: String = "",
        rate: Double = 1000,
        token: String = HubSpotSinkTests.token
    ) throws -> CRMFixture {
        try CRMFixture(
            type: "hubspot",
            secret: token,
            sinkKeys: "URL=\(server.baseURL)\nRatePerSec=\(rate)\n\(keys)"
        )
    }

    /// Every lead is one contact: by email, or (no email) by first name, which the fixture makes unique.
    func expectEachLeadOnce(_ server: HubSpotContractServer, _ f: CRMFixture, _ ids: [String]) throws {
        let contacts = server.contacts
        #expect(contacts.count == ids.count)
        #expect(Set(contacts.compactMap { $0["firstname"] }).count == ids.count)
        let emails = contacts.compactMap { $0["email"] }
        #expect(Set(emails).count == emails.count)
        #expect(try f.leads(in: "synced", ids).count == ids.count)
        #expect(try ids.allSatisfy { try f.state($0).remoteID != nil })
    }

    @Test func backlogOf1000LeadsDrainsWithEveryLeadOnce() async throws {
        let server = try HubSpotContractServer(token: Self.token)
        let f = try fixture(server)
        // Every tenth lead has no email: created, not upserted.
        let ids = try f.addLeads(1000, email: { $0 % 10 == 0 ? nil : "visitor\($0)@example.com" })
        server.throttle("TEN_SECONDLY_ROLLING")
        server.server.inject(.reply(.json(502, "")), pathContains: "/batch/create")
        let started = Date()
        let (reports, waits) = try await f.drain(f.engine())
        #expect(reports.reduce(0) { $0 + $1.synced } == 1000)
        #expect(waits.contains(10), "the ten-second policy waits 10 s without Retry-After: \(waits)")
        try expectEachLeadOnce(server, f, ids)
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test(arguments: [false, true])
    func timeoutAfterCommitMakesNoDuplicate(leadIDProperty: Bool) async throws {
        let server = try HubSpotContractServer(token: Self.token)
        if leadIDProperty { server.addProperties(["leadd_lead_id"]) }
        let f = try fixture(server, keys: leadIDProperty ? "Map.lead_id=leadd_lead_id" : "")
        let ids = try f.addLeads(30, email: { $0 % 3 == 0 ? nil : "t\($0)@example.com" })
        // HubSpot stores both requests, then the connection drops: the client cannot know what happened.
        server.server.inject(.dropAfterCommit, pathContains: "/batch/upsert")
        server.server.inject(.dropAfterCommit, pathContains: "/batch/create")
        server.server.inject(.dropAfterCommit, pathContains: "/batch/create")
        try await f.drain(f.engine())
        try expectEachLeadOnce(server, f, ids)
        #expect(server.server.requests.contains { $0.path.hasSuffix("/search") })
        if leadIDProperty {
            #expect(Set(server.contacts.compactMap { $0["leadd_lead_id"] }) == Set(ids))
        }
    }

    /// `UpsertBy=lead_id`: email-less leads are upserted by the unique lead id property (leads with an email
    /// still by email, in a request of its own), so nothing is created and nothing needs looking up.
    @Test func upsertByTheLeadIDPropertySendsNoCreateAndNoLookup() async throws {
        let server = try HubSpotContractServer(token: Self.token)
        server.addProperties(["leadd_lead_id"], unique: true)
        let f = try fixture(server, keys: "Map.lead_id=leadd_lead_id\nUpsertBy=lead_id")
        let ids = try f.addLeads(30, email: { $0 % 3 == 0 ? nil : "u\($0)@example.com" })
        try await f.drain(f.engine())
        try expectEachLeadOnce(server, f, ids)
        #expect(Set(server.contacts.compactMap { $0["leadd_lead_id"] }) == Set(ids))
        let paths = server.server.requests.map(\.path)
        #expect(paths.allSatisfy { $0.hasSuffix("/batch/upsert") }, "\(paths)")
        let bodies = server.server.requests.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(bodies.contains { $0.contains(#""idProperty":"leadd_lead_id""#) })
        #expect(bodies.contains { $0.contains(#""idProperty":"email""#) })
    }

    /// The same after a timeout: HubSpot stored the upsert by lead id and the answer was lost; the resend updates
    /// the same contacts, without a lookup (no wait for HubSpot's search index to catch up).
    @Test func upsertByTheLeadIDPropertyMakesAResendSafeWithoutALookup() async throws {
        let server = try HubSpotContractServer(token: Self.token)
        server.addProperties(["leadd_lead_id"], unique: true)
        let f = try fixture(server, keys: "Map.lead_id=leadd_lead_id\nUpsertBy=lead_id")
        let ids = try f.addLeads(12, email: { _ in nil })
        server.server.inject(.dropAfterCommit, pathContains: "/batch/upsert")
        try await f.drain(f.engine())
        try expectEachLeadOnce(server, f, ids)
        let paths = server.server.requests.map(\.path)
        #expect(paths == ["/crm/v3/objects/contacts/batch/upsert", "/crm/v3/objects/contacts/batch/upsert"])
    }

    /// The lead id property was created without unique values: HubSpot refuses every upsert by it alike, so the
    /// sink pauses with HubSpot's message and what to change, instead of rejecting the leads.
    @Test func upsertByAPropertyWithoutUniqueValuesPausesTheSink() async throws {
        let server = try HubSpotContractServer(token: Self.token)
        server.addProperties(["leadd_lead_id"])
        let f = try fixture(server, keys: "Map.lead_id=leadd_lead_id\nUpsertBy=lead_id")
        let ids = try f.addLeads(3, email: { _ in nil })
        let reason = try await f.drainUntilPaused()
        #expect(reason.contains("non-unique") && reason.contains("unique values"), "\(reason)")
        #expect(try f.leads(in: "rejected", ids).isEmpty)
        #expect(try f.leads(in: "synced", ids).isEmpty)
        #expect(server.contacts.isEmpty)
    }

    /// The daemon's attempt gets 429 (nothing ran); `leadctl sync` sends the same batch, HubSpot stores it and the
    /// answer is lost; the daemon's next attempt must still look up, or it creates the contacts twice.
    @Test func aResendLooksUpEvenAfterThisProcessLastSawARefusal() async throws {
        let server = try HubSpotContractServer(token: Self.token)
        let f = try fixture(server)
        let ids = try f.addLeads(4, email: { _ in nil })
        server.throttle("TEN_SECONDLY_ROLLING", path: "/batch/create")
        let daemon = try f.engine()
        await f.drain(daemon, passes: 1)
        #expect(server.contacts.isEmpty)
        server.server.inject(.dropAfterCommit, pathContains: "/batch/create")
        await f.drain(try f.engine(), passes: 1)
        #expect(server.contacts.count == 4)
        await f.drain(daemon)
        try expectEachLeadOnce(server, f, ids)
    }

    /// HubSpot creates the contacts but its answer cannot be read: the same batch is sent again after a lookup,
    /// not its leads in a new batch (created a second time).
    @Test func createdContactsMissingFromA2xxAreLookedUpNotCreatedAgain() async throws {
        let server = try HubSpotContractServer(token: Self.token)
        let f = try fixture(server)
        let ids = try f.addLeads(6, email: { _ in nil })
        server.server.inject(.commitThenReply(.json(201, "<html>proxy</html>")), pathContains: "/batch/create")
        await f.drain(try f.engine())
        try expectEachLeadOnce(server, f, ids)
        #expect(server.server.requests.contains { $0.path.hasSuffix("/search") })
    }

    /// A lookup HubSpot refuses as invalid (a property that does not exist) fails the same way at every retry:
    /// the sink pauses with HubSpot's message instead of retrying until the leads go dead.
    @Test func aLookupRefusedAsInvalidPausesWithHubSpotsMessage() async throws {
        let server = try HubSpotContractServer(token: Self.token)
        let f = try fixture(server)
        let ids = try f.addLeads(3, email: { _ in nil })
        server.server.inject(.dropAfterCommit, pathContains: "/batch/create")
        server.server.inject(
            .reply(
                .json(
                    400,
                    #"{"status":"error","message":"There was a problem with the request.","category":"VALIDATION_ERROR"}"#
                )
            ),
            pathContains: "/search"
        )
        let reason = try await f.drainUntilPaused()
        #expect(reason.contains("HTTP 400") && reason.contains("There was a problem with the request."))
        #expect(try f.leads(in: "synced", ids).isEmpty)
    }

    @Test func requestsAreSpacedByTheShaper() async throws {
        let server = try HubSpotContractServer(token: Self.token)
        let f = try fixture(server, keys: "BatchSize=5", rate: 20)
        try f.addLeads(30)
        try await f.drain(f.engine())
        let writes = server.server.requests.filter { $0.path.hasSuffix("/batch/upsert") }
        #expect(writes.count == 6)
        expectSpaced(writes, atMost: 20)
        #expect(server.contacts.count == 30)

        // The check catches a client the shaper does not hold back.
        let fast = try HubSpotContractServer(token: Self.token)
        let g = try fixture(fast, keys: "BatchSize=5", rate: 10_000)
        try g.addLeads(30)
        try await g.drain(g.engine())
        withKnownIssue { expectSpaced(fast.server.requests, atMost: 20) }
    }

    @Test func dailyLimitWaitsUntilTheAccountsMidnight() async throws {
        let server = try HubSpotContractServer(token: Self.token)
        let f = try fixture(server, keys: "TimeZoneOffset=+05:30")
        let ids = try f.addLeads(3)
        server.throttle("DAILY")
        let (_, waits) = try await f.drain(f.engine())
        let now = Timestamp.now().seconds + 5 * 3600 + 1800
        let expected = 86_400 - now % 86_400 + 60
        #expect(waits.count == 1)
        #expect(abs((waits.first ?? 0) - expected) <= 3, "waited \(waits), expected about \(expected) s")
        #expect(try f.leads(in: "synced", ids).count == 3)
    }

    @Test func invalidLeadIsRejectedWithHubSpotsReasonAndTheRestSync() async throws {
        let server = try HubSpotContractServer(token: Self.token)
        let f = try fixture(server)
        let ids = try f.addLeads(5, email: { $0 == 2 ? "nobody@example.invalid" : "ok\($0)@example.com" })
        try await f.drain(f.engine())
        let bad = try f.state(ids[2])
        #expect(bad.state == "rejected")
        #expect(bad.lastError?.contains("VALIDATION_ERROR") == true)
        #expect(bad.lastError?.contains("INVALID_EMAIL") == true)
        #expect(try f.leads(in: "synced", ids).count == 4)
    }

    @Test func overTheBatchCapTheBatchIsSplit() async throws {
        let server = try HubSpotContractServer(token: Self.token)
        server.setBatchCap(10)
        let f = try fixture(server, keys: "BatchSize=25")
        let ids = try f.addLeads(25)
        try await f.drain(f.engine())
        try expectEachLeadOnce(server, f, ids)
        #expect(server.server.requests.contains { $0.path.hasSuffix("/upsert") && $0.body.count > 0 })
    }

    @Test func wrongTokenPausesTheSinkAndProbeSaysWhy() async throws {
        let server = try HubSpotContractServer(token: Self.token)
        let f = try fixture(server, token: "pat-wrong")
        try f.addLeads(2)
        let reason = try await f.drainUntilPaused()
        #expect(reason.contains("401"))
        let sink = try #require(try f.sink() as? CRMSink)
        #expect(sink.probe()?.contains("401") == true)
        let good = try #require(try fixture(server).sink() as? CRMSink)
        #expect(good.probe() == nil)
        #expect(server.server.requests.allSatisfy { $0.headers["authorization"]?.hasPrefix("Bearer ") == true })

        // The paused sink resumes by itself once the credential is replaced, and delivers.
        let sent = server.server.requests.count
        #expect(try await f.drain(f.engine()).reports.last?.stop == .paused(reason: reason))
        #expect(server.server.requests.count == sent, "a paused sink sends nothing")
        try (Self.token + "\n").write(toFile: f.dir.path + "/token", atomically: true, encoding: .utf8)
        try await f.drain(f.engine())
        #expect(server.contacts.count == 2)
    }

    @Test func leadFieldsLandInTheMappedProperties() async throws {
        let server = try HubSpotContractServer(token: Self.token)
        server.addProperties(["lead_rating", "kiosk_id", "expo"])
        let f = try fixture(
            server,
            keys: "Map.rating=lead_rating\nMap.kiosk=kiosk_id\nMap.job_title=-\nProperty.expo=Expo 2026\nStatus=NEW"
        )
        try f.addLeads(1, notes: "wants a demo")
        try await f.drain(f.engine())
        let c = try #require(server.contacts.first)
        #expect(c["email"] == "visitor0@example.com")
        #expect(c["firstname"] == "Анна 0")
        #expect(c["lead_rating"] == "hot")
        #expect(c["kiosk_id"] == "booth-t")
        #expect(c["expo"] == "Expo 2026")
        #expect(c["hs_lead_status"] == "NEW")
        #expect(c["message"] == "wants a demo")
    }
}
