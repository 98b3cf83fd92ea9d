import Foundation
import LeadCore
import LeaddTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A `socat` pty pair standing in for a serial scanner: leadd reads ``scannerPath``, the test writes into
/// ``farEndPath``. Killing socat is pulling the cable; ``start()`` again on the same names is plugging it back.
final class SocatScanner {
    let dir = TemporaryDirectory("leadd-socat")
    var scannerPath: String { dir.path + "/by-id-scanner" }
    var farEndPath: String { dir.path + "/far-end" }
    private var process: Process?
    private var farEnd: Int32 = -1

    init() throws { try start() }

    /// Starts socat and opens the far end, waiting (bounded) for both links to appear.
    func start() throws {
        let socat = Process()
        socat.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
        socat.arguments = ["pty,raw,echo=0,link=\(scannerPath)", "pty,raw,echo=0,link=\(farEndPath)"]
        socat.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try socat.run()
        process = socat
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: scannerPath), FileManager.default.fileExists(atPath: farEndPath) {
                farEnd = open(farEndPath, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
                if farEnd >= 0 { return }
            }
            usleep(10_000)
        }
        throw POSIXError(.ETIMEDOUT)
    }

    /// Kills socat (SIGKILL: a child of the test runner inherits its blocked-signal mask, so socat ignores
    /// SIGTERM) and removes its links, so that nothing can open a recycled `/dev/pts/N` through them.
    func kill() {
        if farEnd >= 0 { close(farEnd) }
        farEnd = -1
        if let process, process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        process = nil
        unlink(scannerPath)
        unlink(farEndPath)
    }

    /// Writes as the scanner would, waiting (bounded) while the pty is full.
    @discardableResult
    func write(_ bytes: [UInt8], timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(farEnd, $0.baseAddress, min($0.count, 65_536)) }
            if n > 0 {
                offset += n
                continue
            }
            if n < 0 && errno != EAGAIN && errno != EINTR { return false }
            if Date() > deadline { return false }
            var pfd = pollfd(fd: farEnd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&pfd, 1, 50)
        }
        return true
    }

    @discardableResult
    func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    deinit {
        kill()
        dir.remove()
    }
}

/// leadd (`TTY=none`, one `[Serial]`) reading a socat pty pair, checked through leadctl.
final class ScannerDaemon {
    let socat: SocatScanner
    let daemon: Daemon

    init() async throws {
        socat = try SocatScanner()
        daemon = try Daemon(
            tty: "none",
            term: "vt100",
            extraConfig: "[Serial]\nDevice=\(socat.scannerPath)\nBaud=19200\nFormat=auto\n"
                + "ConsentText=Badge scanned at the booth\n"
        )
        #expect(await daemon.notify.waitFor(line: "READY=1") != nil)
    }

    /// `leadctl ARGS` parsed as one JSON document.
    func json(_ args: [String]) throws -> [String: Any] {
        let (out, status) = try daemon.leadctl(args + ["--json"])
        #expect(status == 0, "leadctl \(args) exited \(status)")
        return try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] ?? [:]
    }

    /// The first (only) entry of `status --json`'s `scanners`.
    func scanner() throws -> [String: Any] {
        try (json(["status"])["scanners"] as? [[String: Any]])?.first ?? [:]
    }

    /// Polls `leadctl` until `condition` holds, up to `timeout` seconds.
    func waitFor(timeout: Double = 30, _ condition: () throws -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? condition()) == true { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return (try? condition()) == true
    }

    func leads() throws -> [[String: Any]] { try json(["list", "--limit", "1000"])["leads"] as? [[String: Any]] ?? [] }

    func waitForLeads(_ n: Int, timeout: Double = 30) async -> Bool {
        await waitFor(timeout: timeout) { try leads().count >= n }
    }

    func waitUntilConnected() async -> Bool { await waitFor { try scanner()["connected"] as? Bool == true } }

    func dropped(_ reason: String) throws -> Int {
        ((try scanner()["dropped"] as? [String: Any])?["by_reason"] as? [String: Any])?[reason] as? Int ?? 0
    }

    /// JSON Lines export, one object per lead.
    func export() throws -> [[String: Any]] {
        let (out, status) = try daemon.leadctl(["export", "--format", "jsonl"])
        #expect(status == 0)
        return try out.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
    }

    func importAttendees(_ csv: String) throws -> String {
        let path = daemon.dir.path + "/attendees-\(UUID().uuidString).csv"
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        let (out, status) = try daemon.leadctl(["attendees", "import", path])
        #expect(status == 0)
        return out
    }
}

