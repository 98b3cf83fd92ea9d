internal import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A thin, single-threaded wrapper over one `sqlite3*` connection: prepared statements with bound
/// parameters only, cached by SQL text, and typed errors.
final class Connection {
    let handle: OpaquePointer
    let path: String
    private var cache: [String: Statement] = [:]
    /// Hot-path statements keyed by the address of their literal SQL: no hashing of long SQL text per call.
    private var literalCache: [UnsafeRawPointer: Statement] = [:]

    /// Process-wide SQLite settings, applied once before the first connection (later they cannot be changed).
    private static let libraryConfigured: Bool = CSQLite_disable_memory_statistics() == SQLITE_OK

    init(path: String, readOnly: Bool) throws(StoreError) {
        _ = Connection.libraryConfigured
        var db: OpaquePointer?
        let flags =
            (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw StoreError.sqlite(rc, message, path: path)
        }
        sqlite3_extended_result_codes(db, 1)
        self.handle = db
        self.path = path
    }

    deinit {
        cache.removeAll()
        literalCache.removeAll()
        sqlite3_close_v2(handle)
    }

    func error(_ rc: Int32) -> StoreError {
        StoreError.sqlite(rc, String(cString: sqlite3_errmsg(handle)), path: path)
    }

    /// Runs one or more statements without parameters (schema, pragmas).
    func execute(_ sql: String) throws(StoreError) {
        var errmsg: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errmsg)
        if rc != SQLITE_OK {
            let message = errmsg.map { String(cString: $0) } ?? ""
            sqlite3_free(errmsg)
            throw StoreError.sqlite(rc, message, path: path)
        }
    }

    /// A cached prepared statement, reset and with its bindings cleared.
    func statement(_ sql: String) throws(StoreError) -> Statement {
        if let s = cache[sql] {
            s.reset()
            return s
        }
        let s = try Statement(connection: self, sql: sql)
        cache[sql] = s
        return s
    }

    /// A cached prepared statement for literal SQL, found by the literal's address (for per-lead hot paths).
    func cached(_ sql: StaticString) throws(StoreError) -> Statement {
        let key = UnsafeRawPointer(sql.utf8Start)
        if let s = literalCache[key] {
            s.reset()
            return s
        }
        let text = sql.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
        let s = try Statement(connection: self, sql: text)
        literalCache[key] = s
        return s
    }

    /// A prepared statement that is not cached (one-off queries).
    func prepare(_ sql: String) throws(StoreError) -> Statement {
        try Statement(connection: self, sql: sql)
    }

    /// Runs `body` in a transaction. Writers use `BEGIN IMMEDIATE` so that the write lock is taken (or waited
    /// for, up to the busy timeout) up front instead of failing half-way on a lock upgrade.
    @discardableResult
    func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            // A cached statement left on a row would keep its read snapshot open past the transaction.
            resetCached()
            try execute("COMMIT")
            return result
        } catch {
            if sqlite3_get_autocommit(handle) == 0 { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Resets every cached statement, releasing any read snapshot one of them still holds.
    func resetCached() {
        for s in cache.values { sqlite3_reset(s.handle) }
        for s in literalCache.values { sqlite3_reset(s.handle) }
    }

    var changes: Int { Int(sqlite3_changes(handle)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// The single integer a query returns (or nil for no row / NULL).
    func scalarInt(_ sql: String, _ args: [SQLValue] = []) throws(StoreError) -> Int64? {
        let s = try statement(sql)
        try s.bind(args)
        defer { sqlite3_reset(s.handle) }
        guard try s.step() else { return nil }
        return s.isNull(0) ? nil : s.int64(0)
    }
}

/// A value to bind to a statement parameter.
enum SQLValue {
    case null
    case int(Int64)
    case text(String)
    case double(Double)

    static func opt(_ s: String?) -> SQLValue { s.map { .text($0) } ?? .null }
    static func opt(_ i: Int64?) -> SQLValue { i.map { .int($0) } ?? .null }
}

/// A prepared statement owned by a `Connection`.
final class Statement {
    let handle: OpaquePointer
    unowned let connection: Connection

    init(connection: Connection, sql: String) throws(StoreError) {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw connection.error(rc) }
        self.handle = stmt
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func bind(_ values: [SQLValue]) throws(StoreError) {
        for (i, v) in values.enumerated() { try bind(v, at: Int32(i + 1)) }
    }

    func bind(_ value: SQLValue, at index: Int32) throws(StoreError) {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(handle, index)
        case .int(let v): rc = sqlite3_bind_int64(handle, index, v)
        case .double(let v): rc = sqlite3_bind_double(handle, index, v)
        case .text(let s):
            var s = s
            rc = s.withUTF8 { buf in
                sqlite3_bind_text(handle, index, buf.baseAddress, Int32(buf.count), CSQLite_transient())
            }
        }
        if rc != SQLITE_OK { throw connection.error(rc) }
    }

    /// Typed binds without building an array of `SQLValue`s (per-lead hot paths).
    func bind(_ text: String?, at index: Int32) throws(StoreError) {
        guard var text else {
            let rc = sqlite3_bind_null(handle, index)
            if rc != SQLITE_OK { throw connection.error(rc) }
            return
        }
        let rc = text.withUTF8 { buf in
            sqlite3_bind_text(handle, index, buf.baseAddress, Int32(buf.count), CSQLite_transient())
        }
        if rc != SQLITE_OK { throw connection.error(rc) }
    }

    func bind(_ value: Int64?, at index: Int32) throws(StoreError) {
        let rc = value.map { sqlite3_bind_int64(handle, index, $0) } ?? sqlite3_bind_null(handle, index)
        if rc != SQLITE_OK { throw connection.error(rc) }
    }

    func bindText(_ bytes: [UInt8], at index: Int32) throws(StoreError) {
        let rc = bytes.withUnsafeBytes { raw -> Int32 in
            // An empty buffer may have no base address; SQLite would bind NULL for a nil pointer.
            guard let base = raw.baseAddress else { return sqlite3_bind_text(handle, index, "", 0, CSQLite_static()) }
            return sqlite3_bind_text(
                handle,
                index,
                base.assumingMemoryBound(to: CChar.self),
                Int32(raw.count),
                CSQLite_transient()
            )
        }
        if rc != SQLITE_OK { throw connection.error(rc) }
    }

    /// Steps once: true when a row is available, false when done.
    @discardableResult
    func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let e = connection.error(rc)
            sqlite3_reset(handle)
            throw e
        }
    }

    /// Binds, runs to completion, and returns the number of changed rows.
    @discardableResult
    func run(_ values: [SQLValue]) throws(StoreError) -> Int {
        try bind(values)
        while try step() {}
        let changed = connection.changes
        sqlite3_reset(handle)
        return changed
    }

    func isNull(_ i: Int32) -> Bool { sqlite3_column_type(handle, i) == SQLITE_NULL }
    func int64(_ i: Int32) -> Int64 { sqlite3_column_int64(handle, i) }
    func int(_ i: Int32) -> Int { Int(sqlite3_column_int64(handle, i)) }
    func double(_ i: Int32) -> Double { sqlite3_column_double(handle, i) }
    func optInt64(_ i: Int32) -> Int64? { isNull(i) ? nil : int64(i) }

    func text(_ i: Int32) -> String {
        guard let p = sqlite3_column_text(handle, i) else { return "" }
        let n = Int(sqlite3_column_bytes(handle, i))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    func optText(_ i: Int32) -> String? { isNull(i) ? nil : text(i) }

    /// The column's bytes without making a String (hot paths: export, JSON parsing).
    func withBytes<T>(_ i: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
        let p = sqlite3_column_text(handle, i)
        let n = Int(sqlite3_column_bytes(handle, i))
        return try body(UnsafeBufferPointer(start: p, count: p == nil ? 0 : n))
    }
}
