import Foundation
import LeaddTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built `leadd` binary on a real pseudo-terminal, with a test-owned NOTIFY_SOCKET.
final class Daemon {
    let dir = TemporaryDirectory("leadd-e2e")
    let process = Process()
    let notify: NotifySocket
    var configPath: String { dir.path + "/leadd.conf" }
    var databasePath: String { dir.path + "/data/leads.sqlite3" }

    init(
        tty: String,
        term: String,
        extraConfig: String = "",
        kiosk: Bool = true,
        environment: [String: String] = [:]
    ) throws {
        notify = try NotifySocket(directory: dir.path)
        try """
        [Kiosk]
        ID=booth-e2e
        Event=expo-e2e
        DataDirectory=\(dir.path)/data
        Country=RU
        [Terminal]
        TTY=\(tty)
        Kiosk=\(kiosk ? "yes" : "no")
        \(extraConfig)
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: BuiltProducts.path("leadd"))
        process.arguments = ["--config", configPath]
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = notify.path
        env["TERM"] = term
        env.removeValue(forKey: "JOURNAL_STREAM")
        env.merge(environment) { $1 }
        process.environment = env
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
    }

    /// SIGTERM, then the exit status (nil when it did not exit within the timeout).
    func terminate(timeout: Double = 15) async -> Int32? {
        let process = self.process
        return await onOwnThread {
            if process.isRunning { kill(process.processIdentifier, SIGTERM) }
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            return process.terminationStatus
        }
    }

    /// `leadctl --config … ARGS`: standard output and exit status.
    func leadctl(_ args: [String]) throws -> (String, Int32) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: BuiltProducts.path("leadctl"))
        p.arguments = ["--config", configPath] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), p.terminationStatus)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        dir.remove()
    }
}

@Suite(.serialized) struct LeaddEndToEndTests {
    @Test(arguments: ["xterm", "vt100"])
    func capturesACyrillicLeadTypedOnAPseudoTerminal(term: String) async throws {
        let pty = try PseudoTerminal(columns: 100, lines: 30)
        let daemon = try Daemon(tty: pty.slavePath, term: term)
        let ready = try #require(await daemon.notify.waitFor(line: "READY=1"))
        #expect(ready.contains("STATUS=Ready — 0 leads today"))
        #expect(await pty.waitForScreen(containing: "Submit"))
        pty.type("Анна\tПетрова\tAnna@Example.RU\t8 916 123-45-67\t\t\t")
        #expect(await pty.waitForScreen(containing: "Петрова"))
        pty.type("\t ")
        #expect(await pty.waitForScreen(containing: "[x]"))
        pty.type("\t\r")
        #expect(await pty.waitForScreen(containing: "Thank you, Анна!"))
        #expect(await daemon.notify.waitFor(line: "STATUS=Ready — 1 leads today") != nil)
        let (csv, status) = try daemon.leadctl(["export", "--format", "csv"])
        #expect(status == 0)
        #expect(csv.contains("Анна,Петрова,anna@example.ru,+79161234567"))
        #expect(csv.contains(",keyboard,") || csv.contains(",serial-terminal,"))
        #expect(await daemon.terminate() == 0)
        #expect(await daemon.notify.waitFor(line: "STOPPING=1") != nil)
    }

    @Test func sigtermMidTypingExitsCleanlyAndStoresNothing() async throws {
        let pty = try PseudoTerminal(columns: 100, lines: 30)
        let daemon = try Daemon(tty: pty.slavePath, term: "xterm")
        #expect(await daemon.notify.waitFor(line: "READY=1") != nil)
        #expect(await pty.waitForScreen(containing: "Submit"))
        pty.type("Half\tTyped\thalf@example.com")
        #expect(await pty.waitForScreen(containing: "half@example.com"))
        #expect(await daemon.terminate() == 0)
        #expect(await daemon.notify.waitFor(line: "STOPPING=1") != nil)
        let (out, status) = try daemon.leadctl(["list", "--json"])
        #expect(status == 0)
        #expect(out.contains(#""leads":[]"#))
        #expect(!out.contains("half@example.com"))
    }

    @Test func sigtermTheMomentReadyArrivesIsAGracefulStop() async throws {
        // systemd may stop a unit as soon as it reported READY=1: by then SIGTERM must already be handled.
        for _ in 0..<3 {
            let daemon = try Daemon(tty: "none", term: "xterm")
            #expect(await daemon.notify.waitFor(line: "READY=1") != nil)
            #expect(await daemon.terminate() == 0, "killed by the signal instead of stopping")
            #expect(await daemon.notify.waitFor(line: "STOPPING=1") != nil)
        }
    }

    @Test func theFormLoopFeedsTheWatchdogAtHalfTheInterval() async throws {
        let pty = try PseudoTerminal(columns: 100, lines: 30)
        // No WATCHDOG_PID: sd_watchdog_enabled then accepts any process, as for a service's main process.
        let daemon = try Daemon(tty: pty.slavePath, term: "xterm", environment: ["WATCHDOG_USEC": "400000"])
        #expect(await daemon.notify.waitFor(line: "READY=1") != nil)
        #expect(await daemon.notify.waitFor(line: "WATCHDOG=1") != nil)
        let start = Date()
        var beats = 0
        while Date().timeIntervalSince(start) < 2 {
            beats = daemon.notify.received.filter { $0.split(separator: "\n").contains("WATCHDOG=1") }.count
            if beats >= 4 { break }
            _ = await daemon.notify.waitFor(line: "NEVER", timeout: 0.1)
        }
        #expect(beats >= 4)
        #expect(await daemon.terminate() == 0)
    }

    @Test func withoutAWatchdogTheIdleFormSendsNothing() async throws {
        let pty = try PseudoTerminal(columns: 100, lines: 30)
        let daemon = try Daemon(tty: pty.slavePath, term: "xterm")
        #expect(await daemon.notify.waitFor(line: "READY=1") != nil)
        #expect(await daemon.notify.waitFor(line: "WATCHDOG=1", timeout: 1) == nil)
        #expect(await daemon.terminate() == 0)
    }

    @Test func ctrlCInKioskModeIsIgnored() async throws {
        let pty = try PseudoTerminal(columns: 100, lines: 30)
        let daemon = try Daemon(tty: pty.slavePath, term: "xterm")
        #expect(await daemon.notify.waitFor(line: "READY=1") != nil)
        #expect(await pty.waitForScreen(containing: "Submit"))
        pty.type("Ann")
        pty.type(PseudoTerminal.Keys.ctrlC + PseudoTerminal.Keys.ctrlZ + PseudoTerminal.Keys.ctrlBackslash)
        pty.type("a")
        #expect(await pty.waitForScreen(containing: "Anna"))
        #expect(daemon.process.isRunning)
        #expect(await daemon.terminate() == 0)
    }

    @Test func idleResetWipesTheTypedTextFromTheScreen() async throws {
        let pty = try PseudoTerminal(columns: 100, lines: 30)
        let daemon = try Daemon(tty: pty.slavePath, term: "xterm", extraConfig: "IdleResetSec=1")
        #expect(await daemon.notify.waitFor(line: "READY=1") != nil)
        #expect(await pty.waitForScreen(containing: "Submit"))
        pty.type("Forgotten")
        #expect(await pty.waitForScreen(containing: "Forgotten"))
        #expect(await pty.waitForScreen { $0.contains("Submit") && !$0.contains("Forgotten") })
        #expect(await daemon.terminate() == 0)
    }

    @Test func theFormRunsOnASerialTerminalThroughASocatPtyPair() async throws {
        let dir = TemporaryDirectory("leadd-serial")
        defer { dir.remove() }
        let socat = Process()
        socat.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
        socat.arguments = [
            "pty,raw,echo=0,link=\(dir.path)/kiosk", "pty,raw,echo=0,link=\(dir.path)/terminal",
        ]
        try socat.run()
        defer {
            // SIGKILL: a child of the test runner inherits its blocked-signal mask, so socat ignores SIGTERM.
            kill(socat.processIdentifier, SIGKILL)
            socat.waitUntilExit()
        }
        var waited = 0
        while !(FileManager.default.fileExists(atPath: dir.path + "/kiosk")
            && FileManager.default.fileExists(atPath: dir.path + "/terminal")) && waited < 500
        {
            usleep(10_000)
            waited += 1
        }
        let terminal = try SerialEnd(path: dir.path + "/terminal")
        let daemon = try Daemon(tty: dir.path + "/kiosk", term: "vt100", extraConfig: "Baud=19200")
        #expect(await daemon.notify.waitFor(line: "READY=1") != nil)
        #expect(terminal.waitFor("Submit"))
        terminal.write("Serial\t\tserial@example.com\t\t\t\t\t \t\r")
        #expect(terminal.waitFor("Thank you, Serial!"))
        let (csv, _) = try daemon.leadctl(["export", "--format", "csv"])
        #expect(csv.contains("serial@example.com"))
        #expect(csv.contains(",serial-terminal,"))
        #expect(await daemon.terminate() == 0)
    }

    @Test func aConfigErrorExits78NamingFileLineAndKey() throws {
        let dir = TemporaryDirectory("leadd-conf")
        defer { dir.remove() }
        let path = dir.path + "/leadd.conf"
        try "[Kiosk]\nEvent=x\n[Terminal]\nBaud=fast\n".write(toFile: path, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: BuiltProducts.path("leadd"))
        p.arguments = ["--config", path]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 78)
        #expect(text.contains("\(path):4"))
        #expect(text.contains("Baud"))
    }

    @Test func versionAndUsage() throws {
        func run(_ args: [String]) throws -> (String, Int32) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: BuiltProducts.path("leadd"))
            p.arguments = args
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (String(decoding: data, as: UTF8.self), p.terminationStatus)
        }
        let (version, status) = try run(["--version"])
        #expect(status == 0)
        #expect(version.contains("0.1.0"))
        #expect(try run(["--bogus"]).1 == 2)
    }
}

/// The far end of a socat pty pair: a serial terminal's side.
final class SerialEnd {
    let fd: Int32
    private var received: [UInt8] = []

    init(path: String) throws {
        fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    deinit { close(fd) }

    func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 { offset += n } else { usleep(5_000) }
        }
    }

    /// Reads until the output (escape sequences removed) contains `text`, up to `timeout` seconds.
    func waitFor(_ text: String, timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buf = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 100) > 0 {
                let n = read(fd, &buf, buf.count)
                if n > 0 { received.append(contentsOf: buf[..<n]) }
            }
            if Self.plain(received).contains(text) { return true }
        }
        return false
    }

    /// The output with CSI/OSC escape sequences and control characters removed.
    static func plain(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x1B {
                i += 1
                if i < bytes.count && bytes[i] == UInt8(ascii: "[") {
                    i += 1
                    while i < bytes.count && !(bytes[i] >= 0x40 && bytes[i] <= 0x7E) { i += 1 }
                }
                i += 1
                continue
            }
            if b >= 0x20 || b >= 0x80 { out.append(b) }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
