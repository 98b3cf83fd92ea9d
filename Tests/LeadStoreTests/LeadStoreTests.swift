import CSQLite
import Foundation
import LeadCore
import LeaddTesting
import Synchronization
import Testing

@testable import LeadStore

// MARK: - Support shared by the LeadStore tests

/// A fresh directory under the system temporary directory, removed when `body` returns or throws.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("leadstore-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

/// A lead as the form would hand it over (fields already normalised by `LeadValidator`).
func makeLead(
    _ firstName: String = "Anna",
    email: String? = nil,
    phone: String? = nil,
    badge: String? = nil,
    event: String = "Expo 2026",
    capturedAt: Timestamp = .now(),
    channel: Channel = .keyboard
) -> Lead {
    var fields = ["first_name": firstName]
    if let email { fields["email"] = email }
    if let phone { fields["phone"] = phone }
    return Lead(
        event: event,
        kiosk: "booth-1",
        capturedAt: capturedAt,
        channel: channel,
        fields: fields,
        consent: Consent(text: FormSpec.default.consentText.base, language: "en", at: capturedAt),
        badgeID: badge
    )
}

/// Captures `count` distinct leads and returns them as stored.
@discardableResult
func captureLeads(
    _ count: Int,
    into store: LeadStore,
    prefix: String = "lead",
    event: String = "Expo 2026"
) throws
    -> [Lead]
{
    try (0..<count).map { i in
        try store.capture(makeLead("\(prefix)\(i)", email: "\(prefix)\(i)@example.com", event: event), form: .default)
    }
}

/// Every lead id in the store, in capture order.
func allLeadIDs(_ store: LeadStore) throws -> [String] {
    var ids: [String] = []
    try store.forEachLead { lead, _ in ids.append(lead.id) }
    return ids
}

/// Reads a whole file.
func fileBytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

/// The permission bits of a file or directory.
func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return try #require(attributes[.posixPermissions] as? Int)
}

/// A raw libsqlite3 connection: how another program (or the `sqlite3` tool) sees the file.
final class RawSQLite {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let handle: OpaquePointer

    init(_ path: String, readOnly: Bool = false) throws {
        var db: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            sqlite3_close_v2(db)
            throw Failure(description: "open \(path): \(rc)")
        }
        handle = db
    }

    deinit { sqlite3_close_v2(handle) }

    func execute(_ sql: String) throws {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(handle)))") }
    }

    /// The first column of the first row, as text (nil for no row or NULL).
    func text(_ sql: String) throws -> String? {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(handle)))")
        }
        defer { sqlite3_finalize(stmt) }
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_DONE { return nil }
        guard rc == SQLITE_ROW else { throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(handle)))") }
        guard let p = sqlite3_column_text(stmt, 0) else { return nil }
        return String(cString: p)
    }

    func int(_ sql: String) throws -> Int64? { try text(sql).flatMap { Int64($0) } }
}

/// The store error `body` throws, or nil when it throws none (or another kind of error).
func storeError(_ body: () throws -> Void) -> StoreError? {
    do {
        try body()
        return nil
    } catch let e as StoreError {
        return e
    } catch {
        return nil
    }
}

// MARK: - Opening, schema and durability settings