private func fields(_ lead: [String: Any]) -> [String: String] { lead["fields"] as? [String: String] ?? [:] }

private func email(_ lead: [String: Any]) -> String? { fields(lead)["email"] }

@Suite(.serialized) struct ScannerEndToEndTests {
    static let vcard =
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Petrova;Anna;;;\r\nEMAIL:anna@example.ru\r\nTEL;TYPE=CELL:+7 916 123-45-67\r\n"
        + "ORG:Romashka\r\nEND:VCARD\r\n"

    @Test func aVCardWrittenToTheFarEndIsListedWithinASecond() async throws {
        let scanner = try await ScannerDaemon()
        #expect(await scanner.waitUntilConnected())
        let start = Date()
        scanner.socat.write(Self.vcard)
        #expect(await scanner.waitFor(timeout: 1) { try scanner.leads().contains { email($0) == "anna@example.ru" } })
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 1, "listed after \(elapsed) s")
        let lead = try #require(try scanner.leads().first)
        #expect(lead["channel"] as? String == "scanner")
        #expect(lead["device"] as? String == scanner.socat.scannerPath)
        #expect(fields(lead)["phone"] == "+79161234567")
        let consent = lead["consent"] as? [String: Any]
        #expect(consent?["text_sha256"] as? String == SHA256.hex("Badge scanned at the booth"))
        // The text status names the scanner and its count.
        let (status, code) = try scanner.daemon.leadctl(["status"])
        #expect(code == 0)
        #expect(status.contains(scanner.socat.scannerPath))
        #expect(status.contains("connected since"))
        let json = try scanner.scanner()
        #expect(json["device"] as? String == scanner.socat.scannerPath)
        #expect(json["scans_today"] as? Int == 1)
        #expect((json["dropped"] as? [String: Any])?["total"] as? Int == 0)
        #expect(await scanner.daemon.terminate() == 0)
    }

    @Test func everyFormatAndTheAttendeeListEndUpInTheExport() async throws {
        let scanner = try await ScannerDaemon()
        _ = try scanner.importAttendees(
            "Badge ID,First Name,Last Name,E-mail,Company\nA-10042,Chen,Wang,chen@example.cn,Initrode\n"
        )
        #expect(await scanner.waitUntilConnected())
        let scans = [
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:"
                + "=D0=9F=D0=B5=D1=82=D1=80=D0=BE=D0=B2=D0=B0;=D0=90=D0=BD=D0=BD=D0=B0\r\n"
                + "EMAIL;INTERNET:v21@example.ru\r\nEND:VCARD\r\n",
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:John Smith\r\nEMAIL:v30@example.com\r\nTITLE:CTO\r\nEND:VCARD\r\n",
            "BEGIN:VCARD\nVERSION:4.0\nFN:María López\nEMAIL:v40@example.es\nEND:VCARD\n",
            "MECARD:N:Ivanov,Ivan;EMAIL:mecard@example.ru;ORG:Initech\\;Ltd;;\r\n",
            #"{"firstName":"Olga","e-mail":"json@example.ru","company":"Umbrella"}"# + "\r\n",
            "first_name=Peter;email=kv@example.com;job_title=Pilot\r\n",
            "A-10042\r\n",
        ]
        for scan in scans { scanner.socat.write(scan) }
        #expect(await scanner.waitForLeads(7))
        let leads = try scanner.export()
        let byEmail = Dictionary(leads.compactMap { l in email(l).map { ($0, l) } }) { a, _ in a }
        #expect(fields(byEmail["v21@example.ru"] ?? [:])["last_name"] == "Петрова")
        #expect(fields(byEmail["v30@example.com"] ?? [:])["job_title"] == "CTO")
        #expect(fields(byEmail["v40@example.es"] ?? [:])["first_name"] == "María")
        #expect(fields(byEmail["mecard@example.ru"] ?? [:])["company"] == "Initech;Ltd")
        #expect(fields(byEmail["json@example.ru"] ?? [:])["first_name"] == "Olga")
        #expect(fields(byEmail["kv@example.com"] ?? [:])["job_title"] == "Pilot")
        let chen = try #require(byEmail["chen@example.cn"])
        #expect(chen["badge_id"] as? String == "A-10042")
        #expect(
            fields(chen) == [
                "first_name": "Chen", "last_name": "Wang", "email": "chen@example.cn", "company": "Initrode",
            ]
        )
        #expect(leads.count == 7)
        #expect(
            leads.allSatisfy {
                $0["channel"] as? String == "scanner" && $0["device"] as? String == scanner.socat.scannerPath
            }
        )
        #expect(await scanner.daemon.terminate() == 0)
    }

    @Test func anUnknownBadgeIsCompletedByTheNextAttendeesImport() async throws {
        let scanner = try await ScannerDaemon()
        #expect(await scanner.waitUntilConnected())
        scanner.socat.write("Z-77\r\n")
        func unresolved() throws -> [Any] {
            try scanner.json(["list", "--state", "unresolved"])["leads"] as? [Any] ?? []
        }
        #expect(await scanner.waitFor { try unresolved().count == 1 })
        let (status, _) = try scanner.daemon.leadctl(["status"])
        #expect(status.contains("Unresolved badge scans: 1"))
        let out = try scanner.importAttendees(
            "badge,first_name,email\nz-77,Zoe,Zoe@Example.com\nQ-1,Quinn,q@example.com\n"
        )
        #expect(out.contains("1 unresolved badge scans completed"))
        let lead = try #require(try scanner.export().first)
        #expect(fields(lead) == ["first_name": "Zoe", "email": "zoe@example.com"])
        #expect(lead["revision"] as? Int == 2)
        #expect(lead["badge_id"] as? String == "Z-77")
        #expect(try unresolved().isEmpty)
        #expect(await scanner.daemon.terminate() == 0)
    }

    @Test func aDoubleReadIsOneScanAndARescanOnAnotherDayIsAFlaggedDuplicate() async throws {
        let scanner = try await ScannerDaemon()
        // Yesterday's scan of the same badge, as a JSON Lines record from another kiosk's export.
        let yesterday = Timestamp.now().adding(seconds: -86_400)
        let earlier = Lead(
            event: "expo-e2e",
            kiosk: "booth-e2e",
            capturedAt: yesterday,
            channel: .scanner,
            device: "/dev/ttyACM9",
            fields: ["first_name": "Boris", "email": "boris@example.com"],
            consent: Consent(text: "Badge scanned at the booth", language: "en", at: yesterday),
            badgeID: "B-5"
        )
        var line: [UInt8] = []
        LeadJSON.appendExportRecord(earlier, deliveries: [], fieldOrder: FormSpec.default.fields.map(\.name), to: &line)
        let jsonl = scanner.daemon.dir.path + "/yesterday.jsonl"
        try Data(line + [0x0A]).write(to: URL(fileURLWithPath: jsonl))
        #expect(try scanner.daemon.leadctl(["import", jsonl]).1 == 0)
        _ = try scanner.importAttendees("badge,first_name,email\nB-5,Boris,boris@example.com\n")
        #expect(await scanner.waitUntilConnected())
        scanner.socat.write("B-5\r\nB-5\r\n")  // the badge stayed in front of the scanner
        #expect(await scanner.waitForLeads(2))
        #expect(await scanner.waitFor { try scanner.dropped("double read") == 1 })
        let leads = try scanner.export()
        #expect(leads.count == 2)
        let today = try #require(leads.first { $0["lead_id"] as? String != earlier.id })
        #expect(today["duplicate_of"] as? String == earlier.id)
        #expect(fields(today)["email"] == "boris@example.com")
        let stats = try scanner.json(["stats"])
        #expect(stats["leads"] as? Int == 1)
        #expect(stats["duplicates"] as? Int == 1)
        #expect(try scanner.scanner()["scans_today"] as? Int == 1)
        #expect(await scanner.daemon.terminate() == 0)
    }

    @Test func garbageIsCountedNotStoredAndTheScannerSurvivesAReplug() async throws {
        let scanner = try await ScannerDaemon()
        #expect(await scanner.waitUntilConnected())
        var state: UInt64 = 0x5EED
        var random: [UInt8] = []
        random.reserveCapacity(2 << 20)
        while random.count < 2 << 20 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            random.append(UInt8(truncatingIfNeeded: state >> 33))
        }
        var stream: [UInt8] = Array(#"{"first_name":"Before","email":"before@example.com"}"#.utf8) + [0x0A]
        stream += random + [0x0D, 0x0A]
        stream += Array("MECARD:N:After,Random;EMAIL:random@example.com;;\r\n".utf8)
        stream += [0, 0, 0x41, 0x42, 0, 0x0A]
        stream += [0xC3, 0x28, 0x41, 0xFF, 0x0D, 0x0A]
        stream += Array(#"{"first_name":"Mid","email":"mid@example.com"}"#.utf8) + [0x0A]
        stream += [UInt8](repeating: 0x42, count: 1 << 20) + [0x0A]
        stream += Array(
            ("BEGIN:VCARD\r\nFN:Big\r\n" + String(repeating: "X-P:1\r\n", count: 10_000) + "END:VCARD\r\n").utf8
        )
        stream += Array(Self.vcard.utf8)
        #expect(scanner.socat.write(stream))
        #expect(await scanner.waitForLeads(4, timeout: 30))
        // A vCard cut off when the far end goes away: sent with a good record, so that once that record is
        // listed, leadd holds the half vCard too.
        scanner.socat.write(
            #"{"first_name":"Cut","email":"cut@example.com"}"# + "\n"
                + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Half Card\r\nEMAIL:half@exa"
        )
        #expect(await scanner.waitForLeads(5))
        scanner.socat.kill()
        #expect(await scanner.waitFor { try scanner.dropped("vcard cut off") == 1 })
        #expect(await scanner.waitFor { try scanner.scanner()["connected"] as? Bool == false })
        #expect(scanner.daemon.process.isRunning)
        let emails = Set(try scanner.leads().compactMap(email))
        #expect(
            emails == [
                "before@example.com", "random@example.com", "mid@example.com", "anna@example.ru", "cut@example.com",
            ]
        )
        #expect(try scanner.leads().count == 5)
        let scannerStatus = try scanner.scanner()
        let reasons = (scannerStatus["dropped"] as? [String: Any])?["by_reason"] as? [String: Int] ?? [:]
        for reason in [
            "binary garbage", "invalid UTF-8", "line longer than 8192 bytes", "vcard longer than 8192 bytes",
        ] {
            #expect((reasons[reason] ?? 0) > 0, "\(reason) not counted: \(reasons)")
        }
        // Plugged back in under the same names: leadd reopens the device and the next scan lands.
        try scanner.socat.start()
        #expect(await scanner.waitUntilConnected())
        scanner.socat.write("MECARD:N:Back,Again;EMAIL:back@example.com;;\r\n")
        #expect(await scanner.waitFor { try scanner.leads().contains { email($0) == "back@example.com" } })
        #expect(await scanner.daemon.terminate() == 0)
    }

    @Test func withConsentOnTheFormAScanWaitsForTheVisitorsTickOnTheKioskForm() async throws {
        let socat = try SocatScanner()
        let pty = try PseudoTerminal()
        defer { pty.close() }
        let daemon = try Daemon(
            tty: pty.slavePath,
            term: "xterm",
            extraConfig: "[Serial]\nDevice=\(socat.scannerPath)\nBaud=19200\nConsent=form\n"
        )
        #expect(await daemon.notify.waitFor(line: "READY=1") != nil)
        #expect(await pty.waitForScreen(containing: "Submit"))
        let ctl = { (args: [String]) throws -> [[String: Any]] in
            let (out, status) = try daemon.leadctl(["list", "--json"] + args)
            #expect(status == 0)
            let object = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
            return object?["leads"] as? [[String: Any]] ?? []
        }
        // Scanned until the device is open (the first write may come before leadd opened it).
        var shown = false
        for _ in 0..<20 where !shown {
            socat.write(Self.vcard)
            shown = await pty.waitForScreen(timeout: .milliseconds(500)) { $0.contains("anna@example.ru") }
        }
        #expect(shown, "\(pty.screenText)")
        #expect(pty.screenText.contains("Badge read"))
        #expect(try ctl([]).isEmpty, "nothing is stored before the visitor consents")
        pty.type(" \t\r")
        #expect(await pty.waitForScreen(containing: "Thank you, Anna!"))
        let leads = try ctl([])
        #expect(leads.count == 1)
        #expect(leads.first?["channel"] as? String == "scanner")
        #expect(leads.first?["device"] as? String == socat.scannerPath)
        #expect((leads.first?["consent"] as? [String: Any])?["given"] as? Bool == true)
        #expect(await daemon.terminate() == 0)
    }
}
