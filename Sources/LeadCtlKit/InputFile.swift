#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads a file in chunks (import and attendee lists can be large: memory stays flat).
final class InputFile {
    private let fd: Int32
    let path: String

    init(path: String) throws {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIError.failure("\(path): \(String(cString: strerror(errno)))") }
        self.path = path
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            Glibc.close(fd)
            throw CLIError.failure("\(path): is a directory")
        }
    }

    deinit { Glibc.close(fd) }

    /// The next chunk, or nil at end of file.
    func read(max: Int = 1 << 16) throws -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: max)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, max) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CLIError.failure("\(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { return nil }
            buf.removeSubrange(n...)
            return buf
        }
    }

    /// The first non-blank byte of the file (to tell JSON Lines from CSV), leaving nothing consumed.
    static func firstByte(of path: String) throws -> UInt8? {
        let f = try InputFile(path: path)
        while let chunk = try f.read(max: 4096) {
            var bytes = chunk[...]
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
            if let b = bytes.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) { return b }
        }
        return nil
    }
}
