import LeadCore
import Testing

private func csv(_ rows: [[String]], excel: Bool = false) -> [UInt8] {
    var w = CSVWriter(excel: excel)
    for row in rows { w.writeRow(row) }
    return w.bytes
}

private func read(_ bytes: [UInt8]) throws -> [[String]] {
    var reader = CSVReader(bytes: bytes)
    return try reader.readAll()
}

private func read(_ text: String) throws -> [[String]] { try read(Array(text.utf8)) }

/// Reads `bytes` through the streaming initialiser, `size` bytes per chunk.
private func readChunked(_ bytes: [UInt8], size: Int) throws -> [[String]] {
    var offset = 0
    var reader = CSVReader(chunks: {
        guard offset < bytes.count else { return nil }
        let end = min(offset + size, bytes.count)
        defer { offset = end }
        return Array(bytes[offset..<end])
    })
    return try reader.readAll()
}

private func readError(_ bytes: [UInt8]) -> CSVError? {
    do {
        _ = try read(bytes)
        return nil
    } catch {
        return error as? CSVError
    }
}

private let tricky: [[String]] = [
    ["plain", "with,comma", "with \"quotes\"", "multi\nline", "crlf\r\nline", "cr\ronly", ""],
    ["Анна", "🎉👍🏽", "\"", ",", "\n", " spaced ", "end"],
    ["", "", "", "", "", "", ""],
]

@Test func writerQuotesOnlyWhenNeeded() {
    let out = csv([["a", "b,c", "say \"hi\"", "x\ny", "r\rs", ""]])
    #expect(String(decoding: out, as: UTF8.self) == "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\",\"r\rs\",\n")
}

@Test func plainOutputHasNoBOMAndLFLineEnds() {
    let out = csv([["a", "b"], ["c", "d"]])
    #expect(String(decoding: out, as: UTF8.self) == "a,b\nc,d\n")
}

@Test func excelOutputStartsWithBOMAndUsesCRLF() {
    let out = csv([["имя", "b"], ["c", "d"]], excel: true)
    #expect(Array(out.prefix(3)) == [0xEF, 0xBB, 0xBF])
    #expect(String(decoding: out.dropFirst(3), as: UTF8.self) == "имя,b\r\nc,d\r\n")
}

@Test func writerAndReaderRoundTrip() throws {
    #expect(try read(csv(tricky)) == tricky)
    #expect(try read(csv(tricky, excel: true)) == tricky)
}

@Test func readerHandlesQuotedNewlinesDoubledQuotesAndLineEnds() throws {
    let text = "\u{FEFF}h1,h2\r\n\"a\nb\",\"c\"\"d\"\r\ne,f\ng,\"\"\rlast,row"
    #expect(try read(text) == [["h1", "h2"], ["a\nb", "c\"d"], ["e", "f"], ["g", ""], ["last", "row"]])
}

@Test func readerSkipsBlankLinesAndKeepsEmptyTrailingFields() throws {
    #expect(try read("a,\n\n\r\nb,c\n,\n") == [["a", ""], ["b", "c"], ["", ""]])
    #expect(try read("x") == [["x"]])
    #expect(try read("x,") == [["x", ""]])
    #expect(try read("") == [])
    #expect(try read([0xEF, 0xBB, 0xBF]) == [])
    #expect(try read("a\"b,c") == [["a\"b", "c"]])
}

@Test func streamingReaderMatchesWholeInput() throws {
    let bytes = csv(tricky, excel: true) + Array("\"trailing\"\r".utf8)
    let whole = try read(bytes)
    #expect(whole.count == 4)
    for size in [1, 2, 3, 7, 64, 100_000] {
        #expect(try readChunked(bytes, size: size) == whole, "chunk size \(size)")
    }
}

