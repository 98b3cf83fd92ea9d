import Testing

@testable import LeadCore

private func reason(_ bytes: [UInt8], _ format: CardFormat = .auto) -> CardDecodeError.Reason? {
    if case .failure(let error) = CardDecoder.decode(bytes, format: format) { return error.reason }
    return nil
}

private func reason(_ text: String, _ format: CardFormat = .auto) -> CardDecodeError.Reason? {
    reason(Array(text.utf8), format)
}

@Test func autoDetectsEachFormat() {
    #expect(CardDecoder.detectFormat("  begin:vcard\r\nFN:A\r\nEND:VCARD") == .vcard)
    #expect(CardDecoder.detectFormat("MECARD:N:A,B;;") == .mecard)
    #expect(CardDecoder.detectFormat("mecard:N:A,B;;") == .mecard)
    #expect(CardDecoder.detectFormat(#"{"email":"a@example.com"}"#) == .json)
    #expect(CardDecoder.detectFormat("email=a@example.com") == .kv)
    #expect(CardDecoder.detectFormat("A-10042") == .badge)
}

@Test func autoDecodesEachFormat() throws {
    let vcard = try CardDecoder.decode("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Petrova;Anna\r\nEND:VCARD\r\n").get()
    #expect(vcard.fields == ["last_name": "Petrova", "first_name": "Anna"])
    let mecard = try CardDecoder.decode("MECARD:N:Petrova,Anna;EMAIL:anna@example.ru;;").get()
    #expect(mecard.fields["email"] == "anna@example.ru")
    let json = try CardDecoder.decode(#"{"email":"anna@example.ru"}"#).get()
    #expect(json.fields == ["email": "anna@example.ru"])
    let kv = try CardDecoder.decode("email=anna@example.ru;company=Romashka").get()
    #expect(kv.fields == ["email": "anna@example.ru", "company": "Romashka"])
    let badge = try CardDecoder.decode(Array("A-10042".utf8)).get()
    #expect(badge == DecodedCard(badgeID: "A-10042"))
}

@Test func explicitFormatIsNotDetected() throws {
    #expect(reason("email=anna@example.ru", .badge) == .malformed)
    #expect(reason("A-10042", .json) == .malformed)
    #expect(reason("A-10042", .vcard) == .malformed)
    #expect(reason("A-10042", .mecard) == .malformed)
    #expect(try CardDecoder.decode("A-10042", format: .badge).get().badgeID == "A-10042")
    #expect(try CardDecoder.decode("A=1;tel=5", format: .kv).get().fields["phone"] == "5")
}

@Test func byteOrderMarkAndSurroundingBlanksAreIgnored() throws {
    let card = try CardDecoder.decode([0xEF, 0xBB, 0xBF] + Array(" \tMECARD:N:A,B;;\r\n".utf8)).get()
    #expect(card.fields == ["last_name": "A", "first_name": "B"])
}

@Test func invalidUTF8IsRejected() {
    #expect(reason([0x41, 0xC3, 0x28]) == .invalidUTF8, "truncated sequence")
    #expect(reason([0xC0, 0xAF]) == .invalidUTF8, "overlong")
    #expect(reason([0xED, 0xA0, 0x80]) == .invalidUTF8, "encoded surrogate")
    #expect(reason([0xF4, 0x90, 0x80, 0x80]) == .invalidUTF8, "above U+10FFFF")
    #expect(reason(Array("MECARD:N:Petrova,Anna;".utf8) + [0xFF] + Array(";".utf8)) == .invalidUTF8)
}

@Test func nulAndControlGarbageIsBinary() {
    #expect(reason(Array("A-1".utf8) + [0]) == .binary)
    #expect(reason([0, 0, 0, 0]) == .binary)
    #expect(reason([0x1B, 0x5B, 0x32, 0x4A, 0x07, 0x07, 0x08, 0x08, 0x41]) == .binary)
    #expect(reason(Array("\u{85}\u{85}\u{85}A".utf8)) == .binary, "C1 controls")
    #expect(reason("MECARD:N:Petrova,Anna\u{1B}[1m;;") == nil, "a stray escape is left to the validator")
}

@Test func emptyAndBlankPayloads() {
    #expect(reason([]) == .empty)
    #expect(reason(" \t\r\n ") == .empty)
}

@Test func overEightKilobytesIsTooLongBeforeAnythingElse() {
    #expect(reason([UInt8](repeating: 0x41, count: CardDecoder.maximumPayloadBytes)) == .malformed, "long badge")
    #expect(reason([UInt8](repeating: 0xFF, count: CardDecoder.maximumPayloadBytes + 1)) == .tooLong)
    #expect(reason([UInt8](repeating: 0x41, count: 1 << 20)) == .tooLong, "a 1 MB line")
    let huge = "BEGIN:VCARD\r\n" + String(repeating: "X-P:1\r\n", count: 10_000) + "END:VCARD\r\n"
    #expect(reason(huge) == .tooLong, "a vCard with 10 000 properties")
}

@Test func cardsWithoutUsableFieldsAreRejected() {
    #expect(reason("BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:hello\r\nEND:VCARD\r\n") == .noUsableFields)
    #expect(reason(#"{"colour":"red"}"#) == .noUsableFields)
    #expect(reason("colour=red") == .noUsableFields)
}

@Test func errorsNeverQuoteThePayload() {
    let payloads = [
        "BEGIN:VCARD\r\nNOTE:secret-anna@example.ru\r\n", #"{"email":"secret-anna@example.ru""#,
        "secret-anna@example.ru", "MECARD:NOTE:secret-anna@example.ru;;",
    ]
    for payload in payloads {
        guard case .failure(let error) = CardDecoder.decode(payload) else {
            Issue.record("expected a failure")
            continue
        }
        #expect(!error.description.contains("secret"), "\(error)")
        #expect(!error.description.isEmpty)
    }
}

@Test func textAndBytesDecodeAlike() {
    let samples = [
        "MECARD:N:Petrova,Anna;;", "A-1", "email=a@example.com", #"{"tel":"+7 916"}"#, "", "Анна",
        "BEGIN:VCARD\nFN:A B\nEND:VCARD",
    ]
    for sample in samples {
        let fromText = CardDecoder.decode(sample)
        let fromBytes = CardDecoder.decode(Array(sample.utf8))
        #expect(fromText == fromBytes)
    }
}

@Test func contentCheckAgreesWithTheSanitizer() {
    let samples = [
        "", " ", "a", "\u{200B}", "\u{00A0}\u{2028}\u{3000}", "\u{FEFF}\u{202E}", "\u{1B}[", "\u{1B}", "\u{7}\u{0}",
        "\u{85}", "\u{301}", "\u{E0041}", "\u{115F}\u{3164}", "\u{200D}", "\u{FFFE}", "Анна", "\t\r\n", "\u{AD}",
    ]
    for sample in samples {
        #expect(
            CardFields.hasContent(sample) == !TextSanitizer.clean(sample, multiline: false).isEmpty,
            "\(sample.unicodeScalars.map { String($0.value, radix: 16) })"
        )
    }
}
