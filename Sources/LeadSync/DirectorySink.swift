public import LeadCore
public import LeadStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The `directory` sink, for venues with no internet: each batch becomes one signed JSON file in a folder (a USB
/// stick, a share), written atomically — temporary file, fsync, rename, fsync of the folder — so a stick pulled
/// mid-write never holds half a file under a final name.
///
/// The file `leads-{batch id}.json` is one JSON object: `type` (`leads.batch.file`), `webhook-id`,
/// `webhook-timestamp`, `webhook-signature` (Standard Webhooks, as the webhook sink sends them; `null` when no
/// secret is configured) and `payload`, the batch body as a JSON string — its UTF-8 bytes are exactly the signed
/// body. A retried batch rewrites the same file name, so a batch is never in the folder twice.
///
/// The folder is never created: a missing folder means the stick is not plugged in, and the batch waits (a
/// retryable failure) instead of landing on the kiosk's own disk. So does a read-only or full folder.
public final class DirectorySink: Sink {
    public let name: String
    public let batchSize: Int
    public let directory: String
    public private(set) var fingerprint: String
    let source: BatchSource
    let fieldOrder: [String]
    let secretSource: () throws(SyncError) -> [String]?
    private var signer: WebhookSigner?
    private var credentialError: String?
    public var credentialProblem: String? { credentialError }

    public init(
        name: String,
        directory: String,
        batchSize: Int,
        source: BatchSource,
        fieldOrder: [String],
        secrets: @escaping () throws(SyncError) -> [String]?
    ) {
        self.name = name
        self.directory = directory
        self.batchSize = batchSize
        self.source = source
        self.fieldOrder = fieldOrder
        self.secretSource = secrets
        fingerprint = ""
        reloadCredentials()
    }

    public func reloadCredentials() {
        let digest = "directory\n\(directory)"
        do throws(SyncError) {
            let secrets = try secretSource()
            signer = try secrets.map { s throws(SyncError) in try WebhookSigner(secrets: s) }
            credentialError = nil
            fingerprint = SinkFingerprint.make(digest, secrets: secrets ?? [])
        } catch {
            signer = nil
            credentialError = error.message
            fingerprint = SinkFingerprint.make(digest + "\nunreadable: " + error.message, secrets: [])
        }
    }

    public func makeBody(batchID: String, createdAt: Timestamp, leads: [Lead]) -> BatchContent {
        BatchBody.make(batchID: batchID, createdAt: createdAt, source: source, leads: leads, fieldOrder: fieldOrder)
    }

    /// The file's bytes for one attempt.
    func fileContent(_ batch: FrozenBatch, timestamp: Int64) -> [UInt8] {
        var w = JSONWriter()
        w.bytes.reserveCapacity(batch.body.count + batch.body.count / 8 + 256)
        w.beginObject()
        w.member("type", "leads.batch.file")
        w.member("webhook-id", batch.id)
        w.member("webhook-timestamp", String(timestamp))
        w.member("webhook-signature", signer?.signature(id: batch.id, timestamp: timestamp, body: batch.body))
        w.member("payload", String(decoding: batch.body, as: UTF8.self))
        w.endObject()
        w.bytes.append(0x0A)
        return w.bytes
    }

    public func deliver(_ batch: FrozenBatch, timestamp: Int64) -> SinkAnswer {
        if let credentialError { return .pause(reason: "credential unusable: \(credentialError)") }
        let fileName = "leads-\(batch.id).json"
        switch write(fileContent(batch, timestamp: timestamp), name: fileName) {
        case .some(let reason):
            return .retryLater(afterSeconds: nil, reason: reason)
        case .none:
            return .accepted(
                Dictionary(uniqueKeysWithValues: batch.leadIDs.map { ($0, LeadResult.synced(remoteID: fileName)) })
            )
        }
    }

    /// Writes `bytes` as `directory/name` atomically; returns why it failed, or nil.
    func write(_ bytes: [UInt8], name: String) -> String? {
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { return DirectorySink.explain(errno, directory) }
        defer { close(dfd) }
        let temp = "." + name + ".partial"
        let fd = openat(dfd, temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return DirectorySink.explain(errno, directory) }
        var failure: Int32 = 0
        var offset = 0
        while offset < bytes.count && failure == 0 {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno != EINTR { failure = errno }
            } else {
                offset += n
            }
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        if close(fd) != 0 && failure == 0 { failure = errno }
        if failure == 0 && renameat(dfd, temp, dfd, name) != 0 { failure = errno }
        if failure != 0 {
            unlinkat(dfd, temp, 0)
            return DirectorySink.explain(failure, directory)
        }
        // The rename is durable only once the folder itself is synced.
        if fsync(dfd) != 0 && errno != EINVAL { return DirectorySink.explain(errno, directory) }
        return nil
    }

    static func explain(_ code: Int32, _ directory: String) -> String {
        let text = String(cString: strerror(code))
        switch code {
        case ENOENT, ENOTDIR: return "\(directory): folder missing (stick not plugged in?): \(text)"
        case EROFS, EACCES, EPERM: return "\(directory): folder is read-only: \(text)"
        case ENOSPC, EDQUOT: return "\(directory): folder is full: \(text)"
        default: return "\(directory): \(text)"
        }
    }
}
