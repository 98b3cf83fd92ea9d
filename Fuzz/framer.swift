// libFuzzer target: ScannerFramer. The first byte picks the record limit (64…1084 bytes) and the second the
// chunk size the rest is pushed in; the frames must not depend on the chunking, every record must fit the
// limit, every drop must have a reason, and the framer's storage must stay bounded. An even chunk size ends the
// stream as silence does (an unterminated line is a record), an odd one as an unplug.
// Built by Fuzz/run.sh together with Sources/LeadCore/*.swift (one module, so no import).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 2 else { return 0 }
    let input = UnsafeBufferPointer(start: data, count: size)
    let limit = 64 + Int(input[0]) * 4
    let chunk = Int(input[1]) + 1
    let stream = input[2...]
    let silence = chunk % 2 == 0

    var whole = ScannerFramer(maxRecordBytes: limit)
    let expected = whole.push(stream) + whole.finish(acceptingUnterminatedLine: silence)

    var chunked = ScannerFramer(maxRecordBytes: limit)
    var frames: [ScannerFrame] = []
    var start = stream.startIndex
    while start < stream.endIndex {
        let end = min(start + chunk, stream.endIndex)
        frames += chunked.push(stream[start..<end])
        precondition(chunked.heldCapacity <= 4 * limit + 256, "framer storage not bounded")
        start = end
    }
    frames += chunked.finish(acceptingUnterminatedLine: silence)
    precondition(frames == expected, "frames depend on how the bytes were chunked")

    var kept = 0
    for frame in frames {
        switch frame {
        case .record(let record):
            precondition(!record.isEmpty && record.count <= limit, "record size outside 1…limit")
            kept += record.count
            _ = CardDecoder.decode(record)
        case .dropped(let reason, let bytes):
            precondition(!reason.isEmpty && bytes > 0, "drop without reason or size")
        }
    }
    precondition(kept <= stream.count * 2, "records larger than the input")
    return 0
}
