import LeadCore
import Testing

private func reason(_ text: String) -> CardDecodeError.Reason? {
    if case .failure(let error) = MECardParser.parse(text) { return error.reason }
    return nil
}

@Test func mecardWithAllFields() throws {
    let c = try MECardParser.parse(
        "MECARD:N:Petrova,Anna;TEL:+79161234567;EMAIL:anna@example.ru;ORG:ООО Ромашка;TITLE:CTO;NOTE:Call back;;"
    ).get()
    #expect(
        c.fields == [
            "last_name": "Petrova", "first_name": "Anna", "phone": "+79161234567", "email": "anna@example.ru",
            "company": "ООО Ромашка", "job_title": "CTO",
        ]
    )
    #expect(c.notes == "Call back")
    #expect(c.badgeID == nil)
}

@Test func mecardEscapes() throws {
    let c = try MECardParser.parse(
        #"MECARD:N:O\;Brien\,Jr,Sean;ORG:A\:B\\C;NOTE:ratio 1\:2\, approx\; ok;EMAIL:sean@example.ie;;"#
    ).get()
    #expect(c.fields["last_name"] == "O;Brien,Jr")
    #expect(c.fields["first_name"] == "Sean")
    #expect(c.fields["company"] == #"A:B\C"#)
    #expect(c.notes == "ratio 1:2, approx; ok")
    #expect(c.fields["email"] == "sean@example.ie")
}

@Test func mecardNameWithoutCommaIsAFullName() throws {
    let c = try MECardParser.parse("MECARD:N:Anna Petrova;TEL:+79161234567;;").get()
    #expect(c.fields["first_name"] == "Anna")
    #expect(c.fields["last_name"] == "Petrova")
}

@Test func mecardFirstTelAndEmailWinAndNotesAccumulate() throws {
    let c = try MECardParser.parse(
        "mecard:TEL:+1 555 0100;TEL:+1 555 0199;EMAIL:a@example.com;EMAIL:b@example.com;NOTE:one;NOTE:two;;"
    ).get()
    #expect(c.fields == ["phone": "+1 555 0100", "email": "a@example.com"])
    #expect(c.notes == "one\ntwo")
}

@Test func mecardIgnoresOtherFieldsAndToleratesMissingTerminator() throws {
    let c = try MECardParser.parse(
        "MECARD:N:Owen,Sean;SOUND:owen,sean;TEL-AV:+1;ADR:,,76 9th Avenue,New York,NY,10011,USA;URL:http\\://x;"
            + "BDAY:19760101;NICKNAME:so;EMAIL:sean@example.com"
    ).get()
    #expect(c.fields == ["last_name": "Owen", "first_name": "Sean", "email": "sean@example.com"])
}

@Test func mecardBadInput() {
    #expect(reason("MEBKM:TITLE:x;URL:http\\://x;;") == .malformed)
    #expect(reason("MECARD:;;") == .noUsableFields)
    #expect(reason("MECARD:NOTE:only a note;URL:x;;") == .noUsableFields)
    #expect(reason("MECARD:N:\u{1B}\u{7},\u{0};;") == .noUsableFields)
    #expect(reason("MECARD:garbage without colons;;;;") == .noUsableFields)
    #expect(reason("MECARD:" + String(repeating: "X:1;", count: 1001) + "N:A,B;;") == .tooManyProperties)
    #expect(reason("MECARD:N:A,B;NOTE:" + String(repeating: "x", count: 8200) + ";;") == .tooLong)
    #expect(reason("MECARD:N:A,B;TEL:\\") == nil, "a trailing lone backslash is harmless")
}
