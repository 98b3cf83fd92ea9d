import Foundation
import LeadCore
import LeadStore
import LeaddTesting
import Testing

@testable import LeadCapture

/// `[Serial] Consent=form`: a real scanner line (pty pair) and the real form on a pty in one service group.
/// In `FormServiceTests` because ncurses is one library per process and that suite runs one form at a time.
extension FormServiceTests {
    /// A form with a `Consent=form` scanner on a line under a stable name, both running and connected.
    private func withConsentForm(
        idleResetSec: Int = 60,
        _ body: (FormHarness, SerialLine, ScanEvents) async throws -> Void
    ) async throws {
        let directory = NSTemporaryDirectory() + "leadd-scan-consent-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let line = try SerialLine(link: directory + "/scanner")
        defer {
            line.unplug()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let scans = ScanEvents()
        let serial = LeaddConfig.Serial(device: line.devicePath, baud: 115_200, consent: .form)
        let harness = try FormHarness(idleResetSec: idleResetSec, scanner: serial, scanEvents: scans)
        #expect(await harness.waitForForm())
        #expect(await scans.wait { $0.count(.connected) >= 1 })
        try await body(harness, line, scans)
        try await harness.stop()
    }

    @Test func aScanNeedingConsentFillsAFreshFormAndIsStoredOnlyAfterTheVisitorConsents() async throws {
        try await withConsentForm { harness, line, scans in
            // Someone typed and walked away; the next visitor scans: the scan starts a fresh form.
            #expect(await harness.type("Mallory"))
            #expect(line.write(Array("MECARD:N:Doe,John;EMAIL:john@example.com;ORG:ACME;NOTE:Booth 7;;\r\n".utf8)))
            #expect(
                await harness.pty.waitForScreen { $0.contains("john@example.com") && $0.contains("Badge read") },
                "\(harness.pty.screenText)"
            )
            #expect(!harness.pty.screenText.contains("Mallory"))
            #expect(scans.count(.handedToForm) == 1)
            #expect(scans.captured.isEmpty)
            let beforeConsent = try harness.leads()
            #expect(beforeConsent.isEmpty, "nothing is stored before the visitor consents")
            // Focus is on the consent box: tick it and submit.
            harness.pty.type(" " + PseudoTerminal.Keys.tab + PseudoTerminal.Keys.enter)
            #expect(await harness.pty.waitForScreen(containing: "Thank you, John!"))
            let leads = try harness.leads()
            #expect(leads.count == 1)
            let lead = try #require(leads.first)
            #expect(lead.channel == .scanner)
            #expect(lead.device == line.devicePath)
            #expect(lead.fields["email"] == "john@example.com")
            #expect(lead.fields["company"] == "ACME")
            #expect(lead.notes == "Booth 7")
            #expect(lead.fields["first_name"] != "Mallory")
            let formConsent = SHA256.hex(FormSpec.default.consentText.text(for: .en))
            #expect(lead.consent?.given == true)
            #expect(lead.consent?.textSHA256 == formConsent, "the form's consent text, not the scanner's basis")
        }
    }

    @Test func aScanNobodyConsentsToIsWipedWithTheFormAndNeverStored() async throws {
        try await withConsentForm(idleResetSec: 1) { harness, line, _ in
            #expect(line.write(Array(#"{"first_name":"Olga","email":"olga@example.ru"}"#.utf8 + [0x0D])))
            #expect(await harness.pty.waitForScreen(containing: "olga@example.ru"))
            #expect(await harness.events.wait { $0.contains(.idleReset) })
            #expect(await harness.pty.waitForScreen { !$0.contains("olga") && $0.contains("Submit") })
            let stored = try harness.leads()
            #expect(stored.isEmpty)
        }
    }
}
