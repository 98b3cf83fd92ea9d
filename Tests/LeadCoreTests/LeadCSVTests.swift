import LeadCore
import Testing

private let names = FormSpec.default.fields.map(\.name)

private func trickyLead() -> Lead {
    Lead(
        id: "0193a5c1-7e2a-7b3c-9d4e-5f6a7b8c9d0e",
        event: "expo, 2026",
        kiosk: "booth \"A1\"",
        capturedAt: Timestamp(rfc3339: "2026-11-22T12:58:41.5+03:00")!,
        channel: .keyboard,
        fields: [
            "first_name": "Анна",
            "last_name": "=HYPERLINK(\"http://evil\",\"x\")",
            "email": "anna@example.ru",
            "phone": "+79161234567",
            "company": "@SUM(1)",
            "job_title": "-2+3",
            "interest": "\t=1",
        ],
        consent: Consent(given: true, textSHA256: "", language: "", at: Timestamp(rfc3339: "2026-11-22T09:58:41.5Z")!),
        rating: .warm,
        notes: "Line one, \"quoted\"\nline two 🎉\r\nline three; 'x'",
        duplicateOf: "0193a5c0-0000-7000-8000-000000000001"
    )
}

private func rows(_ bytes: [UInt8]) throws -> [[String]] {
    var reader = CSVReader(bytes: bytes)
    return try reader.readAll()
}

private func export(_ leads: [Lead], excel: Bool = false) -> [UInt8] {
    var out: [UInt8] = []
    LeadCSV.appendHeader(fieldNames: names, excel: excel, to: &out)
    for lead in leads { LeadCSV.appendRow(lead, fieldNames: names, excel: excel, to: &out) }
    return out
}

private func decodeError(header: [String], row: [String]) -> LeadDecodingError? {
    do {
        _ = try LeadCSV.decodeRow(header: header, row: row)
        return nil
    } catch {
        return error
    }
}

@Test func headerFollowsDesignColumns() {
    #expect(
        LeadCSV.header(fieldNames: names) == [
            "lead_id", "captured_at", "event", "kiosk", "channel", "first_name", "last_name", "email", "phone",
            "company", "job_title", "interest", "consent", "rating", "notes", "duplicate_of",
        ]
    )
}

@Test func leadRoundTripsThroughCSV() throws {
    let lead = trickyLead()
    var plain = Lead(
        event: "e",
        kiosk: "k",
        capturedAt: Timestamp(milliseconds: 1),
        channel: .scanner,
        fields: ["email": "x@y.z"]
    )
    plain.notes = ""
    for excel in [false, true] {
        let table = try rows(export([lead, plain], excel: excel))
        #expect(table.count == 3)
        #expect(table[0] == LeadCSV.header(fieldNames: names))
        #expect(try LeadCSV.decodeRow(header: table[0], row: table[1]) == lead)
        #expect(try LeadCSV.decodeRow(header: table[0], row: table[2]) == plain)
    }
}

@Test func cellsAreNeutralizedButPhonesAreNot() throws {
    let table = try rows(export([trickyLead()]))
    let row = Dictionary(uniqueKeysWithValues: zip(table[0], table[1]))
    #expect(row["last_name"] == "'=HYPERLINK(\"http://evil\",\"x\")")
    #expect(row["company"] == "'@SUM(1)")
    #expect(row["job_title"] == "'-2+3")
    #expect(row["interest"] == "'\t=1")
    #expect(row["phone"] == "+79161234567")
    #expect(row["captured_at"] == "2026-11-22T09:58:41.500Z")
    #expect(row["consent"] == "yes")
    #expect(row["rating"] == "warm")
    #expect(row["event"] == "expo, 2026")
}

