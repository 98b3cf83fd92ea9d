import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A pseudo-terminal standing in for a serial badge scanner: the program under test opens ``devicePath``
/// (the pty's slave, or a symlink to it — a stable name like `/dev/serial/by-id/…`), the test writes scans into
/// the master side. ``unplug()`` closes both sides, as pulling the USB cable does.
///
/// ```swift
/// let line = try SerialLine(link: dir + "/scanner")
/// // start the program with Device=line.devicePath …
/// line.write("A-10042\r\n")
/// line.unplug()
/// ```
public final class SerialLine: @unchecked Sendable {
    /// An error setting the pty up.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `/dev/pts/N`.
    public let slavePath: String
    /// The symlink given at creation, else ``slavePath``: what the program should open.
    public let devicePath: String
    private let lock = NSLock()
    private var master: Int32
    private var slave: Int32

    /// Opens a pty pair in raw mode (as `socat pty,raw,echo=0` does).
    ///
    /// - Parameter link: A path to point at the slave with a symlink (replaced if it exists).
    public init(link: String? = nil) throws {
        var masterFD: Int32 = -1
        var slaveFD: Int32 = -1
        guard openpty(&masterFD, &slaveFD, nil, nil, nil) == 0 else {
            throw Failure(description: "openpty: \(String(cString: strerror(errno)))")
        }
        _ = fcntl(masterFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(slaveFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(masterFD, F_SETFL, fcntl(masterFD, F_GETFL) | O_NONBLOCK)
        var settings = termios()
        tcgetattr(slaveFD, &settings)
        cfmakeraw(&settings)
        tcsetattr(slaveFD, TCSANOW, &settings)
        guard let name = ttyname(slaveFD) else {
            close(masterFD)
            close(slaveFD)
            throw Failure(description: "ttyname: \(String(cString: strerror(errno)))")
        }
        master = masterFD
        slave = slaveFD
        slavePath = String(cString: name)
        if let link {
            unlink(link)
            guard symlink(slavePath, link) == 0 else {
                close(masterFD)
                close(slaveFD)
                throw Failure(description: "symlink \(link): \(String(cString: strerror(errno)))")
            }
            devicePath = link
        } else {
            devicePath = slavePath
        }
    }

    deinit { unplug() }

    /// Writes bytes as the scanner would; gives up after `timeout` seconds when nobody reads.
    ///
    /// - Returns: Whether everything was written.
    @discardableResult
    public func write(_ data: [UInt8], timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var offset = 0
        while offset < data.count {
            lock.lock()
            let fd = master
            lock.unlock()
            guard fd >= 0 else { return false }
            let n = data[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, min($0.count, 65_536)) }
            if n > 0 {
                offset += n
                continue
            }
            if n < 0 && errno != EAGAIN && errno != EINTR { return false }
            if Date() > deadline { return false }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&pfd, 1, 50)
        }
        return true
    }

    /// Writes UTF-8 text.
    @discardableResult
    public func write(_ text: String, timeout: Double = 30) -> Bool { write(Array(text.utf8), timeout: timeout) }

    /// Closes both sides (the program's reads end in a hang-up) and removes the symlink, if any.
    public func unplug() {
        lock.lock()
        defer { lock.unlock() }
        guard master >= 0 else { return }
        close(master)
        close(slave)
        master = -1
        slave = -1
        // Only our own link: a new line may have taken the name over already.
        let target = try? FileManager.default.destinationOfSymbolicLink(atPath: devicePath)
        if devicePath != slavePath, target == slavePath { unlink(devicePath) }
    }
}
