import LeadCore
import Testing

private func vcard(_ lead: Lead) -> [UInt8] {
    var out: [UInt8] = []
    VCardWriter.append(lead, to: &out)
    return out
}

/// Physical lines (without CRLF); fails the test on a bare CR or LF.
private func physicalLines(_ bytes: [UInt8]) -> [[UInt8]] {
    var lines: [[UInt8]] = []
    var current: [UInt8] = []
    var i = 0
    while i < bytes.count {
        if bytes[i] == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A {
            lines.append(current)
            current = []
            i += 2
            continue
        }
        #expect(bytes[i] != 0x0D && bytes[i] != 0x0A, "bare line break at byte \(i)")
        current.append(bytes[i])
        i += 1
    }
    #expect(current.isEmpty, "output must end with CRLF")
    return lines
}

/// Logical lines: RFC 6350 §3.2 unfolding (a line starting with a space continues the previous one).
private func unfolded(_ bytes: [UInt8]) -> [String] {
    var logical: [[UInt8]] = []
    for line in physicalLines(bytes) {
        if line.first == 0x20, !logical.isEmpty {
            logical[logical.count - 1] += line.dropFirst()
        } else {
            logical.append(line)
        }
    }
    return logical.map { String(decoding: $0, as: UTF8.self) }
}

private let id = "0193a5c1-7e2a-7b3c-9d4e-5f6a7b8c9d0e"

private func lead(fields: [String: String], notes: String = "", rating: Rating? = nil) -> Lead {
    Lead(
        id: id,
        event: "e",
        kiosk: "k",
        capturedAt: Timestamp(rfc3339: "2026-11-22T09:58:41.123Z")!,
        channel: .keyboard,
        fields: fields,
        rating: rating,
        notes: notes
    )
}

@Test func writesVCard4WithContactProperties() {
    let card = lead(
        fields: [
            "first_name": "Анна", "last_name": "Петрова", "email": "anna@example.ru", "phone": "+79161234567",
            "company": "ООО Ромашка", "job_title": "CTO", "interest": "pricing",
        ],
        notes: "wants a demo",
        rating: .hot
    )
    #expect(
        unfolded(vcard(card)) == [
            "BEGIN:VCARD",
            "VERSION:4.0",
            "FN:Анна Петрова",
            "N:Петрова;Анна;;;",
            "EMAIL:anna@example.ru",
            "TEL;VALUE=uri:tel:+79161234567",
            "ORG:ООО Ромашка",
            "TITLE:CTO",
            "NOTE:Rating: hot\\nwants a demo",
            "UID:urn:uuid:\(id)",
            "REV:20261122T095841Z",
            "END:VCARD",
        ]
    )
}

@Test func escapesTextValues() {
    let card = lead(
        fields: ["first_name": "a,b", "last_name": "c;d", "company": "back\\slash"],
        notes: "one\ntwo\r\nthree\rfour\u{7}"
    )
    let lines = unfolded(vcard(card))
    #expect(lines.contains("FN:a\\,b c\\;d"))
    #expect(lines.contains("N:c\\;d;a\\,b;;;"))
    #expect(lines.contains("ORG:back\\\\slash"))
    #expect(lines.contains("NOTE:one\\ntwo\\nthree\\nfour"))
}

@Test func fallsBackForNameAndNonE164Phones() {
    let lines = unfolded(vcard(lead(fields: ["company": "Acme", "phone": "8 (916) 123-45-67"])))
    #expect(lines.contains("FN:Acme"))
    #expect(lines.contains("N:;;;;"))
    #expect(lines.contains("TEL;VALUE=text:8 (916) 123-45-67"))
    #expect(!lines.contains { $0.hasPrefix("EMAIL") || $0.hasPrefix("NOTE") || $0.hasPrefix("TITLE") })
    #expect(unfolded(vcard(lead(fields: [:]))).contains("FN:\(id)"))
}

@Test func foldsLongLinesAt75OctetsWithoutSplittingCharacters() {
    // Mixed 1-, 2-, 3- and 4-byte characters so that every cut offset gets exercised.
    let pieces = ["a", "Ж", "€", "🎉", "👍🏽", "ё", ", ", ";"]
    for shift in 0..<8 {
        var notes = String(repeating: "x", count: shift)
        for i in 0..<300 { notes += pieces[(i * 7 + shift) % pieces.count] }
        notes += "end"
        let bytes = vcard(lead(fields: ["first_name": notes], notes: notes))
        let lines = physicalLines(bytes)
        #expect(lines.contains { $0.first == 0x20 }, "something must have been folded")
        for line in lines {
            #expect(line.count <= 75)
            #expect(String(validating: line, as: UTF8.self) != nil, "a fold split a UTF-8 sequence")
        }
        let logical = unfolded(bytes)
        let escaped = notes.replacing(",", with: "\\,").replacing(";", with: "\\;")
        #expect(logical.contains("NOTE:" + escaped))
        #expect(logical.contains("FN:" + escaped))
    }
}

@Test func appendsOneCardPerLead() {
    var out: [UInt8] = []
    VCardWriter.append(lead(fields: ["first_name": "A"]), to: &out)
    VCardWriter.append(lead(fields: ["first_name": "B"]), to: &out)
    let lines = unfolded(out)
    #expect(lines.filter { $0 == "BEGIN:VCARD" }.count == 2)
    #expect(lines.filter { $0 == "END:VCARD" }.count == 2)
    #expect(lines.last == "END:VCARD")
}
