import Foundation
import LeadCore
import LeadStore
import LeadSync
import LeaddTesting
import Logging
import Testing

@Suite struct SyncEngineTests {
    @Test func leadUndeliveredAfterTheRetentionPeriodIsDeadAndNotSent() throws {
        let f = try SyncFixture(sync: "RetryInitialSec=1\nRetryMaxSec=2\n[Retention]\nDeadAfterDays=30")
        let old = Lead(
            event: "expo-test",
            kiosk: "booth-t",
            capturedAt: Timestamp.now().adding(seconds: -31 * 86_400),
            channel: .keyboard,
            fields: ["first_name": "Old", "email": "old@example.com"]
        )
        try f.store.capture(old, form: .default)
        let fresh = try f.addLeads(1)
        let report = try f.engine().pass()
        #expect(report.synced == 1)
        #expect(try f.deliveries(old.id).state == "dead")
        #expect(try f.deliveries(fresh[0]).state == "synced")
        #expect(f.receiver.snapshot.receipts[old.id] == nil)
        #expect(try f.sinkStatus().dead == 1)
    }

    @Test func secretsNeverAppearInLogsStatusOrErrors() throws {
        // A wrong secret (401 → paused), then an unreadable one, then a broken one: the text of none leaks.
        let f = try SyncFixture(receiverSecrets: [testSecret], kioskSecret: otherSecret)
        _ = try f.addLeads(2)
        let log = CapturingLogHandler.Mutex()
        let engine = try f.engine(logger: Logger(label: "t", factory: { _ in CapturingLogHandler(sink: log) }))
        _ = engine.pass()
        try "whsec_not*base64 \(otherSecret.prefix(20))\n".write(
            toFile: f.secretFile,
            atomically: true,
            encoding: .utf8
        )
        _ = engine.pass()
        let status = try f.sinkStatus()
        let everything = log.all.joined(separator: "\n") + "\(status)"
        for secret in [testSecret, otherSecret] {
            #expect(!everything.contains(String(secret.dropFirst(6).prefix(12))))
        }
        #expect(!everything.contains("not*base64"))
        #expect(status.state == "paused")
    }

