import ArgumentParser
import LeadCore
import LeadStore
import Testing

@testable import LeadCtlKit

/// Argument parsing, without running anything.
struct LeadCtlParsingTests {
    /// The exit code `LeadCtl.run` reports for a parse failure of `arguments` (nil when they parse).
    private func parseFailureExitCode(_ arguments: [String]) -> Int32? {
        do {
            _ = try LeadCtl.parseAsRoot(arguments)
            return nil
        } catch {
            let code = LeadCtl.exitCode(for: error)
            return code == .validationFailure ? 2 : code.rawValue
        }
    }

    @Test func addParsesAssignmentsAndOptions() throws {
        let command = try LeadCtl.parseAsRoot([
            "--db", "/tmp/x.sqlite3", "add", "first_name=Анна", "email=a@example.ru", "phone=8 916 123-45-67",
            "--consent", "--rating", "hot", "--note", "met at booth", "--json",
        ])
        let add = try #require(command as? Add)
        #expect(add.assignments == ["first_name=Анна", "email=a@example.ru", "phone=8 916 123-45-67"])
        #expect(add.consent)
        #expect(add.rating == "hot")
        #expect(add.note == "met at booth")
        #expect(add.json)
        #expect(add.root.db == "/tmp/x.sqlite3")
        #expect(add.root.config == nil)
    }

    @Test func exportDefaultsToCSVOnStdout() throws {
        let export = try #require(try LeadCtl.parseAsRoot(["export"]) as? Export)
        #expect(export.format == .csv)
        #expect(!export.excel)
        #expect(export.since == nil)
        #expect(export.out == nil)
        let full = try #require(
            try LeadCtl.parseAsRoot([
                "--config", "/etc/leadd/leadd.conf", "export", "--format", "csv", "--excel",
                "--since", "today", "--out", "/media/usb/leads.csv",
            ]) as? Export
        )
        #expect(full.excel)
        #expect(full.since == "today")
        #expect(full.out == "/media/usb/leads.csv")
        #expect(full.root.config == "/etc/leadd/leadd.conf")
    }

    @Test func nestedCommandsParse() throws {
        let attendees = try #require(
            try LeadCtl.parseAsRoot(["attendees", "import", "list.csv"]) as? Attendees.ImportList
        )
        #expect(attendees.file == "list.csv")
        #expect(try LeadCtl.parseAsRoot(["config", "check"]) is ConfigCommand.Check)
        let list = try #require(try LeadCtl.parseAsRoot(["list", "--state", "rejected", "--limit", "5"]) as? List)
        #expect(list.state == "rejected")
        #expect(list.limit == 5)
        let retry = try #require(try LeadCtl.parseAsRoot(["retry", "--rejected"]) as? Retry)
        #expect(retry.rejected && retry.leadIDs.isEmpty)
        let purge = try #require(try LeadCtl.parseAsRoot(["purge", "--synced-before", "7", "--force"]) as? Purge)
        #expect(purge.days == 7 && purge.force)
        let stats = try #require(try LeadCtl.parseAsRoot(["stats", "--cost", "1500.50", "--json"]) as? Stats)
        #expect(stats.cost == 1500.5 && stats.json)
        let rate = try #require(try LeadCtl.parseAsRoot(["rate", "0190aaaa", "none"]) as? Rate)
        #expect(rate.leadID == "0190aaaa" && rate.rating == "none")
    }

    @Test func invalidCombinationsAreUsageErrors() {
        for arguments in [
            ["--config", "a.conf", "--db", "b.sqlite3", "status"],
            ["add", "--rating", "lukewarm"],
            ["list", "--state", "lost"],
            ["list", "--limit", "-1"],
            ["retry"],
            ["retry", "0190aaaa", "--rejected"],
            ["export", "--format", "jsonl", "--excel"],
            ["export", "--since", "yesterday-ish"],
            ["export", "--format", "pdf"],
            ["rate", "0190aaaa"],
            ["stats", "--cost", "nan"],
            ["no-such-command"],
        ] {
            #expect(parseFailureExitCode(arguments) == 2, "\(arguments)")
        }
        #expect(parseFailureExitCode(["status", "--json"]) == nil)
    }

    @Test func sinceAcceptsTheDocumentedForms() {
        let now = Timestamp(milliseconds: 1_795_000_000_000)
        #expect(parseSince("24h", now: now) == now.adding(seconds: -86400))
        #expect(parseSince("2026-11-22T09:58:41Z", now: now) == Timestamp(rfc3339: "2026-11-22T09:58:41Z"))
        #expect(parseSince("today", now: now) == LocalTime.startOfDay(now))
        #expect(parseSince("2026-11-22", now: now) != nil)
        #expect(parseSince("soon", now: now) == nil)
        #expect(parseSince("-3h", now: now) == nil)
    }

    @Test func cliErrorsMapToDesignExitCodes() {
        #expect(CLIError.failure("x").exitCode == 1)
        #expect(CLIError.usage("x").exitCode == 2)
        #expect(CLIError.config("x").exitCode == 78)
    }
}
