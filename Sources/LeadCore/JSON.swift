/// One member of a JSON object: a key and its value, kept in document order.
public struct JSONMember: Sendable, Hashable {
    public var key: String
    public var value: JSONValue

    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// A parsed JSON document (RFC 8259).
///
/// Numbers keep their literal text so that nothing is lost or rounded; objects keep their members in
/// document order (duplicates included). Parse with ``parse(_:)``, write with ``JSONWriter``.
///
/// ```swift
/// let doc = try JSONValue.parse(Array(#"{"lead_id":"…","revision":2}"#.utf8))
/// doc["revision"]?.intValue  // 2
/// ```
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number as its literal text (`-12.5e3`), already checked against the RFC 8259 grammar.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    /// The deepest nesting of arrays and objects ``parse(_:)`` accepts.
    public static let maximumDepth = 64

    /// Parses one JSON text strictly: no trailing commas, comments, byte order mark or trailing garbage;
    /// strings must be valid UTF-8 without raw control characters, and `\u` escapes must not be lone surrogates.
    ///
    /// - Parameter bytes: the UTF-8 encoded JSON text.
    /// - Throws: ``JSONError`` with the byte offset of the first problem.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONError) -> JSONValue {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONError) -> JSONValue in try parseBuffer(buffer) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONError) -> JSONValue in try parseBuffer(buffer) }
        }.get()
    }

    private static func parseBuffer(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONError) -> JSONValue {
        var parser = JSONScanner(buffer)
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.index < buffer.count { throw JSONError(offset: parser.index, reason: .trailingGarbage) }
        return value
    }

    /// The value of the last member named `key` (JSON parsers conventionally let the last duplicate win),
    /// or nil when this is not an object or has no such member.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    /// The element at `index`, or nil when this is not an array or the index is out of range.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The number as an `Int`, if this is an integer literal (no fraction or exponent) that fits.
    public var intValue: Int? {
        if case .number(let text) = self { return Int(text) }
        return nil
    }

    /// The number as a `Double`, if this is a number.
    public var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    /// The Boolean, if this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The members in document order, if this is an object.
    public var objectValue: [JSONMember]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

extension JSONValue: CustomStringConvertible {
    /// The compact JSON text of this value.
    public var description: String {
        var writer = JSONWriter()
        writer.value(self)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

/// Why a JSON text was rejected, and where.
public struct JSONError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong, independent of where.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        private enum Code: Sendable, Hashable {
            case unexpectedEnd, unexpectedCharacter, expectedValue, expectedKey, expectedColon, expectedCommaOrEnd
            case trailingComma, trailingGarbage, tooDeep, invalidNumber, invalidEscape, loneSurrogate
            case controlCharacter, invalidUTF8
        }

        private let code: Code
        private init(_ code: Code) { self.code = code }

        /// The text ended in the middle of a value.
        public static let unexpectedEnd = Reason(.unexpectedEnd)
        /// A byte that cannot start or continue anything here (e.g. a bad literal such as `tru`).
        public static let unexpectedCharacter = Reason(.unexpectedCharacter)
        /// A value was expected.
        public static let expectedValue = Reason(.expectedValue)
        /// An object key (a string) was expected.
        public static let expectedKey = Reason(.expectedKey)
        /// A `:` was expected after an object key.
        public static let expectedColon = Reason(.expectedColon)
        /// A `,` or the closing bracket was expected.
        public static let expectedCommaOrEnd = Reason(.expectedCommaOrEnd)
        /// A `,` directly before `]` or `}`.
        public static let trailingComma = Reason(.trailingComma)
        /// Something other than whitespace after the top-level value.
        public static let trailingGarbage = Reason(.trailingGarbage)
        /// Arrays and objects nested deeper than ``JSONValue/maximumDepth``.
        public static let tooDeep = Reason(.tooDeep)
        /// A number that does not follow the RFC 8259 grammar (leading zero, missing digits).
        public static let invalidNumber = Reason(.invalidNumber)
        /// An unknown backslash escape or a `\u` without four hex digits.
        public static let invalidEscape = Reason(.invalidEscape)
        /// A `\u` escape for a UTF-16 surrogate without its partner.
        public static let loneSurrogate = Reason(.loneSurrogate)
        /// A raw U+0000–U+001F inside a string.
        public static let controlCharacter = Reason(.controlCharacter)
        /// Bytes that are not well-formed UTF-8.
        public static let invalidUTF8 = Reason(.invalidUTF8)

        public var description: String {
            switch code {
            case .unexpectedEnd: "unexpected end of input"
            case .unexpectedCharacter: "unexpected character"
            case .expectedValue: "expected a value"
            case .expectedKey: "expected a string key"
            case .expectedColon: "expected ':'"
            case .expectedCommaOrEnd: "expected ',' or a closing bracket"
            case .trailingComma: "trailing comma"
            case .trailingGarbage: "unexpected data after the JSON value"
            case .tooDeep: "nesting deeper than \(JSONValue.maximumDepth) levels"
            case .invalidNumber: "invalid number"
            case .invalidEscape: "invalid escape sequence"
            case .loneSurrogate: "lone UTF-16 surrogate in \\u escape"
            case .controlCharacter: "unescaped control character in string"
            case .invalidUTF8: "invalid UTF-8"
            }
        }
    }

