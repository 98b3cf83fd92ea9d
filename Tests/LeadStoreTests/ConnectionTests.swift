import CSQLite
import Foundation
import Testing

@testable import LeadStore

/// The thin SQLite layer: bound parameters, transactions and typed errors.
struct ConnectionTests {
    private struct Boom: Error {}

    // Extended result codes are macros Swift does not import: primary | (n << 8), as in sqlite3.h.
    private static let busySnapshot = SQLITE_BUSY | (2 << 8)
    private static let corruptIndex = SQLITE_CORRUPT | (3 << 8)
    private static let constraintUnique = SQLITE_CONSTRAINT | (8 << 8)
    private static let ioerrFsync = SQLITE_IOERR | (4 << 8)

    private func withConnection(_ body: (Connection) throws -> Void) throws {
        try withTemporaryDirectory { dir in
            let db = try Connection(path: dir + "/t.sqlite3", readOnly: false)
            try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)")
            try body(db)
        }
    }

    @Test func boundTextIsStoredExactlyAndNeverParsedAsSQL() throws {
        try withConnection { db in
            let values = ["'); DROP TABLE t; --", "A\u{0}B", "Анна \u{1F600}", ""]
            for v in values { try db.statement("INSERT INTO t (v) VALUES (?)").run([.text(v)]) }
            let s = try db.prepare("SELECT v FROM t ORDER BY id")
            var read: [String] = []
            while try s.step() { read.append(s.text(0)) }
            #expect(read == values)
            #expect(try db.scalarInt("SELECT count(*) FROM t WHERE v = ''") == 1)  // empty text is not NULL
        }
    }

    @Test func bindTextOfEmptyBytesIsEmptyTextNotNull() throws {
        try withConnection { db in
            let s = try db.statement("INSERT INTO t (v) VALUES (?)")
            try s.bindText([], at: 1)
            while try s.step() {}
            #expect(try db.scalarInt("SELECT count(*) FROM t WHERE v = ''") == 1)
        }
    }

    @Test func transactionRollsBackWhenTheBodyThrows() throws {
        try withConnection { db in
            #expect(throws: Boom.self) {
                try db.transaction {
                    try db.statement("INSERT INTO t (v) VALUES (?)").run([.text("a")])
                    throw Boom()
                }
            }
            #expect(sqlite3_get_autocommit(db.handle) != 0)
            #expect(try db.scalarInt("SELECT count(*) FROM t") == 0)
            try db.transaction { try db.statement("INSERT INTO t (v) VALUES (?)").run([.text("b")]) }
            #expect(try db.scalarInt("SELECT count(*) FROM t") == 1)
        }
    }

    @Test func constraintFailureIsTypedAndRollsBack() throws {
        try withConnection { db throws in
            let error = storeError {
                try db.transaction {
                    try db.statement("INSERT INTO t (v) VALUES (?)").run([.text("same")])
                    try db.statement("INSERT INTO t (v) VALUES (?)").run([.text("same")])
                }
            }
            #expect(error?.code == .constraint)
            #expect(error?.sqliteCode == Self.constraintUnique)
            #expect(try db.scalarInt("SELECT count(*) FROM t") == 0)
        }
    }

    @Test func cachedStatementIsResetBetweenUses() throws {
        try withConnection { db in
            for v in ["a", "b", "c"] { try db.statement("INSERT INTO t (v) VALUES (?)").run([.text(v)]) }
            let sql = "SELECT v FROM t WHERE id >= ? ORDER BY id"
            let first = try db.statement(sql)
            try first.bind([.int(1)])
            #expect(try first.step())
            #expect(first.text(0) == "a")
            // Same SQL again: the same statement, starting over with fresh bindings.
            let second = try db.statement(sql)
            #expect(second === first)
            try second.bind([.int(3)])
            #expect(try second.step())
            #expect(second.text(0) == "c")
        }
    }

    @Test func syntaxErrorIsReported() throws {
        try withConnection { db in
            #expect(throws: StoreError.self) { _ = try db.prepare("SELEC 1") }
            #expect(storeError { try db.execute("NOT SQL") }?.code == .other)
        }
    }

    @Test func sqliteResultCodesMapToStoreErrorCodes() {
        let cases: [(Int32, StoreError.Code)] = [
            (SQLITE_BUSY, .busy), (Self.busySnapshot, .busy), (SQLITE_LOCKED, .busy), (SQLITE_FULL, .full),
            (SQLITE_CORRUPT, .corrupt), (Self.corruptIndex, .corrupt), (SQLITE_NOTADB, .notADatabase),
            (Self.constraintUnique, .constraint), (SQLITE_READONLY, .readOnly), (Self.ioerrFsync, .io),
            (SQLITE_CANTOPEN, .cantOpen), (SQLITE_ERROR, .other),
        ]
        for (rc, code) in cases {
            let error = StoreError.sqlite(rc, "detail", path: "/data/leads.sqlite3")
            #expect(error.code == code, "result code \(rc)")
            #expect(error.sqliteCode == rc)
            #expect(error.message.hasPrefix("/data/leads.sqlite3: "))
            #expect(error.message.hasSuffix("(detail)"))
        }
        #expect(StoreError.sqlite(SQLITE_FULL, "x", path: "p").description.contains("disk full"))
    }
}
