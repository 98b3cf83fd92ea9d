import Foundation
import LeadCore
import LeadStore
import LeaddTesting
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import LeadCapture

/// The clocks a test hands the scanner: the capture time (moved to another day) and the monotonic time of the
/// double-read and garbage windows (moved on instead of sleeping).
final class ScanClock: Sendable {
    private let state: Mutex<(wall: Timestamp, monotonic: Int64)>

    init(wall: Timestamp = .now()) { state = Mutex((wall: wall, monotonic: 1_000_000)) }

    var wall: Timestamp { state.withLock { $0.wall } }
    var monotonic: Int64 { state.withLock { $0.monotonic } }

    /// Moves both clocks on.
    func advance(milliseconds: Int64) {
        state.withLock {
            $0.wall = Timestamp(milliseconds: $0.wall.milliseconds + milliseconds)
            $0.monotonic += milliseconds
        }
    }

    func set(wall: Timestamp) { state.withLock { $0.wall = wall } }
}

/// What the scanner reported, for tests to wait on.
final class ScanEvents: Sendable {
    private let events = Mutex<[ScannerService.Event]>([])

    func append(_ event: ScannerService.Event) { events.withLock { $0.append(event) } }
    var all: [ScannerService.Event] { events.withLock { $0 } }

    var captured: [(id: String, duplicateOf: String?, unresolved: Bool)] {
        all.compactMap {
            if case .leadCaptured(let id, let duplicateOf, let unresolved) = $0 { return (id, duplicateOf, unresolved) }
            return nil
        }
    }

    var drops: [String] {
        all.compactMap {
            if case .dropped(let reason) = $0 { return reason }
            return nil
        }
    }

    func count(_ event: ScannerService.Event) -> Int { all.filter { $0 == event }.count }

    /// Polls until `condition` holds, or `timeout` passes.
    func wait(timeout: Duration = .seconds(30), _ condition: (ScanEvents) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(self) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition(self)
    }

    func waitForCaptures(_ n: Int, timeout: Duration = .seconds(30)) async -> Bool {
        await wait(timeout: timeout) { $0.captured.count >= n }
    }
}

/// A `ScannerService` in a `ServiceGroup`, reading a pty through a symlink (a stable device name), with a
/// database in a temporary directory.
final class ScannerHarness: Sendable {
    static let consentText = "Badge scanned at the booth"

    let directory: String
    let databasePath: String
    let devicePath: String
    let events = ScanEvents()
    let clock = ScanClock()
    let config: LeaddConfig
    private let line: Mutex<SerialLine?>
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// - Parameters:
    ///   - format: `[Serial] Format=`.
    ///   - plugged: Whether the device exists when the service starts.
    ///   - attendees: The attendee list imported before the service starts.
    ///   - silenceMilliseconds: The silence after which a record without its end is dropped.
    init(
        format: LeaddConfig.Serial.Format = .auto,
        plugged: Bool = true,
        attendees: [(badgeID: String, fields: [String: String])] = [],
        silenceMilliseconds: Int64 = 2000
    ) throws {
        directory = NSTemporaryDirectory() + "leadd-scan-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        databasePath = directory + "/leads.sqlite3"
        devicePath = directory + "/serial-by-id-scanner"
        line = Mutex(plugged ? try SerialLine(link: devicePath) : nil)
        var config = LeaddConfig(kiosk: LeaddConfig.Kiosk(id: "booth-1", event: "expo-2026"))
        config.kiosk.country = "RU"
        config.serials = [
            LeaddConfig.Serial(
                device: devicePath,
                baud: 115_200,
                format: format,
                consentText: LocalizedText(Self.consentText)
            )
        ]
        self.config = config
        let store = try LeadStore(path: databasePath)
        try store.ensureSinks(["crm"])
        if !attendees.isEmpty { try store.replaceAttendees(attendees) }
        let logger = Logger(label: "leadd.scanner.test", factory: { _ in SwiftLogNoOpLogHandler() })
        let events = self.events
        let clock = self.clock
        let service = ScannerService(
            serial: config.serials[0],
            config: config,
            databasePath: databasePath,
            logger: logger,
            onEvent: { events.append($0) }
        ).adjusting {
            $0.now = { clock.wall }
            $0.readClock = { clock.monotonic }
            $0.flushMilliseconds = 50
            $0.silenceMilliseconds = silenceMilliseconds
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [.init(service: service)], logger: logger)
        )
        self.group = group
        task = Task { try await group.run() }
    }

    /// Writes to the scanner's far end.
    @discardableResult
    func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool { line.withLock { $0 }?.write(bytes) ?? false }

    /// Pulls the cable: both ends of the pty close and the stable name disappears.
    func unplug() { line.withLock { $0 }?.unplug() }

    /// Plugs a new device in under the same stable name.
    func plugIn() throws {
        let new = try SerialLine(link: devicePath)
        line.withLock { $0 = new }
    }

    func waitUntilConnected(times n: Int = 1) async -> Bool {
        await events.wait { $0.count(.connected) >= n }
    }

    /// Shuts the group down gracefully and waits for it.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
        unplug()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func store() throws -> LeadStore { try LeadStore(path: databasePath) }

    func lead(_ id: String) throws -> Lead? { try store().lead(id: id) }

    func leads() throws -> [Lead] { try store().list(LeadFilter(limit: 10_000)).map(\.lead) }

    func status() throws -> ScannerStatus? {
        try store().scannerStatuses(devices: [devicePath], now: clock.wall).first
    }

    /// Waits until the database shows `condition` for this scanner (drop counts are written in batches).
    func waitForStatus(timeout: Duration = .seconds(30), _ condition: (ScannerStatus) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let s = try? status(), condition(s) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return (try? status()).map(condition) ?? false
    }
}

