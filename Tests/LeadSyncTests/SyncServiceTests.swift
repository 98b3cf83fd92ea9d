import Foundation
import LeadCore
import LeadStore
import LeadSync
import LeaddTesting
import Logging
import ServiceLifecycle
import Testing

/// The worker as the daemon runs it: a `Service` in a `ServiceGroup`, woken by events, never polling.
@Suite struct SyncServiceTests {
    /// Runs the sync services of `f`'s config until `body` returns, then shuts them down gracefully.
    func withServices(
        _ f: SyncFixture,
        trigger: SyncTrigger = SyncTrigger(),
        networkJitterSeconds: Int64 = 30,
        _ body: (SyncTrigger) async throws -> Void
    ) async throws {
        let config = f.config
        let environment = f.environment
        var services: [any Service] = [
            ChangeMonitor(
                files: [f.databasePath, f.databasePath + "-wal", f.secretFile],
                trigger: trigger,
                logger: quietLogger
            )
        ]
        for sink in config.sinks {
            services.append(
                SyncService(
                    sinkName: sink.name,
                    trigger: trigger,
                    logger: quietLogger,
                    failureRetrySeconds: 1,
                    networkJitterSeconds: networkJitterSeconds
                ) { cancel in
                    try SyncSetup.makeEngine(
                        sink,
                        config: config,
                        environment: environment,
                        logger: quietLogger,
                        cancel: cancel
                    )
                }
            )
        }
        let group = ServiceGroup(services: services, logger: quietLogger)
        let running = Task { try await group.run() }
        do {
            try await body(trigger)
        } catch {
            await group.triggerGracefulShutdown()
            _ = await running.result
            throw error
        }
        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test func newLeadNudgeSendsItAtOnce() async throws {
        let f = try SyncFixture()
        try await withServices(f) { trigger in
            let ids = try f.addLeads(2)
            trigger.nudge()
            #expect(await f.receiver.waitUntil(timeout: 30) { s in ids.allSatisfy { s.receipts[$0] == 1 } })
        }
    }

    @Test func leadsAddedByAnotherProcessAreSentWithoutANudge() async throws {
        let f = try SyncFixture()
        try await withServices(f) { _ in
            // Another connection (as leadctl add would): the worker learns of it from the database's folder.
            let other = try LeadStore(path: f.databasePath)
            let lead = Lead(
                event: "expo-test",
                kiosk: "booth-t",
                channel: .staff,
                fields: ["first_name": "B", "email": "b@example.com"]
            )
            let stored = try other.capture(lead, form: .default)
            #expect(await f.receiver.waitUntil(timeout: 30) { $0.receipts[stored.id] == 1 })
        }
    }

    @Test func queueDrainsAfterAnOutageWithinTheBackoffCapPlusThirtySeconds() async throws {
        let f = try SyncFixture(sync: "RetryInitialSec=1\nRetryMaxSec=4")
        f.receiver.stop()
        try await withServices(f) { trigger in
            let ids = try f.addLeads(30)
            trigger.nudge()
            // The kiosk keeps failing while the receiver is down.
            try await eventually(timeout: 20) { try f.sinkStatus().state == "backoff" }
            try await eventually(timeout: 20) { (try f.store.openBatches(sink: "hq").first?.failures ?? 0) >= 2 }
            try f.receiver.start()
            let back = Date()
            #expect(await f.receiver.waitUntil(timeout: 4 + 30) { s in ids.allSatisfy { s.receipts[$0] == 1 } })
            #expect(Date().timeIntervalSince(back) < 4 + 30)
            try await eventually(timeout: 15) { try f.sinkStatus().pending == 0 && f.sinkStatus().state == "ok" }
        }
    }

    @Test func queueDrainsAfterAPeriodOfServerErrors() async throws {
        let f = try SyncFixture(sync: "RetryInitialSec=1\nRetryMaxSec=4")
        f.receiver.misbehaveAlways(.status(500))
        try await withServices(f) { trigger in
            let ids = try f.addLeads(250)
            trigger.nudge()
            #expect(await f.receiver.waitUntil(timeout: 30) { $0.requests.count >= 3 })
            f.receiver.misbehaveAlways(nil)
            let back = Date()
            #expect(await f.receiver.waitUntil(timeout: 4 + 30) { s in ids.allSatisfy { s.receipts[$0] == 1 } })
            #expect(Date().timeIntervalSince(back) < 4 + 30)
            // Every failed attempt carried the first batch's id and bytes.
            let failed = f.receiver.snapshot.requests.filter { $0.status == 500 }
            #expect(Set(failed.map(\.webhookID)).count == 1)
            #expect(Set(failed.map(\.bodySHA256)).count == 1)
        }
    }

    @Test func networkChangeWakesABackedOffSinkWithinTheJitter() async throws {
        // A backoff of up to an hour: only the network event brings the retry forward.
        let f = try SyncFixture(sync: "RetryInitialSec=3600\nRetryMaxSec=3600")
        f.receiver.stop()
        try await withServices(f, networkJitterSeconds: 2) { trigger in
            let ids = try f.addLeads(3)
            trigger.nudge()
            try await eventually(timeout: 20) { try f.sinkStatus().state == "backoff" }
            try f.receiver.start()
            trigger.post(.network)
            #expect(await f.receiver.waitUntil(timeout: 15) { s in ids.allSatisfy { s.receipts[$0] == 1 } })
        }
    }

    @Test func pausedSinkStaysQuietUntilResumed() async throws {
        let f = try SyncFixture()
        f.receiver.misbehaveAlways(.status(401))
        try await withServices(f) { trigger in
            _ = try f.addLeads(1)
            trigger.nudge()
            try await eventually(timeout: 30) { try f.sinkStatus().state == "paused" }
            let count = f.receiver.snapshot.requests.count
            // New leads and nudges do not make it retry.
            _ = try f.addLeads(2)
            trigger.nudge()
            trigger.post(.network)
            #expect(await f.receiver.waitUntil(timeout: 1.5) { $0.requests.count > count } == false)
            // leadctl sync resumes it (here through the same library call leadctl makes).
            f.receiver.misbehaveAlways(nil)
            let other = try LeadStore(path: f.databasePath)
            _ = try ManualSync.run(
                sinks: f.config.sinks,
                config: f.config,
                environment: f.environment,
                store: other,
                wait: true
            )
            try await eventually(timeout: 30) { try f.sinkStatus().synced == 3 && f.sinkStatus().state == "ok" }
        }
    }

    @Test func sinkPausedForItsSecretResumesWhenTheSecretFileIsReplaced() async throws {
        let f = try SyncFixture(receiverSecrets: [testSecret], kioskSecret: otherSecret)
        try await withServices(f) { trigger in
            let ids = try f.addLeads(2)
            trigger.nudge()
            try await eventually(timeout: 30) { try f.sinkStatus().state == "paused" }
            // The operator installs the right secret; nothing else happens — the folder watch wakes the worker.
            try (testSecret + "\n").write(toFile: f.secretFile, atomically: true, encoding: .utf8)
            #expect(await f.receiver.waitUntil(timeout: 30) { s in ids.allSatisfy { s.receipts[$0] == 1 } })
        }
    }

    @Test func shutdownAbortsATransferAndReleasesTheBatch() async throws {
        // The receiver would answer after 40 s; the shutdown must not wait for that (a bound well below it, so a
        // loaded machine's slow start does not fail the test).
        let f = try SyncFixture(sinkKeys: "TimeoutSec=60")
        f.receiver.misbehave([.slow(seconds: 40)])
        let started = Date()
        try await withServices(f) { trigger in
            _ = try f.addLeads(1)
            trigger.nudge()
            #expect(await f.receiver.waitUntil(timeout: 30) { $0.receipts.count == 1 })
        }
        #expect(Date().timeIntervalSince(started) < 30)
        let open = try f.store.openBatches(sink: "hq")
        #expect(open.count == 1)
        // Nobody holds it: the next run may send it at once.
        #expect(
            try f.store.nextBatch(
                sink: "hq",
                limit: 10,
                holder: "someone",
                leaseSeconds: 60,
                isAlive: { _ in true },
                build: { _, _, _ in BatchContent(body: [], count: 0) }
            ).isBatch
        )
    }
}

extension BatchPick {
    var isBatch: Bool {
        if case .batch = self { return true }
        return false
    }
}

/// Waits (bounded) until `condition` holds, checking it at short intervals.
func eventually(timeout: Double, _ condition: () throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    #expect(try condition(), "condition not met within \(timeout) s")
}
