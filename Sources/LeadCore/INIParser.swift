/// A parser for the systemd-style INI files of `/etc/leadd/leadd.conf` (DESIGN "Config file").
///
/// The syntax is that of systemd unit files, plus freedesktop-style localised keys:
/// - `[Section]` starts a section; a section name may repeat (`[Sink]` twice is two sinks — what repetition
///   means is up to the reader of the sections, see ``LeaddConfig``);
/// - `Key=value`, with whitespace around key and value trimmed and no quoting: everything after the first `=`
///   is the value, `#` included;
/// - `Label[ru]=…` is the key `Label` with locale `ru`;
/// - lines starting with `#` or `;` are comments, blank lines are ignored;
/// - a value ending in `\` continues on the next line, the backslash and line break becoming one space
///   (comment lines in between are skipped, as in systemd);
/// - a leading UTF-8 byte-order mark is ignored and CRLF line ends are accepted.
///
/// Every entry remembers its file and line, so that later errors can point at it. Rejected with a
/// ``ConfigError`` naming the line: a key before any section, a line with no `=`, an empty or malformed key,
/// a malformed section header, invalid UTF-8, and control characters other than tab.
///
/// ```swift
/// let sections = try INIParser.parse("[Kiosk]\nEvent=expo-2026\n", file: "leadd.conf")
/// sections[0].last("Event")?.value  // "expo-2026"
/// ```
public enum INIParser {
    /// One `Key=value` (or `Key[locale]=value`) line.
    public struct Entry: Sendable, Hashable {
        /// The key without its locale suffix, e.g. `Label`.
        public var key: String
        /// The locale of `Label[ru]=`, or nil for an unlocalised key.
        public var locale: String?
        /// The trimmed value; may be empty (`Key=` conventionally resets a key to its default).
        public var value: String
        /// The file the entry was read from.
        public var file: String
        /// The 1-based line the key is on.
        public var line: Int

        /// Creates an entry, as the parser does for every `Key=value` line.
        public init(key: String, locale: String? = nil, value: String, file: String, line: Int) {
            self.key = key
            self.locale = locale
            self.value = value
            self.file = file
            self.line = line
        }

        /// The key as written: `Label` or `Label[ru]`.
        public var displayKey: String { locale.map { "\(key)[\($0)]" } ?? key }
    }

    /// One `[Section]` and the entries under it, in file order.
    public struct Section: Sendable, Hashable {
        /// The name between the brackets.
        public var name: String
        /// The file the header was read from.
        public var file: String
        /// The 1-based line of the `[Section]` header.
        public var line: Int
        /// The entries in file order; a key may occur more than once (the last one counts).
        public var entries: [Entry]

        /// Creates a section, as the parser does for every `[Section]` header.
        public init(name: String, file: String, line: Int, entries: [Entry] = []) {
            self.name = name
            self.file = file
            self.line = line
            self.entries = entries
        }

        /// The last entry for `key` with exactly this `locale` (nil: the unlocalised key), as systemd's
        /// "a later assignment overrides an earlier one".
        public func last(_ key: String, locale: String? = nil) -> Entry? {
            entries.last { $0.key == key && $0.locale == locale }
        }
    }

