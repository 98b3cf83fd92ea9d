import Foundation
import LeadCore
import LeadStore
import LeadSync
import LeaddTesting
import Testing

@Suite struct DirectorySinkTests {
    let dir = TemporaryDirectory("dirsink")
    var folder: String { dir.path + "/stick/leads" }

    func fixture(directory: String, signed: Bool = true) throws -> (LeadStore, SyncEngine, any Sink) {
        try (testSecret + "\n").write(toFile: dir.path + "/secret", atomically: true, encoding: .utf8)
        let config = try LeaddConfig.parse(
            """
            [Kiosk]
            ID=booth-d
            Event=expo-test
            [Sink]
            Name=usb
            Type=directory
            Directory=\(directory)
            \(signed ? "SecretFile=\(dir.path)/secret" : "")
            [Sync]
            RetryInitialSec=1
            RetryMaxSec=2
            """,
            file: "t.conf",
            hostname: "t"
        )
        let store = try LeadStore(path: dir.path + "/leads.sqlite3")
        try store.ensureSinks(["usb"])
        let env = SyncEnvironment(databasePath: dir.path + "/leads.sqlite3", credentialsDirectory: nil, appVersion: "t")
        let sink = try SyncSetup.makeSink(config.sinks[0], kiosk: config, environment: env, cancel: CancellationFlag())
        let engine = SyncEngine(sink: sink, store: store, settings: SyncSettings(config: config), logger: quietLogger)
        return (store, engine, sink)
    }

    func add(_ store: LeadStore, _ n: Int) throws -> [String] {
        try (0..<n).map { i in
            try store.capture(
                Lead(
                    event: "expo-test",
                    kiosk: "booth-d",
                    channel: .keyboard,
                    fields: ["first_name": "D\(i)", "email": "d\(i)@example.com"]
                ),
                form: .default
            ).id
        }
    }

    func files() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: folder))?.sorted() ?? [] }

    @Test func writesEachBatchAsOneSignedFileAndMarksItsLeadsSynced() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let (store, engine, _) = try fixture(directory: folder)
        let ids = try add(store, 3)
        #expect(engine.pass().synced == 3)
        let names = files()
        #expect(names.count == 1)
        let name = try #require(names.first)
        #expect(name.hasPrefix("leads-") && name.hasSuffix(".json"))
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
        let doc = try JSONValue.parse(Array(data.dropLast()))
        let id = try #require(doc["webhook-id"]?.stringValue)
        let ts = try #require(doc["webhook-timestamp"]?.stringValue.flatMap { Int64($0) })
        let payload = Array(try #require(doc["payload"]?.stringValue).utf8)
        #expect(
            try WebhookSigner(secrets: [testSecret]).signature(id: id, timestamp: ts, body: payload)
                == doc["webhook-signature"]?.stringValue
        )
        let batch = try JSONValue.parse(payload)
        #expect(batch["leads"]?.arrayValue?.compactMap { $0["lead_id"]?.stringValue } == ids)
        #expect(try store.deliveries(leadID: ids[0]).first?.remoteID == name)
    }

    @Test func missingFolderIsARetryableFailureNotAFolderOnTheKioskDisk() throws {
        let (store, engine, _) = try fixture(directory: folder)
        let ids = try add(store, 2)
        let report = engine.pass()
        guard case .waiting(_, let reason) = report.stop else {
            Issue.record("expected a retry, got \(report.stop)")
            return
        }
        #expect(reason.contains("folder missing"))
        #expect(!FileManager.default.fileExists(atPath: folder))
        #expect(try store.deliveries(leadID: ids[0]).first?.state == "sending")
        // The stick is plugged in: the same batch is written.
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let later = SyncEngine(
            sink: engine.sink,
            store: store,
            settings: SyncSettings(),
            logger: quietLogger,
            clock: { Timestamp.now().adding(seconds: 5) }
        )
        #expect(later.pass().synced == 2)
        #expect(files().count == 1)
    }

    @Test func readOnlyFolderIsARetryableFailure() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var target = folder
        if getuid() != 0 {
            chmod(folder, 0o555)
        } else if !immutable(folder, true) {
            target = "/sys"  // read-only even for root
        }
        defer {
            if target == folder {
                _ = immutable(folder, false)
                chmod(folder, 0o755)
            }
        }
        let (store, engine, _) = try fixture(directory: target)
        _ = try add(store, 1)
        let report = engine.pass()
        guard case .waiting(_, let reason) = report.stop else {
            Issue.record("expected a retry, got \(report.stop)")
            return
        }
        #expect(reason.contains("read-only"))
    }

    @Test func retriedBatchRewritesTheSameFile() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let (store, _, sink) = try fixture(directory: folder)
        _ = try add(store, 2)
        let pick = try store.nextBatch(
            sink: "usb",
            limit: 10,
            holder: "h",
            leaseSeconds: 60,
            isAlive: { _ in true },
            build: sink.makeBody
        )
        guard case .batch(let batch) = pick else {
            Issue.record("no batch")
            return
        }
        _ = sink.deliver(batch, timestamp: 100)
        _ = sink.deliver(batch, timestamp: 200)
        #expect(files() == ["leads-\(batch.id).json"])
    }

    /// `chattr ±i`: the only way to make a folder read-only for root on ext4.
    func immutable(_ path: String, _ on: Bool) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
        p.arguments = [on ? "+i" : "-i", path]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}