    /// Zero-based byte offset of the problem in the input.
    public let offset: Int
    public let reason: Reason

    public init(offset: Int, reason: Reason) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

// MARK: - Parser

private enum ASCII {
    static let quote: UInt8 = 0x22
    static let backslash: UInt8 = 0x5C
    static let slash: UInt8 = 0x2F
    static let comma: UInt8 = 0x2C
    static let colon: UInt8 = 0x3A
    static let minus: UInt8 = 0x2D
    static let plus: UInt8 = 0x2B
    static let dot: UInt8 = 0x2E
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let openBracket: UInt8 = 0x5B
    static let closeBracket: UInt8 = 0x5D
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D
}

/// Strict UTF-8 checks (Unicode Table 3-7: no overlongs, no encoded surrogates, nothing above U+10FFFF) that
/// report where input went wrong, shared by the JSON and CSV readers.
enum StrictUTF8 {
    /// Length of the well-formed sequence starting at `i` (whose first byte is ≥ 0x80), or 0 if ill-formed.
    static func sequenceLength(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        let n = b.count
        let c0 = b[i]
        @inline(__always) func cont(_ j: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            j < n && b[j] >= lo && b[j] <= hi
        }
        switch c0 {
        case 0xC2...0xDF:
            return cont(i + 1) ? 2 : 0
        case 0xE0:
            return cont(i + 1, 0xA0) && cont(i + 2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return cont(i + 1) && cont(i + 2) ? 3 : 0
        case 0xED:
            return cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? 3 : 0
        case 0xF0:
            return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0
        case 0xF1...0xF3:
            return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0
        case 0xF4:
            return cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? 4 : 0
        default:
            return 0
        }
    }

    /// The offset of the first ill-formed sequence in `b`, or nil when all of it is well-formed.
    static func firstInvalidOffset(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        let n = b.count
        while i < n {
            while i + 8 <= n
                && UnsafeRawPointer(b.baseAddress! + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0
            {
                i += 8
            }
            guard i < n else { break }
            if b[i] < 0x80 {
                i += 1
            } else {
                let len = sequenceLength(b, at: i)
                if len == 0 { return i }
                i += len
            }
        }
        return nil
    }
}

/// Appends the UTF-8 encoding of a scalar value (already known to be valid) to `out`.
private func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
    if v < 0x80 {
        out.append(UInt8(v))
    } else if v < 0x800 {
        out.append(UInt8(0xC0 | (v >> 6)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else if v < 0x10000 {
        out.append(UInt8(0xE0 | (v >> 12)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else {
        out.append(UInt8(0xF0 | (v >> 18)))
        out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    }
}

/// The strict RFC 8259 scanner behind ``JSONValue/parse(_:)``; decoders in this module also drive it directly
/// (``JSONScanner/objectKey(isFirst:)`` and friends) to read a document without building a `JSONValue` tree.
struct JSONScanner {
    let b: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0
    /// Reused for strings that contain escapes.
    var scratch: [UInt8] = []

    init(_ buffer: UnsafeBufferPointer<UInt8>) { self.b = buffer }

    mutating func skipWhitespace() {
        while index < b.count {
            switch b[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws(JSONError) -> JSONValue {
        skipWhitespace()
        guard index < b.count else { throw JSONError(offset: index, reason: .unexpectedEnd) }
        switch b[index] {
        case ASCII.openBrace: return try parseObject()
        case ASCII.openBracket: return try parseArray()
        case ASCII.quote: return .string(try parseString())
        case 0x74: return try literal("true", .bool(true))
        case 0x66: return try literal("false", .bool(false))
        case 0x6E: return try literal("null", .null)
        case ASCII.minus, ASCII.zero...ASCII.nine: return .number(try parseNumber())
        default: throw JSONError(offset: index, reason: .expectedValue)
        }
    }

    mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONError) -> JSONValue {
        let count = word.utf8CodeUnitCount
        let start = word.utf8Start
        for k in 0..<count {
            guard index + k < b.count else { throw JSONError(offset: index + k, reason: .unexpectedEnd) }
            guard b[index + k] == start[k] else { throw JSONError(offset: index + k, reason: .unexpectedCharacter) }
        }
        index += count
        return value
    }

    mutating func enter() throws(JSONError) {
        depth += 1
        if depth > JSONValue.maximumDepth { throw JSONError(offset: index, reason: .tooDeep) }
    }

    // Separators and closing brackets are handled once, by `objectKey(isFirst:)` and `hasElement(isFirst:)`,
    // which the streaming lead decoder uses too.
    mutating func parseObject() throws(JSONError) -> JSONValue {
        try enterContainer()
        var members: [JSONMember] = []
        members.reserveCapacity(8)
        var first = true
        while let key = try objectKey(isFirst: first) {
            first = false
            members.append(JSONMember(key.string, try parseValue()))
        }
        return .object(members)
    }

    mutating func parseArray() throws(JSONError) -> JSONValue {
        try enterContainer()
        var elements: [JSONValue] = []
        var first = true
        while try hasElement(isFirst: first) {
            first = false
            elements.append(try parseValue())
        }
        return .array(elements)
    }

    mutating func parseNumber() throws(JSONError) -> String {
        let start = index
        if b[index] == ASCII.minus { index += 1 }
        func isDigit(_ i: Int) -> Bool { i < b.count && b[i] >= ASCII.zero && b[i] <= ASCII.nine }
        guard isDigit(index) else { throw JSONError(offset: index, reason: .invalidNumber) }
        if b[index] == ASCII.zero {
            index += 1
            if isDigit(index) { throw JSONError(offset: index, reason: .invalidNumber) }
        } else {
            while isDigit(index) { index += 1 }
        }
        if index < b.count, b[index] == ASCII.dot {
            index += 1
            guard isDigit(index) else { throw JSONError(offset: index, reason: .invalidNumber) }
            while isDigit(index) { index += 1 }
        }
        if index < b.count, b[index] == 0x65 || b[index] == 0x45 {
            index += 1
            if index < b.count, b[index] == ASCII.plus || b[index] == ASCII.minus { index += 1 }
            guard isDigit(index) else { throw JSONError(offset: index, reason: .invalidNumber) }
            while isDigit(index) { index += 1 }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: b[start..<index]), as: UTF8.self)
    }

    /// Whether the 8 bytes at `i` are all printable ASCII other than `"` and `\\` (SWAR tests from Bit
    /// Twiddling Hacks: "has a byte less than n" and "has a zero byte", exact as to whether there is any).
    @inline(__always)
    func isPlainWord(at i: Int) -> Bool { JSONScanner.isPlainWord(UnsafeRawPointer(b.baseAddress! + i)) }

    @inline(__always)
    static func isPlainWord(_ p: UnsafeRawPointer) -> Bool {
        let w = p.loadUnaligned(as: UInt64.self)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let control = (w &- ones &* 0x20) & ~w & high
        let q = w ^ (ones &* 0x22)
        let quote = (q &- ones) & ~q & high
        let s = w ^ (ones &* 0x5C)
        let backslash = (s &- ones) & ~s & high
        return (w & high) | control | quote | backslash == 0
    }

    /// Parses a string whose opening quote is at `index`; leaves `index` after the closing quote.
    mutating func parseString() throws(JSONError) -> String {
        let start = index + 1
        var i = start
        // Fast path: no escapes, so the string is a slice of the input.
        while true {
            while i + 8 <= b.count && isPlainWord(at: i) { i += 8 }
            guard i < b.count else { throw JSONError(offset: i, reason: .unexpectedEnd) }
            let c = b[i]
            if c == ASCII.quote {
                index = i + 1
                return String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
            } else if c == ASCII.backslash {
                break
            } else if c < 0x20 {
                throw JSONError(offset: i, reason: .controlCharacter)
            } else if c < 0x80 {
                i += 1
            } else {
                let len = StrictUTF8.sequenceLength(b, at: i)
                if len == 0 { throw JSONError(offset: i, reason: .invalidUTF8) }
                i += len
            }
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i]))
        while i < b.count {
            let c = b[i]
            if c == ASCII.quote {
                index = i + 1
                return String(decoding: scratch, as: UTF8.self)
            } else if c == ASCII.backslash {
                i = try parseEscape(at: i)
            } else if c < 0x20 {
                throw JSONError(offset: i, reason: .controlCharacter)
            } else if c < 0x80 {
                scratch.append(c)
                i += 1
            } else {
                let len = StrictUTF8.sequenceLength(b, at: i)
                if len == 0 { throw JSONError(offset: i, reason: .invalidUTF8) }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: b[i..<(i + len)]))
                i += len
            }
        }
        throw JSONError(offset: i, reason: .unexpectedEnd)
    }

    /// Decodes the escape whose backslash is at `i` into `scratch`; returns the index after it.
    mutating func parseEscape(at i: Int) throws(JSONError) -> Int {
        guard i + 1 < b.count else { throw JSONError(offset: i + 1, reason: .unexpectedEnd) }
        let e = b[i + 1]
        switch e {
        case ASCII.quote, ASCII.backslash, ASCII.slash: scratch.append(e)
        case 0x62: scratch.append(0x08)  // b
        case 0x66: scratch.append(0x0C)  // f
        case 0x6E: scratch.append(0x0A)  // n
        case 0x72: scratch.append(0x0D)  // r
        case 0x74: scratch.append(0x09)  // t
        case 0x75:  // u
            let unit = try hex4(at: i + 2)
            switch unit {
            case 0xD800...0xDBFF:
                guard i + 7 < b.count, b[i + 6] == ASCII.backslash, b[i + 7] == 0x75 else {
                    throw JSONError(offset: i, reason: .loneSurrogate)
                }
                let low = try hex4(at: i + 8)
                guard (0xDC00...0xDFFF).contains(low) else { throw JSONError(offset: i, reason: .loneSurrogate) }
                appendUTF8(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), to: &scratch)
                return i + 12
            case 0xDC00...0xDFFF:
                throw JSONError(offset: i, reason: .loneSurrogate)
            default:
                appendUTF8(unit, to: &scratch)
                return i + 6
            }
        default:
            throw JSONError(offset: i, reason: .invalidEscape)
        }
        return i + 2
    }

    func hex4(at i: Int) throws(JSONError) -> UInt32 {
        var v: UInt32 = 0
        for k in i..<(i + 4) {
            guard k < b.count else { throw JSONError(offset: k, reason: .unexpectedEnd) }
            let c = b[k]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw JSONError(offset: k, reason: .invalidEscape)
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }
}

/// An object key as scanned: a slice of the input when it has no escapes (the common case, compared without
/// making a String), else the decoded text.
struct JSONKey {
    let raw: UnsafeBufferPointer<UInt8>
    let decoded: String?

    /// The key as a String.
    var string: String { decoded ?? String(decoding: raw, as: UTF8.self) }

    /// Lets `switch key { case "lead_id": … }` match without allocating.
    static func ~= (pattern: StaticString, key: JSONKey) -> Bool {
        let expected = UnsafeBufferPointer(start: pattern.utf8Start, count: pattern.utf8CodeUnitCount)
        if let decoded = key.decoded { return decoded.utf8.elementsEqual(expected) }
        guard key.raw.count == expected.count else { return false }
        for i in 0..<expected.count where key.raw[i] != expected[i] { return false }
        return true
    }
}

extension JSONScanner {
    /// The next non-whitespace byte, not consumed.
    mutating func peek() throws(JSONError) -> UInt8 {
        skipWhitespace()
        guard index < b.count else { throw JSONError(offset: index, reason: .unexpectedEnd) }
        return b[index]
    }

    /// Consumes the `{` or `[` that ``peek()`` showed, counting depth.
    mutating func enterContainer() throws(JSONError) {
        try enter()
        index += 1
    }

    /// The next key of the object entered with ``enterContainer()`` (after its `:`), or nil once the object is
    /// closed. `isFirst` is true for the first call on an object.
    mutating func objectKey(isFirst: Bool) throws(JSONError) -> JSONKey? {
        var c = try peek()
        if isFirst {
            if c == ASCII.closeBrace { return close() }
        } else {
            switch c {
            case ASCII.closeBrace: return close()
            case ASCII.comma:
                index += 1
                c = try peek()
                if c == ASCII.closeBrace { throw JSONError(offset: index, reason: .trailingComma) }
            default: throw JSONError(offset: index, reason: .expectedCommaOrEnd)
            }
        }
        guard c == ASCII.quote else { throw JSONError(offset: index, reason: .expectedKey) }
        let key = try parseKey()
        guard try peek() == ASCII.colon else { throw JSONError(offset: index, reason: .expectedColon) }
        index += 1
        return key
    }

    /// Whether the array entered with ``enterContainer()`` has another element (positioned at it); false once
    /// the array is closed.
    mutating func hasElement(isFirst: Bool) throws(JSONError) -> Bool {
        let c = try peek()
        if c == ASCII.closeBracket {
            // Empty, or the end after an element ("[1,]" is caught below, at its comma).
            index += 1
            depth -= 1
            return false
        }
        if isFirst { return true }
        guard c == ASCII.comma else { throw JSONError(offset: index, reason: .expectedCommaOrEnd) }
        index += 1
        if try peek() == ASCII.closeBracket { throw JSONError(offset: index, reason: .trailingComma) }
        return true
    }

    /// Reads and discards one value of any kind.
    mutating func skipValue() throws(JSONError) { _ = try parseValue() }

    /// Consumes `null`.
    mutating func parseNull() throws(JSONError) { _ = try literal("null", .null) }

    /// Consumes `true` or `false` (``peek()`` showed `t` or `f`).
    mutating func parseBool() throws(JSONError) -> Bool {
        if b[index] == 0x74 {
            _ = try literal("true", .null)
            return true
        }
        _ = try literal("false", .null)
        return false
    }

    /// Requires that only whitespace follows the top-level value.
    mutating func finish() throws(JSONError) {
        skipWhitespace()
        if index < b.count { throw JSONError(offset: index, reason: .trailingGarbage) }
    }

    private mutating func close() -> JSONKey? {
        index += 1
        depth -= 1
        return nil
    }

    /// Scans a key at the opening quote: a slice of the input unless it has escapes.
    private mutating func parseKey() throws(JSONError) -> JSONKey {
        let start = index + 1
        var i = start
        while i < b.count {
            let c = b[i]
            if c == ASCII.quote {
                index = i + 1
                return JSONKey(raw: UnsafeBufferPointer(rebasing: b[start..<i]), decoded: nil)
            } else if c == ASCII.backslash {
                let decoded = try parseString()
                return JSONKey(raw: UnsafeBufferPointer(rebasing: b[start..<start]), decoded: decoded)
            } else if c < 0x20 {
                throw JSONError(offset: i, reason: .controlCharacter)
            } else if c < 0x80 {
                i += 1
            } else {
                let len = StrictUTF8.sequenceLength(b, at: i)
                if len == 0 { throw JSONError(offset: i, reason: .invalidUTF8) }
                i += len
            }
        }
        throw JSONError(offset: i, reason: .unexpectedEnd)
    }
}

// MARK: - Writer

/// Writes compact JSON straight into a byte buffer, in the order the calls are made.
///
/// Commas are inserted automatically; the caller balances `begin…`/`end…` calls and calls ``key(_:)``
/// before each object member's value.
///
/// ```swift
/// var w = JSONWriter()
/// w.beginObject()
/// w.member("lead_id", "0193a5c1-…")
/// w.member("revision", 1)
/// w.endObject()
/// // w.bytes == Array(#"{"lead_id":"0193a5c1-…","revision":1}"#.utf8)
/// ```
public struct JSONWriter: Sendable {
    /// The JSON text written so far.
    public var bytes: [UInt8]
    private var needsComma = false

    /// A writer appending to `bytes` (empty by default).
    public init(bytes: [UInt8] = []) { self.bytes = bytes }

    @inline(__always)
    private mutating func separate() {
        if needsComma { bytes.append(ASCII.comma) }
        needsComma = true
    }

    /// Opens an object (`{`).
    public mutating func beginObject() {
        separate()
        bytes.append(ASCII.openBrace)
        needsComma = false
    }

    /// Closes an object (`}`).
    public mutating func endObject() {
        bytes.append(ASCII.closeBrace)
        needsComma = true
    }

    /// Opens an array (`[`).
    public mutating func beginArray() {
        separate()
        bytes.append(ASCII.openBracket)
        needsComma = false
    }

    /// Closes an array (`]`).
    public mutating func endArray() {
        bytes.append(ASCII.closeBracket)
        needsComma = true
    }

    /// Writes an object key and the `:`; the next call writes its value.
    public mutating func key(_ name: String) {
        separate()
        JSONWriter.appendString(name, to: &bytes)
        bytes.append(ASCII.colon)
        needsComma = false
    }

    /// Writes a string value, escaped.
    public mutating func string(_ value: String) {
        separate()
        JSONWriter.appendString(value, to: &bytes)
    }

    /// Writes a string value, or `null` for nil.
    public mutating func string(orNull value: String?) {
        if let value { string(value) } else { null() }
    }

    /// Writes an integer.
    public mutating func int(_ value: Int) {
        separate()
        JSONWriter.appendInt(value, to: &bytes)
    }

    /// Writes a finite `Double` in its shortest round-tripping form; NaN and infinities become `null`.
    public mutating func double(_ value: Double) {
        separate()
        if value.isFinite { bytes.append(contentsOf: value.description.utf8) } else { appendNull() }
    }

    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) {
        separate()
        if value {
            bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65])
        } else {
            bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])
        }
    }