@Test func streamingReaderSurvivesEmptyChunksAndReportsPosition() throws {
    var chunks: [[UInt8]?] = [[], Array("a,b\n".utf8), [], Array("\"c\nd\",e\nf".utf8), [], nil]
    var reader = CSVReader(chunks: { chunks.removeFirst() })
    #expect(try reader.nextRecord() == ["a", "b"])
    #expect(reader.recordNumber == 1)
    #expect(reader.lineNumber == 2)
    #expect(try reader.nextRecord() == ["c\nd", "e"])
    #expect(reader.lineNumber == 4)
    #expect(try reader.nextRecord() == ["f"])
    #expect(try reader.nextRecord() == nil)
    #expect(try reader.nextRecord() == nil)
}

@Test func chunkSourceErrorsPropagate() {
    struct Unplugged: Error {}
    var reader = CSVReader(chunks: { throw Unplugged() })
    #expect(throws: Unplugged.self) { try reader.nextRecord() }
}

@Test func unterminatedQuoteNamesRecordAndLine() {
    let error = readError(Array("h1,h2\na,b\nc,\"open\nstill open\n".utf8))
    #expect(error?.reason == .unterminatedQuote)
    #expect(error?.record == 3)
    #expect(error?.line == 3)
    #expect(error?.description == "CSV record 3 (line 3): unterminated quoted field")
}

@Test func invalidUTF8NamesRecordAndLine() {
    let error = readError(Array("h\n\"multi\nline\"\nok,".utf8) + [0xC3, 0x28] + [0x0A])
    #expect(error?.reason == .invalidUTF8)
    #expect(error?.record == 3)
    #expect(error?.line == 4)
    let quoted = readError(Array("h\n\"".utf8) + [0xED, 0xA0, 0x80] + Array("\"\n".utf8))
    #expect(quoted?.reason == .invalidUTF8)
    #expect(quoted?.record == 2)
}

@Test func garbageAfterClosingQuoteIsAnError() {
    let error = readError(Array("a\n\"b\"c,d\n".utf8))
    #expect(error?.reason == .characterAfterQuote)
    #expect(error?.record == 2)
    #expect(error?.line == 2)
}

@Test func neutralizesFormulaCells() {
    #expect(CSVWriter.neutralize("=HYPERLINK(\"http://evil\",\"x\")") == "'=HYPERLINK(\"http://evil\",\"x\")")
    #expect(CSVWriter.neutralize("@SUM(1)") == "'@SUM(1)")
    #expect(CSVWriter.neutralize("-2+3") == "'-2+3")
    #expect(CSVWriter.neutralize("+2+3") == "'+2+3")
    #expect(CSVWriter.neutralize("\t=1") == "'\t=1")
    #expect(CSVWriter.neutralize("\r=1") == "'\r=1")
    #expect(CSVWriter.neutralize("'=1") == "''=1")
}

@Test func plainPhoneNumbersAreNotNeutralized() {
    #expect(CSVWriter.neutralize("+79161234567") == "+79161234567")
    #expect(CSVWriter.neutralize("+123456") == "+123456")
    #expect(CSVWriter.neutralize("+123456789012345") == "+123456789012345")
    #expect(CSVWriter.neutralize("+12345") == "'+12345")
    #expect(CSVWriter.neutralize("+1234567890123456") == "'+1234567890123456")
    #expect(CSVWriter.neutralize("+7 916 123-45-67") == "'+7 916 123-45-67")
    #expect(CSVWriter.neutralize("+7916123456٧") == "'+7916123456٧")
}

@Test func harmlessCellsAreUnchanged() {
    for cell in ["", "Анна", "anna@example.ru", "1+1", "a=b", "'quoted'", "'", "''", " =1", "79161234567"] {
        #expect(CSVWriter.neutralize(cell) == cell)
    }
}

@Test func unneutralizeInvertsNeutralize() {
    let cells = [
        "=1", "+1", "-1", "@a", "\t=1", "\r=1", "'=1", "''+1", "'", "''", "'a", "+79161234567", "'+79161234567",
        "plain", "", "Анна", "'\t",
    ]
    for cell in cells {
        #expect(CSVWriter.unneutralize(CSVWriter.neutralize(cell)) == cell, "\(cell.debugDescription)")
    }
}
