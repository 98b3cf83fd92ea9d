/// What the framer made of the bytes a scanner sent: a complete record, or something thrown away.
public enum ScannerFrame: Sendable, Hashable {
    /// One record, without its line end: a line, or a whole vCard (`BEGIN:VCARD` … `END:VCARD`, lines joined
    /// with CRLF).
    case record([UInt8])
    /// A record that was thrown away, why, and how many bytes it had (line ends not counted, except the CRLFs
    /// between the lines of a vCard). The reason is fixed text, never the data itself.
    case dropped(reason: String, bytes: Int)
}

/// Cuts the byte stream of a serial scanner into records, with bounded memory whatever arrives.
///
/// - One record per line; lines end in CR, LF or CRLF; empty and blank lines are ignored.
/// - A vCard is one record: from a line `BEGIN:VCARD` to the line `END:VCARD` (any case, trailing blanks
///   ignored), its lines kept and joined with CRLF. A `BEGIN:VCARD` before the `END:VCARD` drops the first
///   one as cut off.
/// - A line, or a vCard, longer than `maxRecordBytes` is dropped: the framer stops storing it at once and
///   discards up to the end of the line (or to `END:VCARD`), then reports one ``ScannerFrame/dropped(reason:bytes:)``.
///   At most `maxRecordBytes` bytes (plus a few for the `END:VCARD` search) are ever held.
///
/// Feed it whatever `read(2)` returned with ``push(_:)``; call ``finish()`` at end of file, when the device
/// goes away, or after a long silence, so that a record cut off mid-way is reported rather than glued to the
/// next scan.
///
/// ```swift
/// var framer = ScannerFramer()
/// framer.push(Array("A-10042\r\nBEGIN:VCARD\r\nFN:Anna".utf8))  // [.record(Array("A-10042".utf8))]
/// framer.finish()                                                // [.dropped(reason: "vcard cut off", bytes: 20)]
/// ```
public struct ScannerFramer: Sendable {
    /// The longest record kept, in bytes.
    public let maxRecordBytes: Int

    private enum Mode: Sendable {
        /// Between records, or reading a one-line record.
        case lines
        /// Inside a vCard that still fits.
        case vcard
        /// Inside a vCard that grew too long: discarding up to `END:VCARD`.
        case vcardOverflow
    }

    private var mode = Mode.lines
    /// The stored bytes of the current line: all of it while `lineLength` is within the mode's capacity.
    private var line: [UInt8] = []
    /// The length of the current line so far, stored or not.
    private var lineLength = 0
    /// The vCard read so far.
    private var vcard: [UInt8] = []
    /// The size of the overflowing vCard so far.
    private var discarded = 0

    /// Longest line that can still be `BEGIN:VCARD`/`END:VCARD` with blanks around it; what is kept of lines
    /// while an over-long vCard is discarded.
    private static let markerCapacity = 64

    /// A framer that keeps records of up to `maxRecordBytes` bytes (8 KiB by default; at least 64).
    public init(maxRecordBytes: Int = 8192) {
        self.maxRecordBytes = max(maxRecordBytes, Self.markerCapacity)
    }

    /// Frames more bytes from the device.
    ///
    /// - Returns: The records completed and the records dropped by these bytes, in order.
    public mutating func push(_ bytes: some Collection<UInt8>) -> [ScannerFrame] {
        var frames: [ScannerFrame] = []
        let done: Void? = bytes.withContiguousStorageIfAvailable { push($0, into: &frames) }
        if done == nil {
            Array(bytes).withUnsafeBufferPointer { push($0, into: &frames) }
        }
        return frames
    }

    private mutating func push(_ bytes: UnsafeBufferPointer<UInt8>, into frames: inout [ScannerFrame]) {
        var i = 0
        let n = bytes.count
        while i < n {
            var end = i
            while end < n && bytes[end] != 0x0D && bytes[end] != 0x0A { end += 1 }
            if end > i { append(UnsafeBufferPointer(rebasing: bytes[i..<end])) }
            if end < n { endLine(into: &frames) }
            i = end + 1
        }
    }

