import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A real pseudo-terminal for end-to-end tests of the terminal form: the program under test opens
/// ``slavePath`` (as `TTY=`), the test types into the master side and reads what the program drew.
///
/// A background thread reads the master all the time (so the program never blocks writing) and feeds a small
/// VT100/xterm screen emulator; tests assert on ``screenText`` (what a person would see now) or on the output
/// stream with escape sequences stripped. Waiting is by polling with a deadline, never by fixed sleeps.
///
/// ```swift
/// let pty = try PseudoTerminal(columns: 80, lines: 24)
/// // start the program with TTY=pty.slavePath …
/// #expect(await pty.waitForScreen { $0.contains("First name") })
/// pty.type("Анна\t")
/// ```
public final class PseudoTerminal: @unchecked Sendable {
    /// An error setting the pty up.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// What the reader thread and the test share; the thread holds this, not the terminal, so a terminal a
    /// test forgot to close still goes away (its deinit stops the thread).
    private final class Shared: @unchecked Sendable {
        let lock = NSLock()
        let master: Int32
        var bytes: [UInt8] = []
        var emulator: ScreenEmulator
        var stopping = false
        let done = DispatchSemaphore(value: 0)

        init(master: Int32, emulator: ScreenEmulator) {
            self.master = master
            self.emulator = emulator
        }

        func readLoop() {
            var buffer = [UInt8](repeating: 0, count: 16_384)
            while true {
                lock.lock()
                let stop = stopping
                lock.unlock()
                if stop { break }
                var fds = [pollfd(fd: master, events: Int16(POLLIN), revents: 0)]
                let ready = poll(&fds, 1, 20)
                guard ready > 0, fds[0].revents & Int16(POLLIN) != 0 else { continue }
                let n = read(master, &buffer, buffer.count)
                guard n > 0 else {
                    // EIO while nobody has the slave open: wait for the program to reopen it.
                    usleep(10_000)
                    continue
                }
                lock.lock()
                bytes.append(contentsOf: buffer[0..<n])
                emulator.feed(buffer[0..<n])
                lock.unlock()
            }
            done.signal()
        }
    }

    /// The slave device, `/dev/pts/N`.
    public let slavePath: String
    private let master: Int32
    private let slave: Int32
    private let shared: Shared
    private var closed = false