    @Test func credentialIsReadFromTheCredentialsDirectory() throws {
        let dir = TemporaryDirectory("creds")
        defer { dir.remove() }
        try "\(testSecret)\n\(otherSecret)\n".write(toFile: dir.path + "/leadd-hq", atomically: true, encoding: .utf8)
        let secrets = try SecretReader.secrets(credential: "leadd-hq", secretFile: nil, credentialsDirectory: dir.path)
        #expect(secrets == [testSecret, otherSecret])
        #expect {
            _ = try SecretReader.secrets(credential: "missing", secretFile: nil, credentialsDirectory: dir.path)
        } throws: { "\($0)".contains("credential missing") }
        #expect {
            _ = try SecretReader.secrets(credential: "leadd-hq", secretFile: nil, credentialsDirectory: nil)
        } throws: { "\($0)".contains("CREDENTIALS_DIRECTORY is not set") }
    }

    @Test func plainHTTPToARemoteHostIsRefusedUnlessAllowed() throws {
        #expect(throws: SyncError.self) {
            _ = try CurlTransport(
                settings: TransportSettings(url: "http://crm.example.com/leads", userAgent: "t"),
                cancel: .init()
            )
        }
        _ = try CurlTransport(
            settings: TransportSettings(url: "http://crm.example.com/leads", allowInsecure: true, userAgent: "t"),
            cancel: .init()
        )
        _ = try CurlTransport(
            settings: TransportSettings(url: "http://127.0.0.1:9/leads", userAgent: "t"),
            cancel: .init()
        )
    }

    @Test func tlsPeerIsVerifiedAgainstTheSystemStoreOrCAFile() async throws {
        // Key generation, a server start-up and blocking handshakes: on a thread of its own.
        try await onOwnThread { try Self.tlsPeerIsVerified() }
    }

    static func tlsPeerIsVerified() throws {
        // A real TLS server (openssl s_server) with a self-signed certificate for 127.0.0.1.
        let tools = "/usr/bin/openssl"
        guard FileManager.default.isExecutableFile(atPath: tools) else { return }
        let dir = TemporaryDirectory("tls")
        defer { dir.remove() }
        let make = Process()
        make.executableURL = URL(fileURLWithPath: tools)
        make.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir.path + "/key.pem", "-out",
            dir.path + "/cert.pem", "-days", "1", "-subj", "/CN=localhost", "-addext",
            "subjectAltName=IP:127.0.0.1",
        ]
        make.standardError = FileHandle.nullDevice
        try make.run()
        make.waitUntilExit()
        let port = freePort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: tools)
        server.arguments = [
            "s_server", "-accept", "127.0.0.1:\(port)", "-cert", dir.path + "/cert.pem", "-key", dir.path + "/key.pem",
            "-www", "-quiet",
        ]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            // SIGKILL: the test runner's blocked signal mask is inherited, so SIGTERM would never arrive.
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let url = "https://127.0.0.1:\(port)/leads"
        func attempt(caFile: String?) throws -> TransportFailure? {
            let t = try CurlTransport(
                settings: TransportSettings(url: url, caFile: caFile, timeoutSeconds: 2, userAgent: "t"),
                cancel: .init()
            )
            for _ in 0..<50 {
                switch t.post(headers: [], body: Array("{}".utf8)) {
                case .success: return nil
                case .failure(let f) where f.message.hasPrefix("connection failed"):
                    Thread.sleep(forTimeInterval: 0.1)  // s_server still starting
                case .failure(let f): return f
                }
            }
            return nil
        }
        let untrusted = try #require(try attempt(caFile: nil))
        #expect(untrusted.message.hasPrefix("TLS"), "\(untrusted)")
        // Trusted through CAFile=: the handshake passes (this server then says nothing to a POST).
        let trusted = try attempt(caFile: dir.path + "/cert.pem")
        #expect(trusted.map { !$0.message.hasPrefix("TLS") } ?? true, "\(String(describing: trusted))")
    }

    @Test func twoWorkersOnOneSinkNeverHaveTwoBatchesInFlight() async throws {
        let f = try SyncFixture(sinkKeys: "BatchSize=5")
        let ids = try f.addLeads(200)
        f.receiver.misbehaveAlways(.slow(seconds: 0.002))
        let config = f.config
        let environment = f.environment
        // Two workers with their own connections and lease names, as leadd and leadctl sync would be.
        // Each on a thread of its own: a pass blocks in libcurl and SQLite.
        let workers = (0..<2).map { _ in
            Task {
                try await onOwnThread { () throws -> Int in
                    let engine = try SyncSetup.makeEngine(
                        config.sinks[0],
                        config: config,
                        environment: environment,
                        logger: quietLogger,
                        cancel: .init()
                    )
                    var synced = 0
                    for _ in 0..<500 {
                        let report = engine.pass()
                        synced += report.synced
                        if case .idle = report.stop { break }
                        usleep(5_000)
                    }
                    return synced
                }
            }
        }
        var total = 0
        for w in workers { total += try await w.value }
        #expect(total == 200)
        let snap = f.receiver.snapshot
        for id in ids { #expect(snap.receipts[id] == 1) }
        let batchIDs = snap.requests.compactMap(\.webhookID)
        #expect(batchIDs.count == Set(batchIDs).count)
        let spans = snap.requests.map { ($0.startedAt, $0.endedAt) }.sorted { $0.0 < $1.0 }
        for (a, b) in zip(spans, spans.dropFirst()) { #expect(a.1 <= b.0 + 0.001) }
    }

    @Test func crmSinkWhoseURLIsNoCRMPausesWithTheReason() throws {
        // The reference receiver answers 404 for HubSpot's API path: misconfigured, so the sink pauses.
        let f = try SyncFixture()
        f.config.sinks[0].type = .hubspot
        _ = try f.addLeads(2)
        let report = try f.engine().pass()
        #expect(report.stop == .paused(reason: "misconfigured: HubSpot answered HTTP 404 for the API path"))
        #expect(try f.sinkStatus().state == "paused")
        #expect(try f.sinkStatus().pending + f.sinkStatus().sending == 2)
    }

    @Test func keepAliveReusesOneConnectionAcrossBatches() throws {
        let f = try SyncFixture(sinkKeys: "BatchSize=10")
        _ = try f.addLeads(50)
        #expect(try f.engine().pass().synced == 50)
        #expect(f.receiver.snapshot.requests.count == 5)
        #expect(f.receiver.snapshot.connectionsAccepted == 1)
    }

    @Test func editedLeadInAnOpenBatchIsSentAgainAtItsNewRevision() throws {
        let f = try SyncFixture()
        let ids = try f.addLeads(2)
        f.receiver.stop()
        let engine = try f.engine()
        _ = engine.pass()
        // Edited while its batch waits: the old batch still goes out as it was frozen, then revision 2 follows.
        _ = try f.store.edit(id: ids[0], rating: .some(.warm), form: .default)
        try f.receiver.start()
        let later = try f.engine(clock: { Timestamp.now().adding(seconds: 10) })
        _ = later.pass()
        #expect(f.receiver.storedLeadsFromDatabase()["booth-t/\(ids[0])"] == 2)
        #expect(try f.deliveries(ids[0]).state == "synced")
        let requests = f.receiver.snapshot.requests.filter { $0.status == 200 }
        #expect(requests.count == 2)
    }
}

/// A TCP port nothing listens on right now (bound and released).
func freePort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return UInt16(bigEndian: addr.sin_port)
}
