import Foundation
import LeaddTesting
import Logging
import Testing

@testable import Systemd

@Suite(.serialized) struct SystemdNotifierTests {
    @Test func sendsReadyStatusAndStoppingToTheNotifySocket() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let socket = try NotifySocket(directory: dir.path)
        setenv("NOTIFY_SOCKET", socket.path, 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        let notifier = SystemdNotifier()
        notifier.ready(status: "Ready — 3 leads today")
        notifier.status("multi\nline")
        notifier.stopping(status: "bye")
        #expect(await socket.waitFor(line: "READY=1")?.contains("STATUS=Ready — 3 leads today") == true)
        #expect(await socket.waitFor(line: "STATUS=multi line") != nil)
        #expect(await socket.waitFor(line: "STOPPING=1") != nil)
    }

    @Test func withoutANotifySocketNothingIsSent() {
        unsetenv("NOTIFY_SOCKET")
        #expect(SystemdNotifier().send("READY=1") == false)
    }

    @Test func watchdogIntervalComesFromTheEnvironmentSystemdSets() {
        setenv("WATCHDOG_USEC", "4000000", 1)
        setenv("WATCHDOG_PID", "\(getpid())", 1)
        defer {
            unsetenv("WATCHDOG_USEC")
            unsetenv("WATCHDOG_PID")
        }
        #expect(SystemdNotifier().watchdogInterval() == .seconds(4))
        setenv("WATCHDOG_PID", "1", 1)
        #expect(SystemdNotifier().watchdogInterval() == nil)
    }
}

struct JournalLogHandlerTests {
    @Test func metadataKeysBecomeJournalFieldNames() {
        #expect(JournalLogHandler.fieldName("lead.id") == "LEAD_ID")
        #expect(JournalLogHandler.fieldName("lead.channel") == "LEAD_CHANNEL")
        #expect(JournalLogHandler.fieldName("_x") == "X")
        #expect(JournalLogHandler.fieldName("9lives") == nil)
    }

    @Test func entriesCarryMessagePriorityAndMetadata() {
        let fields = JournalLogHandler.fields(
            level: .warning,
            message: "Lead captured",
            metadata: ["lead.id": "0193", "tty": "/dev/tty1"],
            label: "leadd",
            source: "LeadCapture"
        )
        #expect(fields.contains("MESSAGE=Lead captured"))
        #expect(fields.contains("PRIORITY=4"))
        #expect(fields.contains("LEAD_ID=0193"))
        #expect(fields.contains("TTY=/dev/tty1"))
    }

    @Test func stderrIsTheJournalOnlyWhenJournalStreamNamesIt() {
        var st = stat()
        #expect(fstat(2, &st) == 0)
        #expect(JournalLogHandler.stderrIsJournal(journalStream: "\(st.st_dev):\(st.st_ino)"))
        #expect(!JournalLogHandler.stderrIsJournal(journalStream: "\(st.st_dev):\(st.st_ino + 1)"))
        #expect(!JournalLogHandler.stderrIsJournal(journalStream: nil))
        #expect(!JournalLogHandler.stderrIsJournal(journalStream: "garbage"))
    }
}