    /// Opens a pty pair with the given window size and starts reading its output.
    public init(columns: Int = 80, lines: Int = 24) throws {
        var masterFD: Int32 = -1
        var slaveFD: Int32 = -1
        var size = winsize(ws_row: UInt16(lines), ws_col: UInt16(columns), ws_xpixel: 0, ws_ypixel: 0)
        guard openpty(&masterFD, &slaveFD, nil, nil, &size) == 0 else {
            throw Failure(description: "openpty: \(String(cString: strerror(errno)))")
        }
        guard let name = ttyname(slaveFD) else {
            Glibc.close(masterFD)
            Glibc.close(slaveFD)
            throw Failure(description: "ttyname: \(String(cString: strerror(errno)))")
        }
        _ = fcntl(masterFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(slaveFD, F_SETFD, FD_CLOEXEC)
        master = masterFD
        slave = slaveFD
        slavePath = String(cString: name)
        let shared = Shared(master: masterFD, emulator: ScreenEmulator(columns: columns, lines: lines))
        self.shared = shared
        let thread = Thread { shared.readLoop() }
        thread.name = "pty-reader"
        thread.start()
    }

    deinit { close() }

    // MARK: - Typing

    /// Types text (UTF-8) as one write, as a paste or a keyboard-wedge scanner would.
    public func type(_ text: String) { write(Array(text.utf8)) }

    /// Writes raw bytes to the program's input (invalid UTF-8 included).
    public func write(_ data: [UInt8]) {
        shared.lock.lock()
        let isClosed = closed
        shared.lock.unlock()
        guard !isClosed else { return }
        var offset = 0
        while offset < data.count {
            let n = data[offset...].withUnsafeBytes { Glibc.write(master, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return
            }
            offset += n
        }
    }

    /// Common keys as an xterm sends them.
    public enum Keys {
        public static let enter = "\r"
        public static let tab = "\t"
        public static let backTab = "\u{1B}[Z"
        public static let backspace = "\u{7F}"
        public static let up = "\u{1B}[A"
        public static let down = "\u{1B}[B"
        public static let right = "\u{1B}[C"
        public static let left = "\u{1B}[D"
        public static let f2 = "\u{1B}OQ"
        public static let f12 = "\u{1B}[24~"
        public static let escape = "\u{1B}"
        public static let ctrlC = "\u{03}"
        public static let ctrlZ = "\u{1A}"
        public static let ctrlBackslash = "\u{1C}"
        public static let ctrlD = "\u{04}"
    }

    // MARK: - Reading

    /// Everything the program wrote so far.
    public var output: [UInt8] {
        shared.lock.lock()
        defer { shared.lock.unlock() }
        return shared.bytes
    }

    /// The program's output since byte `offset`, decoded, with escape sequences and control characters removed.
    public func outputText(since offset: Int = 0) -> String {
        let all = output
        return ScreenEmulator.strip(Array(all[min(offset, all.count)...]))
    }

    /// How many bytes the program has written: a mark for ``outputText(since:)``.
    public var outputCount: Int {
        shared.lock.lock()
        defer { shared.lock.unlock() }
        return shared.bytes.count
    }

    /// The emulated screen now, one string per line, trailing spaces removed.
    public var screenLines: [String] {
        shared.lock.lock()
        defer { shared.lock.unlock() }
        return shared.emulator.lines
    }

    /// The emulated screen now as one string, lines joined with newlines.
    public var screenText: String { screenLines.joined(separator: "\n") }

    /// Waits until `condition` holds for the screen text, polling every 20 ms.
    ///
    /// - Returns: Whether it held before `timeout`.
    public func waitForScreen(timeout: Duration = .seconds(30), _ condition: (String) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(screenText) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition(screenText)
    }

    /// Waits until the screen shows `text`.
    public func waitForScreen(containing text: String, timeout: Duration = .seconds(30)) async -> Bool {
        await waitForScreen(timeout: timeout) { $0.contains(text) }
    }

    /// Changes the window size (TIOCSWINSZ on the master).
    public func resize(columns: Int, lines: Int) {
        var size = winsize(ws_row: UInt16(lines), ws_col: UInt16(columns), ws_xpixel: 0, ws_ypixel: 0)
        shared.lock.lock()
        defer { shared.lock.unlock() }
        guard !closed else { return }
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)
        shared.emulator.resize(columns: columns, lines: lines)
    }

    /// Closes both sides: the program sees a hang-up. Idempotent.
    public func close() {
        shared.lock.lock()
        if closed {
            shared.lock.unlock()
            return
        }
        closed = true
        shared.stopping = true
        shared.lock.unlock()
        shared.done.wait()
        Glibc.close(master)
        Glibc.close(slave)
    }
}

/// A small VT100/xterm screen: enough of the cursor movement, erasing, scrolling and insert/delete
/// sequences ncurses uses for `xterm`, `vt100` and `linux` to know what a person would see.
struct ScreenEmulator {
    private(set) var columns: Int
    private(set) var rowsCount: Int
    private var cells: [[String]]
    private var savedMain: [[String]]?
    private var row = 0
    private var column = 0
    private var pendingWrap = false
    private var top = 0
    private var bottom: Int
    private var saved = (0, 0)
    private var lastPrinted = " "
    private var state = State.ground
    private var utf8: [UInt8] = []

    private enum State {
        case ground
        case escape
        case charset
        case csi(String)
        case osc
        case oscEscape
    }

    init(columns: Int, lines: Int) {
        self.columns = max(1, columns)
        self.rowsCount = max(1, lines)
        self.bottom = max(1, lines) - 1
        self.cells = Array(repeating: Array(repeating: " ", count: max(1, columns)), count: max(1, lines))
    }

    var lines: [String] {
        cells.map { line in
            var text = line.joined()
            while text.last == " " { text.removeLast() }
            return text
        }
    }

    mutating func resize(columns: Int, lines: Int) {
        var resized = Array(repeating: Array(repeating: " ", count: max(1, columns)), count: max(1, lines))
        for r in 0..<min(lines, rowsCount) {
            for c in 0..<min(columns, self.columns) { resized[r][c] = cells[r][c] }
        }
        self.columns = max(1, columns)
        self.rowsCount = max(1, lines)
        cells = resized
        top = 0
        bottom = rowsCount - 1
        row = min(row, rowsCount - 1)
        column = min(column, self.columns - 1)
    }

    mutating func feed(_ data: some Sequence<UInt8>) {
        for byte in data { feedByte(byte) }
    }

