internal import CNcurses
import LeadCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// ncurses keeps the current screen, `stdscr`, `LINES`, `COLS` and more in globals: every use of the library
/// in this process happens under this lock, after `set_term` of the caller's own screen.
private let cursesLock = CursesLock()

private final class CursesLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Whether the process locale has been made UTF-8; read and written under the lock.
    var localeReady = false

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    func withLock<T>(_ body: (CursesLock) throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(self)
    }
}

private func systemClose(_ fd: Int32) { _ = close(fd) }

/// A terminal opened for the form: a device (console, serial line, pty) or the process's own terminal,
/// driven through ncursesw.
///
/// Not thread-safe: one instance belongs to the form thread. Several instances in one process (tests) are
/// fine: each call switches ncurses to its own screen under a process-wide lock.
final class Terminal {
    /// Why a terminal could not be opened.
    struct OpenError: Error, CustomStringConvertible {
        var description: String
    }

    /// The configured path, or `-`.
    let path: String
    /// The descriptor to poll for input.
    let inputFD: Int32
    private let outputFD: Int32
    private var inputFile: UnsafeMutablePointer<FILE>?
    private var outputFile: UnsafeMutablePointer<FILE>?
    private var screen: OpaquePointer?
    private var hasColour = false
    /// The terminal type ncurses runs with.
    let termName: String
    /// The size the last layout was made for.
    private(set) var size: TerminalSize
    private var needsClear = true

    /// Whether `path` names the machine's own console (keyboard and screen) rather than a serial line.
    static func isConsole(_ path: String) -> Bool {
        if path == LeaddConfig.Terminal.ownTerminal || path == "/dev/console" || path == "/dev/tty" { return true }
        guard path.hasPrefix("/dev/tty") else { return false }
        let rest = path.dropFirst("/dev/tty".count)
        return !rest.isEmpty && rest.allSatisfy(\.isASCII) && rest.allSatisfy(\.isNumber)
    }