@Test func rowFormatting() {
    let lead = Lead(
        id: "0193a5c1-7e2a-7b3c-9d4e-5f6a7b8c9d0e",
        event: "ev",
        kiosk: "k1",
        capturedAt: Timestamp(milliseconds: 0),
        channel: .serialTerminal,
        fields: ["first_name": "A", "email": "a@b.c"],
        notes: "n"
    )
    var out: [UInt8] = []
    LeadCSV.appendRow(lead, fieldNames: ["first_name", "email", "phone"], excel: false, to: &out)
    #expect(
        String(decoding: out, as: UTF8.self)
            == "0193a5c1-7e2a-7b3c-9d4e-5f6a7b8c9d0e,1970-01-01T00:00:00.000Z,ev,k1,serial-terminal,A,a@b.c,,no,,n,\n"
    )
}

@Test func excelExportStartsWithBOMAndEndsLinesWithCRLF() {
    let out = export([trickyLead()], excel: true)
    #expect(Array(out.prefix(3)) == [0xEF, 0xBB, 0xBF])
    #expect(out.suffix(2) == [0x0D, 0x0A])
    // Header, row (cut once more by the CRLF inside the quoted notes) and the empty tail after the last CRLF.
    let text = String(decoding: out.dropFirst(3), as: UTF8.self)
    #expect(text.hasPrefix("lead_id,captured_at,event,kiosk,channel,first_name,"))
    #expect(text.split(separator: "\r\n", omittingEmptySubsequences: false).count == 4)
}

@Test func plainExportHasNoBOM() {
    let out = export([trickyLead()])
    #expect(Array(out.prefix(7)) == Array("lead_id".utf8))
    #expect(out.last == 0x0A)
}

@Test func decodeRowTurnsUnknownColumnsIntoFieldsAndDropsEmptyCells() throws {
    let header = ["lead_id", "captured_at", "channel", "email", "badge_color", "phone", "consent", "rating"]
    let row = [
        "0193a5c1-7e2a-7b3c-9d4e-5f6a7b8c9d0e", "2026-11-22T09:58:41Z", "import", "a@b.c", "'=red", "", "no", "none",
    ]
    let lead = try LeadCSV.decodeRow(header: header, row: row)
    #expect(lead.fields == ["email": "a@b.c", "badge_color": "=red"])
    #expect(lead.consent == nil)
    #expect(lead.rating == nil)
    #expect(lead.event == "")
    #expect(lead.revision == 1)
    #expect(lead.channel == .import)
}

@Test func decodeRowConsentYesIsGivenAtCaptureTime() throws {
    let header = ["lead_id", "captured_at", "channel", "consent"]
    let lead = try LeadCSV.decodeRow(
        header: header,
        row: ["0193a5c1-7e2a-7b3c-9d4e-5f6a7b8c9d0e", "2026-11-22T09:58:41Z", "staff", "yes"]
    )
    #expect(lead.consent == Consent(given: true, textSHA256: "", language: "", at: lead.capturedAt))
}

@Test func decodeRowNamesTheWrongColumn() {
    let header = ["lead_id", "captured_at", "channel", "consent", "rating", "duplicate_of"]
    let good = ["0193a5c1-7e2a-7b3c-9d4e-5f6a7b8c9d0e", "2026-11-22T09:58:41Z", "keyboard", "yes", "hot", ""]
    #expect(decodeError(header: header, row: good) == nil)
    func with(_ index: Int, _ value: String) -> [String] {
        var row = good
        row[index] = value
        return row
    }
    #expect(decodeError(header: header, row: with(0, "nope"))?.key == "lead_id")
    #expect(decodeError(header: header, row: with(1, "22.11.2026"))?.key == "captured_at")
    #expect(decodeError(header: header, row: with(2, "fax"))?.key == "channel")
    #expect(decodeError(header: header, row: with(3, "maybe"))?.key == "consent")
    #expect(decodeError(header: header, row: with(4, "tepid"))?.key == "rating")
    #expect(decodeError(header: header, row: with(5, "x"))?.key == "duplicate_of")
    #expect(decodeError(header: Array(header.dropFirst()), row: Array(good.dropFirst()))?.key == "lead_id")
    let short = decodeError(header: header, row: Array(good.dropLast()))
    #expect(short?.description == "the row has 5 cells but the header has 6 columns")
}
