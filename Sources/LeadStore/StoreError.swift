/// An error from the lead store. A struct around a private code so new cases break nobody.
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is; match with `==` against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable {
            case busy, full, corrupt, notADatabase, foreignDatabase, constraint, readOnly, io, cantOpen
            case notFound, invalidArgument, newerSchema, other
        }
        fileprivate let base: Base
        /// The database is locked by another writer for longer than the busy timeout.
        public static let busy = Code(base: .busy)
        /// The disk (or the database's page limit) is full.
        public static let full = Code(base: .full)
        /// The database file is damaged.
        public static let corrupt = Code(base: .corrupt)
        /// The file is not an SQLite database (or is encrypted).
        public static let notADatabase = Code(base: .notADatabase)
        /// An SQLite database that belongs to some other program: leadd will not touch it.
        public static let foreignDatabase = Code(base: .foreignDatabase)
        /// A uniqueness or check constraint failed.
        public static let constraint = Code(base: .constraint)
        /// The database or its directory is read-only.
        public static let readOnly = Code(base: .readOnly)
        /// An I/O error from the disk.
        public static let io = Code(base: .io)
        /// The file could not be opened or created.
        public static let cantOpen = Code(base: .cantOpen)
        /// No such lead (or other record).
        public static let notFound = Code(base: .notFound)
        /// A caller passed a value the store cannot accept.
        public static let invalidArgument = Code(base: .invalidArgument)
        /// The database was written by a newer leadd.
        public static let newerSchema = Code(base: .newerSchema)
        /// Any other SQLite failure.
        public static let other = Code(base: .other)
        public var description: String { base.rawValue }
    }

    public let code: Code
    /// What happened, in words for a log or a terminal.
    public let message: String
    /// The primary SQLite result code, when the error came from SQLite.
    public let sqliteCode: Int32?

    public init(_ code: Code, _ message: String, sqliteCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.sqliteCode = sqliteCode
    }

    public var description: String { message }

    /// Maps an SQLite result code (primary or extended) to a store error.
    static func sqlite(_ result: Int32, _ detail: String, path: String) -> StoreError {
        let primary = result & 0xFF
        let code: Code
        let what: String
        switch primary {
        case 5, 6:  // SQLITE_BUSY, SQLITE_LOCKED
            code = .busy
            what = "database is busy (another process holds the write lock)"
        case 13:  // SQLITE_FULL
            code = .full
            what = "disk full: the lead was not saved"
        case 11:  // SQLITE_CORRUPT
            code = .corrupt
            what = "database file is corrupt"
        case 26:  // SQLITE_NOTADB
            code = .notADatabase
            what = "file is not a database"
        case 19:  // SQLITE_CONSTRAINT
            code = .constraint
            what = "constraint failed"
        case 8:  // SQLITE_READONLY
            code = .readOnly
            what = "database is read-only"
        case 10:  // SQLITE_IOERR
            code = .io
            what = "disk I/O error"
        case 14:  // SQLITE_CANTOPEN
            code = .cantOpen
            what = "cannot open the database file"
        default:
            code = .other
            what = "SQLite error \(result)"
        }
        return StoreError(code, "\(path): \(what) (\(detail))", sqliteCode: result)
    }
}
