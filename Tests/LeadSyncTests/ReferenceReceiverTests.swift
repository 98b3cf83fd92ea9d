import Foundation
import LeadCore
import LeadStore
import LeadSync
import LeaddTesting
import Testing

/// The reference receiver keeps every receiver obligation of SYNC-PROTOCOL.md (so the engine tests against it
/// mean something): checked with hand-made requests through the same libcurl transport.
@Suite struct ReferenceReceiverTests {
    let dir = TemporaryDirectory("receiver")
    let receiver: ReferenceReceiver
    let signer: WebhookSigner

    init() throws {
        receiver = try ReferenceReceiver(secrets: [testSecret], databasePath: dir.path + "/r.sqlite3")
        signer = try WebhookSigner(secrets: [testSecret])
    }

    func body(id: String, leadID: String = LeadID.make(), revision: Int = 1) -> [UInt8] {
        Array(
            """
            {"type":"leads.batch","schema_version":1,"batch_id":"\(id)","created_at":"2026-11-22T10:00:00.000Z",
            "source":{"kiosk_id":"k1","event_id":"e","app_version":"t"},
            "leads":[{"lead_id":"\(leadID)","revision":\(revision),"fields":{}}]}
            """.utf8
        )
    }

    func headers(
        id: String,
        body: [UInt8],
        timestamp: Int64 = Timestamp.now().seconds,
        signature: String? = nil
    ) -> [String] {
        [
            "Content-Type: application/json; charset=utf-8", "webhook-id: \(id)", "webhook-timestamp: \(timestamp)",
            "webhook-signature: \(signature ?? signer.signature(id: id, timestamp: timestamp, body: body))",
            "Idempotency-Key: \"\(id)\"",
        ]
    }

    func post(_ headers: [String], _ body: [UInt8]) throws -> HTTPResponse {
        try Self.post(url: receiver.url, headers, body)
    }

    static func post(url: String, _ headers: [String], _ body: [UInt8]) throws -> HTTPResponse {
        let transport = try CurlTransport(
            settings: TransportSettings(url: url, timeoutSeconds: 40, userAgent: "test"),
            cancel: CancellationFlag()
        )
        return try transport.post(headers: headers, body: body).get()
    }

    @Test func bodyOverOneMiBIsRefusedWith413() throws {
        let big = [UInt8](repeating: 0x20, count: (1 << 20) + 1)
        #expect(try post(headers(id: "b1", body: big), big).status == 413)
    }

    @Test func missingWebhookHeadersAreRefusedWith401() throws {
        let b = body(id: "b2")
        let r = try post(["Content-Type: application/json"], b)
        #expect(r.status == 401)
    }

    @Test func timestampMoreThanFiveMinutesOffIsRefusedWithDate() throws {
        let b = body(id: "b3")
        let r = try post(headers(id: "b3", body: b, timestamp: Timestamp.now().seconds - 301), b)
        #expect(r.status == 401)
        #expect(String(decoding: r.body, as: UTF8.self).contains("timestamp_out_of_tolerance"))
        #expect(r.headers["date"].flatMap(HTTPDate.parse) != nil)
        #expect(try post(headers(id: "b3", body: b, timestamp: Timestamp.now().seconds - 250), b).status == 200)
    }

    @Test func wrongSignatureIsRefusedAndAnyMatchingOneAccepted() throws {
        let b = body(id: "b4")
        let ts = Timestamp.now().seconds
        let bad = try WebhookSigner(secrets: [otherSecret]).signature(id: "b4", timestamp: ts, body: b)
        #expect(try post(headers(id: "b4", body: b, timestamp: ts, signature: bad), b).status == 401)
        let good = signer.signature(id: "b4", timestamp: ts, body: b)
        #expect(try post(headers(id: "b4", body: b, timestamp: ts, signature: bad + " " + good), b).status == 200)
    }

    @Test func completedKeyReplaysTheStoredResponse() throws {
        let lead = LeadID.make()
        let b = body(id: "b5", leadID: lead)
        let first = try post(headers(id: "b5", body: b), b)
        let second = try post(headers(id: "b5", body: b), b)
        #expect(first.status == 200)
        #expect(second.status == 200)
        #expect(first.body == second.body)
        #expect(receiver.snapshot.receipts[lead] == 1)
        #expect(receiver.snapshot.requests.map(\.processed) == [true, false])
    }

    @Test func keyStillInFlightGets409() async throws {
        let b = body(id: "b6")
        let h = headers(id: "b6", body: b)
        receiver.misbehave([.stall(seconds: 30)])
        let url = receiver.url
        // Blocking posts, each on a thread of its own: the first stalls for up to 30 s.
        let first = Task { try await onOwnThread { try Self.post(url: url, h, b) } }
        #expect(await receiver.waitUntil(timeout: 30) { $0.inFlight == 1 })
        #expect(try await onOwnThread { try Self.post(url: url, h, b) }.status == 409)
        receiver.releaseStalls()
        #expect(try await first.value.status == 200)
    }

    @Test func reusedKeyWithAnotherBodyGets422() throws {
        let b = body(id: "b7")
        #expect(try post(headers(id: "b7", body: b), b).status == 200)
        let other = body(id: "b7", leadID: LeadID.make())
        #expect(try post(headers(id: "b7", body: other), other).status == 422)
    }

    @Test func higherRevisionReplacesLowerNeverTheReverse() throws {
        let lead = LeadID.make()
        for (i, revision) in [2, 1, 3, 3].enumerated() {
            let id = "r\(i)"
            let b = body(id: id, leadID: lead, revision: revision)
            #expect(try post(headers(id: id, body: b), b).status == 200)
        }
        #expect(receiver.storedLeadsFromDatabase()["k1/\(lead)"] == 3)
        #expect(receiver.receiptStatuses(leadID: lead) == ["created", "stale", "updated", "duplicate"])
    }
}
