import Foundation
import LeadCore
import LeadStore
import Testing

/// Streaming export, idempotent import, purge and the attendee list.
struct LeadStoreTransferTests {
    @Test func exportStreamsInCaptureOrderNotByTimestamp() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let base = Timestamp(milliseconds: 1_795_000_000_000)
            // Imported leads may carry older capture times than leads already here.
            let offsets: [Int64] = [3600, 0, 7200, 1800]
            let ids = try offsets.enumerated().map { i, offset in
                try store.capture(
                    makeLead("L\(i)", email: "l\(i)@example.com", capturedAt: base.adding(seconds: offset)),
                    form: .default
                ).id
            }
            #expect(try allLeadIDs(store) == ids)
        }
    }

    @Test func exportSinceKeepsLeadsCapturedAtOrAfterTheTime() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let base = Timestamp(milliseconds: 1_795_000_000_000)
            let leads = try (0..<4).map { i in
                try store.capture(
                    makeLead("L\(i)", email: "l\(i)@example.com", capturedAt: base.adding(seconds: Int64(i) * 3600)),
                    form: .default
                )
            }
            var seen: [String] = []
            try store.forEachLead(since: base.adding(seconds: 3600)) { lead, _ in seen.append(lead.id) }
            #expect(seen == leads.dropFirst().map(\.id))
            seen = []
            try store.forEachLead(since: base.adding(seconds: 4 * 3600)) { lead, _ in seen.append(lead.id) }
            #expect(seen.isEmpty)
        }
    }

    @Test func exportWithDeliveriesPairsEachLeadWithItsOwn() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let before = try store.capture(makeLead("Before", email: "before@example.com"), form: .default)
            try store.ensureSinks(["crm", "usb"])
            let ids = try captureLeads(3, into: store).map(\.id)
            let claim = try #require(try store.claimBatch(sink: "crm", limit: 2, leaseSeconds: 60))
            try store.recordResults(
                claimID: claim.claimID,
                sink: "crm",
                outcomes: [before.id: .synced(remoteID: "r0"), ids[0]: .rejected(reason: "no")]
            )
            var seen: [String: [String]] = [:]
            try store.forEachLead(withDeliveries: true) { lead, deliveries in
                seen[lead.id] = deliveries.map { "\($0.sink):\($0.state)" }
            }
            #expect(seen[before.id] == ["crm:synced", "usb:pending"])
            #expect(seen[ids[0]] == ["crm:rejected", "usb:pending"])
            #expect(seen[ids[1]] == ["crm:pending", "usb:pending"])
            #expect(seen[ids[2]] == ["crm:pending", "usb:pending"])
            // Without the flag no delivery is read.
            try store.forEachLead { _, deliveries in #expect(deliveries.isEmpty) }
        }
    }

    @Test func exportIsAConsistentSnapshotWhileAnotherConnectionWrites() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            let store = try LeadStore(path: path)
            try captureLeads(10, into: store)
            let writer = try LeadStore(path: path)
            var count = 0
            try store.forEachLead { _, _ in
                count += 1
                // A WAL writer is not blocked by the reader, and the reader does not see its leads.
                if count == 5 { try captureLeads(3, into: writer, prefix: "late") }
            }
            #expect(count == 10)
            #expect(try store.status().leads == 13)
        }
    }

    // MARK: Import

    @Test func importingTheSameRecordsTwiceChangesNothing() throws {
        try withTemporaryDirectory { dir in
            let source = try LeadStore(path: dir + "/a.sqlite3")
            try source.ensureSinks(["crm"])
            try captureLeads(7, into: source)
            try source.capture(makeLead("Dup", email: "lead0@example.com"), form: .default)
            var records: [(Lead, [DeliveryInfo])] = []
            try source.forEachLead(withDeliveries: true) { records.append(($0, $1)) }

            let target = try LeadStore(path: dir + "/b.sqlite3")
            let first = try target.importLeads(records, form: .default, chunk: 3)
            #expect(first.added == 8 && first.updated == 0 && first.unchanged == 0)
            var snapshot: [Lead] = []
            try target.forEachLead { lead, _ in snapshot.append(lead) }
            #expect(snapshot == records.map(\.0))
            #expect(snapshot.last?.duplicateOf == records[0].0.id)

            let second = try target.importLeads(records, form: .default)
            #expect(second.added == 0 && second.updated == 0 && second.unchanged == 8)
            var after: [Lead] = []
            try target.forEachLead { lead, _ in after.append(lead) }
            #expect(after == snapshot)
            #expect(try target.stats().duplicates == 1)
        }
    }

    /// Leads whose duplicates follow every rule: a chain through a duplicate, a badge, another event, case.
    private func duplicatePattern() -> [Lead] {
        [
            makeLead("A", email: "a@example.com"),
            makeLead("B", email: "A@Example.com", phone: "+79161234567"),  // → A
            makeLead("C", phone: "+79161234567"),  // only shares with B, itself a duplicate: an original
            makeLead("D", badge: "B-1"),
            makeLead("E", email: "e@example.com", badge: "b-1"),  // → D
            makeLead("F", email: "f@example.com"),
            makeLead("G", email: "a@example.com", event: "Other Expo"),  // another event: an original
            makeLead("H", email: "e@example.com"),  // shares only with E, a duplicate: an original
            makeLead("I", phone: "+79161234567", badge: "B-1"),  // → C, the earliest original sharing a key
        ]
    }

    @Test func duplicatesMarkedAtTheEndOfABulkImportMatchThoseMarkedChunkByChunk() throws {
        try withTemporaryDirectory { dir in
            let leads = duplicatePattern()
            let records = leads.map { ($0, [DeliveryInfo]()) }
            // Into an empty database: marked once at the end.
            let bulk = try LeadStore(path: dir + "/bulk.sqlite3")
            #expect(try bulk.importLeads(records, form: .default, chunk: 2).added == leads.count)
            // Into one that already holds more leads than a chunk: marked chunk by chunk.
            let busy = try LeadStore(path: dir + "/busy.sqlite3")
            for i in 0..<3 { try busy.capture(makeLead("Z\(i)", email: "z\(i)@example.com"), form: .default) }
            #expect(try busy.importLeads(records, form: .default, chunk: 2).added == leads.count)
            let expected: [String: String?] = [
                "A": nil, "B": leads[0].id, "C": nil, "D": nil, "E": leads[3].id, "F": nil, "G": nil, "H": nil,
                "I": leads[2].id,
            ]
            for store in [bulk, busy] {
                for lead in leads {
                    let stored = try #require(try store.lead(id: lead.id))
                    let name = lead.fields["first_name"]!
                    #expect(stored.duplicateOf == expected[name]!, "\(name)")
                }
            }
            #expect(try bulk.stats().duplicates == 3)
        }
    }

    @Test func anImportCutShortHasItsDuplicatesMarkedByTheNextImport() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let leads = duplicatePattern()
            var bad = makeLead("Bad", email: "bad@example.com")
            bad.id = "not-a-uuid"
            let records = leads.prefix(4).map { ($0, [DeliveryInfo]()) } + [(bad, [])]
            #expect(
                storeError { _ = try store.importLeads(records, form: .default, chunk: 2) }?.code == .invalidArgument
            )
            // Two chunks committed; B's duplicate mark was deferred to an end that never came.
            #expect(try store.lead(id: leads[1].id)?.duplicateOf == nil)
            let next = try store.importLeads([(Lead, [DeliveryInfo])](), form: .default)
            #expect(next.added == 0)
            #expect(try store.lead(id: leads[1].id)?.duplicateOf == leads[0].id)
            #expect(try store.lead(id: leads[2].id)?.duplicateOf == nil)
        }
    }

    @Test func importReplacesAnOlderRevisionWithANewerOne() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            let lead = try store.capture(makeLead("Anna", email: "anna@example.ru"), form: .default)
            let claim = try #require(try store.claimBatch(sink: "crm", limit: 1, leaseSeconds: 60))
            try store.recordResults(claimID: claim.claimID, sink: "crm", outcomes: [lead.id: .synced(remoteID: nil)])

            var newer = lead
            newer.revision = 3
            newer.rating = .hot
            newer.notes = "met at the booth"
            var older = lead
            older.fields["company"] = "Old Co"
            let result = try store.importLeads([(older, []), (newer, [])], form: .default)
            #expect(result.updated == 1)
            #expect(result.unchanged == 1)
            let read = try #require(try store.lead(id: lead.id))
            #expect(read == newer)
            #expect(try store.revisionHistory(id: lead.id).map(\.revision) == [1])
            // The newer revision has to reach the CRM.
            #expect(try store.deliveries(leadID: lead.id).first?.state == "pending")
            // An older one arriving afterwards changes nothing.
            let again = try store.importLeads([(lead, [])], form: .default)
            #expect(again.unchanged == 1)
            #expect(try store.lead(id: lead.id)?.revision == 3)
        }
    }

    @Test func importKeepsSyncedStateForKnownSinks() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            let a = makeLead("A", email: "a@example.com")
            let b = makeLead("B", email: "b@example.com")
            let result = try store.importLeads(
                [
                    (
                        a,
                        [
                            DeliveryInfo(sink: "crm", state: "synced", remoteID: "r-a"),
                            DeliveryInfo(sink: "gone", state: "synced"),
                        ]
                    ),
                    (b, [DeliveryInfo(sink: "crm", state: "rejected")]),
                ],
                form: .default
            )
            #expect(result.added == 2)
            let da = try #require(try store.deliveries(leadID: a.id).first)
            #expect(da.state == "synced")
            #expect(da.remoteID == "r-a")
            #expect(try store.deliveries(leadID: a.id).count == 1)
            #expect(try store.deliveries(leadID: b.id).map(\.state) == ["pending"])
        }
    }

    @Test func importStopsAtABadRecordKeepingEarlierChunks() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            var bad = makeLead("Bad", email: "bad@example.com")
            bad.id = "not-a-uuid"
            let good = (0..<4).map { makeLead("G\($0)", email: "g\($0)@example.com") }
            let records = good.map { ($0, [DeliveryInfo]()) } + [(bad, [])]
            #expect(
                storeError { _ = try store.importLeads(records, form: .default, chunk: 2) }?.code == .invalidArgument
            )
            // Two full chunks were committed before the bad record's chunk rolled back.
            #expect(try allLeadIDs(store) == good.map(\.id))
            #expect(try store.integrityProblems() == [])
        }
    }

    // MARK: Purge

    @Test func purgeRefusesUnsyncedLeadsUnlessForced() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            let now = Timestamp.now()
            let old = now.adding(seconds: -10 * 86400)
            let synced = try store.capture(makeLead("S", email: "s@example.com", capturedAt: old), form: .default)
            let unsynced = try store.capture(makeLead("U", email: "u@example.com", capturedAt: old), form: .default)
            let recent = try store.capture(makeLead("R", email: "r@example.com", capturedAt: now), form: .default)
            let claim = try #require(try store.claimBatch(sink: "crm", limit: 10, leaseSeconds: 60))
            try store.recordResults(
                claimID: claim.claimID,
                sink: "crm",
                outcomes: [synced.id: .synced(remoteID: nil), recent.id: .synced(remoteID: nil)]
            )
            try store.edit(id: synced.id, appendNote: "history to cascade", form: .default)
            let claim2 = try #require(try store.claimBatch(sink: "crm", limit: 10, leaseSeconds: 60))
            try store.recordResults(claimID: claim2.claimID, sink: "crm", outcomes: [synced.id: .synced(remoteID: nil)])

            let cutoff = now.adding(seconds: -86400)
            let result = try store.purge(capturedBefore: cutoff, force: false)
            #expect(result.purged == 1)
            #expect(result.keptUnsynced == 1)
            #expect(try store.lead(id: synced.id) == nil)
            #expect(try store.revisionHistory(id: synced.id).isEmpty)
            #expect(try store.lead(id: unsynced.id) != nil)
            #expect(try store.lead(id: recent.id) != nil)  // synced, but not old enough

            let forced = try store.purge(capturedBefore: cutoff, force: true)
            #expect(forced.purged == 1)
            #expect(try allLeadIDs(store) == [recent.id])
            #expect(try store.integrityProblems() == [])
        }
    }

    @Test func purgeKeepsLeadsNoSinkHasTaken() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.capture(
                makeLead(email: "a@example.com", capturedAt: Timestamp.now().adding(seconds: -3600)),
                form: .default
            )
            let result = try store.purge(capturedBefore: .now(), force: false)
            #expect(result.purged == 0)
            #expect(result.keptUnsynced == 1)
            #expect(try store.status().leads == 1)
        }
    }

    // MARK: Attendees

    @Test func attendeeListIsReplacedAndLookedUpByBadge() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let n = try store.replaceAttendees([
                (badgeID: "ab-1001", fields: ["first_name": "Anna", "email": "anna@example.ru"]),
                (badgeID: "AB-1002", fields: ["first_name": "Boris"]),
                (badgeID: "   ", fields: ["first_name": "No badge"]),
            ])
            #expect(n == 2)
            #expect(try store.attendeeCount() == 2)
            #expect(try store.attendee(badgeID: "AB-1001") == ["first_name": "Anna", "email": "anna@example.ru"])
            #expect(try store.attendee(badgeID: " ab-1002 ")?["first_name"] == "Boris")
            #expect(try store.attendee(badgeID: "AB-9999") == nil)

            #expect(try store.replaceAttendees([(badgeID: "C-1", fields: ["first_name": "Chen"])]) == 1)
            #expect(try store.attendee(badgeID: "AB-1001") == nil)
            #expect(try store.attendee(badgeID: "c-1")?["first_name"] == "Chen")
        }
    }
}