    /// Ends the stream (end of file, device unplugged, silence): a record without its line end, or a vCard
    /// without its `END:VCARD`, is dropped with a reason. The framer is then empty and can be reused.
    ///
    /// A last line that is `END:VCARD` completes its vCard even without a line end.
    ///
    /// - Parameter acceptingUnterminatedLine: A one-line record without its line end is a complete record (a
    ///   scanner set up without a suffix, followed by silence), not a cut-off one. A vCard still needs its end.
    public mutating func finish(acceptingUnterminatedLine: Bool = false) -> [ScannerFrame] {
        var frames: [ScannerFrame] = []
        switch mode {
        case .lines:
            if lineLength > maxRecordBytes {
                frames.append(.dropped(reason: lineTooLong, bytes: lineLength))
            } else if lineLength > 0 && !Self.isBlank(line) {
                if acceptingUnterminatedLine, !Self.isMarker(line, "BEGIN:VCARD") {
                    endLine(into: &frames)
                } else {
                    frames.append(.dropped(reason: "record cut off", bytes: lineLength))
                }
            }
        case .vcard:
            if lineLength > 0 && Self.isMarker(line, "END:VCARD") {
                endLine(into: &frames)
            } else {
                let size = lineLength > 0 ? vcard.count + 2 + lineLength : vcard.count
                frames.append(.dropped(reason: "vcard cut off", bytes: size))
            }
        case .vcardOverflow:
            let size = lineLength > 0 ? discarded + 2 + lineLength : discarded
            frames.append(.dropped(reason: vcardTooLong, bytes: size))
        }
        mode = .lines
        line.removeAll(keepingCapacity: true)
        lineLength = 0
        vcard.removeAll(keepingCapacity: true)
        discarded = 0
        return frames
    }

    /// Whether a vCard is open: its lines may come slowly, so the reader waits longer before giving up on it.
    public var isInsideVCard: Bool { mode != .lines }

    /// The bytes of storage the framer holds (for tests of its memory bound).
    var heldCapacity: Int { line.capacity + vcard.capacity }

    private var lineTooLong: String { "line longer than \(maxRecordBytes) bytes" }
    private var vcardTooLong: String { "vcard longer than \(maxRecordBytes) bytes" }

    /// Adds a run of bytes without line ends to the current line, storing only what may still be needed.
    private mutating func append(_ run: UnsafeBufferPointer<UInt8>) {
        lineLength += run.count
        switch mode {
        case .lines:
            // A line over the limit is dropped whole: nothing more of it is stored.
            if lineLength <= maxRecordBytes {
                line.append(contentsOf: run)
            } else {
                line.removeAll(keepingCapacity: true)
            }
        case .vcard:
            if vcard.count + 2 + lineLength <= maxRecordBytes {
                line.append(contentsOf: run)
            } else {
                // Too long: forget the vCard, keep only enough of this line to see whether it is END:VCARD.
                mode = .vcardOverflow
                discarded = vcard.count
                vcard.removeAll(keepingCapacity: true)
                if lineLength <= Self.markerCapacity {
                    line.append(contentsOf: run)
                } else {
                    line.removeAll(keepingCapacity: true)
                }
            }
        case .vcardOverflow:
            if lineLength <= Self.markerCapacity { line.append(contentsOf: run) }
        }
    }

    /// A copy of `bytes` in storage of its own, so that the framer's buffers stay uniquely referenced and are
    /// reused rather than reallocated.
    private static func copy(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBufferPointer { Array($0) }
    }

