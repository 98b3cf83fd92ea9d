internal import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The durable lead store: one SQLite file in WAL mode with `synchronous=FULL`.
///
/// A `LeadStore` is confined to one thread or task at a time (it is not `Sendable`); several processes
/// (the daemon and `leadctl`) may open the same file at once. Every write runs in a `BEGIN IMMEDIATE`
/// transaction and returns only after COMMIT, so a lead that `capture` returned is on disk.
public final class LeadStore {
    let db: Connection
    /// The database file's path.
    public let path: String
    /// Opened with `readOnly: true` (doctor on a suspect file): no migrations, no writes.
    public let isReadOnly: Bool

    /// How long a writer waits for another process's write lock before failing with `.busy`.
    public static let busyTimeoutMilliseconds: Int32 = 10_000

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// A new database file is created with mode 0600, and a missing parent directory with mode 0700.
    /// A file that is not SQLite, or an SQLite database of another program, is refused and left untouched.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        self.isReadOnly = readOnly
        if !readOnly {
            try LeadStore.prepareFile(path)
        } else if access(path, F_OK) != 0 {
            throw StoreError(.cantOpen, "\(path): no such database file")
        }
        db = try Connection(path: path, readOnly: readOnly)
        sqlite3_busy_timeout(db.handle, LeadStore.busyTimeoutMilliseconds)
        try db.execute("PRAGMA foreign_keys = ON")
        // Reading the header detects a foreign or non-database file before anything is written.
        // One read transaction: another process may commit the first migration between separate reads, and
        // a half-seen migration would look like a foreign database.
        let (appID, version, objects) = try db.transaction(immediate: false) {
            (
                try db.scalarInt("PRAGMA application_id") ?? 0, try db.scalarInt("PRAGMA user_version") ?? 0,
                try db.scalarInt("SELECT count(*) FROM sqlite_master") ?? 0
            )
        }
        if appID != Schema.applicationID && (appID != 0 || objects > 0) {
            throw StoreError(
                .foreignDatabase,
                "\(path): this is an SQLite database of another program (application_id \(appID), "
                    + "\(objects) schema objects); leadd will not modify it"
            )
        }
        if version > Int64(Schema.migrations.count) {
            throw StoreError(
                .newerSchema,
                "\(path): written by a newer leadd (schema \(version), this build knows \(Schema.migrations.count))"
            )
        }
        if readOnly {
            try db.execute("PRAGMA query_only = ON")
            return
        }
        try enableWAL()
        try db.execute("PRAGMA synchronous = FULL")
        try migrate()
    }

    /// Switches a new database to WAL. The switch needs the database to itself for a moment and SQLite does not
    /// wait for that (no busy handler): when another process is opening the same new database at once, try again
    /// until the busy timeout.
    private func enableWAL() throws {
        // Each attempt may itself wait in SQLite's busy handler: the deadline is on the clock, not a sum of pauses.
        let deadline = LeadStore.monotonicMilliseconds() + Int64(LeadStore.busyTimeoutMilliseconds)
        while try !switchedToWAL() {
            guard LeadStore.monotonicMilliseconds() < deadline else {
                throw StoreError(.busy, "\(path): cannot switch to WAL: another process holds the database")
            }
            usleep(useconds_t.random(in: 5_000...25_000))
        }
    }

    private static func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// One attempt: true when the database is in WAL mode, false when it is busy.
    private func switchedToWAL() throws(StoreError) -> Bool {
        do {
            if try db.statement("PRAGMA journal_mode").stepText() == "wal" { return true }
            return try db.statement("PRAGMA journal_mode = WAL").stepText() == "wal"
        } catch {
            if error.code == .busy { return false }
            throw error
        }
    }

    /// Creates the directory (0700) and the file (0600) before SQLite does, so that neither the database nor
    /// its -wal/-shm files (which copy the database's mode) are ever world-readable.
    static func prepareFile(_ path: String) throws {
        if let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) {
            let dir = String(path[..<slash])
            if !dir.isEmpty { try makeDirectories(dir) }
        }
        // An existing database is never opened here: closing any descriptor of the file drops every POSIX lock
        // this process holds on it, including the SHARED lock another connection of this process (the daemon's
        // sync worker, the form) keeps in WAL mode — and then a closing `leadctl` deletes the live WAL file.
        if access(path, F_OK) == 0 {
            if access(path, R_OK | W_OK) != 0 {
                let e = errno
                throw StoreError(
                    e == EACCES || e == EROFS ? .readOnly : .cantOpen,
                    "\(path): \(String(cString: strerror(e)))"
                )
            }
            return
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 {
            let e = errno
            throw StoreError(
                e == EACCES || e == EROFS ? .readOnly : .cantOpen,
                "\(path): \(String(cString: strerror(e)))"
            )
        }
        close(fd)
    }

    static func makeDirectories(_ dir: String) throws {
        var st = stat()
        if stat(dir, &st) == 0 { return }
        if let slash = dir.utf8.lastIndex(of: UInt8(ascii: "/")), slash != dir.utf8.startIndex {
            try makeDirectories(String(dir[..<slash]))
        }
        if mkdir(dir, 0o700) != 0 && errno != EEXIST {
            throw StoreError(.cantOpen, "\(dir): cannot create directory: \(String(cString: strerror(errno)))")
        }
    }

    func migrate() throws {
        try db.transaction {
            let current = Int(try db.scalarInt("PRAGMA user_version") ?? 0)
            guard current < Schema.migrations.count else { return }
            for i in current..<Schema.migrations.count { try db.execute(Schema.migrations[i]) }
            try db.execute("PRAGMA application_id = \(Schema.applicationID)")
            try db.execute("PRAGMA user_version = \(Schema.migrations.count)")
        }
    }

    /// The schema version of this file.
    public func schemaVersion() throws -> Int { Int(try db.scalarInt("PRAGMA user_version") ?? 0) }

    /// `PRAGMA integrity_check` and `foreign_key_check`: an empty array when the database is sound.
    public func integrityProblems() throws -> [String] {
        var problems: [String] = []
        let s = try db.prepare("PRAGMA integrity_check")
        while try s.step() {
            let line = s.text(0)
            if line != "ok" { problems.append(line) }
        }
        let fk = try db.prepare("PRAGMA foreign_key_check")
        while try fk.step() { problems.append("foreign key violation in \(fk.text(0)) row \(fk.int64(1))") }
        return problems
    }

    /// How long this connection waits for another writer's lock before failing with `.busy` (default 10 s).
    public func setBusyTimeout(milliseconds: Int32) {
        sqlite3_busy_timeout(db.handle, milliseconds)
    }

    /// Limits the database to `pages` pages (tests use it to simulate a full disk).
    public func setMaxPageCount(_ pages: Int) throws {
        _ = try db.prepare("PRAGMA max_page_count = \(pages)").step()
    }

    /// Writes an online, consistent copy of the database to `destination` (which must not exist) with
    /// `sqlite3_backup_*`, while other processes keep writing.
    public func backup(to destination: String) throws {
        if access(destination, F_OK) == 0 {
            throw StoreError(.invalidArgument, "\(destination): already exists; leadd never overwrites a file")
        }
        let partial = destination + ".partial"
        // O_EXCL and no unlink first: a file that happens to have this name is not ours to remove.
        let fd = open(partial, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            let e = errno
            throw StoreError(
                .cantOpen,
                "\(partial): \(String(cString: strerror(e)))"
                    + (e == EEXIST ? " (left by an interrupted backup? remove it and try again)" : "")
            )
        }
        close(fd)
        do {
            let target = try Connection(path: partial, readOnly: false)
            guard let bk = sqlite3_backup_init(target.handle, "main", db.handle, "main") else {
                throw target.error(sqlite3_errcode(target.handle))
            }
            var rc: Int32
            repeat {
                rc = sqlite3_backup_step(bk, 256)
                if rc == SQLITE_BUSY || rc == SQLITE_LOCKED { sqlite3_sleep(20) }
            } while rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED
            let final = sqlite3_backup_finish(bk)
            if rc != SQLITE_DONE { throw target.error(rc) }
            if final != SQLITE_OK { throw target.error(final) }
            // The copy is a self-contained rollback-journal file (no -wal needed beside it).
            try target.execute("PRAGMA journal_mode = DELETE")
        } catch {
            unlink(partial)
            throw error
        }
        if rename(partial, destination) != 0 {
            let e = errno
            unlink(partial)
            throw StoreError(.io, "\(destination): \(String(cString: strerror(e)))")
        }
    }
}

extension Statement {
    func stepText() throws(StoreError) -> String? {
        defer { reset() }
        guard try step() else { return nil }
        return optText(0)
    }
}
