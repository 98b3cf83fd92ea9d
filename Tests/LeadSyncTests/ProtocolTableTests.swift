import Foundation
import LeadCore
import LeadStore
import LeadSync
import LeaddTesting
import Logging
import Testing

/// Every row of SYNC-PROTOCOL.md's per-lead and batch-level tables, driven through the real engine, libcurl and
/// the reference receiver on loopback.
@Suite struct PerLeadTableTests {
    @Test func createdLeadsAreMarkedSyncedWithTheRemoteID() throws {
        let f = try SyncFixture()
        let ids = try f.addLeads(3)
        let report = try f.engine().pass()
        #expect(report.synced == 3)
        #expect(report.stop == .idle(nextDue: nil))
        for id in ids {
            let d = try f.deliveries(id)
            #expect(d.state == "synced")
            #expect(d.remoteID != nil)
        }
        #expect(f.receiver.snapshot.receipts.count == 3)
        let request = try #require(f.receiver.snapshot.requests.first)
        #expect(request.status == 200)
        #expect(request.contentType == "application/json; charset=utf-8")
        #expect(request.userAgent == "leadd/0.1.0-test (booth-t)")
        #expect(request.idempotencyKey == "\"\(request.webhookID ?? "")\"")
        let body = try #require(try? JSONValue.parse(request.body))
        #expect(body["type"]?.stringValue == "leads.batch")
        #expect(body["schema_version"]?.intValue == 1)
        #expect(body["batch_id"]?.stringValue == request.webhookID)
        #expect(body["source"]?["kiosk_id"]?.stringValue == "booth-t")
        #expect(body["source"]?["event_id"]?.stringValue == "expo-test")
        #expect(body["leads"]?.arrayValue?.count == 3)
    }

    @Test func updatedDuplicateAndStaleAnswersAllCountAsSynced() throws {
        let f = try SyncFixture()
        let id = try #require(try f.addLeads(1).first)
        _ = try f.engine().pass()
        // A staff edit queues revision 2: the receiver answers "updated".
        _ = try f.store.edit(id: id, rating: .some(.hot), form: .default)
        #expect(try f.engine().pass().synced == 1)
        #expect(f.receiver.storedLeadsFromDatabase()["booth-t/\(id)"] == 2)
        // A second kiosk database holding revision 2 and then revision 1 of the same lead: "duplicate", "stale".
        let other = try SyncFixture()
        let lead = try #require(try f.store.lead(id: id))
        var records: [(Lead, [DeliveryInfo])] = [(lead, [])]
        _ = try other.store.importLeads(records, form: .default)
        other.config.sinks[0].url = f.config.sinks[0].url
        #expect(try other.engine().pass().synced == 1)
        var old = lead
        old.revision = 1
        let third = try SyncFixture()
        records = [(old, [])]
        _ = try third.store.importLeads(records, form: .default)
        third.config.sinks[0].url = f.config.sinks[0].url
        #expect(try third.engine().pass().synced == 1)
        let statuses = f.receiver.receiptStatuses(leadID: id)
        #expect(statuses == ["created", "updated", "duplicate", "stale"])
        #expect(f.receiver.storedLeadsFromDatabase()["booth-t/\(id)"] == 2)
        #expect(try third.deliveries(id).state == "synced")
    }