    /// Writes `null`.
    public mutating func null() {
        separate()
        appendNull()
    }

    private mutating func appendNull() { bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) }

    /// Writes a number given as its literal text; the caller guarantees it follows the JSON grammar.
    public mutating func number(literal text: String) {
        separate()
        bytes.append(contentsOf: text.utf8)
    }

    /// Writes a parsed value (numbers as their literal text, object members in their order).
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let b): bool(b)
        case .number(let text): number(literal: text)
        case .string(let s): string(s)
        case .array(let elements):
            beginArray()
            for element in elements { self.value(element) }
            endArray()
        case .object(let members):
            beginObject()
            for member in members {
                key(member.key)
                self.value(member.value)
            }
            endObject()
        }
    }

    /// Writes a time as an RFC 3339 UTC string with milliseconds (`"2026-11-22T09:58:41.000Z"`).
    public mutating func timestamp(_ value: Timestamp) {
        separate()
        bytes.append(ASCII.quote)
        value.appendRFC3339(to: &bytes)
        bytes.append(ASCII.quote)
    }

    /// Writes `"key": value` for a string, or `null` when `value` is nil.
    public mutating func member(_ key: String, _ value: String?) {
        self.key(key)
        string(orNull: value)
    }

    /// Writes `"key": value` for an integer.
    public mutating func member(_ key: String, _ value: Int) {
        self.key(key)
        int(value)
    }

    /// Writes `"key": value` for a Boolean.
    public mutating func member(_ key: String, _ value: Bool) {
        self.key(key)
        bool(value)
    }

    /// Writes `"key": value` for a time (RFC 3339 UTC with milliseconds).
    public mutating func member(_ key: String, _ value: Timestamp) {
        self.key(key)
        timestamp(value)
    }

    /// Appends `value` as a quoted JSON string: `"` and `\` backslash-escaped, U+0000–U+001F as `\b \t \n \f \r`
    /// or `\u00XX`, and U+2028/U+2029 as `\u2028`/`\u2029` (so the output is also safe inside JavaScript).
    public static func appendString(_ value: String, to out: inout [UInt8]) {
        out.append(ASCII.quote)
        let done: Void? = value.utf8.withContiguousStorageIfAvailable { appendEscaped($0, to: &out) }
        if done == nil {
            let copy = Array(value.utf8)
            copy.withUnsafeBufferPointer { appendEscaped($0, to: &out) }
        }
        out.append(ASCII.quote)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func appendEscaped(_ s: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var runStart = 0
        var i = 0
        let n = s.count
        while i < n {
            // Skip 8 plain printable ASCII bytes at a time (the same SWAR test the scanner uses).
            while i + 8 <= n && JSONScanner.isPlainWord(UnsafeRawPointer(s.baseAddress! + i)) { i += 8 }
            guard i < n else { break }
            let c = s[i]
            if c >= 0x20 && c != ASCII.quote && c != ASCII.backslash && c != 0xE2 {
                i += 1
                continue
            }
            // U+2028 / U+2029 are E2 80 A8 / E2 80 A9; any other E2 sequence passes through.
            if c == 0xE2 {
                guard i + 2 < n, s[i + 1] == 0x80, s[i + 2] == 0xA8 || s[i + 2] == 0xA9 else {
                    i += 1
                    continue
                }
            }
            if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: s[runStart..<i])) }
            switch c {
            case ASCII.quote: out.append(contentsOf: [ASCII.backslash, ASCII.quote])
            case ASCII.backslash: out.append(contentsOf: [ASCII.backslash, ASCII.backslash])
            case 0x08: out.append(contentsOf: [ASCII.backslash, 0x62])
            case 0x09: out.append(contentsOf: [ASCII.backslash, 0x74])
            case 0x0A: out.append(contentsOf: [ASCII.backslash, 0x6E])
            case 0x0C: out.append(contentsOf: [ASCII.backslash, 0x66])
            case 0x0D: out.append(contentsOf: [ASCII.backslash, 0x72])
            case 0xE2:
                // \u2028 or \u2029
                out.append(contentsOf: [ASCII.backslash, 0x75, 0x32, 0x30, 0x32, s[i + 2] == 0xA8 ? 0x38 : 0x39])
                i += 3
                runStart = i
                continue
            default:
                out.append(contentsOf: [
                    ASCII.backslash, 0x75, 0x30, 0x30, hexDigits[Int(c >> 4)], hexDigits[Int(c & 0xF)],
                ])
            }
            i += 1
            runStart = i
        }
        if runStart < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: s[runStart..<n])) }
    }

    /// Appends the decimal digits of `value`.
    public static func appendInt(_ value: Int, to out: inout [UInt8]) {
        if value >= 0 && value < 10 {
            out.append(UInt8(truncatingIfNeeded: value) + ASCII.zero)
            return
        }
        if value < 0 { out.append(ASCII.minus) }
        var magnitude = value.magnitude
        let start = out.count
        while magnitude > 0 {
            out.append(UInt8(truncatingIfNeeded: magnitude % 10) + ASCII.zero)
            magnitude /= 10
        }
        out[start...].reverse()
    }
}
extension JSONValue {
    /// Parses a flat JSON object whose values are all strings (the store's `fields` column) straight into a
    /// dictionary, without building a `JSONValue` tree. Non-string values are an error at their offset.
    public static func parseStringObject(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONError) -> [String: String] {
        var s = JSONScanner(bytes)
        guard try s.peek() == ASCII.openBrace else { throw JSONError(offset: s.index, reason: .expectedValue) }
        try s.enterContainer()
        var out = [String: String](minimumCapacity: 8)
        var first = true
        while let key = try s.objectKey(isFirst: first) {
            first = false
            guard try s.peek() == ASCII.quote else { throw JSONError(offset: s.index, reason: .unexpectedCharacter) }
            out[key.string] = try s.parseString()
        }
        try s.finish()
        return out
    }
}
