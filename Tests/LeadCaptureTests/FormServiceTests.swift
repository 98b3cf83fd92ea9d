import Foundation
import LeadCore
import LeadStore
import LeaddTesting
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import LeadCapture

/// What the service reported, for tests to wait on.
final class EventLog: Sendable {
    private let events = Mutex<[FormService.Event]>([])
    private let readyCount = Mutex(0)
    private let done = Mutex(false)

    func markDone() { done.withLock { $0 = true } }
    var isDone: Bool { done.withLock { $0 } }

    func append(_ event: FormService.Event) { events.withLock { $0.append(event) } }
    func ready() { readyCount.withLock { $0 += 1 } }
    var all: [FormService.Event] { events.withLock { $0 } }
    var isReady: Bool { readyCount.withLock { $0 > 0 } }

    /// Polls until `condition` holds for the events so far, or `timeout` passes.
    func wait(timeout: Duration = .seconds(30), _ condition: ([FormService.Event]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(all) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition(all)
    }

    func waitUntilReady(timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if isReady { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return isReady
    }
}

/// A `FormService` running in a `ServiceGroup` on a real pty, with a database in a temporary directory.
final class FormHarness: Sendable {
    let pty: PseudoTerminal
    let directory: String
    let databasePath: String
    let ttyPath: String
    let events = EventLog()
    let group: ServiceGroup
    let task: Task<Void, any Error>

    /// - Parameters:
    ///   - viaSymlink: Give the service a symlink to the pty (so a test can point it at a new pty after a
    ///     hang-up) instead of `/dev/pts/N`.
    init(
        kiosk: Bool = true,
        idleResetSec: Int = 60,
        confirmationSec: Int = 2,
        term: String = "xterm",
        pin: String? = "2468",
        viaSymlink: Bool = false,
        columns: Int = 80,
        lines: Int = 24,
        heartbeat: (interval: Duration, beat: @Sendable () -> Void)? = nil,
        prepareStore: (@Sendable (LeadStore) throws -> Void)? = nil,
        scanner: LeaddConfig.Serial? = nil,
        scanEvents: ScanEvents? = nil
    ) throws {
        pty = try PseudoTerminal(columns: columns, lines: lines)
        directory = NSTemporaryDirectory() + "leadd-form-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        databasePath = directory + "/leads.sqlite3"
        if viaSymlink {
            ttyPath = directory + "/tty"
            try FileManager.default.createSymbolicLink(atPath: ttyPath, withDestinationPath: pty.slavePath)
        } else {
            ttyPath = pty.slavePath
        }
        var config = LeaddConfig(kiosk: LeaddConfig.Kiosk(id: "booth-1", event: "expo-2026"))
        config.terminal = LeaddConfig.Terminal(
            tty: ttyPath,
            kiosk: kiosk,
            idleResetSec: idleResetSec,
            confirmationSec: confirmationSec,
            baud: 115_200
        )
        config.staff.pin = pin
        if let scanner { config.serials = [scanner] }
        let logger = Logger(label: "leadd.form.test", factory: { _ in SwiftLogNoOpLogHandler() })
        let events = self.events
        let handoff = scanner == nil ? nil : try ScanHandoff()
        var service = FormService(
            config: config,
            databasePath: databasePath,
            logger: logger,
            term: term,
            onReady: { events.ready() },
            onEvent: { events.append($0) },
            heartbeat: heartbeat,
            handoff: handoff
        )
        if let prepareStore { service = service.preparingStore(prepareStore) }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if let scanner {
            let service = ScannerService(
                serial: scanner,
                config: config,
                databasePath: databasePath,
                logger: logger,
                handoff: handoff,
                onEvent: { scanEvents?.append($0) }
            )
            services.append(.init(service: service))
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
        self.group = group
        task = Task { try await group.run() }
    }

    /// Waits for the form to be on screen.
    func waitForForm() async -> Bool {
        guard await events.waitUntilReady() else { return false }
        return await pty.waitForScreen(containing: "Submit")
    }

    /// Types `text` and waits until the screen shows `shows` (default: `text` itself).
    func type(_ text: String, thenShows shows: String? = nil) async -> Bool {
        pty.type(text)
        return await pty.waitForScreen(containing: shows ?? text)
    }

    /// Whether `run()` has returned (the group ended) within `timeout`.
    func ended(within timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if isFinished { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return isFinished
    }

    private var isFinished: Bool { events.isDone }

    /// Starts watching for the end of `run()`, for ``ended(within:)``.
    func markFinishedWhenDone() {
        let task = self.task
        let events = self.events
        Task {
            _ = try? await task.value
            events.markDone()
        }
    }

    /// Shuts the group down gracefully and waits for it.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
        pty.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func leads() throws -> [Lead] {
        let store = try LeadStore(path: databasePath)
        return try store.list(LeadFilter(limit: 100)).map(\.lead)
    }
}

/// The form end to end on a real pseudo-terminal. Serialized: ncurses is one library per process, and the
/// machine has few cores.
@Suite(.serialized) struct FormServiceTests {
    @Test(arguments: ["xterm", "vt100"])
    func typedLeadWithCyrillicNameIsStored(term: String) async throws {
        let harness = try FormHarness(term: term)
        #expect(await harness.waitForForm())
        #expect(await harness.type("Анна", thenShows: "Анна"))
        #expect(await harness.type("\tИванова\r", thenShows: "Иванова"))
        #expect(await harness.type("anna@example.com"))
        harness.pty.type("\t+7 916 123-45-67\t\t\t\t")
        #expect(await harness.pty.waitForScreen(containing: "+7 916 123-45-67"))
        harness.pty.type(" ")
        #expect(await harness.pty.waitForScreen(containing: "[x]"))
        harness.pty.type("\t\r")
        #expect(await harness.pty.waitForScreen(containing: "Thank you, Анна!"))
        #expect(await harness.events.wait { $0.contains { if case .leadCaptured = $0 { true } else { false } } })

        let leads = try harness.leads()
        #expect(leads.count == 1)
        let lead = try #require(leads.first)
        #expect(lead.fields["first_name"] == "Анна")
        #expect(lead.fields["last_name"] == "Иванова")
        #expect(lead.fields["email"] == "anna@example.com")
        #expect(lead.fields["phone"] == "+79161234567")
        #expect(lead.channel == .serialTerminal)
        #expect(lead.device == harness.ttyPath)
        #expect(lead.event == "expo-2026")
        #expect(lead.kiosk == "booth-1")
        #expect(lead.consent?.given == true)
        #expect(lead.consent?.language == "en")
        #expect(lead.consent?.textSHA256 == SHA256.hex(FormSpec.default.consentText.text(for: .en)))

        // After ConfirmationSec a fresh, empty form.
        #expect(await harness.pty.waitForScreen { $0.contains("Submit") && !$0.contains("Анна") })
        let stats = try LeadStore(path: harness.databasePath).stats()
        #expect(stats.formStarted == 1)
        #expect(stats.formSubmitted == 1)
        #expect(stats.formViews >= 2)
        try await harness.stop()
    }

    @Test func invalidEmailShowsItsErrorAndStoresNothing() async throws {
        let harness = try FormHarness()
        #expect(await harness.waitForForm())
        #expect(await harness.type("Anna\t\tnot-an-email", thenShows: "not-an-email"))
        harness.pty.type("\t\t\t\t\t \t\r")
        #expect(await harness.pty.waitForScreen(containing: "Enter a valid email address"))
        #expect(try harness.leads().isEmpty)
        // The cursor went back to the email field: typing fixes it there.
        harness.pty.type(String(repeating: PseudoTerminal.Keys.backspace, count: 12) + "anna@example.com")
        #expect(
            await harness.pty.waitForScreen { !$0.contains("Enter a valid email") && $0.contains("anna@example.com") }
        )
        try await harness.stop()
        #expect(try harness.leads().isEmpty)
    }

    @Test func controlKeysAreIgnoredInKioskMode() async throws {
        let harness = try FormHarness(kiosk: true)
        harness.markFinishedWhenDone()
        #expect(await harness.waitForForm())
        #expect(await harness.type("Anna"))
        // (Escape is left out: ESC followed at once by a letter is what Alt+letter sends.)
        for key in [
            PseudoTerminal.Keys.ctrlC, PseudoTerminal.Keys.ctrlZ, PseudoTerminal.Keys.ctrlBackslash,
            PseudoTerminal.Keys.ctrlD,
        ] {
            harness.pty.type(key)
        }
        #expect(await harness.type("Maria", thenShows: "AnnaMaria"))
        #expect(!(await harness.ended(within: .milliseconds(100))))
        try await harness.stop()
    }

    @Test func ctrlCQuitsOutsideKioskMode() async throws {
        let harness = try FormHarness(kiosk: false)
        harness.markFinishedWhenDone()
        #expect(await harness.waitForForm())
        #expect(await harness.type("Half"))
        harness.pty.type(PseudoTerminal.Keys.ctrlC)
        #expect(await harness.ended())
        try await harness.task.value
        #expect(try harness.leads().isEmpty)
        harness.pty.close()
    }

    @Test func idleResetRemovesTypedTextFromScreenAndMemory() async throws {
        let harness = try FormHarness(idleResetSec: 1)
        #expect(await harness.waitForForm())
        #expect(await harness.type("Зоя\tSecretive", thenShows: "Secretive"))
        #expect(await harness.events.wait { $0.contains(.idleReset) })
        #expect(
            await harness.pty.waitForScreen {
                $0.contains("Submit") && !$0.contains("Зоя") && !$0.contains("Secretive")
            }
        )
        let stats = try LeadStore(path: harness.databasePath).stats()
        #expect(stats.formAbandoned == 1)
        #expect(try harness.leads().isEmpty)
        try await harness.stop()
    }

    @Test func hangUpReopensTheDeviceAndTheFormComesBack() async throws {
        let harness = try FormHarness(viaSymlink: true)
        harness.markFinishedWhenDone()
        #expect(await harness.waitForForm())
        #expect(await harness.type("Lost"))
        harness.pty.close()
        #expect(await harness.events.wait { $0.contains(.hangUp) })

        let second = try PseudoTerminal(columns: 80, lines: 24)
        let link = harness.ttyPath
        try FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: second.slavePath)
        #expect(await harness.events.wait(timeout: .seconds(15)) { $0.contains(.reopened) })
        #expect(await second.waitForScreen(containing: "Submit"))
        #expect(!second.screenText.contains("Lost"))
        second.type("Back")
        #expect(await second.waitForScreen(containing: "Back"))
        #expect(!(await harness.ended(within: .milliseconds(100))))
        try await harness.stop()
        second.close()
    }

    @Test func fullDatabaseShowsTheStaffMessageAndKeepsTheLead() async throws {
        let harness = try FormHarness(prepareStore: { store in
            // Page limit at the current size, then fill the free space with small leads.
            try store.setMaxPageCount(1)
            for i in 0..<10_000 {
                do {
                    _ = try store.capture(
                        Lead(event: "filler", kiosk: "k", channel: .import, fields: ["first_name": "F\(i)"]),
                        form: .default
                    )
                } catch {
                    break
                }
            }
        })
        harness.markFinishedWhenDone()
        #expect(await harness.waitForForm())
        let company = String(repeating: "Big Company ", count: 16)
        #expect(await harness.type("Анна\t\tanna@example.com\t\t", thenShows: "anna@example.com"))
        harness.pty.type(company + "\t\t\t \t\r")
        #expect(await harness.pty.waitForScreen(containing: "please call a member of staff"))
        #expect(await harness.events.wait { $0.contains(.storeFailed) })
        #expect(harness.pty.screenText.contains("Анна"))
        #expect(harness.pty.screenText.contains("anna@example.com"))
        #expect(try harness.leads().allSatisfy { $0.event == "filler" })
        // Still running: the form still takes keys.
        harness.pty.type(PseudoTerminal.Keys.backTab + PseudoTerminal.Keys.backTab + "!")
        #expect(!(await harness.ended(within: .milliseconds(200))))
        try await harness.stop()
    }

    @Test func lockedDatabaseShowsTheStaffMessageThenTheRetrySucceeds() async throws {
        let harness = try FormHarness(prepareStore: { store in store.setBusyTimeout(milliseconds: 200) })
        harness.markFinishedWhenDone()
        #expect(await harness.waitForForm())
        // Another process holds the write lock (as a stuck writer would) until its stdin closes.
        let locker = Process()
        locker.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        locker.arguments = [
            "python3", "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN IMMEDIATE');"
                + " print('locked', flush=True); sys.stdin.read()",
            harness.databasePath,
        ]
        let stdin = Pipe()
        let stdout = Pipe()
        locker.standardInput = stdin
        locker.standardOutput = stdout
        try locker.run()
        let line = String(decoding: stdout.fileHandleForReading.availableData, as: UTF8.self)
        #expect(line.hasPrefix("locked"))
        #expect(await harness.type("Лев\t\tlev@example.com", thenShows: "lev@example.com"))
        harness.pty.type("\t\t\t\t\t \t\r")
        #expect(await harness.pty.waitForScreen(containing: "please call a member of staff"))
        #expect(await harness.events.wait { $0.contains(.storeFailed) })
        #expect(harness.pty.screenText.contains("lev@example.com"))
        // The lock goes away; Enter on Submit again stores the same lead.
        try stdin.fileHandleForWriting.close()
        locker.waitUntilExit()
        harness.pty.type("\r")
        #expect(await harness.pty.waitForScreen(containing: "Thank you, Лев!"))
        #expect(try harness.leads().contains { $0.fields["email"] == "lev@example.com" })
        try await harness.stop()
    }

    @Test func gracefulShutdownMidTypingStoresNothingAndReturns() async throws {
        let harness = try FormHarness()
        harness.markFinishedWhenDone()
        #expect(await harness.waitForForm())
        #expect(await harness.type("Половина\t\thalf@example.com", thenShows: "half@example.com"))
        await harness.group.triggerGracefulShutdown()
        #expect(await harness.ended())
        try await harness.task.value
        #expect(try harness.leads().isEmpty)
        // The terminal was handed back without the visitor's text on it.
        #expect(await harness.pty.waitForScreen { !$0.contains("half@example.com") })
        harness.pty.close()
    }

    @Test func staffKeyAndPINOpenTheStaffScreen() async throws {
        let harness = try FormHarness(kiosk: true, pin: "2468")
        #expect(await harness.waitForForm())
        harness.pty.type(PseudoTerminal.Keys.f12)
        #expect(await harness.pty.waitForScreen(containing: "Staff PIN:"))
        harness.pty.type("1111\r")
        #expect(await harness.pty.waitForScreen(containing: "Wrong PIN"))
        harness.pty.type("2468\r")
        #expect(await harness.pty.waitForScreen(containing: "Leads today: 0"))
        #expect(harness.pty.screenText.contains("Waiting to sync: 0"))
        harness.pty.type(PseudoTerminal.Keys.escape)
        #expect(await harness.pty.waitForScreen(containing: "Submit"))
        try await harness.stop()
    }

    @Test func keyboardWedgeCardFillsTheForm() async throws {
        let harness = try FormHarness()
        #expect(await harness.waitForForm())
        harness.pty.type("MECARD:N:Doe,John;TEL:+79161234567;EMAIL:john@example.com;ORG:ACME;;\r")
        #expect(
            await harness.pty.waitForScreen { $0.contains("John") && $0.contains("john@example.com") },
            "\(harness.pty.screenText)"
        )
        #expect(!harness.pty.screenText.contains("MECARD"))
        // Focus is on consent now: tick it and submit.
        harness.pty.type(" \t\r")
        #expect(await harness.pty.waitForScreen(containing: "Thank you, John!"))
        let lead = try #require(try harness.leads().first)
        #expect(lead.fields["email"] == "john@example.com")
        #expect(lead.fields["company"] == "ACME")
        try await harness.stop()
    }

