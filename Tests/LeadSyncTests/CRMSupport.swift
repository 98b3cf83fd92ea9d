import Foundation
import LeadCore
import LeadStore
import LeadSync
import LeaddTesting
import Logging
import Synchronization
import Testing

/// A kiosk database and a `[Sink]` of a CRM type pointed at a contract server (`URL=` overrides the API base).
final class CRMFixture {
    let dir = TemporaryDirectory("leadcrm")
    let store: LeadStore
    var config: LeaddConfig
    /// Added to the engine's clock: a drain skips backoff and `Retry-After` waits instead of sleeping.
    let skipped = SkippedTime()

    /// - Parameters:
    ///   - secret: what the credential file holds (a token, or Bitrix24's whole webhook URL).
    ///   - sinkKeys: the `[Sink]` keys after `Name=`/`Type=`/`SecretFile=`.
    init(type: String, secret: String, sinkKeys: String) throws {
        try (secret + "\n").write(toFile: dir.path + "/token", atomically: true, encoding: .utf8)
        config = try LeaddConfig.parse(
            """
            [Kiosk]
            ID=booth-t
            Event=expo-test
            DataDirectory=\(dir.path)
            [Sink]
            Name=crm
            Type=\(type)
            SecretFile=\(dir.path)/token
            \(sinkKeys)
            [Sync]
            RetryInitialSec=1
            RetryMaxSec=2
            """,
            file: "test.conf",
            hostname: "test"
        )
        store = try LeadStore(path: dir.path + "/leads.sqlite3")
        try store.ensureSinks(["crm"])
    }

    deinit { dir.remove() }

    func sink() throws -> any Sink {
        try SyncSetup.makeSink(
            config.sinks[0],
            kiosk: config,
            environment: SyncEnvironment(
                databasePath: dir.path + "/leads.sqlite3",
                credentialsDirectory: nil,
                appVersion: "0.1.0-test"
            ),
            cancel: CancellationFlag()
        )
    }

    func engine() throws -> SyncEngine {
        let skipped = self.skipped
        return SyncEngine(
            sink: try sink(),
            store: store,
            settings: SyncSettings(config: config),
            logger: quietLogger,
            leaseSeconds: 60,
            clock: { Timestamp.now().advanced(by: skipped.value.load(ordering: .relaxed)) }
        )
    }

    /// Captures `n` leads: distinct emails (or none), phone and company, first name with a Cyrillic letter.
    @discardableResult
    func addLeads(
        _ n: Int,
        email: (Int) -> String? = { "visitor\($0)@example.com" },
        notes: String = "",
        phoneBase: Int = 1_000_000
    ) throws
        -> [String]
    {
        // One import transaction, not a fsync'd capture per lead: a test blocks its thread as little as it can.
        let leads = (0..<n).map { i in
            var fields = ["first_name": "Анна \(i)", "last_name": "L\(i)", "company": "Acme \(i % 7)"]
            fields["phone"] = "+4930\(phoneBase + i)"
            if let e = email(i) { fields["email"] = e }
            let lead = Lead(
                event: "expo-test",
                kiosk: "booth-t",
                channel: .keyboard,
                fields: fields,
                consent: Consent(text: "I agree", language: "en"),
                rating: .hot,
                notes: notes
            )
            return (lead, [DeliveryInfo]())
        }
        let result = try store.importLeads(leads, form: .default)
        #expect(result.added == n)
        return leads.map(\.0.id)
    }

    /// Runs passes until nothing is left to do (skipping every wait the engine asks for), at most `passes`, on
    /// a thread of its own: the passes block (HTTP, the shaper's sleeps), and a blocked cooperative pool would
    /// starve the asynchronous tests running alongside. Returns the waits skipped, in seconds, in order.
    /// `realPause`: seconds really slept (on that thread) after each wait skipped, for a contract server whose
    /// state changes with real time (a leaky bucket draining).
    @discardableResult
    func drain(
        _ engine: SyncEngine,
        passes: Int = 200,
        realPause: Double = 0
    ) async -> (
        reports: [PassReport], waits: [Int64]
    ) {
        let box = UncheckedBox((self, engine))
        return await onOwnThread { box.value.0.drainBlocking(box.value.1, passes: passes, realPause: realPause) }
    }

    private func drainBlocking(
        _ engine: SyncEngine,
        passes: Int,
        realPause: Double
    ) -> (
        reports: [PassReport], waits: [Int64]
    ) {
        var reports: [PassReport] = []
        var waits: [Int64] = []
        for _ in 0..<passes {
            let report = engine.pass()
            reports.append(report)
            switch report.stop {
            case .waiting(let until, _):
                let now = Timestamp.now().advanced(by: skipped.value.load(ordering: .relaxed))
                let wait = max(0, until.milliseconds - now.milliseconds + 1)
                waits.append((wait + 500) / 1000)
                skipped.value.add(wait, ordering: .relaxed)
                if realPause > 0 { Thread.sleep(forTimeInterval: realPause) }
            case .idle(nil), .paused, .cancelled, .failed: return (reports, waits)
            case .idle(let next?):
                let now = Timestamp.now().advanced(by: skipped.value.load(ordering: .relaxed))
                skipped.value.add(max(0, next.milliseconds - now.milliseconds + 1), ordering: .relaxed)
            case .heldElsewhere: return (reports, waits)
            }
        }
        return (reports, waits)
    }

    /// Drains and requires the sink to end paused; returns why.
    func drainUntilPaused() async throws -> String {
        let stop = try await drain(engine()).reports.last?.stop
        guard case .paused(let reason)? = stop else { throw CRMTestError("not paused: \(String(describing: stop))") }
        return reason
    }

    func state(_ id: String) throws -> DeliveryInfo { try #require(try store.deliveries(leadID: id).first) }

    /// The lead ids in `state`.
    func leads(in state: String, _ ids: [String]) throws -> [String] {
        try ids.filter { try self.state($0).state == state }
    }
}

/// Milliseconds a test skipped on the engine's clock.
final class SkippedTime: Sendable {
    let value = Atomic<Int64>(0)
}

extension Timestamp {
    func advanced(by milliseconds: Int64) -> Timestamp { Timestamp(milliseconds: self.milliseconds + milliseconds) }
}

/// Checks on the server's side that `requests` came no faster than `rate` per second: any `k` consecutive
/// requests span at least `(k - 1) / rate` seconds, less 25 ms for the server thread's scheduling jitter (a
/// request read late makes the gap after it short). So neither a gap nor a burst beats the shaper.
func expectSpaced(
    _ requests: [LoopbackHTTPServer.Request],
    atMost rate: Double,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let times = requests.map(\.receivedAt)
    // Receive times are taken on the server's threads: under load one can lag its send by tens of ms.
    let jitter = 0.05
    for i in times.indices {
        for j in times.indices where j > i {
            let span = times[j] - times[i]
            let least = Double(j - i) / rate - jitter
            if span < least {
                Issue.record(
                    "requests \(i) and \(j) came \(span) s apart, at least \(least) s expected",
                    sourceLocation: sourceLocation
                )
                return
            }
        }
    }
}

struct CRMTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Hands a non-`Sendable` value to the one thread that uses it next.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
