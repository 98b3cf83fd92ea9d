import Foundation
import LeadCore
import LeadStore
import Testing

@testable import LeadCapture

/// The record-to-lead rules of the scanner, without a device: one real SQLite file per test.
struct ScannerIntakeTests {
    private func withIntake(
        format: LeaddConfig.Serial.Format = .auto,
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
                consentText: LocalizedText("Badge scanned", translations: ["ru": "Бейдж отсканирован"])
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
}
