import Foundation
import LeadCore
import LeadStore
import Testing

/// Status, stats, the form funnel and list filters.
struct LeadStoreReportsTests {
    @Test func statusCountsLeadsAndPerSinkStates() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm", "usb"])
            let ids = try captureLeads(4, into: store).map(\.id)
            let claim = try #require(try store.claimBatch(sink: "crm", limit: 3, leaseSeconds: 60))
            try store.recordResults(
                claimID: claim.claimID,
                sink: "crm",
                outcomes: [ids[0]: .synced(remoteID: nil), ids[1]: .rejected(reason: "invalid")]
            )
            let status = try store.status()
            #expect(status.leads == 4)
            #expect(status.leadsToday == 4)
            #expect(status.unsynced == 4)  // every lead still waits for usb
            let crm = try #require(status.sinks.first { $0.name == "crm" })
            #expect(crm.pending == 1 && crm.sending == 1 && crm.synced == 1 && crm.rejected == 1 && crm.dead == 0)
            #expect(crm.state == "ok")
            #expect(crm.lastError == nil)
            let usb = try #require(status.sinks.first { $0.name == "usb" })
            #expect(usb.pending == 4 && usb.synced == 0)
        }
    }

    @Test func statsGiveFunnelConversionAndCostPerLead() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            #expect(try store.stats(cost: 100).costPerLead == nil)  // no leads yet
            #expect(try store.stats().conversion == nil)
            for _ in 0..<5 { try store.recordFormEvent(.view, kiosk: "booth-1", channel: .keyboard) }
            for _ in 0..<4 { try store.recordFormEvent(.start, kiosk: "booth-1", channel: .keyboard) }
            try store.recordFormEvent(.abandon, kiosk: "booth-1", channel: .keyboard)
            try store.recordFormEvent(.idleReset, kiosk: "booth-1", channel: .keyboard)
            let a = try store.capture(makeLead("A", email: "a@example.com", channel: .keyboard), form: .default)
            try store.recordFormEvent(.submit, kiosk: "booth-1", channel: .keyboard, leadID: a.id)
            let b = try store.capture(makeLead("B", email: "b@example.com", channel: .keyboard), form: .default)
            try store.recordFormEvent(.submit, kiosk: "booth-1", channel: .keyboard, leadID: b.id)
            try store.capture(makeLead("C", badge: "X-1", channel: .scanner), form: .default)
            try store.capture(makeLead("C again", badge: "x-1", channel: .scanner), form: .default)
            try store.edit(id: a.id, rating: .some(.hot), form: .default)

            let stats = try store.stats(cost: 1500)
            #expect(stats.leads == 3)
            #expect(stats.stored == 4)
            #expect(stats.duplicates == 1)
            #expect(stats.formViews == 5)
            #expect(stats.formStarted == 4)
            #expect(stats.formSubmitted == 2)
            #expect(stats.formAbandoned == 2)
            #expect(stats.conversion == 0.5)
            #expect(stats.costPerLead == 500)
            #expect(stats.byChannel.map { "\($0.0)=\($0.1)" } == ["keyboard=2", "scanner=1"])
            #expect(stats.byRating.map { "\($0.0)=\($0.1)" } == ["hot=1", "none=2"])
            #expect(stats.perHour.map(\.1).reduce(0, +) == 3)
        }
    }

    @Test func perHourGroupsLeadsByLocalHour() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let hour = Timestamp(milliseconds: 1_795_000_000_000 / 3_600_000 * 3_600_000)
            for (i, offset) in [60, 120, 3600 + 5, 3 * 3600].enumerated() {
                try store.capture(
                    makeLead("L\(i)", email: "l\(i)@example.com", capturedAt: hour.adding(seconds: Int64(offset))),
                    form: .default
                )
            }
            let counts = try store.stats(now: hour).perHour.map(\.1)
            #expect(counts == [2, 1, 1])
        }
    }

    @Test func listFiltersByDeliveryStateNewestFirst() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            let ids = try captureLeads(4, into: store).map(\.id)
            let dup = try store.capture(makeLead("Again", email: "lead1@example.com"), form: .default)
            let claim = try #require(try store.claimBatch(sink: "crm", limit: 2, leaseSeconds: 60))
            try store.recordResults(
                claimID: claim.claimID,
                sink: "crm",
                outcomes: [ids[0]: .synced(remoteID: nil), ids[1]: .rejected(reason: "x")]
            )
            func listed(_ state: String?, limit: Int = 50) throws -> [String] {
                try store.list(LeadFilter(state: state, limit: limit)).map(\.lead.id)
            }
            #expect(try listed(nil) == [dup.id, ids[3], ids[2], ids[1], ids[0]])
            #expect(try listed(nil, limit: 2) == [dup.id, ids[3]])
            #expect(try listed("synced") == [ids[0]])
            #expect(try listed("rejected") == [ids[1]])
            #expect(try listed("pending") == [dup.id, ids[3], ids[2]])
            #expect(try listed("unsynced") == [dup.id, ids[3], ids[2], ids[1]])
            #expect(try listed("duplicate") == [dup.id])
            #expect(try listed("dead") == [])
            let entry = try #require(try store.list(LeadFilter(state: "rejected")).first)
            #expect(entry.deliveries.map(\.lastError) == ["x"])
            #expect(storeError { _ = try store.list(LeadFilter(state: "' OR 1=1 --")) }?.code == .invalidArgument)
        }
    }

    @Test func readOnlyStoreServesReports() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            do {
                let store = try LeadStore(path: path)
                try store.ensureSinks(["crm"])
                try captureLeads(3, into: store)
            }
            let store = try LeadStore(path: path, readOnly: true)
            #expect(try store.status().leads == 3)
            #expect(try store.stats().leads == 3)
            #expect(try store.list(LeadFilter()).count == 3)
            #expect(try allLeadIDs(store).count == 3)
        }
    }
}
