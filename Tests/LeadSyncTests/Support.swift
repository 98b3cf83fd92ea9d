import Foundation
import LeadCore
import LeadStore
import LeadSync
import LeaddTesting
import Logging
import Testing

/// The secret the tests sign with (the protocol's test vector secret) and a second one for rotation.
let testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
let otherSecret = "whsec_" + Data((0..<32).map { UInt8($0 * 7 % 256) }).base64EncodedString()

/// A kiosk database, a reference receiver and the config joining them, in a fresh temporary directory.
final class SyncFixture {
    let dir = TemporaryDirectory("leadsync")
    let receiver: ReferenceReceiver
    let store: LeadStore
    var config: LeaddConfig
    var secretFile: String { dir.path + "/secret" }
    var databasePath: String { dir.path + "/leads.sqlite3" }
    var environment: SyncEnvironment {
        SyncEnvironment(databasePath: databasePath, credentialsDirectory: nil, appVersion: "0.1.0-test")
    }
    var sinkName: String { config.sinks[0].name }

    /// - Parameters:
    ///   - sinkKeys: extra `[Sink]` keys (e.g. `TimeoutSec=1`).
    ///   - receiverSecrets: what the receiver accepts (default: the test secret).
    init(
        sinkKeys: String = "",
        sync: String = "RetryInitialSec=1\nRetryMaxSec=2",
        receiverSecrets: [String] = [testSecret],
        kioskSecret: String = testSecret,
        urlPath: String? = nil
    ) throws {
        receiver = try ReferenceReceiver(secrets: receiverSecrets, databasePath: dir.path + "/receiver.sqlite3")
        try (kioskSecret + "\n").write(toFile: dir.path + "/secret", atomically: true, encoding: .utf8)
        let url = "http://127.0.0.1:\(receiver.port)\(urlPath ?? receiver.path)"
        config = try LeaddConfig.parse(
            """
            [Kiosk]
            ID=booth-t
            Event=expo-test
            DataDirectory=\(dir.path)
            [Sink]
            Name=hq
            Type=webhook
            URL=\(url)
            SecretFile=\(dir.path)/secret
            \(sinkKeys)
            [Sync]
            \(sync)
            """,
            file: "test.conf",
            hostname: "test"
        )
        store = try LeadStore(path: dir.path + "/leads.sqlite3")
        try store.ensureSinks(config.sinks.map(\.name))
    }

    deinit {
        receiver.stop()
        dir.remove()
    }

    /// Captures `n` leads (distinct emails) and returns their ids, oldest first.
    @discardableResult
    func addLeads(_ n: Int, emailPrefix: String = "visitor") throws -> [String] {
        try (0..<n).map { i in
            let lead = Lead(
                event: "expo-test",
                kiosk: "booth-t",
                channel: .keyboard,
                fields: [
                    "first_name": "Анна \(i)", "email": "\(emailPrefix)\(i)-\(UUID().uuidString.prefix(6))@example.com",
                ],
                consent: Consent(text: "I agree", language: "en")
            )
            return try store.capture(lead, form: .default).id
        }
    }

    /// An engine for the first sink, on the test's own store connection.
    func engine(clock: @escaping () -> Timestamp = { .now() }, logger: Logger = quietLogger) throws -> SyncEngine {
        let sink = try SyncSetup.makeSink(
            config.sinks[0],
            kiosk: config,
            environment: environment,
            cancel: CancellationFlag()
        )
        return SyncEngine(
            sink: sink,
            store: store,
            settings: SyncSettings(config: config),
            logger: logger,
            leaseSeconds: 60,
            clock: clock
        )
    }

    func deliveries(_ id: String) throws -> DeliveryInfo {
        try #require(try store.deliveries(leadID: id).first)
    }

    func sinkStatus() throws -> SinkStatus {
        try #require(try store.status().sinks.first { $0.name == sinkName })
    }
}

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A log handler that keeps what was logged, for checking that secrets never appear.
final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    static let lines = Mutex()
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    let sink: Mutex
    init(sink: Mutex) { self.sink = sink }
    func log(event: LogEvent) {
        sink.append("\(event.level) \(event.message) \(event.metadata ?? [:])")
    }

    final class Mutex: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [String] = []
        func append(_ s: String) { lock.withLock { items.append(s) } }
        var all: [String] { lock.withLock { items } }
    }
}