struct LeadStoreTests {
    @Test func captureIsReadableFromASecondStoreOnTheSameFile() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            let writer = try LeadStore(path: path)
            let stored = try writer.capture(
                makeLead("Анна", email: "anna@example.ru", phone: "+79161234567"),
                form: .default
            )
            // A separate connection sees it at once: capture returned only after COMMIT.
            let reader = try LeadStore(path: path)
            let read = try #require(try reader.lead(id: stored.id))
            #expect(read == stored)
            #expect(read.fields["first_name"] == "Анна")
            #expect(read.revision == 1)
            // And so does a program that knows nothing of leadd.
            let raw = try RawSQLite(path, readOnly: true)
            #expect(try raw.int("SELECT count(*) FROM leads") == 1)
        }
    }

    @Test func newDatabaseIsPrivateToItsOwner() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/state/leadd/leads.sqlite3"
            let store = try LeadStore(path: path)
            try store.capture(makeLead(email: "a@example.com"), form: .default)
            #expect(try permissions(path) == 0o600)
            #expect(try permissions(dir + "/state") == 0o700)
            #expect(try permissions(dir + "/state/leadd") == 0o700)
            // SQLite gives the -wal and -shm files the database's mode.
            #expect(try permissions(path + "-wal") == 0o600)
            #expect(try permissions(path + "-shm") == 0o600)
        }
    }

    @Test func usesWALAndFullSynchronousWithABusyTimeout() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            let store = try LeadStore(path: path)
            // journal_mode is stored in the file: any connection sees it.
            let raw = try RawSQLite(path)
            #expect(try raw.text("PRAGMA journal_mode") == "wal")
            // synchronous, busy_timeout and foreign_keys belong to the connection: ask the store's own.
            #expect(try store.db.scalarInt("PRAGMA synchronous") == 2)  // FULL
            #expect(try store.db.scalarInt("PRAGMA foreign_keys") == 1)
            #expect(try store.db.scalarInt("PRAGMA busy_timeout") == Int64(LeadStore.busyTimeoutMilliseconds))
            #expect(LeadStore.busyTimeoutMilliseconds >= 1000)
        }
    }

    @Test func switchingANewDatabaseToWALWaitsForAnotherConnectionsRead() async throws {
        // It sleeps and waits on a semaphore: on a thread of its own.
        try await onOwnThread { try Self.switchingToWALWaits() }
    }

    static func switchingToWALWaits() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            // Another process opened the same new, still empty database a moment earlier and is reading it: the
            // switch to WAL needs the file to itself, so opening waits (on a thread of its own: it blocks).
            let reader = try RawSQLite(path)
            try reader.execute("BEGIN")
            #expect(try reader.text("SELECT count(*) FROM sqlite_master") == "0")
            let failure = Mutex<String?>("not finished")
            let finished = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                do {
                    _ = try LeadStore(path: path)
                    failure.withLock { $0 = nil }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
                finished.signal()
            }
            usleep(300_000)
            try reader.execute("COMMIT")
            #expect(finished.wait(timeout: .now() + 15) == .success)
            #expect(failure.withLock { $0 } == nil)
            #expect(try RawSQLite(path).text("PRAGMA journal_mode") == "wal")
        }
    }

    /// The WAL header's checkpoint sequence number: SQLite increments it each time it starts the WAL over.
    static func walRestarts(_ path: String) throws -> UInt32 {
        let header = try #require(FileManager.default.contents(atPath: path + "-wal")?.prefix(16))
        return header.suffix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    @Test func aCompleteCheckpointStartsTheWALOverSoTheNextCaptureOnlyAppends() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            let store = try LeadStore(path: path)
            try store.deferCheckpoints()
            try store.capture(makeLead(email: "a@example.com"), form: .default)
            let before = try Self.walRestarts(path)
            // Checkpointed and started over in the quiet ...
            #expect(try store.checkpoint())
            #expect(try Self.walRestarts(path) == before + 1)
            #expect(try store.db.scalarInt("SELECT count(*) FROM meta WHERE key = 'wal_restarted_at'") == 1)
            // ... so the next capture appends to it: no header rewrite and sync of its own.
            try store.capture(makeLead(email: "b@example.com"), form: .default)
            #expect(try Self.walRestarts(path) == before + 1)
            // Control: after a bare checkpoint, the next capture is the one that starts the WAL over.
            try store.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            try store.capture(makeLead(email: "c@example.com"), form: .default)
            #expect(try Self.walRestarts(path) == before + 2)
            #expect(try store.status().leads == 3)
            #expect(try store.integrityProblems().isEmpty)
        }
    }

    @Test func migrationsSetUserVersionAndApplicationID() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            let store = try LeadStore(path: path)
            #expect(try store.schemaVersion() == Schema.migrations.count)
            let raw = try RawSQLite(path, readOnly: true)
            #expect(try raw.int("PRAGMA user_version") == Int64(Schema.migrations.count))
            #expect(try raw.int("PRAGMA application_id") == 0x4C45_4144)  // "LEAD"
            let tables = Set(
                try ["leads", "lead_revisions", "sinks", "deliveries", "form_events", "attendees"].filter {
                    try raw.int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '\($0)'") == 1
                }
            )
            #expect(tables.count == 6)
        }
    }

    @Test func reopeningKeepsLeadsAndDoesNotMigrateTwice() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            let ids = try captureLeads(3, into: try LeadStore(path: path)).map(\.id)
            let again = try LeadStore(path: path)
            #expect(try again.schemaVersion() == Schema.migrations.count)
            #expect(try allLeadIDs(again) == ids)
        }
    }

    @Test func refusesADatabaseWrittenByANewerLeadd() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            _ = try LeadStore(path: path)
            try RawSQLite(path).execute("PRAGMA user_version = \(Schema.migrations.count + 1)")
            let before = try fileBytes(path)
            #expect(storeError { _ = try LeadStore(path: path) }?.code == .newerSchema)
            #expect(try fileBytes(path) == before)
        }
    }

    @Test func readOnlyOpenOfAMissingFileCreatesNothing() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/none/leads.sqlite3"
            #expect(storeError { _ = try LeadStore(path: path, readOnly: true) }?.code == .cantOpen)
            #expect(!FileManager.default.fileExists(atPath: dir + "/none"))
        }
    }

    @Test func readOnlyStoreRefusesWrites() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            try captureLeads(1, into: try LeadStore(path: path))
            let store = try LeadStore(path: path, readOnly: true)
            #expect(store.isReadOnly)
            #expect(throws: StoreError.self) { try store.capture(makeLead(email: "b@example.com"), form: .default) }
            #expect(try LeadStore(path: path).status().leads == 1)
        }
    }

    @Test func integrityCheckIsCleanOnAGoodDatabase() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try store.ensureSinks(["crm"])
            let leads = try captureLeads(20, into: store)
            try store.edit(id: leads[0].id, rating: .some(.hot), form: .default)
            #expect(try store.integrityProblems() == [])
        }
    }

    // MARK: Backup

    @Test func backupIsAConsistentCopyThatOpensOnItsOwn() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            let ids = try captureLeads(25, into: store).map(\.id)
            let copyPath = dir + "/copy.sqlite3"
            try store.backup(to: copyPath)
            // Self-contained: no -wal beside it, and it opens read-only with the same leads.
            #expect(!FileManager.default.fileExists(atPath: copyPath + "-wal"))
            #expect(!FileManager.default.fileExists(atPath: copyPath + ".partial"))
            #expect(try permissions(copyPath) == 0o600)
            let copy = try LeadStore(path: copyPath, readOnly: true)
            #expect(try copy.integrityProblems() == [])
            #expect(try allLeadIDs(copy) == ids)
            #expect(try copy.lead(id: ids[3]) == store.lead(id: ids[3]))
        }
    }

    @Test func backupNeverOverwritesAFile() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try captureLeads(2, into: store)
            let target = dir + "/precious.txt"
            try Data("do not touch\n".utf8).write(to: URL(fileURLWithPath: target))
            let error = storeError { try store.backup(to: target) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("already exists") == true)
            #expect(try fileBytes(target) == Data("do not touch\n".utf8))
        }
    }

    // Regression: backup once unlinked `DESTINATION.partial` before creating its temporary file, deleting a file
    // leadd did not write although backup never overwrites anything.
    @Test func backupLeavesAnUnrelatedPartialFileAlone() throws {
        try withTemporaryDirectory { dir in
            let store = try LeadStore(path: dir + "/leads.sqlite3")
            try captureLeads(2, into: store)
            let other = dir + "/copy.sqlite3.partial"
            try Data("someone else's file\n".utf8).write(to: URL(fileURLWithPath: other))
            _ = storeError { try store.backup(to: dir + "/copy.sqlite3") }
            #expect(FileManager.default.contents(atPath: other) == Data("someone else's file\n".utf8))
        }
    }

    @Test func backupFromAReadOnlyStoreWorks() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            try captureLeads(3, into: try LeadStore(path: path))
            let store = try LeadStore(path: path, readOnly: true)
            try store.backup(to: dir + "/copy.sqlite3")
            #expect(try LeadStore(path: dir + "/copy.sqlite3", readOnly: true).status().leads == 3)
        }
    }

    // MARK: Bad input: disk full

    @Test func diskFullFailsCleanlyAndLosesNothingCommitted() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            var committed: [String] = []
            var failure: StoreError?
            do {
                let store = try LeadStore(path: path)
                try store.ensureSinks(["crm"])
                committed = try captureLeads(5, into: store).map(\.id)
                let pages = try #require(try store.db.scalarInt("PRAGMA page_count"))
                try store.setMaxPageCount(Int(pages) + 4)
                let company = String(repeating: "Acme Corporation International ", count: 8)
                for i in 0..<5000 {
                    var lead = makeLead("Filler\(i)", email: "filler\(i)@example.com")
                    lead.fields["company"] = company
                    do {
                        committed.append(try store.capture(lead, form: .default).id)
                    } catch let e as StoreError {
                        failure = e
                        break
                    }
                }
                let error = try #require(failure, "the page limit was never reached")
                #expect(error.code == .full)
                #expect(error.message.contains("disk full"))
                #expect(error.message.contains(path))
                // The failed capture left no trace, and the connection is usable for reading.
                #expect(try store.integrityProblems() == [])
                #expect(try store.status().leads == committed.count)
            }
            #expect(committed.count > 5)
            // A new connection (no page limit) finds every committed lead, and can write again.
            let reopened = try LeadStore(path: path)
            #expect(try reopened.integrityProblems() == [])
            #expect(try allLeadIDs(reopened) == committed)
            #expect(try reopened.deliveries(leadID: committed.last!).map(\.state) == ["pending"])
            try reopened.capture(makeLead(email: "after@example.com"), form: .default)
            #expect(try reopened.status().leads == committed.count + 1)
        }
    }

    // MARK: Bad input: corrupt, foreign and non-database files

    @Test func corruptFileIsReportedAndLeftUnchanged() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            do {
                let store = try LeadStore(path: path)
                let leads = (0..<300).map { i in
                    var lead = makeLead("Visitor\(i)", email: "visitor\(i)@example.com")
                    lead.fields["company"] = "Company number \(i) with a fairly long name"
                    return (lead, [DeliveryInfo]())
                }
                #expect(try store.importLeads(leads, form: .default).added == 300)
            }
            // The last connection closed: the WAL is checkpointed into the main file.
            let raw = try RawSQLite(path)
            try raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            let pageSize = Int(try #require(try raw.int("PRAGMA page_size")))
            let pageCount = Int(try #require(try raw.int("PRAGMA page_count")))
            #expect(pageCount > 8)
            // Scribble over the middle pages, past the header and the schema on page 1.
            var bytes = try fileBytes(path)
            let start = pageSize * (pageCount / 3)
            let end = pageSize * (2 * pageCount / 3)
            for i in stride(from: start, to: end, by: 7) { bytes[i] = 0xA5 }
            try bytes.write(to: URL(fileURLWithPath: path))
            let damaged = try fileBytes(path)

            // What `leadctl doctor` does: a read-only open, then the integrity check.
            var reported = false
            do {
                let store = try LeadStore(path: path, readOnly: true)
                let problems = try store.integrityProblems()
                reported = !problems.isEmpty
            } catch let e as StoreError {
                reported = e.code == .corrupt
            }
            #expect(reported)
            #expect(try fileBytes(path) == damaged)
        }
    }

    @Test func foreignSQLiteDatabaseIsRefusedUntouched() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/other.sqlite3"
            do {
                let raw = try RawSQLite(path)
                try raw.execute("CREATE TABLE x(y); INSERT INTO x VALUES ('precious');")
            }
            let before = try fileBytes(path)
            for readOnly in [false, true] {
                let error = storeError { _ = try LeadStore(path: path, readOnly: readOnly) }
                #expect(error?.code == .foreignDatabase)
                #expect(error?.message.contains("another program") == true)
            }
            #expect(try fileBytes(path) == before)
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
            #expect(try RawSQLite(path, readOnly: true).text("SELECT y FROM x") == "precious")
        }
    }

    @Test func databaseWithAnotherApplicationIDIsForeignEvenWhenEmpty() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/other.sqlite3"
            try RawSQLite(path).execute("PRAGMA application_id = 1234")
            let before = try fileBytes(path)
            #expect(storeError { _ = try LeadStore(path: path) }?.code == .foreignDatabase)
            #expect(try fileBytes(path) == before)
        }
    }

    @Test func textFileIsNotADatabaseAndIsLeftUnchanged() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/notes.txt"
            let text = Data(String(repeating: "Shopping list: milk, eggs, bread.\n", count: 200).utf8)
            try text.write(to: URL(fileURLWithPath: path))
            for readOnly in [false, true] {
                let error = storeError { _ = try LeadStore(path: path, readOnly: readOnly) }
                #expect(error?.code == .notADatabase)
                #expect(error?.message.contains("not a database") == true)
            }
            #expect(try fileBytes(path) == text)
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        }
    }

    @Test func emptyFileBecomesANewDatabase() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/leads.sqlite3"
            #expect(FileManager.default.createFile(atPath: path, contents: Data()))
            let store = try LeadStore(path: path)
            #expect(try store.schemaVersion() == Schema.migrations.count)
        }
    }
}

