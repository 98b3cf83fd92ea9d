import Foundation
import LeadCore
import LeadStore
import Testing

/// Capture, local dedup, lookup and staff edits.
struct LeadStoreLeadsTests {
    @Test func captureStoresEveryPartOfTheLead() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let at = Timestamp(milliseconds: 1_795_000_000_123)
            var lead = Lead(
                event: "Expo 2026",
                kiosk: "booth-7",
                capturedAt: at,
                channel: .scanner,
                device: "/dev/ttyACM0",
                fields: [
                    "first_name": "Анна", "last_name": "Петрова", "email": "anna@example.ru", "interest": "pricing",
                ],
                consent: Consent(text: "I agree", language: "ru", at: at.adding(seconds: 2)),
                rating: .warm,
                notes: "line one\nline two",
                badgeID: "B-1001"
            )
            lead.revision = 1
            let stored = try store.capture(lead, form: .default)
            #expect(stored == lead)
            let read = try #require(try store.lead(id: lead.id))
            #expect(read == lead)
            #expect(read.consent?.textSHA256 == SHA256.hex("I agree"))
            #expect(read.device == "/dev/ttyACM0")
            #expect(read.capturedAt == at)
        }
    }

    @Test func leadWithoutConsentOrOptionalPartsRoundTrips() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let lead = Lead(event: "E", kiosk: "k", channel: .import, fields: [:])
            try store.capture(lead, form: .default)
            let read = try #require(try store.lead(id: lead.id))
            #expect(read == lead)
            #expect(read.consent == nil && read.rating == nil && read.badgeID == nil && read.duplicateOf == nil)
        }
    }

    @Test func captureRefusesAnInvalidLeadID() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            var lead = makeLead(email: "a@example.com")
            lead.id = "'; DROP TABLE leads; --"
            #expect(storeError { try store.capture(lead, form: .default) }?.code == .invalidArgument)
            lead.id = LeadID.make().uppercased()
            #expect(storeError { try store.capture(lead, form: .default) }?.code == .invalidArgument)
            #expect(try store.status().leads == 0)
        }
    }

    @Test func sameLeadIDTwiceIsAConstraintError() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let lead = makeLead(email: "a@example.com")
            try store.capture(lead, form: .default)
            #expect(storeError { try store.capture(lead, form: .default) }?.code == .constraint)
            #expect(try store.status().leads == 1)
        }
    }

    @Test func textIsStoredByteForByte() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            // The store is not the sanitiser: whatever it is given (an import, say) comes back exactly.
            let hostile = "A\u{0}B\u{1B}[2J\u{202E}gnp.exe\"quote'; DROP TABLE leads; --"
            let lead = makeLead(hostile, email: "x@example.com")
            try store.capture(lead, form: .default)
            #expect(try store.lead(id: lead.id)?.fields["first_name"] == hostile)
        }
    }

    // MARK: Dedup

    @Test func sameEmailInAnotherCaseIsADuplicateStoredInFull() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let first = try store.capture(makeLead("Anna", email: "anna@example.ru"), form: .default)
            let second = makeLead("Anya", email: "Anna@Example.RU", phone: "+79161234567")
            let stored = try store.capture(second, form: .default)
            #expect(first.duplicateOf == nil)
            #expect(stored.duplicateOf == first.id)
            let read = try #require(try store.lead(id: second.id))
            #expect(read.duplicateOf == first.id)
            #expect(read.fields == second.fields)  // nothing the visitor typed is dropped
        }
    }

    @Test func samePhoneIsADuplicate() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let first = try store.capture(makeLead("A", email: "a@example.com", phone: "+79161234567"), form: .default)
            let second = try store.capture(
                makeLead("B", email: "b@example.com", phone: "+7 916 123-45-67"),
                form: .default
            )
            #expect(second.duplicateOf == first.id)
        }
    }

    @Test func sameBadgeIsADuplicate() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let first = try store.capture(makeLead("A", badge: "ab-1001"), form: .default)
            let second = try store.capture(makeLead("B", badge: " AB-1001 "), form: .default)
            let other = try store.capture(makeLead("C", badge: "AB-1002"), form: .default)
            #expect(second.duplicateOf == first.id)
            #expect(other.duplicateOf == nil)
        }
    }

    @Test func duplicateOfADuplicatePointsAtTheFirstLead() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let first = try store.capture(makeLead("A", email: "a@example.com"), form: .default)
            let second = try store.capture(
                makeLead("B", email: "a@example.com", phone: "+4915112345678"),
                form: .default
            )
            // Matches the second lead by phone and the first by email: the earliest original wins.
            let third = try store.capture(
                makeLead("C", email: "A@example.com", phone: "+4915112345678"),
                form: .default
            )
            #expect(second.duplicateOf == first.id)
            #expect(third.duplicateOf == first.id)
        }
    }

    @Test func sameVisitorAtAnotherEventIsNotADuplicate() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.capture(makeLead(email: "anna@example.ru", event: "Expo 2026"), form: .default)
            let other = try store.capture(makeLead(email: "anna@example.ru", event: "Summit 2026"), form: .default)
            #expect(other.duplicateOf == nil)
        }
    }

    @Test func leadWithNoKeysIsNeverADuplicate() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let a = try store.capture(makeLead("Anna"), form: .default)
            let b = try store.capture(makeLead("Anna"), form: .default)
            #expect(a.duplicateOf == nil && b.duplicateOf == nil)
        }
    }

    @Test func duplicatesAreStoredButCountedOnce() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.capture(makeLead("Anna", email: "anna@example.ru"), form: .default)
            try store.capture(makeLead("Anna", email: "ANNA@example.ru"), form: .default)
            try store.capture(makeLead("Boris", email: "boris@example.ru"), form: .default)
            let stats = try store.stats()
            #expect(stats.stored == 3)
            #expect(stats.duplicates == 1)
            #expect(stats.leads == 2)
            #expect(stats.byChannel.map(\.1).reduce(0, +) == 2)
            let status = try store.status()
            #expect(status.leads == 3)
            #expect(status.duplicates == 1)
        }
    }

    // MARK: Lookup

    @Test func uniqueIDPrefixFindsALead() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let a = Lead(
                id: "0190aaaa-0000-7000-8000-000000000001",
                event: "E",
                kiosk: "k",
                channel: .staff,
                fields: [:]
            )
            let b = Lead(
                id: "0190aaaa-0000-7000-8000-000000000002",
                event: "E",
                kiosk: "k",
                channel: .staff,
                fields: [:]
            )
            let c = Lead(
                id: "0190bbbb-0000-7000-8000-000000000003",
                event: "E",
                kiosk: "k",
                channel: .staff,
                fields: [:]
            )
            for lead in [a, b, c] { try store.capture(lead, form: .default) }
            #expect(try store.lead(id: "0190bbbb")?.id == c.id)
            #expect(try store.lead(id: "0190aaaa-0000-7000-8000-000000000002")?.id == b.id)
            #expect(storeError { _ = try store.lead(id: "0190aaaa") }?.code == .invalidArgument)
            #expect(try store.lead(id: "0190") == nil)  // too short to be a prefix
            #expect(try store.lead(id: "0190cccc") == nil)
            #expect(try store.lead(id: "%") == nil)
        }
    }

    // MARK: Edits

    @Test func editBumpsRevisionKeepsHistoryAndRequeues() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            let lead = try store.capture(makeLead("Anna", email: "anna@example.ru"), form: .default)
            // Deliver revision 1.
            let claim = try #require(try store.claimBatch(sink: "crm", limit: 10, leaseSeconds: 60))
            try store.recordResults(claimID: claim.claimID, sink: "crm", outcomes: [lead.id: .synced(remoteID: "r-1")])
            #expect(try store.deliveries(leadID: lead.id).map(\.state) == ["synced"])

            var fields = lead.fields
            fields["company"] = "Acme"
            let edited = try store.edit(id: lead.id, fields: fields, form: .default)
            #expect(edited.revision == 2)
            #expect(try store.lead(id: lead.id)?.revision == 2)
            #expect(try store.lead(id: lead.id)?.fields["company"] == "Acme")

            let history = try store.revisionHistory(id: lead.id)
            #expect(history.map(\.revision) == [1])
            let record = try JSONSerialization.jsonObject(with: Data(history[0].record.utf8)) as? [String: Any]
            #expect(record?["revision"] as? Int == 1)
            #expect((record?["fields"] as? [String: Any])?["company"] == nil)

            // Revision 2 is queued again for the sink, and a claim hands out revision 2.
            let delivery = try #require(try store.deliveries(leadID: lead.id).first)
            #expect(delivery.state == "pending")
            #expect(delivery.attempts == 0)
            let again = try #require(try store.claimBatch(sink: "crm", limit: 10, leaseSeconds: 60))
            #expect(again.leads.map(\.lead.revision) == [2])
            #expect(again.leads.first?.lead.fields["company"] == "Acme")
        }
    }

    @Test func rateAndNotesAreEditsThatAppendNotes() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let lead = try store.capture(makeLead(email: "a@example.com"), form: .default)
            try store.edit(id: lead.id, rating: .some(.hot), form: .default)
            try store.edit(id: lead.id, appendNote: "wants a demo", form: .default)
            let last = try store.edit(id: lead.id, appendNote: "call on Monday", form: .default)
            #expect(last.revision == 4)
            #expect(last.rating == .hot)
            #expect(last.notes == "wants a demo\ncall on Monday")
            let cleared = try store.edit(id: lead.id, rating: .some(nil), form: .default)
            #expect(cleared.rating == nil)
            #expect(try store.revisionHistory(id: lead.id).map(\.revision) == [1, 2, 3, 4])
        }
    }

    @Test func editThatChangesNothingKeepsTheRevision() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let lead = try store.capture(makeLead(email: "a@example.com"), form: .default)
            let same = try store.edit(
                id: lead.id,
                fields: lead.fields,
                rating: .some(nil),
                appendNote: "",
                form: .default
            )
            #expect(same.revision == 1)
            #expect(try store.revisionHistory(id: lead.id).isEmpty)
        }
    }

    @Test func editOfAnUnknownLeadIsNotFound() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let error = storeError { try store.edit(id: LeadID.make(), rating: .some(.hot), form: .default) }
            #expect(error?.code == .notFound)
        }
    }
}
