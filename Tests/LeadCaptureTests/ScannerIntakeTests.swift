import Foundation
import LeadCore
import LeadStore
import Testing

@testable import LeadCapture

/// The record-to-lead rules of the scanner, without a device: one real SQLite file per test.
struct ScannerIntakeTests {
    private func withIntake(
        format: LeaddConfig.Serial.Format = .auto,
        consent: LeaddConfig.Serial.ConsentMode = .basis,
        attendees: [(badgeID: String, fields: [String: String])] = [],
        _ body: (inout ScannerIntake, LeadStore) throws -> Void
    ) throws {
        let dir = NSTemporaryDirectory() + "leadd-intake-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try LeadStore(path: dir + "/leads.sqlite3")
        if !attendees.isEmpty { try store.replaceAttendees(attendees) }
        var config = LeaddConfig(kiosk: LeaddConfig.Kiosk(id: "booth-1", event: "expo-2026", language: .ru))
        config.serials = [
            LeaddConfig.Serial(
                device: "/dev/ttyACM0",
                format: format,
                consentText: LocalizedText("Badge scanned", translations: ["ru": "Бейдж отсканирован"]),
                consent: consent
            )
        ]
        var intake = ScannerIntake(serial: config.serials[0], config: config)
        try body(&intake, store)
    }

    private func reason(_ outcome: ScannerIntake.Outcome) -> String? {
        if case .dropped(let reason, _) = outcome { return reason }
        return nil
    }

    private func lead(_ outcome: ScannerIntake.Outcome) -> Lead? {
        if case .captured(let lead, _, _) = outcome { return lead }
        return nil
    }

    @Test func consentRecordsTheScannerBasisInTheKioskLanguage() throws {
        try withIntake { intake, store in
            let now = Timestamp(milliseconds: 1_795_000_000_000)
            let stored = try #require(lead(intake.take(Array("B-1001\r".utf8), store: store, readAt: 0, now: now)))
            #expect(stored.consent == Consent(text: "Бейдж отсканирован", language: "ru", at: now))
            #expect(stored.capturedAt == now && stored.channel == .scanner && stored.device == "/dev/ttyACM0")
        }
    }

