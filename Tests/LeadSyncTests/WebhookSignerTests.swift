import LeadSync
import Testing

struct WebhookSignerTests {
    /// The Standard Webhooks reference vector quoted by SYNC-PROTOCOL.md.
    @Test func signsTheProtocolTestVector() throws {
        let signer = try WebhookSigner(secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        let signature = signer.signature(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp: 1_614_265_330,
            body: Array(#"{"test": 2432232314}"#.utf8)
        )
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }
}

struct WebhookSignerRotationTests {
    @Test func signsWithEverySecretDuringRotation() throws {
        let one = try WebhookSigner(secrets: [testSecret])
        let both = try WebhookSigner(secrets: [testSecret, otherSecret])
        let body = Array("{}".utf8)
        let a = one.signature(id: "b1", timestamp: 5, body: body)
        let entries = both.signature(id: "b1", timestamp: 5, body: body).split(separator: " ")
        #expect(entries.count == 2)
        #expect(entries[0] == a)
        #expect(entries.allSatisfy { $0.hasPrefix("v1,") })
    }

    @Test func refusesASecretThatIsNotBase64OfTwentyFourToSixtyFourBytesWithoutEchoingIt() {
        for bad in ["whsec_c2hvcnQ=", "whsec_***notbase64***", "whsec_" + String(repeating: "A", count: 100)] {
            #expect {
                _ = try WebhookSigner(secrets: [bad])
            } throws: { error in
                let message = "\(error)"
                return message.contains("not a whsec_ secret") && !message.contains(bad.dropFirst(6))
            }
        }
    }
}
