private enum CSVByte {
    static let comma: UInt8 = 0x2C
    static let quote: UInt8 = 0x22
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let tab: UInt8 = 0x09
    static let apostrophe: UInt8 = 0x27
    static let plus: UInt8 = 0x2B

    /// The first characters that make a spreadsheet treat a cell as a formula (OWASP "CSV injection").
    @inline(__always)
    static func startsFormula(_ c: UInt8) -> Bool {
        c == 0x3D || c == 0x2B || c == 0x2D || c == 0x40 || c == tab || c == cr  // = + - @ TAB CR
    }
}

/// Writes RFC 4180 CSV into a byte buffer.
///
/// A field containing `,`, `"`, CR or LF is quoted, with `"` doubled. Lines end in LF, or — with
/// `excel: true` — the output starts with a UTF-8 byte order mark and lines end in CRLF, which is what
/// Excel needs to read UTF-8 (Cyrillic) text correctly.
///
/// The writer does not rewrite cells; pass untrusted text through ``neutralize(_:)`` first.
///
/// ```swift
/// var csv = CSVWriter(excel: true)
/// csv.writeRow(["name", "note"])
/// csv.writeRow(["Анна", "says \"hi\", twice"])
/// ```
public struct CSVWriter: Sendable {
    /// The CSV text written so far (starting with the byte order mark when `excel` is set). Callers that
    /// stream may write it out and empty it between rows.
    public var bytes: [UInt8]
    /// Whether rows end in CRLF (and the output began with a byte order mark).
    public let excel: Bool
    private var atRowStart = true

    /// The UTF-8 byte order mark, EF BB BF.
    public static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// A writer for plain (`excel: false`, LF) or Excel-flavoured (BOM, CRLF) CSV.
    public init(excel: Bool = false) {
        self.excel = excel
        self.bytes = excel ? CSVWriter.byteOrderMark : []
    }

    /// Appends one field to the current row.
    public mutating func field(_ value: String) {
        if !atRowStart { bytes.append(CSVByte.comma) }
        atRowStart = false
        CSVWriter.appendField(value, to: &bytes)
    }

    /// Ends the current row.
    public mutating func endRow() {
        CSVWriter.appendLineEnd(excel: excel, to: &bytes)
        atRowStart = true
    }

    /// Writes a whole row.
    public mutating func writeRow(_ fields: some Sequence<String>) {
        for f in fields { field(f) }
        endRow()
    }

    /// Appends `value` as one CSV field, quoted only when it contains `,`, `"`, CR or LF.
    public static func appendField(_ value: String, to out: inout [UInt8]) {
        let done: Void? = value.utf8.withContiguousStorageIfAvailable { appendField($0, to: &out) }
        if done == nil {
            let copy = Array(value.utf8)
            copy.withUnsafeBufferPointer { appendField($0, to: &out) }
        }
    }

    private static func appendField(_ s: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var needsQuotes = false
        for c in s where c == CSVByte.comma || c == CSVByte.quote || c == CSVByte.cr || c == CSVByte.lf {
            needsQuotes = true
            break
        }
        guard needsQuotes else {
            out.append(contentsOf: s)
            return
        }
        out.append(CSVByte.quote)
        var runStart = 0
        for i in 0..<s.count where s[i] == CSVByte.quote {
            // Copy through this quote, then add the second one.
            out.append(contentsOf: UnsafeBufferPointer(rebasing: s[runStart...i]))
            out.append(CSVByte.quote)
            runStart = i + 1
        }
        if runStart < s.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: s[runStart...])) }
        out.append(CSVByte.quote)
    }

    /// Appends a line end: CRLF when `excel`, else LF.
    public static func appendLineEnd(excel: Bool, to out: inout [UInt8]) {
        if excel { out.append(CSVByte.cr) }
        out.append(CSVByte.lf)
    }

    /// Defuses a cell against formula injection: a cell that a spreadsheet would run as a formula (it starts
    /// with `=`, `+`, `-`, `@`, TAB or CR) gets a leading `'`, except a plain phone number (`+` and 6–15
    /// digits, e.g. `+79161234567`), which stays as it is.
    ///
    /// A cell that already starts with one or more `'` before such a character also gets one more, so that
    /// ``unneutralize(_:)`` restores every cell exactly.
    public static func neutralize(_ cell: String) -> String {
        var it = cell.utf8.makeIterator()
        guard let first = it.next() else { return cell }
        if CSVByte.startsFormula(first) {
            if first == CSVByte.plus && isPlainPhone(cell) { return cell }
            return "'" + cell
        }
        guard first == CSVByte.apostrophe else { return cell }
        while let c = it.next() {
            if c == CSVByte.apostrophe { continue }
            return CSVByte.startsFormula(c) ? "'" + cell : cell
        }
        return cell
    }

    /// Undoes ``neutralize(_:)``: removes the first `'` of a cell whose text after its leading `'`s starts
    /// with `=`, `+`, `-`, `@`, TAB or CR.
    public static func unneutralize(_ cell: String) -> String {
        var it = cell.utf8.makeIterator()
        guard it.next() == CSVByte.apostrophe else { return cell }
        while let c = it.next() {
            if c == CSVByte.apostrophe { continue }
            return CSVByte.startsFormula(c) ? String(cell.dropFirst()) : cell
        }
        return cell
    }

    /// `+` followed by 6–15 ASCII digits and nothing else.
    private static func isPlainPhone(_ cell: String) -> Bool {
        let u = cell.utf8
        guard (7...16).contains(u.count) else { return false }
        return u.dropFirst().allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}

