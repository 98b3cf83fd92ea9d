import Foundation
import LeadCore
import LeadStore
import Testing

/// Results gathered from several threads.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int: [String]] = [:]
    private var errors: [String] = []

    func add(_ ids: [String], worker: Int) { lock.withLock { values[worker, default: []] += ids } }
    func fail(_ error: any Error) { lock.withLock { errors.append("\(error)") } }
    var byWorker: [Int: [String]] { lock.withLock { values } }
    var failures: [String] { lock.withLock { errors } }
}

/// Sinks, claims under a lease, per-lead results, retry and dead letters.
struct LeadStoreQueueTests {
    @Test func newSinkGetsEveryExistingLeadQueued() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let leads = try captureLeads(3, into: store)
            #expect(try store.deliveries(leadID: leads[0].id).isEmpty)
            #expect(try store.ensureSinks(["crm", "usb"]) == ["crm": 3, "usb": 3])
            // Registering again queues nothing twice.
            #expect(try store.ensureSinks(["crm", "usb"]) == [:])
            #expect(try store.sinkNames() == ["crm", "usb"])
            for lead in leads {
                #expect(
                    try store.deliveries(leadID: lead.id).map { "\($0.sink):\($0.state)" } == [
                        "crm:pending", "usb:pending",
                    ]
                )
            }
            // A lead captured later is queued for every known sink.
            let later = try store.capture(makeLead(email: "later@example.com"), form: .default)
            #expect(try store.deliveries(leadID: later.id).map(\.sink) == ["crm", "usb"])
            // A sink added later still gets all four.
            #expect(try store.ensureSinks(["crm", "hubspot"]) == ["hubspot": 4])
            let status = try store.status()
            #expect(status.sinks.map(\.name) == ["crm", "hubspot", "usb"])
            #expect(status.sinks.map(\.pending) == [4, 4, 4])
        }
    }

    @Test func claimHandsOutDueLeadsOldestFirstUnderALease() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            let ids = try captureLeads(5, into: store).map(\.id)
            let now = Timestamp.now()
            let claim = try #require(try store.claimBatch(sink: "crm", limit: 3, leaseSeconds: 30, now: now))
            #expect(claim.sink == "crm")
            #expect(claim.leads.map(\.lead.id) == Array(ids.prefix(3)))
            #expect(claim.leads.map(\.attempts) == [1, 1, 1])
            #expect(claim.leaseUntil == now.adding(seconds: 30))
            #expect(try store.deliveries(leadID: ids[0]).first?.state == "sending")
            let rest = try #require(try store.claimBatch(sink: "crm", limit: 10, leaseSeconds: 30, now: now))
            #expect(rest.leads.map(\.lead.id) == Array(ids.suffix(2)))
            #expect(rest.claimID != claim.claimID)
            #expect(try store.claimBatch(sink: "crm", limit: 10, leaseSeconds: 30, now: now) == nil)
            #expect(try store.claimBatch(sink: "nobody", limit: 10, leaseSeconds: 30, now: now) == nil)
        }
    }

    @Test func twoStoresClaimingAtOnceNeverShareALead() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            do {
                let store = try LeadStore(path: path)
                try store.ensureSinks(["crm"])
                let leads = (0..<120).map { (makeLead("L\($0)", email: "l\($0)@example.com"), [DeliveryInfo]()) }
                #expect(try store.importLeads(leads, form: .default).added == 120)
            }
            let collected = Collected()
            DispatchQueue.concurrentPerform(iterations: 2) { worker in
                do {
                    let store = try LeadStore(path: path)  // its own connection, like another process
                    while let claim = try store.claimBatch(sink: "crm", limit: 3, leaseSeconds: 300) {
                        collected.add(claim.leads.map(\.lead.id), worker: worker)
                    }
                } catch {
                    collected.fail(error)
                }
            }
            #expect(collected.failures == [])
            let all = collected.byWorker.values.flatMap { $0 }
            #expect(all.count == 120)
            #expect(Set(all).count == 120)
            let a = Set(collected.byWorker[0] ?? [])
            let b = Set(collected.byWorker[1] ?? [])
            #expect(a.isDisjoint(with: b))
            #expect(try LeadStore(path: path).status().sinks.first?.sending == 120)
        }
    }

    @Test func expiredLeaseIsClaimedAgainAndTheStaleClaimIsIgnored() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            let lead = try store.capture(makeLead(email: "a@example.com"), form: .default)
            let t0 = Timestamp.now()
            let first = try #require(try store.claimBatch(sink: "crm", limit: 10, leaseSeconds: 30, now: t0))
            // Still leased: nobody else gets it.
            #expect(try store.claimBatch(sink: "crm", limit: 10, leaseSeconds: 30, now: t0.adding(seconds: 29)) == nil)
            // The first claimer died; once the lease is over another one takes the lead.
            let second = try #require(
                try store.claimBatch(sink: "crm", limit: 10, leaseSeconds: 30, now: t0.adding(seconds: 31))
            )
            #expect(second.leads.map(\.lead.id) == [lead.id])
            #expect(second.leads.first?.attempts == 2)
            #expect(second.claimID != first.claimID)
            // A late answer for the first claim must not decide the lead's fate.
            let stale = try store.recordResults(
                claimID: first.claimID,
                sink: "crm",
                outcomes: [lead.id: .rejected(reason: "late")]
            )
            #expect(stale == 0)
            #expect(try store.deliveries(leadID: lead.id).first?.state == "sending")
            let applied = try store.recordResults(
                claimID: second.claimID,
                sink: "crm",
                outcomes: [lead.id: .synced(remoteID: "crm-42")]
            )
            #expect(applied == 1)
            let delivery = try #require(try store.deliveries(leadID: lead.id).first)
            #expect(delivery.state == "synced")
            #expect(delivery.remoteID == "crm-42")
            #expect(delivery.attempts == 2)
        }
    }

    @Test func resultForALeadOutsideTheClaimOrSinkIsIgnored() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm", "usb"])
            let leads = try captureLeads(2, into: store)
            let claim = try #require(try store.claimBatch(sink: "crm", limit: 1, leaseSeconds: 60))
            #expect(claim.leads.map(\.lead.id) == [leads[0].id])
            // Lead 1 was not in this claim; the claim is not usb's.
            #expect(
                try store.recordResults(
                    claimID: claim.claimID,
                    sink: "crm",
                    outcomes: [leads[1].id: .synced(remoteID: nil)]
                ) == 0
            )
            #expect(
                try store.recordResults(
                    claimID: claim.claimID,
                    sink: "usb",
                    outcomes: [leads[0].id: .synced(remoteID: nil)]
                ) == 0
            )
            #expect(
                try store.recordResults(
                    claimID: claim.claimID,
                    sink: "crm",
                    outcomes: [LeadID.make(): .synced(remoteID: nil)]
                ) == 0
            )
            #expect(try store.deliveries(leadID: leads[1].id).map(\.state) == ["pending", "pending"])
            #expect(try store.deliveries(leadID: leads[0].id).map(\.state) == ["sending", "pending"])
        }
    }

    @Test func resultOfAClaimMadeBeforeAnEditIsIgnored() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            let lead = try store.capture(makeLead(email: "a@example.com"), form: .default)
            let claim = try #require(try store.claimBatch(sink: "crm", limit: 1, leaseSeconds: 60))
            try store.edit(id: lead.id, rating: .some(.hot), form: .default)
            // The batch carried revision 1: its success must not mark revision 2 synced.
            #expect(
                try store.recordResults(
                    claimID: claim.claimID,
                    sink: "crm",
                    outcomes: [lead.id: .synced(remoteID: nil)]
                ) == 0
            )
            #expect(try store.deliveries(leadID: lead.id).first?.state == "pending")
            let next = try #require(try store.claimBatch(sink: "crm", limit: 1, leaseSeconds: 60))
            #expect(next.leads.first?.lead.revision == 2)
            #expect(next.leads.first?.lead.rating == .hot)
        }
    }

    @Test func rejectedLeadDoesNotBlockTheOnesBehindIt() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            let ids = try captureLeads(3, into: store).map(\.id)
            let first = try #require(try store.claimBatch(sink: "crm", limit: 1, leaseSeconds: 60))
            #expect(first.leads.map(\.lead.id) == [ids[0]])
            try store.recordResults(
                claimID: first.claimID,
                sink: "crm",
                outcomes: [ids[0]: .rejected(reason: "422 invalid email")]
            )
            let next = try #require(try store.claimBatch(sink: "crm", limit: 10, leaseSeconds: 60))
            #expect(next.leads.map(\.lead.id) == [ids[1], ids[2]])
            let rejected = try #require(try store.deliveries(leadID: ids[0]).first)
            #expect(rejected.state == "rejected")
            #expect(rejected.lastError == "422 invalid email")
        }
    }

    @Test func retryOutcomeWaitsForItsTime() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            let lead = try store.capture(makeLead(email: "a@example.com"), form: .default)
            let t0 = Timestamp.now()
            let claim = try #require(try store.claimBatch(sink: "crm", limit: 1, leaseSeconds: 60, now: t0))
            try store.recordResults(
                claimID: claim.claimID,
                sink: "crm",
                outcomes: [lead.id: .retry(notBefore: t0.adding(seconds: 120), reason: "503 busy")],
                now: t0
            )
            let waiting = try #require(try store.deliveries(leadID: lead.id).first)
            #expect(waiting.state == "pending")
            #expect(waiting.lastError == "503 busy")
            #expect(try store.claimBatch(sink: "crm", limit: 1, leaseSeconds: 60, now: t0.adding(seconds: 119)) == nil)
            let again = try #require(
                try store.claimBatch(sink: "crm", limit: 1, leaseSeconds: 60, now: t0.adding(seconds: 120))
            )
            #expect(again.leads.first?.attempts == 2)
        }
    }

    @Test func releasedClaimIsDueAgainWithoutCountingAnAttempt() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            try captureLeads(2, into: store)
            let claim = try #require(try store.claimBatch(sink: "crm", limit: 10, leaseSeconds: 600))
            try store.releaseClaim(claim.claimID, sink: "crm")
            let again = try #require(try store.claimBatch(sink: "crm", limit: 10, leaseSeconds: 600))
            #expect(again.leads.map(\.lead.id) == claim.leads.map(\.lead.id))
            #expect(again.leads.map(\.attempts) == [1, 1])
        }
    }

    @Test func retryQueuesRejectedAndDeadLeadsAgain() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            let ids = try captureLeads(3, into: store).map(\.id)
            let claim = try #require(try store.claimBatch(sink: "crm", limit: 2, leaseSeconds: 60))
            try store.recordResults(
                claimID: claim.claimID,
                sink: "crm",
                outcomes: [ids[0]: .rejected(reason: "bad"), ids[1]: .rejected(reason: "bad")]
            )
            #expect(try store.retry(leadIDs: [ids[0]]) == 1)
            #expect(try store.deliveries(leadID: ids[0]).first?.state == "pending")
            #expect(try store.deliveries(leadID: ids[0]).first?.attempts == 0)
            #expect(try store.deliveries(leadID: ids[1]).first?.state == "rejected")
            // A pending lead is not "queued again".
            #expect(try store.retry(leadIDs: [ids[2]]) == 0)
            #expect(try store.retryAllRejected() == 1)
            #expect(try store.deliveries(leadID: ids[1]).first?.state == "pending")
            #expect(try store.retryAllRejected() == 0)
            #expect(storeError { try store.retry(leadIDs: [LeadID.make()]) }?.code == .notFound)
        }
    }

    @Test func markDeadEndsOldPendingDeliveriesAndRetryRevivesThem() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            let now = Timestamp.now()
            let old = try store.capture(
                makeLead("Old", email: "old@example.com", capturedAt: now.adding(seconds: -40 * 86400)),
                form: .default
            )
            let synced = try store.capture(
                makeLead("Synced", email: "s@example.com", capturedAt: now.adding(seconds: -40 * 86400)),
                form: .default
            )
            let fresh = try store.capture(
                makeLead("Fresh", email: "fresh@example.com", capturedAt: now),
                form: .default
            )
            let claim = try #require(try store.claimBatch(sink: "crm", limit: 2, leaseSeconds: 60))
            #expect(claim.leads.map(\.lead.id) == [old.id, synced.id])
            try store.recordResults(claimID: claim.claimID, sink: "crm", outcomes: [synced.id: .synced(remoteID: nil)])
            // The old lead is still `sending` under the claim; it dies too.
            #expect(try store.markDead(capturedBefore: now.adding(seconds: -30 * 86400)) == 1)
            #expect(try store.deliveries(leadID: old.id).first?.state == "dead")
            #expect(try store.deliveries(leadID: synced.id).first?.state == "synced")
            #expect(try store.deliveries(leadID: fresh.id).first?.state == "pending")
            #expect(try store.status().sinks.first?.dead == 1)
            // Dead leads are not handed out; `retry` brings one back.
            let next = try #require(try store.claimBatch(sink: "crm", limit: 10, leaseSeconds: 60))
            #expect(next.leads.map(\.lead.id) == [fresh.id])
            #expect(try store.retry(leadIDs: [old.id]) == 1)
            #expect(try store.deliveries(leadID: old.id).first?.state == "pending")
        }
    }
}