/// Sample payloads of every format, as scanners send them.
enum Scans {
    static let vcard21 =
        "BEGIN:VCARD\r\nVERSION:2.1\r\n"
        + "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:"
        + "=D0=9F=D0=B5=D1=82=D1=80=D0=BE=D0=B2=D0=B0;=D0=90=D0=BD=D0=BD=D0=B0;;;\r\n"
        + "TEL;CELL:+7 916 123-45-67\r\nEMAIL;INTERNET:anna21@example.ru\r\nORG:Romashka\r\nEND:VCARD\r\n"
    static let vcard30 =
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Smith;John;;;\r\nFN:John Smith\r\n"
        + "EMAIL;TYPE=INTERNET:John30@Example.com\r\n"
        + "TEL;TYPE=CELL:+7 495 123-45-67\r\nORG:Acme Corp\r\nTITLE:CTO\r\nNOTE:Met at the\r\n  booth\r\nEND:VCARD\r\n"
    static let vcard40 =
        "BEGIN:VCARD\nVERSION:4.0\nFN:María López\nN:López;María;;;\nEMAIL:maria40@example.es\nORG:Globex\nEND:VCARD\n"
    static let mecard = "MECARD:N:Ivanov,Ivan;TEL:+79031234567;EMAIL:ivan@example.ru;ORG:Initech\\;Ltd;;\r\n"
    static let json =
        #"{"first_name":"Olga","last_name":"Sidorova","email":"olga@example.ru","company":"Umbrella"}"#
        + "\r\n"
    static let kv = "first_name=Peter;last_name=Pan;email=peter@example.com;job_title=Pilot\r"
    static let badge = "A-10042\n"
    static let attendee: (badgeID: String, fields: [String: String]) = (
        "A-10042", ["first_name": "Chen", "last_name": "Wang", "email": "chen@example.cn", "company": "Initrode"]
    )

    /// Deterministic pseudo-random bytes (SplitMix64), so that a failure can be replayed.
    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z) { out.append(contentsOf: $0.prefix(count - out.count)) }
        }
        return out
    }
}

