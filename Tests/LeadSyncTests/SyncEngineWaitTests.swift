import Foundation
import LeadCore
import LeadStore
import LeaddTesting
import Testing

@testable import LeadSync

/// A sink that answers every attempt with `answer(leadIDs)`: the engine's handling of a wait no real sink sends
/// any more (each clamps its own), checked on a real store.
final class ScriptedAnswerSink: Sink {
    let name = "crm"
    let batchSize = 10
    let fingerprint = "scripted"
    let answer: @Sendable ([String]) -> SinkAnswer

    init(answer: @escaping @Sendable ([String]) -> SinkAnswer) { self.answer = answer }

    func makeBody(batchID: String, createdAt: Timestamp, leads: [Lead]) -> BatchContent {
        BatchContent(body: Array("[]".utf8), count: leads.count)
    }

    func deliver(_ batch: FrozenBatch, timestamp: Int64) -> SinkAnswer { answer(batch.leadIDs) }
}

@Suite(.serialized) struct SyncEngineWaitTests {
    /// One pass of an engine over `f`'s store with `sink`, on a thread of its own (it blocks on SQLite).
    func pass(_ f: CRMFixture, _ sink: ScriptedAnswerSink) async -> PassReport {
        let engine = SyncEngine(
            sink: sink,
            store: f.store,
            settings: SyncSettings(config: f.config),
            logger: quietLogger
        )
        let box = UncheckedBox(engine)
        return await onOwnThread { box.value.pass() }
    }

    @Test func aHugeRetryAfterIsClampedNotOverflowed() async throws {
        let f = try CRMFixture(type: "bitrix24", secret: "http://127.0.0.1:9/rest/1/x/", sinkKeys: "")
        try f.addLeads(2)
        let sink = ScriptedAnswerSink { _ in .retryLater(afterSeconds: Int64.max, reason: "wait forever") }
        let report = await pass(f, sink)
        guard case .waiting(let until, _) = report.stop else {
            Issue.record("not waiting: \(report.stop)")
            return
        }
        let wait = until.seconds - Timestamp.now().seconds
        #expect(wait > 7 * 86_400 - 60 && wait <= 7 * 86_400)
    }

    @Test func aHugePerLeadRetryIsClampedNotOverflowed() async throws {
        let f = try CRMFixture(type: "bitrix24", secret: "http://127.0.0.1:9/rest/1/x/", sinkKeys: "")
        let ids = try f.addLeads(2)
        let sink = ScriptedAnswerSink { leads in
            .accepted(
                Dictionary(uniqueKeysWithValues: leads.map { ($0, .retry(afterSeconds: Int64.max, reason: "later")) })
            )
        }
        let report = await pass(f, sink)
        #expect(report.retried == 2)
        guard case .idle(let next?) = report.stop else {
            Issue.record("no next due time: \(report.stop)")
            return
        }
        let wait = next.seconds - Timestamp.now().seconds
        #expect(wait > 7 * 86_400 - 60 && wait <= 7 * 86_400)
        #expect(try f.leads(in: "synced", ids).isEmpty)
    }

    /// Bitrix24's 429 waits until `operating_reset_at`: a reset not ahead of our clock (the kiosk's clock runs
    /// fast) leaves the wait to the growing backoff; one far ahead is cut to a day.
    @Test func bitrixResetWaitIsBackoffWhenPastAndADayAtMost() throws {
        let connector = Bitrix24Connector(options: [:])
        let now = Timestamp.now()
        func answer(resetIn seconds: Int64) -> SinkAnswer {
            let body = #"{"error":"OPERATION_TIME_LIMIT","time":{"operating_reset_at":\#(now.seconds + seconds)}}"#
            let r = HTTPResponse(status: 429, body: Array(body.utf8))
            return connector.answer(r, json: try? JSONValue.parse(r.body), now: now)
        }
        guard case .retryLater(let past, _) = answer(resetIn: -300) else {
            Issue.record("not retried")
            return
        }
        #expect(past == nil)
        guard case .retryLater(let far, _) = answer(resetIn: 40 * 86_400) else {
            Issue.record("not retried")
            return
        }
        #expect(far == 86_400)
        guard case .retryLater(let soon, _) = answer(resetIn: 30) else {
            Issue.record("not retried")
            return
        }
        #expect(soon == 30)
    }
}
