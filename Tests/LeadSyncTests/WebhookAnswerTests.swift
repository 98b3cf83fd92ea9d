import LeadCore
import LeadStore
import LeadSync
import Testing

/// The protocol's tables as a pure mapping from an HTTP answer.
struct WebhookAnswerTests {
    let batch = FrozenBatch(id: "b", sink: "hq", createdAt: .now(), body: [], leadIDs: ["l1", "l2"], failures: 0)
    let now = Timestamp(seconds: 1_800_000_000)

    func map(_ status: Int, _ body: String = "", headers: [String: String] = [:]) -> SinkAnswer {
        var rng = SystemRandomNumberGenerator()
        return WebhookAnswer.map(
            HTTPResponse(status: status, headers: headers, body: Array(body.utf8)),
            batch: batch,
            now: now,
            rng: &rng
        )
    }

    @Test func retryAfterSecondsBecomesTheDelay() {
        #expect(map(429, headers: ["retry-after": "90"]) == .retryLater(afterSeconds: 90, reason: "HTTP 429"))
        #expect(map(503, headers: ["retry-after": " 7 "]) == .retryLater(afterSeconds: 7, reason: "HTTP 503"))
    }

    @Test func retryAfterHTTPDateBecomesTheDelayUntilThen() {
        let date = HTTPDate.format(now.adding(seconds: 120))
        #expect(map(503, headers: ["retry-after": date]) == .retryLater(afterSeconds: 120, reason: "HTTP 503"))
    }

    @Test func retryAfterIsClampedToTwentyFourHours() {
        #expect(map(429, headers: ["retry-after": "999999"]) == .retryLater(afterSeconds: 86_400, reason: "HTTP 429"))
    }

    @Test func unreadableRetryAfterFallsBackToBackoff() {
        #expect(map(429, headers: ["retry-after": "soon"]) == .retryLater(afterSeconds: nil, reason: "HTTP 429"))
    }

    @Test func perLeadStatusesMapToOutcomes() {
        let body = """
            {"batch_id":"b","results":[{"lead_id":"l1","status":"duplicate","remote_id":512},
            {"lead_id":"l2","status":"retry","retry_after_s":120},{"lead_id":"l3","status":"stale"}]}
            """
        guard case .accepted(let results) = map(200, body) else {
            Issue.record("expected accepted")
            return
        }
        #expect(results["l1"] == .synced(remoteID: "512"))
        #expect(results["l2"] == .retry(afterSeconds: 120, reason: "receiver asked to retry"))
    }

    @Test func timestampOutOfToleranceCarriesTheOffsetFromDate() {
        let answer = map(
            401,
            #"{"error":{"code":"timestamp_out_of_tolerance"}}"#,
            headers: ["date": HTTPDate.format(now.adding(seconds: -700))]
        )
        #expect(answer == .clockSkew(offsetSeconds: -700, reason: "HTTP 401: timestamp_out_of_tolerance"))
    }

    @Test func otherFourHundredsAreRetriedNotDropped() {
        #expect(map(418) == .retryLater(afterSeconds: nil, reason: "HTTP 418"))
    }
}

struct HTTPDateTests {
    @Test func parsesTheThreeFormsOfRFC9110() {
        let expected = Timestamp(seconds: 784_111_777)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == expected)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == expected)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == expected)
        #expect(HTTPDate.parse("tomorrow") == nil)
    }

    @Test func formatsIMFFixdate() {
        #expect(HTTPDate.format(Timestamp(seconds: 784_111_777)) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.parse(HTTPDate.format(Timestamp(seconds: 1_800_000_123))) == Timestamp(seconds: 1_800_000_123))
    }
}

struct BackoffTests {
    @Test func fullJitterStaysUnderTheGrowingCeilingAndTheCap() {
        let b = Backoff(initialSeconds: 5, maximumSeconds: 3600)
        #expect(b.ceiling(failures: 0) == 5000)
        #expect(b.ceiling(failures: 3) == 40_000)
        #expect(b.ceiling(failures: 20) == 3_600_000)
        #expect(b.ceiling(failures: 500) == 3_600_000)
        var rng = SystemRandomNumberGenerator()
        for failures in 0..<30 {
            let d = b.delay(failures: failures, using: &rng)
            #expect(d >= 0 && d <= b.ceiling(failures: failures))
        }
    }
}

struct HeaderValueTests {
    @Test func retryAfterAsReceivedWithItsLineEndIsRead() {
        #expect(HTTPDate.retryAfter(" 90\r\n", now: .now()) == 90)
    }
}
