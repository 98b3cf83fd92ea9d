#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// File-level names: inside `ScannerDevice` its own `read` and `close` would hide the C functions.
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }
private func readDescriptor(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// A badge scanner's serial device, open raw for reading: 8N1 at the configured baud, no flow control, no
/// echo, no line editing, modem lines ignored, non-blocking (the scanner thread waits in `poll()`).
///
/// Opening follows symlinks, so stable names such as `/dev/serial/by-id/usb-…-if00` work. Used by one thread.
final class ScannerDevice {
    /// Why the device could not be opened, in words for the log and `leadctl status`.
    struct OpenError: Error, CustomStringConvertible, Equatable {
        var description: String
    }

    /// What one `read` gave.
    enum ReadResult {
        /// This many bytes were stored at the start of the buffer.
        case bytes(Int)
        /// Nothing waiting now.
        case wouldBlock
        /// The device is gone (end of file, `EIO` after a hang-up, …), and why.
        case ended(String)
    }

    let path: String
    /// The descriptor to poll; -1 once closed.
    private(set) var fd: Int32

    /// Opens `path` (`O_RDWR | O_NOCTTY`) and sets the line raw, 8N1, at `baud`.
    init(path: String, baud: Int) throws(OpenError) {
        self.path = path
        // O_NONBLOCK also keeps the open from waiting for carrier on a line without CLOCAL yet.
        let fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw OpenError(description: String(cString: strerror(errno))) }
        guard isatty(fd) == 1 else {
            closeDescriptor(fd)
            throw OpenError(description: "not a terminal device")
        }
        var settings = termios()
        guard tcgetattr(fd, &settings) == 0 else {
            let message = String(cString: strerror(errno))
            closeDescriptor(fd)
            throw OpenError(description: "tcgetattr: \(message)")
        }
        cfmakeraw(&settings)
        settings.c_iflag &= ~(tcflag_t(IXON) | tcflag_t(IXOFF) | tcflag_t(IXANY))
        settings.c_cflag &= ~(tcflag_t(CSIZE) | tcflag_t(PARENB) | tcflag_t(CSTOPB) | tcflag_t(CRTSCTS))
        settings.c_cflag |= tcflag_t(CS8) | tcflag_t(CLOCAL) | tcflag_t(CREAD)
        withUnsafeMutableBytes(of: &settings.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        let speed = termiosSpeed(baud)
        _ = cfsetispeed(&settings, speed)
        _ = cfsetospeed(&settings, speed)
        guard tcsetattr(fd, TCSANOW, &settings) == 0 else {
            let message = String(cString: strerror(errno))
            closeDescriptor(fd)
            throw OpenError(description: "tcsetattr: \(message)")
        }
        self.fd = fd
    }

    deinit { close() }

    /// Reads what is waiting into `buffer` (from its start).
    func read(into buffer: inout [UInt8]) -> ReadResult {
        guard fd >= 0 else { return .ended("closed") }
        while true {
            let n = buffer.withUnsafeMutableBytes { readDescriptor(fd, $0.baseAddress, $0.count) }
            if n > 0 { return .bytes(n) }
            if n == 0 { return .ended("end of file") }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .ended(String(cString: strerror(errno)))
            }
        }
    }

    /// Gives the device back. Safe to call twice.
    func close() {
        guard fd >= 0 else { return }
        closeDescriptor(fd)
        fd = -1
    }

}