    /// Parses INI text.
    /// - Parameters:
    ///   - text: the file's contents.
    ///   - file: the path to name in errors and entries.
    /// - Returns: the sections in file order.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> [Section] {
        try parse(bytes: Array(text.utf8), file: file)
    }

    /// Parses INI bytes as read from disk, rejecting invalid UTF-8 with the line it is on.
    /// - Parameters:
    ///   - bytes: the file's raw contents.
    ///   - file: the path to name in errors and entries.
    /// - Returns: the sections in file order.
    public static func parse(bytes: [UInt8], file: String) throws(ConfigError) -> [Section] {
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }

        var sections: [Section] = []
        // An entry whose value ended in a backslash and is still being continued.
        var pending: Entry?

        func finishPending() {
            guard let entry = pending else { return }
            sections[sections.count - 1].entries.append(entry)
            pending = nil
        }

        for (index, rawLine) in body.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            func fail(_ message: String, key: String? = nil) -> ConfigError {
                ConfigError(file: file, line: lineNumber, section: sections.last?.name, key: key, message: message)
            }
            var lineBytes = rawLine
            if lineBytes.last == 0x0D { lineBytes = lineBytes.dropLast() }
            guard let line = String(validating: lineBytes, as: UTF8.self) else {
                throw fail("invalid UTF-8 (save the file as UTF-8)")
            }
            if let bad = line.unicodeScalars.first(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) {
                throw fail("control character \(hex(bad)) is not allowed")
            }
            let text = trimmed(line[...])

            if var entry = pending {
                if text.first == "#" || text.first == ";" { continue }
                let (piece, continues) = splitContinuation(text)
                entry.value = entry.value.isEmpty ? piece : piece.isEmpty ? entry.value : entry.value + " " + piece
                pending = entry
                if !continues { finishPending() }
                continue
            }

            if text.isEmpty || text.first == "#" || text.first == ";" { continue }

            if text.first == "[" {
                guard text.last == "]", text.count >= 2 else {
                    throw fail("invalid section header \(quoted(text)) (expected [Name] alone on the line)")
                }
                let name = String(text.dropFirst().dropLast())
                guard isName(name[...]) else {
                    throw fail("invalid section header \(quoted(text)) (expected [Name] alone on the line)")
                }
                sections.append(Section(name: name, file: file, line: lineNumber))
                continue
            }

            guard let equals = text.firstIndex(of: "=") else {
                throw fail("expected Key=value, a [Section] header or a comment, got \(quoted(text))")
            }
            let rawKey = trimmed(text[..<equals])
            guard !rawKey.isEmpty else { throw fail("empty key before \"=\"") }
            guard let (key, locale) = splitKey(rawKey) else {
                throw fail("invalid key name \(quoted(rawKey)) (expected Key or Key[locale])")
            }
            guard !sections.isEmpty else {
                throw fail("key outside any section (put it under a [Section] header)", key: String(rawKey))
            }
            let (value, continues) = splitContinuation(trimmed(text[text.index(after: equals)...]))
            pending = Entry(key: key, locale: locale, value: value, file: file, line: lineNumber)
            if !continues { finishPending() }
        }
        finishPending()
        return sections
    }

    // MARK: - Lexical helpers

    /// Strips spaces and tabs at both ends.
    static func trimmed(_ text: Substring) -> Substring {
        var text = text
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }

    /// A value without its continuation backslash, and whether it had one.
    private static func splitContinuation(_ text: Substring) -> (String, Bool) {
        guard text.last == "\\" else { return (String(text), false) }
        return (String(trimmed(text.dropLast())), true)
    }

    /// `Name` → (`Name`, nil); `Name[ru]` → (`Name`, `ru`); nil when malformed.
    private static func splitKey(_ raw: Substring) -> (String, String?)? {
        guard let open = raw.firstIndex(of: "[") else {
            return isName(raw) ? (String(raw), nil) : nil
        }
        let name = raw[..<open]
        guard raw.last == "]", isName(name) else { return nil }
        let locale = raw[raw.index(after: open)..<raw.index(before: raw.endIndex)]
        guard isLocale(locale) else { return nil }
        return (String(name), String(locale))
    }

    /// A section or key name: an ASCII letter, then letters, digits, `_`, `-` or `.` (for `Map.email`).
    private static func isName(_ text: Substring) -> Bool {
        guard let first = text.unicodeScalars.first, isLetter(first) else { return false }
        return text.unicodeScalars.allSatisfy { isLetter($0) || isDigit($0) || $0 == "_" || $0 == "-" || $0 == "." }
    }

    /// A freedesktop locale as used in `Label[ru]` or `Label[pt_BR]`: `ll` or `lll`, optionally `_CC`.
    private static func isLocale(_ text: Substring) -> Bool {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count <= 2, (2...3).contains(parts[0].count),
            parts[0].unicodeScalars.allSatisfy({ $0.value >= 0x61 && $0.value <= 0x7A })
        else { return false }
        if parts.count == 2 {
            return parts[1].count == 2 && parts[1].unicodeScalars.allSatisfy { $0.value >= 0x41 && $0.value <= 0x5A }
        }
        return true
    }

    private static func isLetter(_ s: Unicode.Scalar) -> Bool {
        (s.value >= 0x41 && s.value <= 0x5A) || (s.value >= 0x61 && s.value <= 0x7A)
    }

    private static func isDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 0x30 && s.value <= 0x39 }

    /// `"text"` with embedded quotes and backslashes escaped, for messages.
    static func quoted(_ text: some StringProtocol) -> String {
        var out = "\""
        for c in text {
            if c == "\"" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out + "\""
    }

    private static func hex(_ s: Unicode.Scalar) -> String {
        let digits = String(s.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