// MARK: - Bad input: another process finishing the first migration while a store opens

/// Lets a test commit another connection's pending migration at one exact point in a `LeadStore`'s opening:
/// just before the statement that follows its `PRAGMA application_id` read. No timing involved: SQLite calls
/// the hook synchronously, on the opening thread.
///
/// SQLite runs auto extensions for every connection the process opens, so the hook only arms itself on
/// connections to the file whose path holds `token`.
private final class FirstOpenRace: @unchecked Sendable {
    static let shared = FirstOpenRace()

    private let lock = NSLock()
    private var token: String?
    private var writer: OpaquePointer?
    private var sawApplicationID = false
    private(set) var committed = false

    func arm(token: String, writer: OpaquePointer) {
        lock.withLock {
            self.token = token
            self.writer = writer
            sawApplicationID = false
            committed = false
        }
    }

    func disarm() {
        lock.withLock {
            token = nil
            writer = nil
        }
    }

    func wants(_ filename: String) -> Bool { lock.withLock { token.map { filename.contains($0) } ?? false } }

    /// Called as each statement of the opening connection starts.
    func statementStarts(_ sql: String) {
        lock.withLock {
            guard let writer, !committed else { return }
            if sql.contains("application_id") && !sawApplicationID {
                sawApplicationID = true
                return
            }
            // The next statement after the application_id read, or any write transaction (which would wait
            // for the writer): the other process commits now.
            if sawApplicationID || sql.hasPrefix("BEGIN IMMEDIATE") {
                committed = true
                sqlite3_exec(writer, "COMMIT", nil, nil, nil)
            }
        }
    }

