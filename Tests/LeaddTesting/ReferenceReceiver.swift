import COpenSSL
import CSQLite
import Foundation
public import LeadCore

#if canImport(Glibc)
import Glibc
#endif

/// The receiving side of SYNC-PROTOCOL.md, for tests and benchmarks: a real HTTP/1.1 server on `127.0.0.1`
/// (POSIX sockets, a thread per connection, keep-alive) that checks every receiver obligation and stores what it
/// accepts in an SQLite file of its own:
///
/// 1. a body over 1 MiB → 413; a missing `webhook-id`, `webhook-timestamp` or `webhook-signature` → 401;
/// 2. a timestamp more than 300 s from its clock → 401 `timestamp_out_of_tolerance` with a `Date` header;
/// 3. each `v1,` signature checked in constant time (`CRYPTO_memcmp`), any match accepts;
/// 4. `Idempotency-Key` completed → the stored response replayed; in flight → 409; another body → 422;
/// 5. each lead upserted by `(kiosk_id, lead_id)`: a higher revision replaces a lower one, never the reverse.
///
/// ``misbehave(_:)`` scripts what the next requests get instead (500s, 429/503 with either `Retry-After` form,
/// slow answers, a dropped connection after storing, 401, 413, partial per-lead results …).
public final class ReferenceReceiver: @unchecked Sendable {
    /// What a scripted request gets.
    public enum Behavior: Sendable {
        /// Answer with this status and body, without looking at the request (nothing is stored).
        case status(Int, body: String = "", headers: [String: String] = [:])
        /// 429 or 503 with `Retry-After: <seconds>`.
        case retryAfterSeconds(Int, seconds: Int)
        /// 429 or 503 with `Retry-After: <HTTP-date>` this many seconds ahead.
        case retryAfterDate(Int, secondsAhead: Int)
        /// Process normally, then wait this long before answering (a kiosk timeout after the commit).
        case slow(seconds: Double)
        /// Hold the batch in flight before processing it, for at most this long or until ``releaseStalls()``
        /// (meanwhile a second request with its key gets 409).
        case stall(seconds: Double)
        /// Process and store normally, then close the connection without answering (a timeout after commit).
        case dropAfterStore
        /// Process normally but answer only for leads `keep` says yes to (the others are missing from results).
        case omitResults(keep: @Sendable (String) -> Bool)
    }

    /// One request as received.
    public struct Request: Sendable {
        public var webhookID: String?
        public var timestamp: String?
        public var idempotencyKey: String?
        public var userAgent: String?
        public var contentType: String?
        public var body: [UInt8]
        public var bodySHA256: [UInt8]
        public var status: Int
        /// Leads in the body (empty when it did not parse).
        public var leadIDs: [String]
        public var startedAt: Double
        public var endedAt: Double
        /// Processed (stored), not replayed or refused.
        public var processed: Bool
    }

    /// What the tests look at.
    public struct Snapshot: Sendable {
        public var requests: [Request]
        /// `(kiosk_id, lead_id)` → stored revision.
        public var stored: [String: Int]
        /// lead id → how many times a request stored it (`created`/`updated`), replays excluded.
        public var receipts: [String: Int]
        public var connectionsAccepted: Int
        /// Idempotency keys being processed right now.
        public var inFlight: Int
    }

    public let databasePath: String
    public private(set) var port: UInt16 = 0
    public var url: String { "http://127.0.0.1:\(port)\(path)" }
    public let path: String
    /// Keep request bodies in `requests` (off for benchmarks).
    public let recordBodies: Bool