    @Test func rejectedLeadIsNotRetriedAndDoesNotBlockTheOthers() throws {
        let f = try SyncFixture()
        f.receiver.perLead = { _, lead in
            lead["fields"]?["email"]?.stringValue?.hasPrefix("bad") == true
                ? .rejected(code: "invalid_email", field: "email", message: "no such domain") : nil
        }
        let bad = try f.addLeads(1, emailPrefix: "bad")
        let good = try f.addLeads(2)
        let report = try f.engine().pass()
        #expect(report.rejected == 1)
        #expect(report.synced == 2)
        let d = try f.deliveries(bad[0])
        #expect(d.state == "rejected")
        #expect(d.lastError == "invalid_email (email): no such domain")
        for id in good { #expect(try f.deliveries(id).state == "synced") }
        // Never retried automatically: the next pass sends nothing.
        let before = f.receiver.snapshot.requests.count
        #expect(try f.engine().pass().attempts == 0)
        #expect(f.receiver.snapshot.requests.count == before)
        #expect(try f.sinkStatus().rejected == 1)
        // `leadctl retry` queues it again.
        f.receiver.perLead = nil
        #expect(try f.store.retry(leadIDs: bad) == 1)
        #expect(try f.engine().pass().synced == 1)
        #expect(try f.deliveries(bad[0]).state == "synced")
    }

    @Test func retryAnswerQueuesTheLeadAgainNotBeforeRetryAfter() throws {
        let f = try SyncFixture()
        f.receiver.perLead = { id, _ in .retry(seconds: 120) }
        let ids = try f.addLeads(2)
        let start = Timestamp.now()
        let report = try f.engine().pass()
        #expect(report.retried == 2)
        guard case .idle(let next?) = report.stop else {
            Issue.record("expected an idle stop with a next due time, got \(report.stop)")
            return
        }
        #expect(next.milliseconds >= start.adding(seconds: 119).milliseconds)
        #expect(next.milliseconds <= Timestamp.now().adding(seconds: 121).milliseconds)
        for id in ids { #expect(try f.deliveries(id).state == "pending") }
        // Not before: an immediate pass sends nothing.
        #expect(try f.engine().pass().attempts == 0)
        // When the time comes (a clock two minutes ahead), they go again.
        f.receiver.perLead = nil
        let later = try f.engine(clock: { Timestamp.now().adding(seconds: 121) })
        #expect(later.pass().synced == 2)
    }

    @Test func leadMissingFromResultsIsRetriedAsAReceiverBug() throws {
        let f = try SyncFixture()
        let ids = try f.addLeads(3)
        let answered = ids[0]
        f.receiver.misbehave([.omitResults(keep: { $0 == answered })])
        let log = CapturingLogHandler.Mutex()
        let report = try f.engine(logger: .init(label: "t", factory: { _ in CapturingLogHandler(sink: log) })).pass()
        #expect(report.synced == 1)
        #expect(report.retried == 2)
        #expect(try f.deliveries(ids[1]).state == "pending")
        #expect(try f.deliveries(ids[1]).lastError?.contains("receiver bug") == true)
        #expect(log.all.contains { $0.hasPrefix("error") && $0.contains("Receiver bug") })
    }

    @Test func emptyTwoHundredAcceptsEveryLead() throws {
        let f = try SyncFixture()
        let ids = try f.addLeads(2)
        f.receiver.misbehave([.status(200, body: "")])
        #expect(try f.engine().pass().synced == 2)
        for id in ids { #expect(try f.deliveries(id).state == "synced") }
    }
}

@Suite struct BatchTableTests {
    @Test(arguments: [400, 415, 422])
    func malformedBatchMarksItsLeadsRejectedWithTheReason(status: Int) throws {
        let f = try SyncFixture()
        let ids = try f.addLeads(2)
        f.receiver.misbehave([.status(status, body: #"{"error":{"code":"bad_shape","message":"leads[0] lacks x"}}"#)])
        let report = try f.engine().pass()
        #expect(report.rejected == 2)
        let d = try f.deliveries(ids[0])
        #expect(d.state == "rejected")
        #expect(d.lastError == "batch rejected by the receiver: HTTP \(status): bad_shape: leads[0] lacks x")
        #expect(try f.store.openBatches(sink: "hq").isEmpty)
    }

    @Test(arguments: [401, 403])
    func authenticationFailurePausesTheSinkUntilLeadctlSync(status: Int) throws {
        let f = try SyncFixture()
        let ids = try f.addLeads(2)
        f.receiver.misbehaveAlways(.status(status))
        let report = try f.engine().pass()
        #expect(report.stop == .paused(reason: "authentication failed (HTTP \(status))"))
        let s = try f.sinkStatus()
        #expect(s.state == "paused")
        #expect(s.stateReason == "authentication failed (HTTP \(status))")
        // No retry loop: passes while paused send nothing.
        let count = f.receiver.snapshot.requests.count
        #expect(try f.engine().pass().attempts == 0)
        #expect(f.receiver.snapshot.requests.count == count)
        // leadctl sync resumes it; the same batch (same id and bytes) goes out.
        f.receiver.misbehaveAlways(nil)
        let reports = try ManualSync.run(
            sinks: f.config.sinks,
            config: f.config,
            environment: f.environment,
            store: f.store,
            wait: false
        )
        #expect(reports.first?.synced == 2)
        for id in ids { #expect(try f.deliveries(id).state == "synced") }
        #expect(try f.sinkStatus().state == "ok")
        let requests = f.receiver.snapshot.requests
        #expect(Set(requests.map(\.webhookID)).count == 1)
        #expect(Set(requests.map(\.bodySHA256)).count == 1)
    }

    @Test func pausedSinkResumesWhenItsCredentialChanges() throws {
        // The kiosk signs with a secret the receiver does not know: 401.
        let f = try SyncFixture(receiverSecrets: [testSecret], kioskSecret: otherSecret)
        let ids = try f.addLeads(1)
        let engine = try f.engine()
        #expect(engine.pass().stop == .paused(reason: "authentication failed (HTTP 401)"))
        #expect(engine.pass().attempts == 0)
        // The operator installs the right secret (during rotation: both).
        try "\(otherSecret) \(testSecret)\n".write(toFile: f.secretFile, atomically: true, encoding: .utf8)
        let report = engine.pass()
        #expect(report.synced == 1)
        #expect(try f.deliveries(ids[0]).state == "synced")
        let signature = try #require(f.receiver.snapshot.requests.last?.webhookID)
        #expect(!signature.isEmpty)
    }

    @Test func clockOffsetFromDateIsUsedToRetryOnceAtOnce() throws {
        let f = try SyncFixture()
        f.receiver.clockOffsetSeconds = 3600
        let ids = try f.addLeads(1)
        let engine = try f.engine()
        let report = engine.pass()
        #expect(report.synced == 1)
        #expect(abs(engine.clockOffsetSeconds - 3600) <= 2)
        let requests = f.receiver.snapshot.requests
        #expect(requests.map(\.status) == [401, 200])
        #expect(requests[0].webhookID == requests[1].webhookID)
        #expect(try f.deliveries(ids[0]).state == "synced")
    }

    @Test func clockStillOffAfterOneRetryBacksOff() throws {
        let f = try SyncFixture()
        f.receiver.misbehave([
            .status(
                401,
                body: #"{"error":{"code":"timestamp_out_of_tolerance"}}"#,
                headers: ["Date": httpDate(Date().timeIntervalSince1970 + 900)]
            ),
            .status(
                401,
                body: #"{"error":{"code":"timestamp_out_of_tolerance"}}"#,
                headers: ["Date": httpDate(Date().timeIntervalSince1970 + 900)]
            ),
        ])
        _ = try f.addLeads(1)
        let report = try f.engine().pass()
        #expect(f.receiver.snapshot.requests.count == 2)
        guard case .waiting(_, let reason) = report.stop else {
            Issue.record("expected backoff, got \(report.stop)")
            return
        }
        #expect(reason.contains("timestamp_out_of_tolerance"))
    }

    @Test(arguments: [404, 410])
    func missingEndpointPausesTheSinkAsMisconfigured(status: Int) throws {
        let f = try SyncFixture()
        _ = try f.addLeads(1)
        f.receiver.misbehave([.status(status)])
        let report = try f.engine().pass()
        #expect(report.stop == .paused(reason: "misconfigured: the receiver answered HTTP \(status) for the URL"))
        #expect(try f.sinkStatus().state == "paused")
    }

    @Test func wrongURLPathPausesTheSink() throws {
        let f = try SyncFixture(urlPath: "/wrong")
        _ = try f.addLeads(1)
        #expect(
            try f.engine().pass().stop == .paused(reason: "misconfigured: the receiver answered HTTP 404 for the URL")
        )
    }

    @Test func conflictRetriesTheSameBatchAfterFiveToThirtySeconds() throws {
        let f = try SyncFixture()
        _ = try f.addLeads(2)
        f.receiver.misbehave([.status(409)])
        let start = Timestamp.now()
        let report = try f.engine().pass()
        guard case .waiting(let until, _) = report.stop else {
            Issue.record("expected a wait, got \(report.stop)")
            return
        }
        #expect(until.milliseconds >= start.milliseconds + 5000)
        #expect(until.milliseconds <= Timestamp.now().milliseconds + 30_000)
        let open = try f.store.openBatches(sink: "hq")
        #expect(open.count == 1)
        #expect(open.first?.id == f.receiver.snapshot.requests.first?.webhookID)
        // When it comes due, the same id and bytes go out.
        let later = try f.engine(clock: { Timestamp.now().adding(seconds: 31) })
        #expect(later.pass().synced == 2)
        let requests = f.receiver.snapshot.requests
        #expect(requests.count == 2)
        #expect(requests[0].webhookID == requests[1].webhookID)
        #expect(requests[0].bodySHA256 == requests[1].bodySHA256)
    }

    @Test func tooLargeSplitsTheBatchInHalvesAndSendsBoth() throws {
        let f = try SyncFixture()
        let ids = try f.addLeads(5)
        f.receiver.misbehave([.status(413)])
        let report = try f.engine().pass()
        #expect(report.synced == 5)
        let requests = f.receiver.snapshot.requests
        #expect(requests.map(\.status) == [413, 200, 200])
        #expect(requests[1].leadIDs == Array(ids.prefix(3)))
        #expect(requests[2].leadIDs == Array(ids.suffix(2)))
        #expect(Set(requests.map(\.webhookID)).count == 3)
    }

    @Test func singleLeadTooLargeIsRejected() throws {
        let f = try SyncFixture()
        let ids = try f.addLeads(1)
        f.receiver.misbehave([.status(413)])
        #expect(try f.engine().pass().rejected == 1)
        #expect(try f.deliveries(ids[0]).state == "rejected")
    }

    @Test func bodyOverOneMiBIsRefusedByTheReceiverAndTheBatchIsSplit() throws {
        // Big leads (notes near 100 KB each): the kiosk's own cap keeps each batch ≤ 1 MiB.
        let f = try SyncFixture()
        for i in 0..<12 {
            let lead = Lead(
                event: "expo-test",
                kiosk: "booth-t",
                channel: .staff,
                fields: ["first_name": "N\(i)", "email": "n\(i)@example.com"],
                notes: String(repeating: "x", count: 100_000)
            )
            try f.store.capture(lead, form: .default)
        }
        let report = try f.engine().pass()
        #expect(report.synced == 12)
        let requests = f.receiver.snapshot.requests
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { $0.body.count <= 1 << 20 })
    }

    @Test(arguments: [429, 503])
    func retryAfterSecondsIsHonoured(status: Int) throws {
        let f = try SyncFixture()
        _ = try f.addLeads(1)
        f.receiver.misbehave([.retryAfterSeconds(status, seconds: 90)])
        let start = Timestamp.now()
        let report = try f.engine().pass()
        guard case .waiting(let until, _) = report.stop else {
            Issue.record("expected a wait, got \(report.stop)")
            return
        }
        #expect(until.milliseconds >= start.milliseconds + 90_000)
        #expect(until.milliseconds <= Timestamp.now().milliseconds + 90_000)
        #expect(try f.sinkStatus().state == "backoff")
        #expect(try f.sinkStatus().backoffUntil == until)
    }

    @Test(arguments: [429, 503])
    func retryAfterHTTPDateIsHonoured(status: Int) throws {
        let f = try SyncFixture()
        _ = try f.addLeads(1)
        f.receiver.misbehave([.retryAfterDate(status, secondsAhead: 600)])
        let start = Timestamp.now()
        guard case .waiting(let until, _) = try f.engine().pass().stop else {
            Issue.record("expected a wait")
            return
        }
        #expect(until.milliseconds >= start.milliseconds + 595_000)
        #expect(until.milliseconds <= start.milliseconds + 602_000)
    }

    @Test func retryAfterIsClampedToADay() throws {
        let f = try SyncFixture()
        _ = try f.addLeads(1)
        f.receiver.misbehave([.retryAfterSeconds(429, seconds: 10 * 86_400)])
        let start = Timestamp.now()
        guard case .waiting(let until, _) = try f.engine().pass().stop else {
            Issue.record("expected a wait")
            return
        }
        #expect(until.milliseconds <= start.milliseconds + 86_400_000 + 2000)
        #expect(until.milliseconds >= start.milliseconds + 86_400_000 - 2000)
    }

    @Test(arguments: [429, 503])
    func withoutRetryAfterTheSinkBacksOff(status: Int) throws {
        let f = try SyncFixture()
        _ = try f.addLeads(1)
        f.receiver.misbehave([.status(status)])
        let start = Timestamp.now()
        guard case .waiting(let until, _) = try f.engine().pass().stop else {
            Issue.record("expected a wait")
            return
        }
        // RetryInitialSec=1: the first wait is random in 0…1 s.
        #expect(until.milliseconds <= Timestamp.now().milliseconds + 1000)
        #expect(until >= start)
    }

    @Test(arguments: [500, 502, 504, 301, 302, 307])
    func serverErrorsAndRedirectsRetryTheSameBatchWithBackoff(status: Int) async throws {
        let f = try SyncFixture()
        let ids = try f.addLeads(3)
        f.receiver.misbehave([.status(status, headers: ["Location": "http://127.0.0.1:1/elsewhere"]), .status(status)])
        let engine = try f.engine()
        var report = engine.pass()
        guard case .waiting = report.stop else {
            Issue.record("expected backoff, got \(report.stop)")
            return
        }
        #expect(try f.sinkStatus().state == "backoff")
        #expect(try f.sinkStatus().lastError?.contains("HTTP \(status)") == true)
        // Retries until the receiver recovers; every attempt carries the same id and bytes.
        let deadline = Date().addingTimeInterval(20)
        while report.synced == 0 && Date() < deadline {
            if case .waiting(let until, _) = report.stop {
                try await Task.sleep(for: .milliseconds(max(0, until.milliseconds - Timestamp.now().milliseconds)))
            }
            report = engine.pass()
        }
        #expect(report.synced == 3)
        let requests = f.receiver.snapshot.requests
        #expect(requests.count == 3)
        #expect(Set(requests.map(\.webhookID)).count == 1)
        #expect(Set(requests.map(\.bodySHA256)).count == 1)
        #expect(Set(requests.map(\.timestamp)).count >= 1)
        for id in ids { #expect(try f.deliveries(id).state == "synced") }
        #expect(try f.sinkStatus().state == "ok")
    }

    @Test func connectionRefusedRetriesTheSameBatch() throws {
        let f = try SyncFixture()
        _ = try f.addLeads(1)
        f.receiver.stop()
        let report = try f.engine().pass()
        guard case .waiting(_, let reason) = report.stop else {
            Issue.record("expected backoff, got \(report.stop)")
            return
        }
        #expect(reason.hasPrefix("connection failed"))
        let open = try f.store.openBatches(sink: "hq")
        #expect(open.count == 1)
        #expect(open[0].failures == 1)
    }

    @Test func timeoutAfterTheReceiverStoredIsRetriedByteIdenticalWithoutDuplicates() async throws {
        let f = try SyncFixture(sinkKeys: "TimeoutSec=1")
        let ids = try f.addLeads(4)
        f.receiver.misbehave([.slow(seconds: 2.5)])
        let engine = try f.engine()
        var report = engine.pass()
        guard case .waiting(_, let reason) = report.stop else {
            Issue.record("expected backoff after the timeout, got \(report.stop)")
            return
        }
        #expect(reason.hasPrefix("timeout"))
        // The receiver stored the batch before the kiosk gave up.
        #expect(await f.receiver.waitUntil(timeout: 30) { $0.requests.count == 1 })
        let deadline = Date().addingTimeInterval(20)
        while report.synced == 0 && Date() < deadline {
            if case .waiting(let until, _) = report.stop {
                try await Task.sleep(for: .milliseconds(max(0, until.milliseconds - Timestamp.now().milliseconds)))
            }
            report = engine.pass()
        }
        #expect(report.synced == 4)
        let requests = f.receiver.snapshot.requests
        #expect(requests.count == 2)
        #expect(requests[0].webhookID == requests[1].webhookID)
        #expect(requests[0].body == requests[1].body)
        #expect(requests[1].processed == false)  // replayed from the idempotency record
        for id in ids { #expect(f.receiver.snapshot.receipts[id] == 1) }
    }

    @Test func droppedConnectionAfterStoringIsRetriedWithoutDuplicates() async throws {
        let f = try SyncFixture()
        let ids = try f.addLeads(3)
        f.receiver.misbehave([.dropAfterStore])
        let engine = try f.engine()
        var report = engine.pass()
        let deadline = Date().addingTimeInterval(20)
        while report.synced == 0 && Date() < deadline {
            if case .waiting(let until, _) = report.stop {
                try await Task.sleep(for: .milliseconds(max(0, until.milliseconds - Timestamp.now().milliseconds)))
            }
            report = engine.pass()
        }
        #expect(report.synced == 3)
        let requests = f.receiver.snapshot.requests
        #expect(requests.count == 2)
        #expect(requests[0].bodySHA256 == requests[1].bodySHA256)
        for id in ids { #expect(f.receiver.snapshot.receipts[id] == 1) }
    }
}
