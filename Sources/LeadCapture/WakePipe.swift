import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

private func systemClose(_ fd: Int32) { _ = close(fd) }

/// A pipe that wakes the form thread from `poll()`: a graceful shutdown writes to it from any thread.
final class WakePipe: Sendable {
    /// The byte a shutdown writes.
    static let shutdownByte: UInt8 = 0x78  // "x"
    /// The byte the SIGWINCH handler writes (see `CNcurses_watch_sigwinch`).
    static let resizeByte: UInt8 = 0x77  // "w"
    /// The byte a scanner writes to ``ScanHandoff``'s pipe.
    static let scanByte: UInt8 = 0x73  // "s"

    private struct Descriptors {
        var read: Int32
        var write: Int32
    }

    private let descriptors: Mutex<Descriptors?>
    /// The end the form thread polls.
    let readFD: Int32
    /// The end signals and other threads write to.
    let writeFD: Int32

    init() throws(FormServiceError) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw FormServiceError(.system, "cannot create the wake-up pipe: \(String(cString: strerror(errno)))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        readFD = fds[0]
        writeFD = fds[1]
        descriptors = Mutex(Descriptors(read: fds[0], write: fds[1]))
    }

    /// Asks the form thread to shut down. Safe from any thread, any number of times, also after `close()`.
    func signalShutdown() { signal(WakePipe.shutdownByte) }

    /// Writes `byte` (a full pipe already wakes the reader, so a failed write loses nothing).
    func signal(_ byte: UInt8) {
        descriptors.withLock { fds in
            guard let fds else { return }
            var byte = byte
            _ = write(fds.write, &byte, 1)
        }
    }

    /// Reads what is waiting: whether a shutdown was asked for and whether the terminal was resized.
    func drain() -> (shutdown: Bool, resize: Bool) {
        var shutdown = false
        var resize = false
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let n = read(readFD, &buffer, buffer.count)
            guard n > 0 else { break }
            for byte in buffer[0..<n] {
                if byte == WakePipe.shutdownByte { shutdown = true }
                if byte == WakePipe.resizeByte { resize = true }
            }
        }
        return (shutdown, resize)
    }

    /// Closes both ends; later `signalShutdown()` calls do nothing.
    func close() {
        descriptors.withLock { fds in
            guard let current = fds else { return }
            systemClose(current.read)
            systemClose(current.write)
            fds = nil
        }
    }
}