    private let keys: [[UInt8]]
    private let lock = NSLock()
    private var db: OpaquePointer?
    private var listenFD: Int32 = -1
    private var connections: Set<Int32> = []
    private var script: [Behavior] = []
    private var standing: Behavior?
    private var inFlight: Set<String> = []
    private var requests: [Request] = []
    private var stored: [String: Int] = [:]
    private var receipts: [String: Int] = [:]
    private var receiptLog: [String: [String]] = [:]
    private var statements: [String: OpaquePointer?] = [:]
    private let stallCondition = NSCondition()
    private var stallGeneration = 0
    private var accepted = 0
    private var waiters: [(id: Int, predicate: (Snapshot) -> Bool, continuation: CheckedContinuation<Bool, Never>)] = []
    private var nextWaiter = 0
    /// Seconds added to this receiver's clock (to test a kiosk whose clock is off).
    public var clockOffsetSeconds: Int64 {
        get { lock.withLock { _clockOffset } }
        set { lock.withLock { _clockOffset = newValue } }
    }
    private var _clockOffset: Int64 = 0
    /// Per-lead verdicts: a lead id and its JSON → `rejected` (code, message) or `retry` (seconds), or nil for normal.
    public var perLead: (@Sendable (String, JSONValue) -> LeadVerdict?)? {
        get { lock.withLock { _perLead } }
        set { lock.withLock { _perLead = newValue } }
    }
    private var _perLead: (@Sendable (String, JSONValue) -> LeadVerdict?)?

    public enum LeadVerdict: Sendable {
        case rejected(code: String, field: String?, message: String)
        case retry(seconds: Int)
    }

    /// Starts a receiver on `127.0.0.1:port` (0: any free port) accepting these `whsec_` secrets.
    public init(
        secrets: [String],
        databasePath: String,
        port: UInt16 = 0,
        path: String = "/leads",
        recordBodies: Bool = true
    ) throws {
        keys = try secrets.map { s in
            let text = s.hasPrefix("whsec_") ? String(s.dropFirst(6)) : s
            guard let data = Data(base64Encoded: text) else { throw ReceiverError("bad secret") }
            return [UInt8](data)
        }
        self.databasePath = databasePath
        self.path = path
        self.recordBodies = recordBodies
        try openDatabase()
        try start(port: port)
    }

    deinit {
        stop()
        for s in statements.values { sqlite3_finalize(s) }
        sqlite3_close_v2(db)
    }

    // MARK: - Control

    /// Listens (again) on `port`, or the port it had (the outage test takes the receiver down and up).
    public func start(port requested: UInt16? = nil) throws {
        let (fd, bound) = try LoopbackHTTPServer.listenOnLoopback(port: requested ?? port)
        lock.withLock {
            port = bound
            listenFD = fd
        }
        let thread = Thread { [weak self] in self?.acceptLoop(fd) }
        thread.start()
    }

    /// Stops listening and drops every open connection (the receiver goes down).
    public func stop() {
        let fd = lock.withLock { () -> Int32 in
            let fd = listenFD
            listenFD = -1
            // Under the lock: a connection's thread closes its socket under it too.
            for c in connections { shutdown(c, Int32(SHUT_RDWR)) }
            return fd
        }
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    /// Ends every `.stall` in progress.
    public func releaseStalls() {
        stallCondition.lock()
        stallGeneration += 1
        stallCondition.broadcast()
        stallCondition.unlock()
    }

    /// The next requests get these instead of normal handling, in order.
    public func misbehave(_ behaviors: [Behavior]) { lock.withLock { script += behaviors } }

    /// Every request gets this until cleared with nil (after any scripted ones).
    public func misbehaveAlways(_ behavior: Behavior?) { lock.withLock { standing = behavior } }

    public var snapshot: Snapshot {
        lock.withLock {
            Snapshot(
                requests: requests,
                stored: stored,
                receipts: receipts,
                connectionsAccepted: accepted,
                inFlight: inFlight.count
            )
        }
    }

    /// Waits until `predicate` holds for the receiver's state (checked after every request), or `timeout` passes.
    public func waitUntil(timeout: Double, _ predicate: @escaping @Sendable (Snapshot) -> Bool) async -> Bool {
        let id: Int = lock.withLock {
            nextWaiter += 1
            return nextWaiter
        }
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let done: Bool = lock.withLock {
                let snap = Snapshot(
                    requests: requests,
                    stored: stored,
                    receipts: receipts,
                    connectionsAccepted: accepted,
                    inFlight: inFlight.count
                )
                if predicate(snap) { return true }
                waiters.append((id, predicate, c))
                return false
            }
            if done {
                c.resume(returning: true)
                return
            }
            Thread.detachNewThread { [weak self] in
                Thread.sleep(forTimeInterval: timeout)
                guard let self else { return }
                let waiter = self.lock.withLock { () -> CheckedContinuation<Bool, Never>? in
                    guard let i = self.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return self.waiters.remove(at: i).continuation
                }
                waiter?.resume(returning: false)
            }
        }
    }