    static let traceStatement:
        @convention(c) (UInt32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?)
            -> Int32 = { _, _, _, x in
                if let x {
                    FirstOpenRace.shared.statementStarts(String(cString: x.assumingMemoryBound(to: CChar.self)))
                }
                return 0
            }

    static let entryPoint: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?) -> Int32 = {
        db,
        _,
        _ in
        guard let db, let name = sqlite3_db_filename(db, "main"), FirstOpenRace.shared.wants(String(cString: name))
        else {
            return SQLITE_OK
        }
        sqlite3_trace_v2(db, UInt32(SQLITE_TRACE_STMT), FirstOpenRace.traceStatement, nil)
        return SQLITE_OK
    }

    /// The entry point as the `void (*)(void)` that `sqlite3_auto_extension` declares.
    static var autoExtension: @convention(c) () -> Void {
        unsafeBitCast(entryPoint, to: (@convention(c) () -> Void).self)
    }
}

/// The hook is process-wide: tests that use it take turns.
@Suite(.serialized)
struct LeadStoreFirstOpenTests {
    // Regression: LeadStore.init once read application_id, user_version and the schema size from three
    // snapshots; another connection committing the first migration in between made the store refuse leadd's own
    // new database as foreign. The test commits that migration at exactly the bad moment.
    @Test func storeOpeningWhileAnotherProcessMigratesAcceptsTheDatabase() throws {
        try withTemporaryDirectory { dir in
            let token = "race-\(UUID().uuidString)"
            let path = dir + "/\(token).sqlite3"
            // The other process: it has created the file and switched it to WAL (committed, still empty), and
            // holds the first migration in an open transaction.
            let other = try RawSQLite(path)
            try other.execute("PRAGMA journal_mode = WAL; CREATE TABLE t (x); DROP TABLE t;")
            try other.execute("BEGIN IMMEDIATE")
            for sql in Schema.migrations { try other.execute(sql) }
            try other.execute(
                "PRAGMA application_id = \(Schema.applicationID); PRAGMA user_version = \(Schema.migrations.count)"
            )

            FirstOpenRace.shared.arm(token: token, writer: other.handle)
            sqlite3_auto_extension(FirstOpenRace.autoExtension)
            defer {
                sqlite3_cancel_auto_extension(FirstOpenRace.autoExtension)
                FirstOpenRace.shared.disarm()
            }
            let result = Result { try LeadStore(path: path) }
            #expect(FirstOpenRace.shared.committed)
            if case .failure(let error) = result {
                Issue.record("opening leadd's own database failed: \(error)")
            }
            let store = try LeadStore(path: path)
            #expect(try store.schemaVersion() == Schema.migrations.count)
            #expect(try store.integrityProblems() == [])
        }
    }
}
