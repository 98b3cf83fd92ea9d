import Foundation
public import LeadCore

#if canImport(Glibc)
import Glibc
#endif

/// A small real HTTP/1.1 server on `127.0.0.1` for contract servers (the CRM fakes): a thread per connection,
/// keep-alive, `Content-Length` bodies. Every request is logged with its arrival time (monotonic seconds) so a
/// test can measure request spacing on the server side, and scripted faults replace or follow normal handling.
public final class LoopbackHTTPServer: @unchecked Sendable {
    /// One request as received.
    public struct Request: Sendable {
        public var method: String
        /// The path without the query.
        public var path: String
        /// The raw query string (after `?`), percent-encoded.
        public var query: String
        public var headers: [String: String]
        public var body: [UInt8]
        /// When its head was read (monotonic seconds).
        public var receivedAt: Double

        /// The query's parameters, decoded (a repeated name keeps the last value).
        public var queryItems: [String: String] {
            var out: [String: String] = [:]
            for pair in query.split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                out[LoopbackHTTPServer.percentDecode(kv[0])] =
                    kv.count > 1 ? LoopbackHTTPServer.percentDecode(kv[1]) : ""
            }
            return out
        }
    }

    /// What the handler answers.
    public enum Reply: Sendable {
        case respond(status: Int, headers: [String: String], body: [UInt8])
        /// Close the connection without answering (a timeout or reset as the client sees it).
        case drop

        public static func json(_ status: Int, _ value: JSONValue, headers: [String: String] = [:]) -> Reply {
            var w = JSONWriter()
            w.value(value)
            return .respond(status: status, headers: headers, body: w.bytes)
        }

        public static func json(_ status: Int, _ text: String, headers: [String: String] = [:]) -> Reply {
            .respond(status: status, headers: headers, body: Array(text.utf8))
        }
    }

    /// A scripted fault for the next request whose path contains `pathContains`.
    public enum Fault: Sendable {
        /// Answer this instead of handling the request (nothing is stored).
        case reply(Reply)
        /// Handle (store) the request, then drop the connection: a timeout after commit.
        case dropAfterCommit
        /// Handle (store) the request, then answer this instead of the handler's reply (a garbled success).
        case commitThenReply(Reply)
    }

    public private(set) var port: UInt16 = 0
    private let lock = NSLock()
    private var listenFD: Int32 = -1
    private var connections: Set<Int32> = []
    private var log: [Request] = []
    private var faults: [(String, Fault)] = []
    private let handler: @Sendable (Request) -> Reply

    public init(handler: @escaping @Sendable (Request) -> Reply) throws {
        self.handler = handler
        let (fd, bound) = try LoopbackHTTPServer.listenOnLoopback(port: 0)
        port = bound
        listenFD = fd
        let thread = Thread { [weak self] in self?.acceptConnections(fd) }
        thread.start()
    }

    deinit { stop() }

    /// A listening TCP socket on `127.0.0.1:port` (0: any free port) and the port it got.
    static func listenOnLoopback(port: UInt16) throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ReceiverError("socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0, listen(fd, 128) == 0 else {
            close(fd)
            throw ReceiverError("bind/listen: \(String(cString: strerror(errno)))")
        }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return (fd, UInt16(bigEndian: bound.sin_port))
    }

    /// `http://127.0.0.1:PORT`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func stop() {
        let fd = lock.withLock { () -> Int32 in
            defer { listenFD = -1 }
            // Under the lock: a connection's thread closes its socket under it too.
            for c in connections { shutdown(c, Int32(SHUT_RDWR)) }
            return listenFD
        }
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    /// Queues `fault` for the next request whose path contains `pathContains`.
    public func inject(_ fault: Fault, pathContains: String = "") {
        lock.withLock { faults.append((pathContains, fault)) }
    }

    /// Every request so far, in arrival order.
    public var requests: [Request] { lock.withLock { log } }

    /// Monotonic seconds.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func percentDecode(_ s: Substring) -> String {
        var bytes: [UInt8] = []
        var i = s.utf8.startIndex
        let u = s.utf8
        while i < u.endIndex {
            let c = u[i]
            if c == UInt8(ascii: "%"), let a = u.index(i, offsetBy: 2, limitedBy: u.endIndex), a < u.endIndex,
                let v = UInt8(String(decoding: u[u.index(after: i)...a], as: UTF8.self), radix: 16)
            {
                bytes.append(v)
                i = u.index(after: a)
                continue
            }
            bytes.append(c == UInt8(ascii: "+") ? 0x20 : c)
            i = u.index(after: i)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func acceptConnections(_ fd: Int32) {
        while true {
            let c = accept(fd, nil, nil)
            guard c >= 0 else {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            let live = lock.withLock { () -> Bool in
                guard listenFD == fd else { return false }
                connections.insert(c)
                return true
            }
            guard live else {
                close(c)
                return
            }
            let thread = Thread { [weak self] in
                self?.connection(c)
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

    /// Reads requests off one connection until it closes or a reply drops it.
    private func connection(_ fd: Int32) {
        var pending: [UInt8] = []
        func fill() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = read(fd, &chunk, chunk.count)
            guard n > 0 else { return false }
            pending += chunk[..<n]
            return true
        }
        while true {
            var end: Int?
            while end == nil {
                end = pending.firstRange(of: [13, 10, 13, 10])?.lowerBound
                if end == nil, pending.count > 65536 || !fill() { return }
            }
            let head = String(decoding: pending[..<end!], as: UTF8.self).split(separator: "\r\n")
            pending.removeSubrange(..<(end! + 4))
            let start = head.first?.split(separator: " ") ?? []
            guard start.count >= 2 else { return }
            var headers: [String: String] = [:]
            for line in head.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces
                )
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            while pending.count < length { guard fill() else { return } }
            let target = String(start[1])
            let parts = target.split(separator: "?", maxSplits: 1)
            let request = Request(
                method: String(start[0]),
                path: String(parts.first ?? ""),
                query: parts.count > 1 ? String(parts[1]) : "",
                headers: headers,
                body: Array(pending[..<length]),
                receivedAt: LoopbackHTTPServer.now()
            )
            pending.removeSubrange(..<length)
            let fault = lock.withLock { () -> Fault? in
                log.append(request)
                guard let i = faults.firstIndex(where: { request.path.contains($0.0) }) else { return nil }
                return faults.remove(at: i).1
            }
            let reply: Reply
            switch fault {
            case .reply(let r)?: reply = r
            case .dropAfterCommit?:
                _ = handler(request)
                reply = .drop
            case .commitThenReply(let r)?:
                _ = handler(request)
                reply = r
            case nil: reply = handler(request)
            }
            guard case .respond(let status, let extra, let body) = reply else { return }
            var text = "HTTP/1.1 \(status) Status\r\nContent-Length: \(body.count)\r\n"
            if !body.isEmpty, extra["Content-Type"] == nil { text += "Content-Type: application/json\r\n" }
            for (k, v) in extra.sorted(by: { $0.key < $1.key }) { text += "\(k): \(v)\r\n" }
            let bytes = Array((text + "\r\n").utf8) + body
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { return }
                sent += n
            }
        }
    }
}

extension JSONValue {
    /// `.string(s)`, shorter in contract servers.
    public static func s(_ text: String) -> JSONValue { .string(text) }
    /// An object from pairs, in order.
    public static func obj(_ pairs: [(String, JSONValue)]) -> JSONValue {
        .object(pairs.map { JSONMember($0.0, $0.1) })
    }
    /// A JSON number.
    public static func n(_ value: Int) -> JSONValue { .number("\(value)") }
}