    private func notifyWaiters() {
        let ready: [CheckedContinuation<Bool, Never>] = lock.withLock {
            guard !waiters.isEmpty else { return [] }
            let snap = Snapshot(
                requests: requests,
                stored: stored,
                receipts: receipts,
                connectionsAccepted: accepted,
                inFlight: inFlight.count
            )
            var out: [CheckedContinuation<Bool, Never>] = []
            waiters.removeAll { w in
                if w.predicate(snap) {
                    out.append(w.continuation)
                    return true
                }
                return false
            }
            return out
        }
        for c in ready { c.resume(returning: true) }
    }

    // MARK: - Storage

    private func openDatabase() throws {
        guard
            sqlite3_open_v2(databasePath, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil)
                == SQLITE_OK
        else { throw ReceiverError("cannot open \(databasePath)") }
        try exec(
            """
            PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
            CREATE TABLE IF NOT EXISTS leads (kiosk_id TEXT NOT NULL, lead_id TEXT NOT NULL, revision INTEGER NOT NULL,
                lead TEXT NOT NULL, batch_id TEXT, stored_at REAL NOT NULL, PRIMARY KEY (kiosk_id, lead_id));
            CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, body_sha256 BLOB NOT NULL,
                status INTEGER NOT NULL, response BLOB NOT NULL);
            """
        )
    }

