import CSQLite
import Foundation
import LeadCore
import Testing

@testable import LeadStore

/// Scanner state and drop counters for `leadctl status`, and unresolved badge scans completed from the
/// attendee list.
struct LeadStoreScannerTests {
    private func scan(
        badge: String,
        fields: [String: String] = [:],
        at: Timestamp = .now(),
        device: String = "/dev/ttyACM0"
    ) -> Lead {
        Lead(
            event: "Expo 2026",
            kiosk: "booth-1",
            capturedAt: at,
            channel: .scanner,
            device: device,
            fields: fields,
            consent: Consent(text: "Badge scanned at the booth", language: "en", at: at),
            badgeID: badge
        )
    }

    @Test func migrationThreeAddsTheScannerTablesToAnExistingDatabase() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            do {
                // A database as the build before scanners left it: migrations 1 and 2 only, one lead in it.
                let raw = try RawSQLite(path)
                try raw.execute("PRAGMA journal_mode = WAL")
                for sql in Schema.migrations.prefix(2) { try raw.execute(sql) }
                try raw.execute("PRAGMA application_id = \(Schema.applicationID); PRAGMA user_version = 2")
                try raw.execute(
                    """
                    INSERT INTO leads (lead_id, revision, event, kiosk, captured_at, channel, fields, badge_id,
                        badge_key, updated_at)
                    VALUES ('\(LeadID.make())', 1, 'Expo 2026', 'k', 1, 'scanner', '{}', 'B-1', 'B-1', 1)
                    """
                )
            }
            let store = try LeadStore(path: path)
            #expect(Schema.migrations.count >= 3)
            #expect(try store.schemaVersion() == Schema.migrations.count)
            let raw = try RawSQLite(path, readOnly: true)
            for table in ["scanners", "scanner_drops"] {
                #expect(
                    try raw.int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '\(table)'") == 1
                )
            }
            #expect(try raw.int("SELECT count(*) FROM sqlite_master WHERE name = 'leads_unresolved'") == 1)
            #expect(try store.unresolvedLeadCount() == 1)
            // The unresolved-scan query uses the partial index, not a scan of every lead.
            let plan = try store.db.prepare(
                "EXPLAIN QUERY PLAN SELECT count(*) FROM leads WHERE fields = '{}' AND badge_key IS NOT NULL"
            )
            var details: [String] = []
            while try plan.step() { details.append(plan.text(3)) }
            #expect(details.contains { $0.contains("leads_unresolved") }, "\(details)")
        }
    }

    @Test func scannerStateKeepsSinceUntilTheConnectionChanges() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let t0 = Timestamp(milliseconds: 1_795_000_000_000)
            try store.setScannerState(device: "/dev/ttyACM0", connected: false, error: "No such file", pid: 42, at: t0)
            try store.setScannerState(
                device: "/dev/ttyACM0",
                connected: false,
                error: "Permission denied",
                pid: 42,
                at: t0.adding(seconds: 5)
            )
            var status = try #require(try store.scannerStatuses(now: t0).first)
            #expect(!status.connected)
            #expect(status.since == t0)
            #expect(status.lastError == "Permission denied")
            #expect(status.pid == 42)
            try store.setScannerState(
                device: "/dev/ttyACM0",
                connected: true,
                error: nil,
                pid: 43,
                at: t0.adding(seconds: 9)
            )
            status = try #require(try store.scannerStatuses(now: t0).first)
            #expect(status.connected && status.since == t0.adding(seconds: 9) && status.lastError == nil)
        }
    }

    @Test func statusCountsTodaysScansAndDropsPerDevice() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let now = Timestamp.now()
            let yesterday = now.adding(seconds: -86_400 - 60)
            try store.capture(scan(badge: "A-1", at: now), form: .default)
            try store.capture(scan(badge: "A-1", at: now), form: .default)  // a duplicate is still a scan
            try store.capture(scan(badge: "A-2", at: yesterday), form: .default)
            try store.capture(scan(badge: "A-3", at: now, device: "/dev/ttyUSB0"), form: .default)
            try store.addScannerDrops(device: "/dev/ttyACM0", ["binary garbage": 2, "double read": 1], at: now)
            try store.addScannerDrops(device: "/dev/ttyACM0", ["binary garbage": 3], at: now)
            try store.addScannerDrops(device: "/dev/ttyACM0", ["vcard cut off": 7], at: yesterday)
            let statuses = try store.scannerStatuses(devices: ["/dev/ttyACM0", "/dev/serial/by-id/new"], now: now)
            #expect(statuses.map(\.device) == ["/dev/ttyACM0", "/dev/serial/by-id/new"])
            #expect(statuses[0].scansToday == 2)
            #expect(statuses[0].lastScan == now)
            #expect(statuses[0].droppedToday == ["binary garbage": 5, "double read": 1])
            #expect(statuses[0].droppedTotal == 6)
            #expect(statuses[1] == ScannerStatus(device: "/dev/serial/by-id/new"))
            // Without a configured list: the devices leadd reported a state for (none here).
            #expect(try store.scannerStatuses(now: now).isEmpty)
            try store.setScannerState(device: "/dev/ttyUSB0", connected: true, error: nil, pid: 1, at: now)
            #expect(try store.scannerStatuses(now: now).map(\.scansToday) == [1])
        }
    }

    @Test func attendeeImportCompletesUnresolvedScansWithANewRevisionQueuedAgain() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            let known = try store.capture(scan(badge: "b-1001"), form: .default)
            let unknown = try store.capture(scan(badge: "Z-9"), form: .default)
            #expect(try store.unresolvedLeadCount() == 2)
            #expect(try store.list(LeadFilter(state: "unresolved")).count == 2)
            // The first revision was synced; the completed one must go out again.
            try store.db.execute("UPDATE deliveries SET state = 'synced'")
            try store.replaceAttendees([
                (
                    badgeID: "B-1001",
                    fields: [
                        "first_name": "Анна", "email": "Anna@Example.RU", "phone": "8 916 123-45-67",
                        "t_shirt": "XL",
                    ]
                ),
                (badgeID: "C-1", fields: ["first_name": "Chen"]),
            ])
            let validator = LeadValidator(form: .default, country: "RU")
            let resolved = try store.resolveUnresolvedLeads(validator: validator)
            #expect(resolved.map(\.id) == [known.id])
            let lead = try #require(try store.lead(id: known.id))
            #expect(lead.fields == ["first_name": "Анна", "email": "anna@example.ru", "phone": "+79161234567"])
            #expect(lead.revision == 2)
            #expect(lead.badgeID == "b-1001")
            #expect(lead.channel == .scanner && lead.device == "/dev/ttyACM0")
            #expect(try store.revisionHistory(id: known.id).map(\.revision) == [1])
            #expect(try store.deliveries(leadID: known.id).map(\.state) == ["pending"])
            #expect(
                try store.db.scalarInt(
                    "SELECT revision FROM deliveries WHERE lead_seq = (SELECT seq FROM leads WHERE lead_id = ?)",
                    [.text(known.id)]
                ) == 2
            )
            // Still unknown: untouched, still findable.
            #expect(try store.lead(id: unknown.id)?.revision == 1)
            #expect(try store.list(LeadFilter(state: "unresolved")).map(\.lead.id) == [unknown.id])
            #expect(try store.deliveries(leadID: unknown.id).map(\.state) == ["synced"])
            // A second pass finds nothing more to do.
            #expect(try store.resolveUnresolvedLeads(validator: validator).isEmpty)
        }
    }

    @Test func aCompletedScanMatchingAnEarlierLeadBecomesItsDuplicate() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let typed = try store.capture(makeLead("Anna", email: "anna@example.ru"), form: .default)
            let scanned = try store.capture(scan(badge: "B-7"), form: .default)
            #expect(scanned.duplicateOf == nil)
            try store.replaceAttendees([(badgeID: "B-7", fields: ["first_name": "Anna", "email": "anna@example.ru"])])
            let resolved = try store.resolveUnresolvedLeads(validator: LeadValidator(form: .default, country: nil))
            #expect(resolved.first?.duplicateOf == typed.id)
            #expect(try store.lead(id: scanned.id)?.duplicateOf == typed.id)
            #expect(try store.status().duplicates == 1)
        }
    }

    @Test func anAttendeeWithNothingUsableLeavesTheScanUnresolved() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let scanned = try store.capture(scan(badge: "B-8"), form: .default)
            try store.replaceAttendees([(badgeID: "B-8", fields: ["email": "not an email"])])
            #expect(try store.resolveUnresolvedLeads(validator: LeadValidator(form: .default, country: nil)).isEmpty)
            #expect(try store.lead(id: scanned.id)?.revision == 1)
            #expect(try store.unresolvedLeadCount() == 1)
        }
    }
}