/// Why CSV input could not be read, and where.
public struct CSVError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        private enum Code: Sendable, Hashable { case unterminatedQuote, invalidUTF8, characterAfterQuote }
        private let code: Code
        private init(_ code: Code) { self.code = code }

        /// A quoted field is still open at the end of the input.
        public static let unterminatedQuote = Reason(.unterminatedQuote)
        /// A field is not well-formed UTF-8.
        public static let invalidUTF8 = Reason(.invalidUTF8)
        /// Something other than `,` or a line end follows a quoted field's closing quote.
        public static let characterAfterQuote = Reason(.characterAfterQuote)

        public var description: String {
            switch code {
            case .unterminatedQuote: "unterminated quoted field"
            case .invalidUTF8: "invalid UTF-8"
            case .characterAfterQuote: "unexpected character after a closing quote"
            }
        }
    }

    /// The 1-based number of the record (the header is record 1).
    public let record: Int
    /// The 1-based line on which the problem starts.
    public let line: Int
    public let reason: Reason

    public init(record: Int, line: Int, reason: Reason) {
        self.record = record
        self.line = line
        self.reason = reason
    }

    public var description: String { "CSV record \(record) (line \(line)): \(reason)" }
}

/// Reads RFC 4180 CSV from bytes in memory or from a stream of chunks.
///
/// Accepts quoted fields with embedded line breaks and doubled quotes, CRLF, LF or CR line ends and a
/// leading UTF-8 byte order mark; blank lines are skipped. A `"` inside an unquoted field is taken literally.
///
/// ```swift
/// var reader = CSVReader(bytes: data)
/// while let record = try reader.nextRecord() { … }
/// ```
public struct CSVReader {
    private var buffer: [UInt8]
    private var position = 0
    private var source: (() throws -> [UInt8]?)?
    private var started = false
    /// The 1-based number of the last record returned (0 before the first).
    public private(set) var recordNumber = 0
    /// The 1-based line on which the next record starts.
    public private(set) var lineNumber = 1

    /// A reader over a complete input.
    public init(bytes: some Sequence<UInt8>) {
        self.buffer = Array(bytes)
        self.source = nil
    }

    /// A reader that pulls input from `chunks` as needed; `chunks` returns nil at the end of the input
    /// (an empty chunk just means "nothing yet, ask again"). Errors it throws are passed on by ``nextRecord()``.
    public init(chunks: @escaping () throws -> [UInt8]?) {
        self.buffer = []
        self.source = chunks
    }

    /// The next record's fields, or nil at the end of the input.
    ///
    /// - Throws: ``CSVError`` for malformed input, or whatever the chunk source threw.
    public mutating func nextRecord() throws -> [String]? {
        if !started {
            while source != nil && buffer.count < 3 { try fill() }
            if buffer.starts(with: CSVWriter.byteOrderMark) { position = 3 }
            started = true
        }
        while true {
            let final = source == nil
            let result = buffer.withUnsafeBufferPointer { b in
                Result { () throws(CSVError) -> Parsed in try parse(b, final: final) }
            }
            switch try result.get() {
            case .needMore:
                try fill()
            case .end:
                return nil
            case .record(let fields, let end, let lines):
                position = end
                lineNumber += lines
                recordNumber += 1
                return fields
            }
        }
    }