    @Test func pasteOfGarbageKeepsTheScreenIntact() async throws {
        let harness = try FormHarness()
        #expect(await harness.waitForForm())
        // Escape sequences and control characters inside a 100 000-character paste.
        let paste = "\u{1B}[2J\u{1B}]0;pwned\u{07}\u{00}\u{1B}[31m" + String(repeating: "Ж", count: 100_000) + "\u{1B}c"
        harness.pty.type(paste)
        #expect(
            await harness.pty.waitForScreen(timeout: .seconds(30)) { $0.contains("ЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖ") },
            "\(harness.pty.screenText)"
        )
        // Invalid UTF-8: ncurses drops it (and what it read ahead with it); the form goes on.
        harness.pty.write([0xFF, 0xFE, 0xC3, 0x28, 0xED, 0xA0, 0x80])
        var moved = false
        for _ in 0..<5 where !moved {
            // A Tab that arrives with the bad bytes goes with them; one that arrives later moves the focus.
            harness.pty.type(PseudoTerminal.Keys.tab)
            moved = await harness.pty.waitForScreen(timeout: .seconds(2)) { $0.contains("> Last name") }
        }
        #expect(moved)
        #expect(await harness.type("After"))
        let screen = harness.pty.screenLines
        #expect(screen[0].contains("Leave your contacts"))
        #expect(screen[23].contains("F2 Русский"))
        #expect(!harness.pty.screenText.contains("pwned"))
        #expect(!harness.pty.screenText.contains("[2J"))
        #expect(!harness.pty.screenText.contains("[31m"))
        try await harness.stop()
    }

    @Test func resizeToATinyWindowAsksToEnlarge() async throws {
        let harness = try FormHarness()
        #expect(await harness.waitForForm())
        harness.pty.resize(columns: 30, lines: 10)
        harness.pty.type("x")
        #expect(await harness.pty.waitForScreen(containing: "Please enlarge the window"))
        harness.pty.resize(columns: 80, lines: 24)
        harness.pty.type("y")
        #expect(await harness.pty.waitForScreen(containing: "xy"))
        try await harness.stop()
    }

    @Test func serialTerminalIsSetRaw8N1AtTheConfiguredBaud() async throws {
        let harness = try FormHarness()
        #expect(await harness.waitForForm())
        let fd = open(harness.ttyPath, O_RDWR | O_NOCTTY)
        #expect(fd >= 0)
        defer { close(fd) }
        var settings = termios()
        #expect(tcgetattr(fd, &settings) == 0)
        #expect(cfgetospeed(&settings) == speed_t(B115200))
        #expect(cfgetispeed(&settings) == speed_t(B115200))
        #expect(settings.c_cflag & tcflag_t(CSIZE) == tcflag_t(CS8))
        #expect(settings.c_cflag & tcflag_t(PARENB) == 0)
        #expect(settings.c_cflag & tcflag_t(CSTOPB) == 0)
        #expect(settings.c_lflag & tcflag_t(ICANON | ECHO | ISIG) == 0)
        try await harness.stop()
    }

    @Test func formThreadSleepsWhileNothingHappens() async throws {
        let harness = try FormHarness()
        #expect(await harness.waitForForm())
        let threads = formThreads()
        #expect(threads.count == 1)
        let before = threads.map(contextSwitches)
        // A measuring window, not synchronisation: nothing is due, so the thread must not wake at all.
        try await Task.sleep(for: .seconds(1))
        let after = threads.map(contextSwitches)
        #expect(before == after, "the idle form thread woke up: \(before) → \(after)")
        try await harness.stop()
    }

    @Test func heartbeatComesFromTheFormLoop() async throws {
        let beats = Mutex(0)
        let harness = try FormHarness(heartbeat: (interval: .milliseconds(50), beat: { beats.withLock { $0 += 1 } }))
        #expect(await harness.waitForForm())
        let deadline = ContinuousClock.now + .seconds(10)
        while beats.withLock({ $0 }) < 3 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(beats.withLock { $0 } >= 3)
        try await harness.stop()
    }

    /// Threads of this process named `leadd-form`.
    private func formThreads() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
            return comm?.trimmingCharacters(in: .whitespacesAndNewlines) == "leadd-form"
        }
    }

    private func contextSwitches(_ task: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/task/\(task)/status", encoding: .utf8)) ?? ""
        return status.split(separator: "\n").filter { $0.contains("ctxt_switches") }.compactMap {
            Int($0.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "")
        }.reduce(0, +)
    }
}

