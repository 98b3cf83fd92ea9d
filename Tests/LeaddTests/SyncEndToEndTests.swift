import Foundation
import LeadCore
import LeadStore
import LeaddTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A kiosk directory for the built `leadd` and `leadctl`: a config with `TTY=none` and one webhook sink pointing
/// at an in-process reference receiver, the secret in a `SecretFile=`.
final class SyncKiosk: @unchecked Sendable {
    let dir = TemporaryDirectory("leadd-sync")
    let receiver: ReferenceReceiver
    var configPath: String { dir.path + "/leadd.conf" }
    var databasePath: String { dir.path + "/data/leads.sqlite3" }
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    init(batchSize: Int = 100, timeoutSec: Int = 5) throws {
        receiver = try ReferenceReceiver(secrets: [SyncKiosk.secret], databasePath: dir.path + "/receiver.sqlite3")
        try (SyncKiosk.secret + "\n").write(toFile: dir.path + "/secret", atomically: true, encoding: .utf8)
        try """
        [Kiosk]
        ID=booth-sync
        Event=expo-sync
        DataDirectory=\(dir.path)/data
        [Terminal]
        TTY=none
        [Sink]
        Name=hq
        Type=webhook
        URL=\(receiver.url)
        SecretFile=\(dir.path)/secret
        BatchSize=\(batchSize)
        TimeoutSec=\(timeoutSec)
        [Sync]
        RetryInitialSec=1
        RetryMaxSec=2
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Daemons started here: any still running when the kiosk goes (a failed test) is killed.
    private var daemons: [Process] = []

    deinit {
        for d in daemons where d.isRunning {
            kill(d.processIdentifier, SIGKILL)
            d.waitUntilExit()
        }
        receiver.stop()
        dir.remove()
    }

    /// Starts the built `leadd` on this config (stderr to a log file in the directory).
    func startDaemon() throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: BuiltProducts.path("leadd"))
        p.arguments = ["--config", configPath]
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOTIFY_SOCKET")
        env.removeValue(forKey: "JOURNAL_STREAM")
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        if !FileManager.default.fileExists(atPath: dir.path + "/leadd.log") {
            _ = FileManager.default.createFile(atPath: dir.path + "/leadd.log", contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.path + "/leadd.log"))
        log.seekToEndOfFile()
        p.standardError = log
        try p.run()
        daemons.append(p)
        return p
    }

    /// Runs the built `leadctl --config … ARGS`: exit status and standard output.
    @discardableResult
    func leadctl(_ args: [String]) throws -> (status: Int32, out: String) {
        try runLeadctl(config: configPath, args)
    }

    /// `leadctl status --json`'s entry for the sink.
    func sinkStatus() throws -> [String: Any] {
        let (status, out) = try leadctl(["status", "--json"])
        #expect(status == 0)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let sinks = try #require(doc["sinks"] as? [[String: Any]])
        return try #require(sinks.first { $0["name"] as? String == "hq" })
    }
}

/// Adds leads with the built `leadctl add` in a loop on a thread of its own, keeping the ids whose add returned.
final class LeadAdder: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [String] = []
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)

    init(kiosk: SyncKiosk) {
        let thread = Thread { [self] in
            var i = 0
            while !lock.withLock({ stopping }) {
                i += 1
                if let (status, out) = try? kiosk.leadctl([
                    "add", "first_name=Visitor \(i)", "email=v\(i)-\(UInt32.random(in: 0...UInt32.max))@example.com",
                    "--consent",
                ]), status == 0 {
                    let id = out.trimmingCharacters(in: .whitespacesAndNewlines)
                    lock.withLock { ids.append(id) }
                }
            }
            done.signal()
        }
        thread.start()
    }

    /// Stops adding and returns every acknowledged id.
    func stop() -> [String] {
        lock.withLock { stopping = true }
        done.wait()
        return lock.withLock { ids }
    }

    var count: Int { lock.withLock { ids.count } }
}

@Suite(.serialized) struct SyncEndToEndTests {
    /// SIGKILLs of the daemon for `make test`; `make soak` sets LEADD_CRASH_KILLS higher.
    static let kills = ProcessInfo.processInfo.environment["LEADD_CRASH_KILLS"].flatMap(Int.init) ?? 50

    @Test(.timeLimit(.minutes(30)))
    func everyAddedLeadArrivesExactlyOnceThroughRepeatedSIGKILLs() async throws {
        let kiosk = try SyncKiosk(batchSize: 7)
        // Slow answers put many kills between the receiver's commit and the kiosk's.
        kiosk.receiver.misbehaveAlways(.slow(seconds: 0.03))
        // The database exists (migrated, the sink registered, as leadd leaves it at start) before the adder starts.
        try LeadStore(path: kiosk.databasePath).ensureSinks(["hq"])
        let adder = LeadAdder(kiosk: kiosk)
        var rng = SystemRandomNumberGenerator()
        for i in 0..<Self.kills {
            let daemon = try kiosk.startDaemon()
            // Random moments: during start-up, mid-batch, mid-request, idle.
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...(i % 5 == 0 ? 600 : 250), using: &rng)))
            kill(daemon.processIdentifier, SIGKILL)
            daemon.waitUntilExit()
            #expect(daemon.terminationReason == .uncaughtSignal)
        }
        let acknowledged = adder.stop()
        #expect(acknowledged.count >= Self.kills / 2, "too few leads added to mean anything")
        kiosk.receiver.misbehaveAlways(nil)

        // Settle: one last run drains the queue.
        let daemon = try kiosk.startDaemon()
        let settled = await kiosk.receiver.waitUntil(timeout: 90) { s in
            acknowledged.allSatisfy { s.receipts[$0] != nil }
        }
        #expect(settled)
        let drained = try await waitFor(timeout: 30) {
            let s = try kiosk.sinkStatus()
            return s["pending"] as? Int == 0 && s["sending"] as? Int == 0
        }
        #expect(drained)
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        #expect(daemon.terminationStatus == 0)

        let store = try LeadStore(path: kiosk.databasePath, readOnly: true)
        #expect(try store.integrityProblems().isEmpty)
        let status = try store.status()
        let sink = try #require(status.sinks.first)
        #expect(sink.synced == status.leads)
        #expect(sink.pending + sink.sending + sink.rejected + sink.dead == 0)
        for id in acknowledged {
            #expect(try store.lead(id: id) != nil, "lead \(id) acknowledged by leadctl add but not in the database")
        }
        let snap = kiosk.receiver.snapshot
        // Exactly once: each lead stored once, none the receiver did not get from this kiosk's database.
        for id in acknowledged { #expect(snap.receipts[id] == 1, "lead \(id) stored \(snap.receipts[id] ?? 0) times") }
        #expect(snap.stored.count == status.leads)
        #expect(snap.receipts.values.allSatisfy { $0 == 1 })
        // A batch id never came with two bodies, and no batch was ever sent twice at once.
        #expect(!snap.requests.contains { $0.status == 422 || $0.status == 409 })
        var bodies: [String: [UInt8]] = [:]
        for r in snap.requests {
            guard let id = r.webhookID else { continue }
            if let seen = bodies[id] { #expect(seen == r.bodySHA256, "batch \(id) resent with other bytes") }
            bodies[id] = r.bodySHA256
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func leadctlSyncWhileTheDaemonSyncsSendsNoLeadTwice() async throws {
        let kiosk = try SyncKiosk(batchSize: 10)
        let store = try LeadStore(path: kiosk.databasePath)
        try store.ensureSinks(["hq"])
        let leads = (0..<1500).map { i in
            (
                Lead(
                    event: "expo-sync",
                    kiosk: "booth-sync",
                    channel: .import,
                    fields: ["first_name": "C\(i)", "email": "c\(i)@example.com"]
                ), [DeliveryInfo]()
            )
        }
        _ = try store.importLeads(leads, form: .default)
        let ids = leads.map(\.0.id)
        kiosk.receiver.misbehaveAlways(.slow(seconds: 0.01))
        // The daemon and three leadctl passes start together and race for the same queue. Whoever forms a
        // batch holds the sink until the queue is empty (it forms the next batch in the commit that records the
        // last one); the others wait (`--wait`) or leave it to the holder.
        let daemon = try kiosk.startDaemon()
        let outputs = await withTaskGroup(of: String.self) { group in
            for _ in 0..<3 {
                group.addTask { (try? kiosk.leadctl(["sync", "--wait"]).out) ?? "" }
            }
            var all: [String] = []
            for await out in group { all.append(out) }
            return all
        }
        #expect(await kiosk.receiver.waitUntil(timeout: 60) { s in ids.allSatisfy { s.receipts[$0] != nil } })
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
        let byLeadctl = outputs.compactMap { out in
            out.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        }.reduce(0, +)
        #expect(byLeadctl <= ids.count)
        for out in outputs { #expect(out.hasSuffix("— ok\n") || out.contains("carries on"), "\(out)") }
        let snap = kiosk.receiver.snapshot
        for id in ids { #expect(snap.receipts[id] == 1) }
        // No batch was sent twice (by both processes), and none was in flight twice at once.
        let batchIDs = snap.requests.compactMap(\.webhookID)
        #expect(batchIDs.count == Set(batchIDs).count)
        #expect(!snap.requests.contains { $0.status == 409 })
        // One batch in flight per sink: no two requests overlapped in time.
        let spans = snap.requests.map { ($0.startedAt, $0.endedAt) }.sorted { $0.0 < $1.0 }
        for (a, b) in zip(spans, spans.dropFirst()) { #expect(a.1 <= b.0 + 0.001) }
    }
}

@Suite struct LeadctlSyncTests {
    @Test func syncSendsTheQueueAndStatusShowsEachSinkState() throws {
        let kiosk = try SyncKiosk()
        for i in 0..<3 {
            #expect(try kiosk.leadctl(["add", "first_name=S\(i)", "email=s\(i)@example.com", "--consent"]).status == 0)
        }
        var (status, out) = try kiosk.leadctl(["sync"])
        #expect(status == 0)
        #expect(out == "hq: 3 synced, 0 rejected, 0 to retry; 0 pending — ok\n")
        (_, out) = try kiosk.leadctl(["status"])
        #expect(out.contains("hq    ok     0        3       0         0"))
        // Authentication fails: paused, said so by sync (exit 1) and status, in words.
        kiosk.receiver.misbehaveAlways(.status(401))
        #expect(try kiosk.leadctl(["add", "first_name=T", "email=t@example.com", "--consent"]).status == 0)
        (status, out) = try kiosk.leadctl(["sync"])
        #expect(status == 1)
        #expect(out.contains("paused: authentication failed (HTTP 401)"))
        (_, out) = try kiosk.leadctl(["status"])
        #expect(out.contains("paused: authentication failed (HTTP 401)"))
        let json = try kiosk.sinkStatus()
        #expect(json["state"] as? String == "paused")
        #expect(json["pending"] as? Int == 1)
        // The receiver is down: backoff until a time.
        kiosk.receiver.misbehaveAlways(nil)
        kiosk.receiver.stop()
        (status, out) = try kiosk.leadctl(["sync"])
        #expect(status == 1)
        #expect(out.contains("backoff until"))
        (_, out) = try kiosk.leadctl(["status"])
        #expect(out.contains("backoff until"))
        #expect(out.contains("connection failed"))
        #expect(try kiosk.leadctl(["sync", "--sink", "nope"]).status == 2)
        // Without its credential here, leadctl says so and leaves the sink's state to the daemon.
        try FileManager.default.removeItem(atPath: kiosk.dir.path + "/secret")
        (status, out) = try kiosk.leadctl(["sync"])
        #expect(status == 1)
        #expect(out.contains("failed: credential unusable: secret file"))
        #expect(try kiosk.sinkStatus()["state"] as? String == "backoff")
    }
}

/// Waits (bounded) until `condition` holds.
func waitFor(timeout: Double, _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try condition()
}

/// Runs the built `leadctl --config CONFIG ARGS` in a minimal environment: exit status and standard output.
func runLeadctl(config: String, _ args: [String]) throws -> (status: Int32, out: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: BuiltProducts.path("leadctl"))
    p.arguments = ["--config", config] + args
    p.environment = ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