    private mutating func endLine(into frames: inout [ScannerFrame]) {
        defer {
            line.removeAll(keepingCapacity: true)
            lineLength = 0
        }
        guard lineLength > 0 else { return }
        switch mode {
        case .lines:
            if lineLength > maxRecordBytes {
                frames.append(.dropped(reason: lineTooLong, bytes: lineLength))
            } else if Self.isMarker(line, "BEGIN:VCARD") {
                mode = .vcard
                vcard.append(contentsOf: line)
            } else if !Self.isBlank(line) {
                frames.append(.record(Self.copy(line)))
            }
        case .vcard:
            if Self.isMarker(line, "BEGIN:VCARD") {
                frames.append(.dropped(reason: "vcard cut off", bytes: vcard.count))
                vcard.removeAll(keepingCapacity: true)
                vcard.append(contentsOf: line)
                return
            }
            vcard.append(0x0D)
            vcard.append(0x0A)
            vcard.append(contentsOf: line)
            if Self.isMarker(line, "END:VCARD") {
                frames.append(.record(Self.copy(vcard)))
                vcard.removeAll(keepingCapacity: true)
                mode = .lines
            }
        case .vcardOverflow:
            let isMarkerSized = lineLength <= Self.markerCapacity
            if isMarkerSized && Self.isMarker(line, "BEGIN:VCARD") {
                frames.append(.dropped(reason: vcardTooLong, bytes: discarded))
                discarded = 0
                vcard.append(contentsOf: line)
                mode = .vcard
                return
            }
            discarded += 2 + lineLength
            if isMarkerSized && Self.isMarker(line, "END:VCARD") {
                frames.append(.dropped(reason: vcardTooLong, bytes: discarded))
                discarded = 0
                mode = .lines
            }
        }
    }

    /// Only spaces and tabs.
    private static func isBlank(_ line: [UInt8]) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }

    /// Whether `line` is `marker`, ignoring ASCII case, blanks after it and a UTF-8 byte order mark before it.
    /// (A line starting with a blank continues the previous line of a vCard, so it is never a marker.)
    private static func isMarker(_ line: [UInt8], _ marker: StaticString) -> Bool {
        var start = line.startIndex
        var end = line.endIndex
        if end >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF { start += 3 }
        while end > start && (line[end - 1] == 0x20 || line[end - 1] == 0x09) { end -= 1 }
        let count = marker.utf8CodeUnitCount
        guard end - start == count else { return false }
        let expected = marker.utf8Start
        for k in 0..<count {
            guard CardText.lowercased(line[start + k]) == CardText.lowercased(expected[k]) else { return false }
        }
        return true
    }
}

/// Recognises double reads: a scanner that delivers the same payload again within the window (2 s by
/// default), for example because the badge stayed in front of it.
///
/// The window slides: a payload repeated every second for ten seconds is one scan. A few recent payloads are
/// remembered, so an interleaved double read (A, B, A) is caught too. Times are milliseconds of a monotonic
/// clock; a time earlier than a remembered one (a clock reset) forgets it.
///
/// ```swift
/// var filter = DuplicateScanFilter()
/// filter.isRepeat(payload, at: 10_000)  // false: a new scan
/// filter.isRepeat(payload, at: 11_999)  // true: a double read
/// ```
public struct DuplicateScanFilter: Sendable {
    /// How long, in milliseconds, a repeat counts as the same scan.
    public let window: Int64

    private struct Seen: Sendable {
        var payload: [UInt8]
        var at: Int64
    }

    private var recent: [Seen] = []
    private static let capacity = 16

    /// A filter treating a payload seen again less than `window` milliseconds later as a double read.
    public init(window: Int64 = 2000) {
        self.window = window
    }

    /// Whether `payload`, read at `milliseconds`, repeats one read less than ``window`` ms before (the last
    /// time it was seen, repeats included). Records the read either way.
    public mutating func isRepeat(_ payload: [UInt8], at milliseconds: Int64) -> Bool {
        recent.removeAll { seen in
            let (elapsed, overflow) = milliseconds.subtractingReportingOverflow(seen.at)
            return overflow || elapsed < 0 || elapsed >= window
        }
        if let index = recent.firstIndex(where: { $0.payload == payload }) {
            recent[index].at = milliseconds
            return true
        }
        if recent.count == Self.capacity { recent.removeFirst() }
        recent.append(Seen(payload: payload, at: milliseconds))
        return false
    }
}
