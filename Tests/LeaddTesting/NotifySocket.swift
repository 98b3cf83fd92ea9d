import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A test-owned `NOTIFY_SOCKET`: an AF_UNIX datagram socket that collects what a process sends with sd_notify.
public final class NotifySocket: @unchecked Sendable {
    public let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var messages: [String] = []

    public init(directory: String) throws {
        path = directory + "/notify.sock"
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        precondition(bytes.count < MemoryLayout.size(ofValue: addr.sun_path))
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Receives whatever arrived, waiting up to `timeout` seconds for at least one datagram.
    private func drain(timeout: Double) {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) > 0 else { return }
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
            if n <= 0 { break }
            let text = String(decoding: buf[..<n], as: UTF8.self)
            lock.lock()
            messages.append(text)
            lock.unlock()
        }
    }

    /// Every datagram received so far.
    public var received: [String] {
        lock.lock()
        defer { lock.unlock() }
        return messages
    }

    /// Waits (up to `timeout` seconds) for a datagram containing the line `line` (e.g. `READY=1`), returning it.
    /// The wait blocks in `poll()`, so it runs on a thread of its own (see ``onOwnThread(_:)``).
    @discardableResult
    public func waitFor(line: String, timeout: Double = 30) async -> String? {
        await onOwnThread { self.waitBlocking(line: line, timeout: timeout) }
    }

    private func waitBlocking(line: String, timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let m = received.first(where: { $0.split(separator: "\n").contains { $0.hasPrefix(line) } }) {
                return m
            }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return nil }
            drain(timeout: min(left, 0.2))
        }
    }
}

/// Where the package's built products live (beside the test bundle).
public enum BuiltProducts {
    public static var directory: String {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }

    public static func path(_ name: String) -> String { directory + "/" + name }
}

/// A fresh temporary directory, removed by `remove()`.
public struct TemporaryDirectory {
    public let path: String

    public init(_ prefix: String = "leadd-test") {
        let template = NSTemporaryDirectory() + prefix + ".XXXXXX"
        var bytes = Array(template.utf8CString)
        let p = bytes.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = p.map { String(cString: $0) } ?? template
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