@Suite struct FormSessionTests {
    @Test(arguments: [
        ("-", Channel.keyboard), ("/dev/tty1", .keyboard), ("/dev/tty12", .keyboard), ("/dev/console", .keyboard),
        ("/dev/ttyS0", .serialTerminal), ("/dev/ttyUSB0", .serialTerminal), ("/dev/ttyACM1", .serialTerminal),
        ("/dev/pts/3", .serialTerminal), ("/run/leadd/tty", .serialTerminal),
    ])
    func channelFollowsTheDevice(tty: String, channel: Channel) {
        let source = FormSession.source(of: tty)
        #expect(source.0 == channel)
        if tty != "-" { #expect(source.1 == tty) }
    }

    @Test func visitorNameIsTheFirstName() {
        #expect(FormSession.visitorName(["first_name": "Анна", "last_name": "Иванова"], form: .default) == "Анна")
        #expect(FormSession.visitorName(["email": "a@b.c"], form: .default) == "")
        let form = FormSpec(
            title: "T",
            fields: [FieldSpec(name: "email", label: "E", type: .email), FieldSpec(name: "who", label: "W")],
            consentText: "c",
            consentRequired: false
        )
        #expect(FormSession.visitorName(["who": "Bob", "email": "b@c.d"], form: form) == "Bob")
    }
}