    private mutating func feedByte(_ byte: UInt8) {
        if byte < 0x80 { utf8 = [] }
        if case .ground = state, byte >= 0x80 {
            if byte & 0xC0 == 0x80, !utf8.isEmpty {
                utf8.append(byte)
            } else {
                utf8 = [byte]
            }
            let expected: Int
            switch utf8[0] {
            case 0xC0...0xDF: expected = 2
            case 0xE0...0xEF: expected = 3
            case 0xF0...0xF7: expected = 4
            default: expected = 1
            }
            if utf8.count >= expected {
                let text = String(decoding: utf8, as: UTF8.self)
                utf8 = []
                for scalar in text.unicodeScalars { printScalar(scalar) }
            }
            return
        }
        switch state {
        case .ground:
            control(byte)
        case .escape:
            escape(byte)
        case .charset:
            state = .ground
        case .csi(let parameters):
            if (0x20...0x3F).contains(byte) {
                state = .csi(parameters + String(UnicodeScalar(byte)))
            } else if (0x40...0x7E).contains(byte) {
                state = .ground
                csi(parameters, final: UnicodeScalar(byte))
            } else if byte == 0x1B {
                state = .escape
            } else {
                state = .ground
            }
        case .osc:
            if byte == 0x07 { state = .ground } else if byte == 0x1B { state = .oscEscape }
        case .oscEscape:
            state = byte == 0x5C ? .ground : .osc
        }
    }

    private mutating func control(_ byte: UInt8) {
        switch byte {
        case 0x1B: state = .escape
        case 0x08:
            column = max(0, column - 1)
            pendingWrap = false
        case 0x09:
            column = min(columns - 1, (column / 8 + 1) * 8)
            pendingWrap = false
        case 0x0A, 0x0B, 0x0C:
            lineFeed()
        case 0x0D:
            column = 0
            pendingWrap = false
        case 0x20...0x7E:
            printScalar(UnicodeScalar(byte))
        default:
            break  // NUL padding, BEL, SO/SI
        }
    }

    private mutating func escape(_ byte: UInt8) {
        state = .ground
        switch byte {
        case 0x5B: state = .csi("")
        case 0x5D: state = .osc
        case 0x28, 0x29, 0x2A, 0x2B: state = .charset
        case 0x37: saved = (row, column)
        case 0x38:
            (row, column) = saved
            pendingWrap = false
        case 0x4D: reverseIndex()
        case 0x44: lineFeed()
        case 0x45:
            lineFeed()
            column = 0
        case 0x63:
            erase(rows: 0..<rowsCount)
            row = 0
            column = 0
        default: break
        }
    }

    private mutating func csi(_ parameters: String, final: UnicodeScalar) {
        let isPrivate = parameters.hasPrefix("?")
        let numbers = parameters.drop { $0 == "?" || $0 == ">" || $0 == "=" }.split(
            separator: ";",
            omittingEmptySubsequences: false
        ).map { Int($0) }
        func n(_ index: Int, _ fallback: Int = 1) -> Int {
            guard index < numbers.count, let value = numbers[index], value > 0 else { return fallback }
            return value
        }
        func raw(_ index: Int) -> Int { index < numbers.count ? numbers[index] ?? 0 : 0 }
        pendingWrap = false
        switch final {
        case "A": row = max(0, row - n(0))
        case "B": row = min(rowsCount - 1, row + n(0))
        case "C": column = min(columns - 1, column + n(0))
        case "D": column = max(0, column - n(0))
        case "E":
            row = min(rowsCount - 1, row + n(0))
            column = 0
        case "F":
            row = max(0, row - n(0))
            column = 0
        case "G", "`": column = min(columns - 1, n(0) - 1)
        case "d": row = min(rowsCount - 1, n(0) - 1)
        case "H", "f":
            row = min(rowsCount - 1, n(0) - 1)
            column = min(columns - 1, n(1) - 1)
        case "J":
            switch raw(0) {
            case 0:
                eraseLine(row, from: column, to: columns)
                erase(rows: (row + 1)..<rowsCount)
            case 1:
                erase(rows: 0..<row)
                eraseLine(row, from: 0, to: column + 1)
            default:
                erase(rows: 0..<rowsCount)
            }
        case "K":
            switch raw(0) {
            case 0: eraseLine(row, from: column, to: columns)
            case 1: eraseLine(row, from: 0, to: column + 1)
            default: eraseLine(row, from: 0, to: columns)
            }
        case "L":
            guard row >= top, row <= bottom else { return }
            for _ in 0..<n(0) {
                cells.remove(at: bottom)
                cells.insert(blankLine, at: row)
            }
        case "M":
            guard row >= top, row <= bottom else { return }
            for _ in 0..<n(0) {
                cells.remove(at: row)
                cells.insert(blankLine, at: bottom)
            }
        case "P":
            for _ in 0..<min(n(0), columns - column) {
                cells[row].remove(at: column)
                cells[row].append(" ")
            }
        case "@":
            for _ in 0..<min(n(0), columns - column) {
                cells[row].insert(" ", at: column)
                cells[row].removeLast()
            }
        case "X": eraseLine(row, from: column, to: min(columns, column + n(0)))
        case "b":
            for _ in 0..<n(0) { for scalar in lastPrinted.unicodeScalars { printScalar(scalar) } }
        case "r":
            top = min(rowsCount - 1, n(0) - 1)
            bottom = min(rowsCount - 1, n(1, rowsCount) - 1)
            if bottom <= top {
                top = 0
                bottom = rowsCount - 1
            }
            row = 0
            column = 0
        case "S": for _ in 0..<n(0) { scrollUp() }
        case "T": for _ in 0..<n(0) { scrollDown() }
        case "s": saved = (row, column)
        case "u": (row, column) = saved
        case "h", "l":
            guard isPrivate else { return }
            for mode in numbers.compactMap({ $0 }) where mode == 1049 || mode == 47 || mode == 1047 {
                if final == "h" {
                    if savedMain == nil { savedMain = cells }
                    erase(rows: 0..<rowsCount)
                } else if let main = savedMain {
                    cells = main
                    savedMain = nil
                }
            }
        default:
            break  // SGR, device status, modes: nothing to draw
        }
    }

