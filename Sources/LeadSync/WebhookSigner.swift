internal import CCrypto

/// Standard Webhooks signing: `v1,` + base64 HMAC-SHA256(key, `{id}.{timestamp}.{body}`), one entry per active
/// secret (two while a secret is being rotated), space-separated.
///
/// ```swift
/// let signer = try WebhookSigner(secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
/// signer.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: Array(#"{"test": 2432232314}"#.utf8))
/// // "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
/// ```
public struct WebhookSigner: Sendable {
    /// The decoded HMAC keys, in the order their signatures are written.
    let keys: [[UInt8]]

    /// The smallest and largest secret, in bytes, the protocol allows.
    public static let keyLengths = 24...64

    /// Signs with each `whsec_<base64>` secret (the `whsec_` prefix may be left out).
    /// - Throws: ``SyncError`` (`.credential`) for an empty list or a secret that is not base64 of 24–64 bytes;
    ///   the message never repeats the secret; ``SyncError`` (`.transport`) when libcrypto cannot be loaded.
    public init(secrets: [String]) throws(SyncError) {
        guard !secrets.isEmpty else { throw SyncError(.credential, "no signing secret") }
        if let problem = WebhookSigner.unavailable {
            throw SyncError(.transport, "libcrypto is not available (install libssl3): \(problem)")
        }
        var keys: [[UInt8]] = []
        for (i, secret) in secrets.enumerated() {
            let text = secret.hasPrefix("whsec_") ? secret.dropFirst(6) : Substring(secret)
            guard let key = Base64.decode(text), WebhookSigner.keyLengths.contains(key.count) else {
                throw SyncError(
                    .credential,
                    "secret \(i + 1) of \(secrets.count) is not a whsec_ secret (whsec_ and the base64 of 24–64 random bytes)"
                )
            }
            keys.append(key)
        }
        self.keys = keys
    }

    /// The `webhook-signature` header value for one attempt.
    public func signature(id: String, timestamp: Int64, body: [UInt8]) -> String {
        var message: [UInt8] = []
        message.reserveCapacity(id.utf8.count + 24 + body.count)
        message.append(contentsOf: id.utf8)
        message.append(UInt8(ascii: "."))
        message.append(contentsOf: String(timestamp).utf8)
        message.append(UInt8(ascii: "."))
        message.append(contentsOf: body)
        return keys.map { "v1," + Base64.encode(WebhookSigner.hmacSHA256(key: $0, message: message)) }
            .joined(separator: " ")
    }

    /// libcrypto loaded (`dlopen`, first use only), or why not.
    static let unavailable: String? = CCrypto_load().map { String(cString: $0) }

    /// HMAC-SHA256 by libcrypto (loaded: ``init(secrets:)`` checked).
    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in CCrypto_hmac_sha256(k.baseAddress, k.count, m.baseAddress, m.count, &out) }
        }
        precondition(ok == 1, "HMAC-SHA256 failed")
        return out
    }
}
