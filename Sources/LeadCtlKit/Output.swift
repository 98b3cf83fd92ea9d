import LeadCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A buffered writer to a file descriptor: stdout, or a file written atomically (temp file, fsync, rename,
/// fsync of the folder) so that a USB stick pulled mid-export never holds a half file under the final name.
final class OutputFile {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let finalPath: String?
    private let tempPath: String?
    private(set) var bytesWritten = 0

    /// Standard output.
    init() {
        fd = 1
        finalPath = nil
        tempPath = nil
        buffer.reserveCapacity(1 << 16)
    }

    /// A new file at `path`, visible only once `close()` succeeded. An existing file is replaced at that moment.
    init(path: String) throws {
        let temp = path + ".partial"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CLIError.failure("\(path): \(String(cString: strerror(errno)))") }
        self.fd = fd
        finalPath = path
        tempPath = temp
        buffer.reserveCapacity(1 << 16)
    }

    func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { try flush() }
    }

    func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Hands the buffer to the caller to append into directly (avoids a copy on the hot path).
    func append(_ body: (inout [UInt8]) -> Void) throws {
        body(&buffer)
        if buffer.count >= 1 << 16 { try flush() }
    }

    func flush() throws {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                if let tempPath { unlink(tempPath) }
                throw CLIError.failure("\(finalPath ?? "stdout"): write failed: \(String(cString: strerror(e)))")
            }
            offset += n
        }
        bytesWritten += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes; for a file also fsyncs, renames into place and fsyncs the folder.
    func close() throws {
        try flush()
        guard let finalPath, let tempPath else { return }
        if fsync(fd) != 0 {
            let e = errno
            Glibc.close(fd)
            unlink(tempPath)
            throw CLIError.failure("\(finalPath): fsync failed: \(String(cString: strerror(e)))")
        }
        Glibc.close(fd)
        if rename(tempPath, finalPath) != 0 {
            let e = errno
            unlink(tempPath)
            throw CLIError.failure("\(finalPath): \(String(cString: strerror(e)))")
        }
        let dir = finalPath.contains("/") ? String(finalPath[..<finalPath.lastIndex(of: "/")!]) : "."
        let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            Glibc.close(dfd)
        }
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    writeStandardError(text + "\n")
}

/// Unbuffered write to file descriptor 2 (the C `stderr` global is shared mutable state to Swift 6).
func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { if n < 0 && errno == EINTR { continue } else { return } }
        offset += n
    }
}

/// Whether the descriptor is a terminal (progress bars and colours only then).
func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

/// Progress on standard error while a long import or export runs, only when stderr is a terminal.
struct Progress {
    let enabled = isTerminal(2)
    let verb: String
    var lastShown = 0

    init(_ verb: String) { self.verb = verb }

    mutating func update(_ count: Int) {
        guard enabled, count - lastShown >= 50_000 else { return }
        lastShown = count
        writeStandardError("\r\(verb) \(count) leads…")
    }

    func finish(_ count: Int) {
        guard enabled, lastShown > 0 else { return }
        writeStandardError("\r\(verb) \(count) leads.   \n")
    }
}

/// Lead data on its way to a terminal: control characters and bidi overrides made visible, never raw.
func safe(_ text: String) -> String { TextSanitizer.terminalSafe(text) }

/// Left-aligned columns for a terminal table; cells are already terminal-safe.
func table(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    var widths = [Int](repeating: 0, count: first.count)
    for row in rows {
        for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
    }
    return rows.map { row in
        row.enumerated().map { i, cell in
            i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}