/// The scanner service end to end on a real pty (through a symlink, as `/dev/serial/by-id/…`) and a real
/// SQLite file. Serialized: the machine has few cores and each test moves megabytes through a pty.
@Suite(.serialized) struct ScannerServiceTests {
    @Test func everyFormatBecomesAScannerLeadWithItsDeviceAndConsentBasis() async throws {
        let harness = try ScannerHarness(attendees: [Scans.attendee])
        #expect(await harness.waitUntilConnected())
        for scan in [Scans.vcard21, Scans.vcard30, Scans.vcard40, Scans.mecard, Scans.json, Scans.kv, Scans.badge] {
            harness.write(scan)
        }
        #expect(await harness.events.waitForCaptures(7))
        #expect(harness.events.drops.isEmpty)
        let leads = try harness.leads()
        let byEmail = Dictionary(leads.compactMap { l in l.fields["email"].map { ($0, l) } }) { a, _ in a }
        #expect(
            byEmail["anna21@example.ru"]?.fields == [
                "first_name": "Анна", "last_name": "Петрова", "email": "anna21@example.ru", "phone": "+79161234567",
                "company": "Romashka",
            ]
        )
        #expect(
            byEmail["john30@example.com"]?.fields == [
                "first_name": "John", "last_name": "Smith", "email": "john30@example.com", "phone": "+74951234567",
                "company": "Acme Corp", "job_title": "CTO",
            ]
        )
        #expect(byEmail["john30@example.com"]?.notes == "Met at the booth")
        #expect(byEmail["maria40@example.es"]?.fields["first_name"] == "María")
        #expect(byEmail["maria40@example.es"]?.fields["last_name"] == "López")
        #expect(byEmail["ivan@example.ru"]?.fields["company"] == "Initech;Ltd")
        #expect(byEmail["ivan@example.ru"]?.fields["phone"] == "+79031234567")
        #expect(byEmail["olga@example.ru"]?.fields["company"] == "Umbrella")
        #expect(byEmail["peter@example.com"]?.fields["job_title"] == "Pilot")
        let chen = try #require(byEmail["chen@example.cn"])
        #expect(chen.badgeID == "A-10042")
        #expect(chen.fields == Scans.attendee.fields)
        for lead in leads {
            #expect(lead.channel == .scanner)
            #expect(lead.device == harness.devicePath)
            #expect(lead.event == "expo-2026" && lead.kiosk == "booth-1")
            #expect(lead.consent?.given == true)
            #expect(lead.consent?.textSHA256 == SHA256.hex(ScannerHarness.consentText))
            #expect(lead.consent?.language == "en")
            #expect(lead.duplicateOf == nil)
            #expect(try harness.store().deliveries(leadID: lead.id).map(\.state) == ["pending"])
        }
        #expect(try harness.status()?.scansToday == 7)
        #expect(try harness.status()?.connected == true)
        try await harness.stop()
    }

    @Test func aConfiguredFormatDecodesOnlyThatFormat() async throws {
        let harness = try ScannerHarness(format: .badge)
        #expect(await harness.waitUntilConnected())
        harness.write("first_name=Anna;email=anna@example.ru\r\n")
        #expect(await harness.events.wait { $0.drops == ["malformed"] })
        harness.clock.advance(milliseconds: 1000)
        harness.write("B-77\r\n")
        #expect(await harness.events.waitForCaptures(1))
        let lead = try #require(try harness.lead(harness.events.captured[0].id))
        #expect(lead.badgeID == "B-77" && lead.fields.isEmpty)
        try await harness.stop()
    }

    @Test func anUnknownBadgeIsKeptUnresolvedUntilTheAttendeeListKnowsIt() async throws {
        let harness = try ScannerHarness()
        #expect(await harness.waitUntilConnected())
        harness.write("Z-500\r\n")
        #expect(await harness.events.waitForCaptures(1))
        let scan = harness.events.captured[0]
        #expect(scan.unresolved)
        let stored = try #require(try harness.lead(scan.id))
        #expect(stored.fields.isEmpty && stored.badgeID == "Z-500" && stored.channel == .scanner)
        #expect(try harness.store().unresolvedLeadCount() == 1)
        let store = try harness.store()
        try store.replaceAttendees([(badgeID: "z-500", fields: ["first_name": "Zoe", "email": "zoe@example.com"])])
        let resolved = try store.resolveUnresolvedLeads(validator: LeadValidator(form: .default, country: "RU"))
        #expect(resolved.map(\.id) == [scan.id])
        #expect(try harness.lead(scan.id)?.fields == ["first_name": "Zoe", "email": "zoe@example.com"])
        #expect(try harness.lead(scan.id)?.revision == 2)
        // Scanned again once the list knows it: a full lead at once, flagged as the same visitor.
        harness.clock.advance(milliseconds: 5000)
        harness.write("Z-500\r\n")
        #expect(await harness.events.waitForCaptures(2))
        #expect(harness.events.captured[1].duplicateOf == scan.id)
        #expect(!harness.events.captured[1].unresolved)
        try await harness.stop()
    }

    @Test func theSamePayloadWithinTwoSecondsIsOneScan() async throws {
        let harness = try ScannerHarness(attendees: [Scans.attendee])
        #expect(await harness.waitUntilConnected())
        harness.write(Scans.badge + Scans.badge)
        harness.clock.advance(milliseconds: 1500)
        harness.write(Scans.badge)  // still the badge held in front of the scanner: the window slides
        #expect(await harness.events.wait { $0.drops.count == 2 })
        #expect(harness.events.captured.count == 1)
        #expect(harness.events.drops == ["double read", "double read"])
        harness.clock.advance(milliseconds: 2500)
        harness.write(Scans.badge)
        #expect(await harness.events.waitForCaptures(2))
        let first = harness.events.captured[0].id
        #expect(harness.events.captured[1].duplicateOf == first)
        #expect(await harness.waitForStatus { $0.droppedToday == ["double read": 2] && $0.scansToday == 2 })
        try await harness.stop()
    }

    @Test func aVisitorScannedAgainOnAnotherDayIsAFlaggedDuplicateCountedOnce() async throws {
        let harness = try ScannerHarness()
        #expect(await harness.waitUntilConnected())
        let today = harness.clock.wall
        harness.clock.set(wall: today.adding(seconds: -86_400))
        harness.write(Scans.vcard30)
        #expect(await harness.events.waitForCaptures(1))
        harness.clock.set(wall: today)
        harness.clock.advance(milliseconds: 60_000)
        harness.write(Scans.vcard30)
        #expect(await harness.events.waitForCaptures(2))
        let (first, again) = (harness.events.captured[0], harness.events.captured[1])
        #expect(first.duplicateOf == nil)
        #expect(again.duplicateOf == first.id)
        let store = try harness.store()
        #expect(try store.lead(id: first.id)?.capturedAt == today.adding(seconds: -86_400))
        let stats = try store.stats()
        #expect(stats.leads == 1 && stats.stored == 2 && stats.duplicates == 1)
        #expect(try harness.status()?.scansToday == 1)
        try await harness.stop()
    }

    @Test func garbageBetweenGoodRecordsIsDroppedCountedAndNeverALead() async throws {
        let harness = try ScannerHarness()
        #expect(await harness.waitUntilConnected())
        let tenThousandProperties =
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Many Props\r\nEMAIL:many@example.com\r\n"
            + String(repeating: "X-P:1\r\n", count: 10_000) + "END:VCARD\r\n"
        // Fits in 8 KiB, so the decoder (not the framer) refuses it: more than 1000 properties.
        let tooManySmall =
            "BEGIN:VCARD\r\nFN:Small Props\r\n" + String(repeating: "X:1\r\n", count: 1200) + "END:VCARD\r\n"
        var stream: [UInt8] = []
        stream += Array(Scans.json.utf8)
        stream += Scans.randomBytes(3 << 20, seed: 0x5EED)
        stream += Array("\r\n".utf8) + Array(Scans.mecard.utf8)
        stream += [0, 0, 0] + Array("Anna".utf8) + [0, 0x0D, 0x0A]
        stream += Array(Scans.kv.utf8)
        stream += [0xC3, 0x28] + Array(" Anna ".utf8) + [0xFF, 0xFE, 0x0D, 0x0A]
        stream += Array(Scans.vcard30.utf8)
        stream += [UInt8](repeating: UInt8(ascii: "A"), count: 1 << 20) + [0x0A]
        stream += Array(Scans.vcard21.utf8)
        stream += Array(tenThousandProperties.utf8)
        stream += Array(Scans.vcard40.utf8)
        stream += Array(tooManySmall.utf8)
        stream += Array(#"{"email":"not an email","company":"Nobody Inc"}"#.utf8) + [0x0D, 0x0A]
        stream += Array(#"{"company":"Only A Company"}"#.utf8) + [0x0D, 0x0A]
        stream += Array(#"{"first_name":"Last","email":"last@example.com"}"#.utf8) + [0x0D, 0x0A]
        #expect(harness.write(stream))
        #expect(await harness.events.wait(timeout: .seconds(30)) { $0.captured.count >= 7 })
        // A bare badge right after garbage is taken for more garbage; a moment later it is a scan again.
        // (The random megabytes may have dropped short tokens for the same reason: wait for one more.)
        let nextToGarbage = harness.events.drops.filter { $0 == "badge id next to garbage" }.count
        harness.write("GARBAGE\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\u{7}\u{8}\r\nB-4242\r\n")
        #expect(
            await harness.events.wait {
                $0.drops.filter { $0 == "badge id next to garbage" }.count == nextToGarbage + 1
            }
        )
        harness.clock.advance(milliseconds: 1000)
        harness.write("B-4242\r\n")
        #expect(await harness.events.waitForCaptures(8))
        let leads = try harness.leads()
        let expected: Set<String> = [
            "olga@example.ru", "ivan@example.ru", "peter@example.com", "john30@example.com", "anna21@example.ru",
            "maria40@example.es", "last@example.com",
        ]
        #expect(leads.count == 8)
        #expect(Set(leads.compactMap { $0.fields["email"] }) == expected)
        #expect(leads.filter { $0.fields["email"] == nil }.map(\.badgeID) == ["B-4242"])
        let drops = Set(harness.events.drops)
        for reason in [
            "binary garbage", "invalid UTF-8", "line longer than 8192 bytes", "vcard longer than 8192 bytes",
            "too many properties", "no usable identity", "badge id next to garbage",
        ] {
            #expect(drops.contains(reason), "no drop counted as \(reason)")
        }
        let dropCount = harness.events.drops.count
        #expect(dropCount > 1000)  // the random megabytes alone are thousands of bad lines
        #expect(await harness.waitForStatus { $0.droppedTotal == dropCount })
        try await harness.stop()
    }

    @Test func aVCardCutOffByAnUnplugIsDroppedAndTheScannerCarriesOnAfterReplug() async throws {
        let harness = try ScannerHarness()
        #expect(await harness.waitUntilConnected())
        // One write: once the first record is committed, the reader holds the half vCard too.
        harness.write(Scans.json + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Half Written\r\nEMAIL:half@exa")
        #expect(await harness.events.waitForCaptures(1))
        harness.unplug()
        #expect(await harness.events.wait { $0.all.contains { if case .disconnected = $0 { true } else { false } } })
        #expect(await harness.events.wait { $0.drops == ["vcard cut off"] })
        #expect(await harness.waitForStatus { !$0.connected && $0.droppedToday == ["vcard cut off": 1] })
        try harness.plugIn()
        #expect(await harness.waitUntilConnected(times: 2))
        #expect(await harness.waitForStatus { $0.connected })
        harness.write(Scans.mecard)
        #expect(await harness.events.waitForCaptures(2))
        #expect(try harness.leads().map { $0.fields["email"] } == ["ivan@example.ru", "olga@example.ru"])
        #expect(try harness.leads().allSatisfy { $0.fields["email"] != "half@exa" })
        // And again: each outage is reported once, however many reopen attempts fail in it.
        harness.unplug()
        try harness.plugIn()
        #expect(await harness.waitUntilConnected(times: 3))
        harness.write(Scans.kv)
        #expect(await harness.events.waitForCaptures(3))
        let disconnects = harness.events.all.filter { if case .disconnected = $0 { true } else { false } }
        #expect(disconnects.count == 2)
        try await harness.stop()
    }

    @Test func aDeviceMissingAtStartIsOpenedWhenItAppears() async throws {
        let harness = try ScannerHarness(plugged: false)
        #expect(await harness.events.wait { $0.all.contains { if case .disconnected = $0 { true } else { false } } })
        #expect(await harness.waitForStatus { !$0.connected && $0.lastError == "No such file or directory" })
        try harness.plugIn()
        #expect(await harness.waitUntilConnected())
        harness.write(Scans.mecard)
        #expect(await harness.events.waitForCaptures(1))
        let disconnects = harness.events.all.filter { if case .disconnected = $0 { true } else { false } }
        #expect(disconnects.count == 1)
        try await harness.stop()
    }

    @Test func aRecordWithoutItsLineEndIsTakenAfterAShortSilenceButAVCardIsNot() async throws {
        let harness = try ScannerHarness(silenceMilliseconds: 200)
        #expect(await harness.waitUntilConnected())
        // A scanner set up without a suffix: each scan is complete once the line goes quiet.
        harness.write("A-10042")
        #expect(await harness.events.waitForCaptures(1))
        harness.clock.advance(milliseconds: 1000)
        harness.write(#"{"first_name":"Olga","email":"olga@example.ru"}"#)
        #expect(await harness.events.waitForCaptures(2))
        // A vCard without END:VCARD stays cut off.
        harness.clock.advance(milliseconds: 1000)
        harness.write("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Half Card")
        #expect(await harness.events.wait { $0.drops == ["vcard cut off"] })
        harness.clock.advance(milliseconds: 1000)
        harness.write("A-10043\r\n")
        #expect(await harness.events.waitForCaptures(3))
        let badges = try harness.leads().compactMap(\.badgeID).sorted()
        #expect(badges == ["A-10042", "A-10043"])
        #expect(try harness.leads().contains { $0.fields["email"] == "olga@example.ru" })
        #expect(try harness.leads().count == 3)
        try await harness.stop()
    }

    @Test func anUnterminatedTailOfGarbageIsNotTakenForABadge() async throws {
        let harness = try ScannerHarness()
        #expect(await harness.waitUntilConnected())
        // Binary noise whose last bytes look like a badge id, then silence.
        harness.write([0x00, 0xFF, 0xFE, 0x01, 0x0A, 0x9C, 0x80, 0x0D] + Array("QX7Z9K".utf8))
        #expect(await harness.events.wait { $0.drops.contains("badge id next to garbage") })
        harness.clock.advance(milliseconds: 3000)
        harness.write(Scans.badge)
        #expect(await harness.events.waitForCaptures(1))
        #expect(try harness.leads().map(\.badgeID) == ["A-10042"])
        try await harness.stop()
    }

    @Test func aCardKeepsItsGoodFieldsWhenAnOptionalOneIsInvalid() async throws {
        let harness = try ScannerHarness()
        #expect(await harness.waitUntilConnected())
        harness.write(#"{"first_name":"Anna","email":"anna@example.ru","phone":"12","interest":"nonsense"}"# + "\r\n")
        #expect(await harness.events.waitForCaptures(1))
        #expect(try harness.leads().first?.fields == ["first_name": "Anna", "email": "anna@example.ru"])
        try await harness.stop()
    }

    @Test func theWALIsCheckpointedOnceTheLineIsQuietNotInsideTheScan() async throws {
        let harness = try ScannerHarness()
        #expect(await harness.waitUntilConnected())
        harness.write(Scans.mecard)
        #expect(await harness.events.waitForCaptures(1))
        // The main database file alone (no -wal) holds the lead only after the scanner's own checkpoint.
        let copy = harness.directory + "/main-file-only.sqlite3"
        let quiet = Duration.milliseconds(ScannerSession.checkpointQuietMilliseconds)
        let deadline = ContinuousClock.now + quiet * 5
        var inMainFile = 0
        while ContinuousClock.now < deadline, inMainFile == 0 {
            try? await Task.sleep(for: .milliseconds(100))
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: harness.databasePath, toPath: copy)
            inMainFile = try LeadStore(path: copy).list(LeadFilter(limit: 10)).count
        }
        #expect(inMainFile == 1)
        try await harness.stop()
    }

    @Test func shutdownMarksTheScannerDisconnected() async throws {
        let harness = try ScannerHarness()
        #expect(await harness.waitUntilConnected())
        #expect(await harness.waitForStatus { $0.connected && $0.pid == getpid() })
        let store = try harness.store()
        let devices = [harness.devicePath]
        try await harness.stopKeepingFiles()
        let status = try #require(try store.scannerStatuses(devices: devices).first)
        #expect(!status.connected)
        #expect(status.lastError == "leadd stopped")
        try? FileManager.default.removeItem(atPath: harness.directory)
    }
}

extension ScannerHarness {
    /// Stops like ``stop()`` but leaves the database for the test to read.
    func stopKeepingFiles() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
        unplug()
    }
}