    /// Opens the terminal and puts ncurses on it.
    ///
    /// - Parameters:
    ///   - path: A device path (opened `O_RDWR|O_NOCTTY`; a serial line is set raw 8N1 at `baud`) or `-`.
    ///   - term: The terminal type (`TERM`); nil lets ncurses read `$TERM`.
    ///   - baud: The line speed for a serial device.
    ///   - wakeFD: Written to by the SIGWINCH handler when `path` is `-`.
    init(path: String, term: String?, baud: Int, wakeFD: Int32) throws(OpenError) {
        self.path = path
        var inFD: Int32
        var outFD: Int32
        if path == LeaddConfig.Terminal.ownTerminal {
            inFD = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0)
            outFD = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0)
            guard inFD >= 0, outFD >= 0 else {
                let message = String(cString: strerror(errno))
                if inFD >= 0 { systemClose(inFD) }
                throw OpenError(description: "cannot duplicate standard input/output: \(message)")
            }
        } else {
            // O_NONBLOCK so that opening a serial line without carrier does not hang; cleared right after.
            inFD = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK)
            guard inFD >= 0 else {
                throw OpenError(description: "\(path): \(String(cString: strerror(errno)))")
            }
            let flags = fcntl(inFD, F_GETFL)
            _ = fcntl(inFD, F_SETFL, flags & ~O_NONBLOCK)
            guard isatty(inFD) == 1 else {
                systemClose(inFD)
                throw OpenError(description: "\(path): not a terminal")
            }
            if !Terminal.isConsole(path) {
                do throws(OpenError) {
                    try Terminal.configureSerial(inFD, path: path, baud: baud)
                } catch {
                    systemClose(inFD)
                    throw error
                }
            }
            outFD = fcntl(inFD, F_DUPFD_CLOEXEC, 0)
            guard outFD >= 0 else {
                let message = String(cString: strerror(errno))
                systemClose(inFD)
                throw OpenError(description: "\(path): \(message)")
            }
        }
        inputFD = inFD
        outputFD = outFD
        guard let inFile = fdopen(inFD, "r"), let outFile = fdopen(outFD, "w") else {
            let message = String(cString: strerror(errno))
            systemClose(inFD)
            systemClose(outFD)
            throw OpenError(description: "\(path): fdopen: \(message)")
        }
        inputFile = inFile
        outputFile = outFile

        let isOwn = path == LeaddConfig.Terminal.ownTerminal
        let fallback = Terminal.isConsole(path) && !isOwn ? "linux" : "vt100"
        let opened: (OpaquePointer, String)? = cursesLock.withLock { lock in
            if !lock.localeReady {
                Terminal.setUTF8Locale()
                lock.localeReady = true
            }
            // Before newterm: ncurses leaves a SIGWINCH handler alone when one is installed.
            if isOwn { _ = CNcurses_watch_sigwinch(wakeFD) }
            var candidates: [String?] = [term]
            if term == nil || term != fallback { candidates.append(fallback) }
            for candidate in candidates {
                let screen: OpaquePointer? =
                    if let candidate { newterm(candidate, outFile, inFile) } else { newterm(nil, outFile, inFile) }
                guard let screen else { continue }
                _ = set_term(screen)
                Terminal.setUp(screen)
                let name = candidate ?? (getenv("TERM").map { String(cString: $0) } ?? "unknown")
                return (screen, name)
            }
            return nil
        }
        guard let (screen, name) = opened else {
            fclose(inFile)
            fclose(outFile)
            if isOwn { _ = CNcurses_watch_sigwinch(-1) }
            throw OpenError(
                description: "\(path): ncurses cannot drive terminal type \(term ?? "$TERM") or \(fallback)"
            )
        }
        self.screen = screen
        self.termName = name
        self.hasColour = cursesLock.withLock { _ in
            _ = set_term(screen)
            return has_colors()
        }
        self.size = TerminalSize(columns: 80, lines: 24)
        self.size = cursesLock.withLock { _ in
            _ = set_term(screen)
            return TerminalSize(columns: Int(CNcurses_cols()), lines: Int(CNcurses_lines()))
        }
    }

    deinit { close() }

    /// A UTF-8 locale is what makes ncurses read and write Cyrillic and CJK: the environment's, else C.UTF-8.
    private static func setUTF8Locale() {
        _ = setlocale(LC_ALL, "")
        if let codeset = nl_langinfo(nl_item(CODESET)),
            String(cString: codeset).uppercased().replacingUTF8Dash() == "UTF8"
        {
            return
        }
        _ = setlocale(LC_ALL, "C.UTF-8")
    }

    /// Raw input, no echo, keypad keys decoded, reads that never wait for a key, a short ESC delay.
    private static func setUp(_ screen: OpaquePointer) {
        let window = CNcurses_stdscr()
        _ = raw()
        _ = noecho()
        _ = nonl()
        _ = keypad(window, true)
        _ = nodelay(window, true)
        _ = CNcurses_set_escdelay(screen, 25)
        if has_colors() {
            _ = start_color()
            if use_default_colors() == OK {
                _ = init_pair(1, Int16(COLOR_RED), -1)
            } else {
                _ = init_pair(1, Int16(COLOR_RED), Int16(COLOR_BLACK))
            }
        }
    }

    /// Raw 8N1 at `baud`, receiver on, modem lines ignored: a serial terminal as DESIGN "Scanner input" sets
    /// serial lines.
    private static func configureSerial(_ fd: Int32, path: String, baud: Int) throws(OpenError) {
        var settings = termios()
        guard tcgetattr(fd, &settings) == 0 else {
            throw OpenError(description: "\(path): tcgetattr: \(String(cString: strerror(errno)))")
        }
        cfmakeraw(&settings)
        settings.c_cflag &= ~(tcflag_t(CSIZE) | tcflag_t(PARENB) | tcflag_t(CSTOPB) | tcflag_t(CRTSCTS))
        settings.c_cflag |= tcflag_t(CS8) | tcflag_t(CLOCAL) | tcflag_t(CREAD)
        let speed = termiosSpeed(baud)
        _ = cfsetispeed(&settings, speed)
        _ = cfsetospeed(&settings, speed)
        guard tcsetattr(fd, TCSANOW, &settings) == 0 else {
            throw OpenError(description: "\(path): tcsetattr: \(String(cString: strerror(errno)))")
        }
    }

    // MARK: - Input

    /// Reads everything waiting. Call after `poll()` reported input.
    ///
    /// - Returns: The characters and keys read, and whether the input has ended: readable, yet nothing
    ///   read and nothing left. Only a descriptor that is not a terminal (`TTY=-` on a pipe or file) ends
    ///   this way; a terminal's end is a hang-up, which `poll()` reports as `POLLHUP`.
    func drain() -> (inputs: [RawInput], ended: Bool) {
        guard let screen else { return ([], true) }
        let fd = inputFD
        return cursesLock.withLock { _ in
            _ = set_term(screen)
            let window = CNcurses_stdscr()
            var inputs: [RawInput] = []
            var progress = false

            /// One character or key; false when nothing more can be had now. Invalid UTF-8 makes ncurses
            /// return ERR with EILSEQ, having consumed the bad bytes and whatever it had read ahead with them:
            /// that is progress, and reading goes on.
            func next() -> Bool {
                var character: wint_t = 0
                errno = 0
                let rc = wget_wch(window, &character)
                if rc == ERR {
                    if errno == EILSEQ {
                        progress = true
                        return true
                    }
                    return false
                }
                progress = true
                append(rc, character, to: &inputs)
                return true
            }

            // A short timeout rather than nodelay: ncurses drops the first bytes of a UTF-8 character whose
            // rest has not arrived yet (a serial line delivers a byte per millisecond at 9600 baud).
            wtimeout(window, 20)
            while inputs.count < 65_536 {
                if progress && CNcurses_bytes_available(fd) <= 0 { break }
                if !next() { break }
            }
            // Whatever ncurses pushed back into its own queue (the rest of an unknown escape sequence) comes
            // out without reading the descriptor.
            wtimeout(window, 0)
            while inputs.count < 65_536, next() {}
            let ended = !progress && isatty(fd) == 0 && CNcurses_bytes_available(fd) <= 0
            return (inputs, ended)
        }
    }

    private func append(_ rc: Int32, _ character: wint_t, to inputs: inout [RawInput]) {
        if rc == KEY_CODE_YES {
            if let key = Terminal.key(forCode: Int32(bitPattern: character)) { inputs.append(.key(key)) }
        } else if let scalar = Unicode.Scalar(UInt32(character)) {
            inputs.append(.scalar(scalar))
        }
    }

    private static func key(forCode code: Int32) -> Key? {
        switch code {
        case KEY_LEFT: .left
        case KEY_RIGHT: .right
        case KEY_UP: .up
        case KEY_DOWN: .down
        case KEY_HOME: .home
        case KEY_END: .end
        case KEY_BACKSPACE: .backspace
        case KEY_DC: .delete
        case KEY_ENTER: .enter
        case KEY_BTAB: .backTab
        case KEY_RESIZE: .resize
        case CNcurses_KEY_F(2): .f2
        case CNcurses_KEY_F(12): .f12
        default: nil
        }
    }

    /// Follows a change of the terminal's size (a window resized, `stty rows`).
    ///
    /// - Returns: Whether the size changed; the next `draw` then clears and redraws everything.
    @discardableResult
    func refreshSize() -> Bool {
        guard let screen else { return false }
        var rows: Int32 = 0
        var columns: Int32 = 0
        guard CNcurses_window_size(outputFD, &rows, &columns) == 0, rows > 0, columns > 0 else { return false }
        let newSize = TerminalSize(columns: Int(columns), lines: Int(rows))
        guard newSize != size else { return false }
        cursesLock.withLock { _ in
            _ = set_term(screen)
            _ = resize_term(rows, columns)
        }
        size = newSize
        needsClear = true
        return true
    }

    // MARK: - Output

    /// Asks the next `draw` to clear the whole terminal first (a fresh form: nothing of the previous visitor
    /// may survive anywhere on the glass).
    func clearOnNextDraw() { needsClear = true }

    /// Draws a laid-out screen and puts the cursor where it asks.
    func draw(_ content: Screen) {
        guard let screen else { return }
        let colour = hasColour
        let clear = needsClear
        needsClear = false
        cursesLock.withLock { _ in
            _ = set_term(screen)
            let window = CNcurses_stdscr()
            _ = werase(window)
            for (row, line) in content.lines.enumerated() {
                var column = 0
                for span in line.spans {
                    _ = CNcurses_set_attr(window, Terminal.attributes(span.style, colour: colour))
                    var wide = span.text.unicodeScalars.map { wchar_t(bitPattern: $0.value) }
                    wide.append(0)
                    _ = CNcurses_mvwaddnwstr(window, Int32(row), Int32(column), wide, -1)
                    column += DisplayWidth.of(span.text)
                }
            }
            _ = CNcurses_set_attr(window, CNcurses_A_NORMAL())
            if let cursor = content.cursor {
                _ = curs_set(1)
                _ = wmove(window, Int32(cursor.row), Int32(cursor.column))
            } else {
                _ = curs_set(0)
                _ = wmove(window, 0, 0)
            }
            if clear { _ = clearok(window, true) }
            _ = wrefresh(window)
        }
    }

    private static func attributes(_ style: TextStyle, colour: Bool) -> attr_t {
        var attributes = CNcurses_A_NORMAL()
        if style.contains(.bold) { attributes |= CNcurses_A_BOLD() }
        if style.contains(.reverse) { attributes |= CNcurses_A_REVERSE() }
        if style.contains(.underline) { attributes |= CNcurses_A_UNDERLINE() }
        if style.contains(.dim) { attributes |= CNcurses_A_DIM() }
        if style.contains(.error) {
            attributes |= colour ? CNcurses_COLOR_PAIR(1) | CNcurses_A_BOLD() : CNcurses_A_BOLD()
        }
        return attributes
    }

    // MARK: - Closing

    /// Restores the terminal (`endwin`), frees the screen and closes the descriptors. Idempotent.
    func close() {
        guard let screen else { return }
        self.screen = nil
        let isOwn = path == LeaddConfig.Terminal.ownTerminal
        cursesLock.withLock { _ in
            _ = set_term(screen)
            let window = CNcurses_stdscr()
            _ = werase(window)
            _ = curs_set(1)
            _ = wrefresh(window)
            _ = endwin()
            delscreen(screen)
            if isOwn { _ = CNcurses_watch_sigwinch(-1) }
        }
        if let inputFile { fclose(inputFile) }
        if let outputFile { fclose(outputFile) }
        inputFile = nil
        outputFile = nil
    }
}

extension String {
    fileprivate func replacingUTF8Dash() -> String { filter { $0 != "-" && $0 != "_" } }
}