    private func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw ReceiverError(String(cString: sqlite3_errmsg(db)))
        }
    }

    private func prepare(_ sql: String) -> OpaquePointer? {
        var s: OpaquePointer?
        sqlite3_prepare_v2(db, sql, -1, &s, nil)
        return s
    }

    /// Leads as stored: `kiosk_id/lead_id` → revision, read back from the SQLite file.
    public func storedLeadsFromDatabase() -> [String: Int] {
        lock.withLock {
            var out: [String: Int] = [:]
            let s = prepare("SELECT kiosk_id, lead_id, revision FROM leads")
            while sqlite3_step(s) == SQLITE_ROW {
                out[String(cString: sqlite3_column_text(s, 0)) + "/" + String(cString: sqlite3_column_text(s, 1))] =
                    Int(sqlite3_column_int64(s, 2))
            }
            sqlite3_finalize(s)
            return out
        }
    }

    /// What the receiver answered for a lead each time a request carrying it was processed, in order.
    public func receiptStatuses(leadID: String) -> [String] { lock.withLock { receiptLog[leadID] ?? [] } }

    /// The stored JSON of a lead.
    public func storedLead(kiosk: String, leadID: String) -> JSONValue? {
        lock.withLock {
            let s = prepare("SELECT lead FROM leads WHERE kiosk_id = ? AND lead_id = ?")
            defer { sqlite3_finalize(s) }
            sqlite3_bind_text(s, 1, kiosk, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            sqlite3_bind_text(s, 2, leadID, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            guard sqlite3_step(s) == SQLITE_ROW else { return nil }
            return try? JSONValue.parse(Array(String(cString: sqlite3_column_text(s, 0)).utf8))
        }
    }

    // MARK: - HTTP

    private func acceptLoop(_ fd: Int32) {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            var one: Int32 = 1
            setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let live = lock.withLock { () -> Bool in
                guard listenFD == fd else { return false }
                connections.insert(c)
                accepted += 1
                return true
            }
            guard live else {
                close(c)
                return
            }
            notifyWaiters()
            let thread = Thread { [weak self] in
                self?.serve(c)
                // Closed under the lock `stop()` shuts connections down with: it never hits a reused number.
                if let self {
                    self.lock.withLock {
                        self.connections.remove(c)
                        close(c)
                    }
                } else {
                    close(c)
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private struct HTTPRequest {
        var method: String
        var target: String
        var headers: [String: String]
        var body: [UInt8]
        var keepAlive: Bool
    }

    /// Serves requests on one connection until it closes.
    private func serve(_ fd: Int32) {
        var buffer: [UInt8] = []
        while true {
            guard let headEnd = readUntilHeaderEnd(fd, &buffer) else { return }
            let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
            buffer.removeSubrange(..<(headEnd + 4))
            var lines = head.components(separatedBy: "\r\n")
            let requestLine = lines.removeFirst().split(separator: " ")
            guard requestLine.count >= 3 else { return }
            var headers: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces
                )
            }
            let length = Int(headers["content-length"] ?? "0") ?? -1
            let started = Date().timeIntervalSince1970
            if length < 0 || headers["transfer-encoding"] != nil {
                respond(fd, status: 411, body: errorBody("length_required", "send Content-Length"), keepAlive: false)
                return
            }
            if length > 1 << 20 {
                // Obligation 1: the cap is checked before the body is read.
                respond(fd, status: 413, body: errorBody("payload_too_large", "at most 1 MiB"), keepAlive: false)
                lingeringClose(fd, unread: length - buffer.count)
                record(
                    Request(
                        webhookID: headers["webhook-id"],
                        timestamp: headers["webhook-timestamp"],
                        idempotencyKey: headers["idempotency-key"],
                        userAgent: headers["user-agent"],
                        contentType: headers["content-type"],
                        body: [],
                        bodySHA256: [],
                        status: 413,
                        leadIDs: [],
                        startedAt: started,
                        endedAt: Date().timeIntervalSince1970,
                        processed: false
                    )
                )
                return
            }
            if headers["expect"]?.lowercased() == "100-continue" {
                writeAll(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
            }
            while buffer.count < length {
                var chunk = [UInt8](repeating: 0, count: 65536)
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { return }
                buffer.append(contentsOf: chunk[..<n])
            }
            let body = Array(buffer[..<length])
            buffer.removeSubrange(..<length)
            let keepAlive = headers["connection"]?.lowercased() != "close"
            let request = HTTPRequest(
                method: String(requestLine[0]),
                target: String(requestLine[1]),
                headers: headers,
                body: body,
                keepAlive: keepAlive
            )
            guard handle(request, fd: fd, started: started), keepAlive else { return }
        }
    }

    /// After an early answer (413 before the body), the client is still sending: closing now would reset the
    /// connection and the client could lose the answer to "connection reset" before reading it. Like nginx's
    /// lingering close: stop writing, read and drop what is still coming (at most `unread` bytes, 2 s), then close.
    private func lingeringClose(_ fd: Int32, unread: Int) {
        shutdown(fd, Int32(SHUT_WR))
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var left = unread
        var chunk = [UInt8](repeating: 0, count: 65536)
        while left > 0 {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            left -= n
        }
    }

    private func readUntilHeaderEnd(_ fd: Int32, _ buffer: inout [UInt8]) -> Int? {
        var searchFrom = 0
        while true {
            if buffer.count >= 4 {
                var i = max(0, searchFrom - 3)
                while i + 3 < buffer.count {
                    if buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 { return i }
                    i += 1
                }
                searchFrom = buffer.count
            }
            if buffer.count > 64 * 1024 { return nil }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    /// Handles one request; false when the connection must close.
    private func handle(_ r: HTTPRequest, fd: Int32, started: Double) -> Bool {
        let bodyHash = sha256(r.body)
        var entry = Request(
            webhookID: r.headers["webhook-id"],
            timestamp: r.headers["webhook-timestamp"],
            idempotencyKey: r.headers["idempotency-key"],
            userAgent: r.headers["user-agent"],
            contentType: r.headers["content-type"],
            body: recordBodies ? r.body : [],
            bodySHA256: bodyHash,
            status: 0,
            leadIDs: [],
            startedAt: started,
            endedAt: 0,
            processed: false
        )
        if let ids = try? JSONValue.parse(r.body)["leads"]?.arrayValue {
            entry.leadIDs = ids.compactMap { $0["lead_id"]?.stringValue }
        }
        func finish(_ status: Int, _ body: [UInt8], headers: [String: String] = [:]) -> Bool {
            // Timed before the answer leaves: whatever the kiosk does after reading it comes later.
            entry.status = status
            entry.endedAt = Date().timeIntervalSince1970
            record(entry)
            respond(fd, status: status, body: body, headers: headers, keepAlive: r.keepAlive)
            return true
        }
        let scripted: Behavior? = lock.withLock { script.isEmpty ? standing : script.removeFirst() }
        var slowSeconds = 0.0
        var stallSeconds = 0.0
        var dropAfterStore = false
        var keepResult: (@Sendable (String) -> Bool)?
        switch scripted {
        case .status(let code, let body, let headers)?:
            return finish(code, Array(body.utf8), headers: headers)
        case .retryAfterSeconds(let code, let seconds)?:
            return finish(code, errorBody("busy", "retry later"), headers: ["Retry-After": "\(seconds)"])
        case .retryAfterDate(let code, let ahead)?:
            let date = httpDate(Date().timeIntervalSince1970 + Double(ahead))
            return finish(code, errorBody("busy", "retry later"), headers: ["Retry-After": date])
        case .slow(let seconds)?: slowSeconds = seconds
        case .stall(let seconds)?: stallSeconds = seconds
        case .dropAfterStore?: dropAfterStore = true
        case .omitResults(let keep)?: keepResult = keep
        case nil: break
        }
        guard r.method == "POST", r.target.split(separator: "?").first.map(String.init) == path else {
            return finish(404, errorBody("not_found", "no such endpoint"))
        }
        // Obligation 1: the three webhook headers.
        guard let id = r.headers["webhook-id"], let tsText = r.headers["webhook-timestamp"],
            let signatures = r.headers["webhook-signature"]
        else { return finish(401, errorBody("missing_headers", "webhook-id, webhook-timestamp, webhook-signature")) }
        // Obligation 2: ±300 s, with our Date.
        let offset = clockOffsetSeconds
        let nowSeconds = Int64(Date().timeIntervalSince1970) + offset
        guard let ts = Int64(tsText), abs(ts - nowSeconds) <= 300 else {
            return finish(
                401,
                errorBody("timestamp_out_of_tolerance", "webhook-timestamp is more than 300 s off"),
                headers: ["Date": httpDate(Double(nowSeconds))]
            )
        }
        // Obligation 3: any v1 signature, compared in constant time.
        var message = Array("\(id).\(tsText).".utf8)
        message.append(contentsOf: r.body)
        let expected = keys.map { Array(Data(hmac($0, message)).base64EncodedString().utf8) }
        var matched = false
        for entry in signatures.split(separator: " ") where entry.hasPrefix("v1,") {
            let given = Array(entry.dropFirst(3).utf8)
            for e in expected where e.count == given.count {
                if CRYPTO_memcmp(e, given, e.count) == 0 { matched = true }
            }
        }
        guard matched else { return finish(401, errorBody("invalid_signature", "no signature matches")) }
        // Obligation 4: Idempotency-Key.
        let key = r.headers["idempotency-key"].map(unquote)
        if let key {
            enum Seen {
                case replay(Int, [UInt8])
                case conflict, otherBody, new
            }
            let seen: Seen = lock.withLock {
                if inFlight.contains(key) { return .conflict }
                let s = prepare("SELECT body_sha256, status, response FROM idempotency WHERE key = ?")
                defer { sqlite3_finalize(s) }
                sqlite3_bind_text(s, 1, key, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                if sqlite3_step(s) == SQLITE_ROW {
                    let hash = blob(s, 0)
                    guard hash == bodyHash else { return .otherBody }
                    return .replay(Int(sqlite3_column_int64(s, 1)), blob(s, 2))
                }
                inFlight.insert(key)
                return .new
            }
            notifyWaiters()
            switch seen {
            case .replay(let status, let body): return finish(status, body)
            case .conflict: return finish(409, errorBody("in_flight", "this batch is still being processed"))
            case .otherBody: return finish(422, errorBody("idempotency_key_reused", "this key came with another body"))
            case .new: break
            }
        }
        if stallSeconds > 0 {
            stallCondition.lock()
            let deadline = Date().addingTimeInterval(stallSeconds)
            let generation = stallGeneration
            while stallGeneration == generation && stallCondition.wait(until: deadline) {}
            stallCondition.unlock()
        }
        let (status, response) = process(r.body, batchHeader: id, keep: keepResult, key: key, bodyHash: bodyHash)
        entry.processed = status == 200
        notifyWaiters()
        if dropAfterStore {
            entry.status = -1
            entry.endedAt = Date().timeIntervalSince1970
            record(entry)
            shutdown(fd, Int32(SHUT_RDWR))
            return false
        }
        if slowSeconds > 0 { Thread.sleep(forTimeInterval: slowSeconds) }
        return finish(status, response)
    }

    /// A prepared statement kept for the receiver's life (call with the lock held).
    private func statement(_ sql: String) -> OpaquePointer? {
        if let s = statements[sql] {
            sqlite3_reset(s)
            return s
        }
        let s = prepare(sql)
        statements[sql] = s
        return s
    }

    /// Records the answer to an idempotency key and ends its flight (call with the lock held, in a transaction).
    private func complete(key: String?, bodyHash: [UInt8], status: Int, response: [UInt8]) {
        guard let key else { return }
        inFlight.remove(key)
        let s = statement("INSERT OR REPLACE INTO idempotency (key, body_sha256, status, response) VALUES (?, ?, ?, ?)")
        sqlite3_bind_text(s, 1, key, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        bindBlob(s, 2, bodyHash)
        sqlite3_bind_int64(s, 3, Int64(status))
        bindBlob(s, 4, response)
        sqlite3_step(s)
        sqlite3_reset(s)
    }

    /// Obligation 5 and the per-lead results; the idempotency record is written in the same transaction.
    private func process(
        _ body: [UInt8],
        batchHeader: String,
        keep: (@Sendable (String) -> Bool)?,
        key: String?,
        bodyHash: [UInt8]
    ) -> (Int, [UInt8]) {
        func refuse(_ status: Int, _ response: [UInt8]) -> (Int, [UInt8]) {
            lock.withLock { complete(key: key, bodyHash: bodyHash, status: status, response: response) }
            return (status, response)
        }
        guard let doc = try? JSONValue.parse(body) else {
            return refuse(400, errorBody("invalid_json", "body is not JSON"))
        }
        guard doc["type"]?.stringValue == "leads.batch", let leads = doc["leads"]?.arrayValue,
            let kiosk = doc["source"]?["kiosk_id"]?.stringValue
        else { return refuse(422, errorBody("invalid_batch", "not a leads.batch with source.kiosk_id and leads")) }
        let batchID = doc["batch_id"]?.stringValue ?? batchHeader
        let verdicts = perLead
        var results = JSONWriter()
        results.beginObject()
        results.member("batch_id", batchID)
        results.key("results")
        results.beginArray()
        let now = Date().timeIntervalSince1970
        return lock.withLock {
            _ = sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil)
            let get = statement("SELECT revision, rowid FROM leads WHERE kiosk_id = ? AND lead_id = ?")
            let put = statement(
                "INSERT OR REPLACE INTO leads (kiosk_id, lead_id, revision, lead, batch_id, stored_at) VALUES (?, ?, ?, ?, ?, ?)"
            )
            for lead in leads {
                guard let leadID = lead["lead_id"]?.stringValue else { continue }
                var status: String
                var remoteID: String?
                if let verdict = verdicts?(leadID, lead) {
                    results.beginObject()
                    results.member("lead_id", leadID)
                    switch verdict {
                    case .rejected(let code, let field, let message):
                        results.member("status", "rejected")
                        results.key("error")
                        results.beginObject()
                        results.member("code", code)
                        results.member("field", field)
                        results.member("message", message)
                        results.endObject()
                    case .retry(let seconds):
                        results.member("status", "retry")
                        results.member("retry_after_s", seconds)
                    }
                    results.endObject()
                    continue
                }
                let revision = lead["revision"]?.intValue ?? 1
                sqlite3_reset(get)
                sqlite3_bind_text(get, 1, kiosk, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                sqlite3_bind_text(get, 2, leadID, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                if sqlite3_step(get) == SQLITE_ROW {
                    let old = Int(sqlite3_column_int64(get, 0))
                    remoteID = String(sqlite3_column_int64(get, 1))
                    status = revision > old ? "updated" : revision == old ? "duplicate" : "stale"
                } else {
                    status = "created"
                }
                if status == "created" || status == "updated" {
                    var w = JSONWriter()
                    w.value(lead)
                    sqlite3_reset(put)
                    sqlite3_clear_bindings(put)
                    sqlite3_bind_text(put, 1, kiosk, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                    sqlite3_bind_text(put, 2, leadID, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                    sqlite3_bind_int64(put, 3, Int64(revision))
                    _ = w.bytes.withUnsafeBytes {
                        sqlite3_bind_text(
                            put,
                            4,
                            $0.baseAddress,
                            Int32($0.count),
                            unsafeBitCast(-1, to: sqlite3_destructor_type.self)
                        )
                    }
                    sqlite3_bind_text(put, 5, batchID, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
                    sqlite3_bind_double(put, 6, now)
                    sqlite3_step(put)
                    if remoteID == nil { remoteID = String(sqlite3_last_insert_rowid(db)) }
                    stored[kiosk + "/" + leadID] = revision
                    receipts[leadID, default: 0] += 1
                }
                receiptLog[leadID, default: []].append(status)
                if let keep, !keep(leadID) { continue }
                results.beginObject()
                results.member("lead_id", leadID)
                results.member("status", status)
                results.member("remote_id", remoteID)
                results.endObject()
            }
            results.endArray()
            results.endObject()
            complete(key: key, bodyHash: bodyHash, status: 200, response: results.bytes)
            sqlite3_reset(get)
            sqlite3_reset(put)
            _ = sqlite3_exec(db, "COMMIT", nil, nil, nil)
            return (200, results.bytes)
        }
    }

    private func record(_ r: Request) {
        lock.withLock { requests.append(r) }
        notifyWaiters()
    }

    private func respond(_ fd: Int32, status: Int, body: [UInt8], headers: [String: String] = [:], keepAlive: Bool) {
        var head = "HTTP/1.1 \(status) \(reason(status))\r\n"
        var all = headers
        if all["Date"] == nil { all["Date"] = httpDate(Date().timeIntervalSince1970) }
        all["Content-Length"] = "\(body.count)"
        if !body.isEmpty { all["Content-Type"] = "application/json" }
        all["Connection"] = keepAlive ? "keep-alive" : "close"
        for (k, v) in all.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        writeAll(fd, Array(head.utf8) + body)
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                return
            }
            offset += n
        }
    }

    private func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }

    private func errorBody(_ code: String, _ message: String) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("error")
        w.beginObject()
        w.member("code", code)
        w.member("message", message)
        w.endObject()
        w.endObject()
        return w.bytes
    }
}

/// A receiver failure (setup only).
public struct ReceiverError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

private func unquote(_ s: String) -> String {
    s.count >= 2 && s.hasPrefix("\"") && s.hasSuffix("\"") ? String(s.dropFirst().dropLast()) : s
}

private func blob(_ s: OpaquePointer?, _ i: Int32) -> [UInt8] {
    let n = Int(sqlite3_column_bytes(s, i))
    guard n > 0, let p = sqlite3_column_blob(s, i) else { return [] }
    return Array(UnsafeRawBufferPointer(start: p, count: n))
}

private func bindBlob(_ s: OpaquePointer?, _ i: Int32, _ bytes: [UInt8]) {
    _ = bytes.withUnsafeBytes {
        sqlite3_bind_blob(
            s,
            i,
            $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1),
            Int32($0.count),
            unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        )
    }
}

private func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 64)
    var len: UInt32 = 0
    _ = HMAC(EVP_sha256(), key, Int32(key.count), message, message.count, &out, &len)
    return Array(out.prefix(Int(len)))
}

private func sha256(_ bytes: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    var len: UInt32 = 0
    _ = EVP_Digest(bytes, bytes.count, &out, &len, EVP_sha256(), nil)
    return out
}

/// IMF-fixdate.
public func httpDate(_ seconds: Double) -> String {
    var t = time_t(seconds)
    var parts = tm()
    gmtime_r(&t, &parts)
    var buf = [CChar](repeating: 0, count: 64)
    let n = strftime(&buf, buf.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
    return String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