    @Test func aShortUnlistedBadgeIsImplausibleUnlessTheListOrTheFormatSaysSo() throws {
        try withIntake(attendees: [(badgeID: "42", fields: ["first_name": "Ann"])]) { intake, store in
            #expect(
                reason(intake.take(Array("7Q".utf8), store: store, readAt: 0, now: .now())) == "implausible badge id"
            )
            #expect(
                lead(intake.take(Array("42".utf8), store: store, readAt: 10_000, now: .now()))?.fields == [
                    "first_name": "Ann"
                ]
            )
            #expect(lead(intake.take(Array("Q7Q7".utf8), store: store, readAt: 20_000, now: .now())) != nil)
        }
        try withIntake(format: .badge) { intake, store in
            #expect(lead(intake.take(Array("7".utf8), store: store, readAt: 0, now: .now()))?.badgeID == "7")
        }
    }

    @Test func aBareBadgeRightAfterGarbageIsGarbageButACardIsNot() throws {
        try withIntake { intake, store in
            intake.noteDropped(reason: "binary garbage", at: 1000)
            #expect(
                reason(intake.take(Array("B-2001".utf8), store: store, readAt: 1499, now: .now()))
                    == "badge id next to garbage"
            )
            // That drop is garbage context too; a structured card is judged on its own.
            let card = Array(#"{"first_name":"Anna","badge":"B-2001"}"#.utf8)
            #expect(lead(intake.take(card, store: store, readAt: 1600, now: .now())) != nil)
            // A committed scan ends the garbage context.
            #expect(lead(intake.take(Array("B-2002".utf8), store: store, readAt: 1700, now: .now())) != nil)
            intake.noteDropped(reason: "double read", at: 5000)
            intake.noteDropped(reason: "not stored", at: 5000)
            #expect(lead(intake.take(Array("B-2003".utf8), store: store, readAt: 5001, now: .now())) != nil)
            intake.noteDropped(reason: "malformed", at: 9000)
            #expect(lead(intake.take(Array("B-2004".utf8), store: store, readAt: 9500, now: .now())) != nil)
        }
    }

    @Test func fieldsTheFormDoesNotHaveOrThatFailValidationAreLeftOut() throws {
        try withIntake { intake, store in
            let card = Array("first_name=Anna;email=Anna@Example.RU;phone=12;t_shirt=XL;interest=pricing".utf8)
            guard
                case .captured(let stored, let unresolved, let dropped) =
                    intake.take(card, store: store, readAt: 0, now: .now())
            else {
                Issue.record("not captured")
                return
            }
            #expect(stored.fields == ["first_name": "Anna", "email": "anna@example.ru", "interest": "pricing"])
            #expect(!unresolved)
            #expect(dropped.map(\.field) == ["phone", "t_shirt"])
        }
    }

    @Test func aCardWithNobodyInItIsDropped() throws {
        try withIntake { intake, store in
            for card in [#"{"company":"Acme"}"#, #"{"email":"nope","job_title":"CTO"}"#, "MECARD:ORG:Acme;;"] {
                #expect(
                    reason(intake.take(Array(card.utf8), store: store, readAt: 0, now: .now())) == "no usable identity",
                    "\(card)"
                )
            }
            let stored = try store.status().leads
            #expect(stored == 0)
        }
    }

    @Test func withConsentOnTheFormAScanIsHandedOverLookedUpAndCleanedButNotStored() throws {
        let attendee = (badgeID: "B-77", fields: ["first_name": "Ann", "email": "ann@example.com"])
        try withIntake(consent: .form, attendees: [attendee]) { intake, store in
            guard
                case .forConsent(let scan, let dropped) = intake.take(
                    Array("B-77\r".utf8),
                    store: store,
                    readAt: 5,
                    now: .now()
                )
            else {
                Issue.record("not handed to the form")
                return
            }
            #expect(
                scan
                    == ScanHandoff.Scan(
                        fields: attendee.fields,
                        badgeID: "B-77",
                        notes: "",
                        device: "/dev/ttyACM0",
                        readAt: 5
                    )
            )
            #expect(dropped.isEmpty)
            let card = Array("first_name=Bob\u{1B}[2J;email=BOB@example.com;phone=12".utf8)
            guard
                case .forConsent(let cleaned, let droppedFields) = intake.take(
                    card,
                    store: store,
                    readAt: 10,
                    now: .now()
                )
            else {
                Issue.record("not handed to the form")
                return
            }
            #expect(cleaned.fields["email"] == "bob@example.com")
            #expect(cleaned.fields["first_name"]?.contains("\u{1B}") == false)
            #expect(droppedFields.map(\.field) == ["phone"])
            // The double-read filter still applies; garbage is still dropped; nothing reached the database.
            #expect(reason(intake.take(card, store: store, readAt: 20, now: .now())) == "double read")
            #expect(
                reason(intake.take(Array(#"{"company":"Acme"}"#.utf8), store: store, readAt: 30, now: .now()))
                    == "no usable identity"
            )
            let stored = try store.status().leads
            #expect(stored == 0)
        }
    }
}

@Suite struct ScanHandoffTests {
    private func scan(_ name: String, readAt: Int64) -> ScanHandoff.Scan {
        ScanHandoff.Scan(fields: ["first_name": name], badgeID: nil, notes: "", device: "/dev/scanner", readAt: readAt)
    }

    @Test func theFormGetsTheNewestFreshScanAndTheRestAreForgotten() throws {
        let handoff = try ScanHandoff()
        #expect(handoff.take(now: 0).scan == nil)
        handoff.post(scan("Ann", readAt: 1000))
        handoff.post(scan("Bob", readAt: 2000))
        var fds = [pollfd(fd: handoff.readFD, events: Int16(POLLIN), revents: 0)]
        #expect(poll(&fds, 1, 0) == 1, "a posted scan wakes the form's poll")
        let taken = handoff.take(now: 3000)
        #expect(taken.scan?.fields["first_name"] == "Bob")
        #expect(taken.discarded == 1)
        fds[0].revents = 0
        #expect(poll(&fds, 1, 0) == 0, "taking drains the wake-up")
        #expect(handoff.take(now: 3000).scan == nil)
        // A scan nobody looked at for longer than the limit is not shown to whoever stands there now.
        handoff.post(scan("Cid", readAt: 10_000))
        let stale = handoff.take(now: 10_000 + ScanHandoff.maximumAgeMilliseconds + 1)
        #expect(stale.scan == nil && stale.discarded == 1)
    }

    @Test func aFullQueueDropsTheOldestScans() throws {
        let handoff = try ScanHandoff()
        var pushedOut = 0
        for i in 0..<(ScanHandoff.capacity + 3) { pushedOut += handoff.post(scan("V\(i)", readAt: Int64(i))) }
        #expect(pushedOut == 3)
        let taken = handoff.take(now: 100)
        #expect(taken.scan?.fields["first_name"] == "V\(ScanHandoff.capacity + 2)")
        #expect(taken.discarded == ScanHandoff.capacity - 1)
    }
}