    private var blankLine: [String] { Array(repeating: " ", count: columns) }

    private mutating func erase(rows: Range<Int>) {
        for r in rows where r >= 0 && r < rowsCount { cells[r] = blankLine }
    }

    private mutating func eraseLine(_ r: Int, from start: Int, to end: Int) {
        guard r >= 0, r < rowsCount else { return }
        for c in max(0, start)..<max(max(0, start), min(columns, end)) { cells[r][c] = " " }
    }

    private mutating func lineFeed() {
        pendingWrap = false
        if row == bottom {
            scrollUp()
        } else if row < rowsCount - 1 {
            row += 1
        }
    }

    private mutating func reverseIndex() {
        pendingWrap = false
        if row == top {
            scrollDown()
        } else if row > 0 {
            row -= 1
        }
    }

    private mutating func scrollUp() {
        cells.remove(at: top)
        cells.insert(blankLine, at: bottom)
    }

    private mutating func scrollDown() {
        cells.remove(at: bottom)
        cells.insert(blankLine, at: top)
    }

    private mutating func printScalar(_ scalar: UnicodeScalar) {
        let width = ScreenEmulator.width(scalar)
        if width == 0 {
            // A combining mark joins the character before the cursor.
            let c = max(0, column - (pendingWrap ? 0 : 1))
            cells[row][c] += String(scalar)
            return
        }
        if pendingWrap || column + width > columns {
            column = 0
            lineFeed()
        }
        cells[row][column] = String(scalar)
        if width == 2, column + 1 < columns { cells[row][column + 1] = "" }
        lastPrinted = String(scalar)
        if column + width >= columns {
            column = columns - 1
            pendingWrap = true
        } else {
            column += width
        }
    }

    /// Cells a scalar takes: enough of East Asian Width for the tests' text.
    static func width(_ scalar: UnicodeScalar) -> Int {
        let v = scalar.value
        if v < 0x300 { return 1 }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        let wide: [ClosedRange<UInt32>] = [
            0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
            0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD,
        ]
        return wide.contains { $0.contains(v) } ? 2 : 1
    }

    /// The text of a byte stream with escape sequences and control characters removed.
    static func strip(_ data: [UInt8]) -> String {
        var out = [UInt8]()
        var i = 0
        while i < data.count {
            let byte = data[i]
            if byte == 0x1B, i + 1 < data.count {
                let next = data[i + 1]
                i += 2
                if next == 0x5B {
                    while i < data.count, !(0x40...0x7E).contains(data[i]) { i += 1 }
                    i += 1
                } else if next == 0x5D {
                    while i < data.count, data[i] != 0x07, data[i] != 0x1B { i += 1 }
                    i += 1
                } else if [0x28, 0x29, 0x2A, 0x2B].contains(next) {
                    i += 1
                }
                continue
            }
            if byte >= 0x20 && byte != 0x7F { out.append(byte) }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