    /// All remaining records.
    public mutating func readAll() throws -> [[String]] {
        var records: [[String]] = []
        while let r = try nextRecord() { records.append(r) }
        return records
    }

    /// Reads more from the source until the unconsumed input has at least doubled (so a long record is
    /// re-scanned a logarithmic number of times, not once per chunk) or the source is exhausted.
    private mutating func fill() throws {
        guard let source else { return }
        if position > 0 && position >= buffer.count / 2 {
            buffer.removeSubrange(0..<position)
            position = 0
        }
        let pending = buffer.count - position
        let target = buffer.count + max(pending, 1)
        while buffer.count < target {
            guard let chunk = try source() else {
                self.source = nil
                return
            }
            buffer.append(contentsOf: chunk)
        }
    }

    private enum Parsed {
        case needMore
        case end
        case record([String], end: Int, lines: Int)
    }

    /// Parses one record starting at `position`, skipping blank lines before it.
    private func parse(_ b: UnsafeBufferPointer<UInt8>, final: Bool) throws(CSVError) -> Parsed {
        let n = b.count
        var i = position
        var lines = 0
        // Blank lines.
        while i < n && (b[i] == CSVByte.lf || b[i] == CSVByte.cr) {
            if b[i] == CSVByte.cr {
                if i + 1 == n && !final { return .needMore }
                if i + 1 < n && b[i + 1] == CSVByte.lf { i += 1 }
            }
            i += 1
            lines += 1
        }
        if i == n { return final ? .end : .needMore }

        let record = recordNumber + 1
        var fields: [String] = []
        var scratch: [UInt8] = []
        func text(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws(CSVError) -> String {
            if StrictUTF8.firstInvalidOffset(bytes) != nil {
                throw CSVError(record: record, line: line, reason: .invalidUTF8)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        while true {
            // At the start of a field.
            if i < n && b[i] == CSVByte.quote {
                let quoteLine = lineNumber + lines
                scratch.removeAll(keepingCapacity: true)
                var j = i + 1
                while true {
                    var q = j
                    while q < n && b[q] != CSVByte.quote {
                        if b[q] == CSVByte.lf { lines += 1 }
                        q += 1
                    }
                    if q == n {
                        if !final { return .needMore }
                        throw CSVError(record: record, line: quoteLine, reason: .unterminatedQuote)
                    }
                    scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[j..<q]))
                    if q + 1 < n && b[q + 1] == CSVByte.quote {
                        scratch.append(CSVByte.quote)
                        j = q + 2
                        continue
                    }
                    if q + 1 == n && !final { return .needMore }
                    i = q + 1
                    break
                }
                fields.append(
                    try scratch.withUnsafeBufferPointer { s throws(CSVError) in try text(s, line: quoteLine) }
                )
                if i < n && b[i] != CSVByte.comma && b[i] != CSVByte.lf && b[i] != CSVByte.cr {
                    throw CSVError(record: record, line: lineNumber + lines, reason: .characterAfterQuote)
                }
            } else {
                var j = i
                while j < n {
                    let c = b[j]
                    if c == CSVByte.comma || c == CSVByte.lf || c == CSVByte.cr { break }
                    j += 1
                }
                if j == n && !final { return .needMore }
                fields.append(try text(UnsafeBufferPointer(rebasing: b[i..<j]), line: lineNumber + lines))
                i = j
            }
            // After a field: a comma, a line end or the end of the input.
            if i == n {
                if !final { return .needMore }
                return .record(fields, end: n, lines: lines)
            }
            switch b[i] {
            case CSVByte.comma:
                i += 1
            case CSVByte.lf:
                return .record(fields, end: i + 1, lines: lines + 1)
            default:  // CR
                if i + 1 == n && !final { return .needMore }
                let end = i + 1 < n && b[i + 1] == CSVByte.lf ? i + 2 : i + 1
                return .record(fields, end: end, lines: lines + 1)
            }
        }
    }
}
