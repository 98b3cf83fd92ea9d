import LeadCore
import Testing

/// Lines joined with CRLF, as phones and QR generators write vCards.
private func crlf(_ lines: String...) -> String {
    lines.joined(separator: "\r\n") + "\r\n"
}

private func card(_ text: String) throws -> DecodedCard {
    try VCardParser.parse(text).get()
}

private func reason(_ text: String) -> CardDecodeError.Reason? {
    if case .failure(let error) = VCardParser.parse(text) { return error.reason }
    return nil
}

/// Android contacts export: vCard 2.1, UTF-8 quoted-printable with soft line breaks inside multibyte
/// sequences and between lines, `TEL;CELL` after `TEL;HOME`, a multi-line note.
@Test func version21QuotedPrintableCyrillicWithSoftBreaks() throws {
    let text = crlf(
        "BEGIN:VCARD",
        "VERSION:2.1",
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=9F=D0=B5=D1=82=D1=80=D0=BE=D0=B2=D0=B0;=D0=90=D0=BD=D0=BD=",
        "=D0=B0;;;",
        "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=90=D0=BD=D0=BD=D0=B0 =D0=9F=D0=B5=D1=82=D1=80=D0=BE=D0=B2=",
        "=D0=B0",
        "TEL;HOME:+7 495 123-45-67",
        "TEL;CELL:+79161234567",
        "EMAIL;HOME:anna.petrova@example.ru",
        "ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=9E=D0=9E=D0=9E "
            + "=C2=AB=D0=A0=D0=BE=D0=BC=D0=B0=D1=88=D0=BA=D0=B0=C2=BB",
        "TITLE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=A2=D0=B5=D1=85=D0=BD=D0=B8=D1=87=D0=B5=D1=81=D0=BA=D0=B8=",
        "=D0=B9 =D0=B4=D0=B8=D1=80=D0=B5=D0=BA=D1=82=D0=BE=D1=80",
        "NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=9F=D0=B5=D1=80=D0=B5=D0=B7=D0=B2=D0=BE=D0=BD=D0=B8=D1=82=",
        "=D1=8C=0D=0A=D0=B2 =D0=BF=D0=BE=D0=BD=D0=B5=D0=B4=D0=B5=D0=BB=D1=8C=D0=BD=D0=B8=D0=BA",
        "END:VCARD"
    )
    let c = try card(text)
    #expect(c.fields["last_name"] == "Петрова")
    #expect(c.fields["first_name"] == "Анна")
    #expect(c.fields["phone"] == "+79161234567")
    #expect(c.fields["email"] == "anna.petrova@example.ru")
    #expect(c.fields["company"] == "ООО «Ромашка»")
    #expect(c.fields["job_title"] == "Технический директор")
    #expect(c.notes == "Перезвонить\nв понедельник")
    #expect(c.badgeID == nil)
}

/// Outlook and old Nokia exports: 2.1 with `CHARSET=Windows-1251` / `KOI8-R`, bare type parameters and a bare
/// `QUOTED-PRINTABLE` parameter.
@Test func version21LegacyCharsetsAndBareParameters() throws {
    let text = crlf(
        "BEGIN:VCARD",
        "VERSION:2.1",
        "N;CHARSET=Windows-1251;ENCODING=QUOTED-PRINTABLE:=CF=E5=F2=F0=EE=E2=E0;=C0=ED=ED=E0",
        "ORG;CHARSET=KOI8-R;QUOTED-PRINTABLE:=E9=D7=C1=CE=CF=D7 =E9 =EB",
        "TITLE;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Gesch=E4ftsf=FChrer",
        "TEL;WORK;VOICE:+7 495 123-45-67",
        "TEL;FAX:+7 495 123-45-68",
        "EMAIL;PREF;INTERNET:petrova@example.ru",
        "END:VCARD"
    )
    let c = try card(text)
    #expect(c.fields["last_name"] == "Петрова")
    #expect(c.fields["first_name"] == "Анна")
    #expect(c.fields["company"] == "Иванов И К")
    #expect(c.fields["job_title"] == "Geschäftsführer")
    #expect(c.fields["phone"] == "+7 495 123-45-67")
    #expect(c.fields["email"] == "petrova@example.ru")
}

/// iPhone export: vCard 3.0, folded lines (space and tab), property groups, `type=` parameters, escapes.
@Test func version30FoldedLinesGroupsAndEscapes() throws {
    let text = crlf(
        "BEGIN:VCARD",
        "VERSION:3.0",
        "PRODID:-//Apple Inc.//iPhone OS 17.5//EN",
        "N:Schmidt;Jürgen;;Dr.;",
        "FN:Dr. Jürgen Schmidt",
        "ORG:Müller & Söhne GmbH;Vertrieb;",
        "TITLE:Head of Sales\\, EMEA",
        "item1.EMAIL;type=INTERNET;type=pref:juergen.schmidt@mueller-soehne.exa",
        " mple",
        "item1.X-ABLabel:_$!<Other>!$_",
        "TEL;type=WORK;type=VOICE;type=pref:+49 30 1234567",
        "TEL;type=CELL;type=VOICE:+49 171 7654321",
        "NOTE:Met at booth B12. Interested in the enterprise plan\\; follow up i",
        "\tn Q3.\\nAsked for a price list.",
        "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsN",
        " DhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAA",
        "END:VCARD"
    )
    let c = try card(text)
    #expect(c.fields["last_name"] == "Schmidt")
    #expect(c.fields["first_name"] == "Jürgen")
    #expect(c.fields["company"] == "Müller & Söhne GmbH")
    #expect(c.fields["job_title"] == "Head of Sales, EMEA")
    #expect(c.fields["email"] == "juergen.schmidt@mueller-soehne.example")
    #expect(c.fields["phone"] == "+49 171 7654321")
    #expect(c.notes == "Met at booth B12. Interested in the enterprise plan; follow up in Q3.\nAsked for a price list.")
}

/// RFC 6350 §8 example: vCard 4.0 with `VALUE=uri` phones, quoted `TYPE` lists and `PREF=1`.
@Test func version40UriPhonesAndQuotedTypeLists() throws {
    let text = crlf(
        "BEGIN:VCARD",
        "VERSION:4.0",
        "FN:Simon Perreault",
        "N:Perreault;Simon;;;ing. jr,M.Sc.",
        "BDAY:--0203",
        "GENDER:M",
        "LANG;PREF=1:fr",
        "EMAIL;TYPE=work:simon.perreault@viagenie.ca",
        "TEL;VALUE=uri;TYPE=\"work,voice\";PREF=1:tel:+1-418-656-9254;ext=102",
        "TEL;VALUE=uri;TYPE=\"work,cell,voice,video,text\":tel:+1-418-262-6501",
        "ORG:Viagenie",
        "TITLE:Research Scientist",
        "URL;TYPE=home:http://nomis80.org",
        "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1",
        "END:VCARD"
    )
    let c = try card(text)
    #expect(
        c.fields == [
            "first_name": "Simon", "last_name": "Perreault", "email": "simon.perreault@viagenie.ca",
            "phone": "+1-418-262-6501", "company": "Viagenie", "job_title": "Research Scientist",
        ]
    )
    #expect(c.badgeID == nil, "UID is a contact id, not a badge id")
}

@Test func version40WorkPhoneUriDropsItsParameters() throws {
    let text = crlf(
        "BEGIN:VCARD",
        "VERSION:4.0",
        "FN:Simon Perreault",
        "TEL;VALUE=uri;TYPE=\"work,voice\";PREF=1:tel:+1-418-656-9254;ext=102",
        "END:VCARD"
    )
    #expect(try card(text).fields["phone"] == "+1-418-656-9254")
}

@Test func lowercaseNamesAndLFOrCROnlyLineEnds() throws {
    let lf = "begin:vcard\nversion:3.0\nfn:Anna Petrova\nemail:anna@example.ru\nend:vcard\n"
    let cr = lf.replacingCharacters("\n", with: "\r")
    for text in [lf, cr] {
        let c = try card(text)
        #expect(c.fields["first_name"] == "Anna")
        #expect(c.fields["last_name"] == "Petrova")
        #expect(c.fields["email"] == "anna@example.ru")
    }
}

@Test func fullNameIsSplitWhenNHasNoName() throws {
    let c = try card(crlf("BEGIN:VCARD", "VERSION:3.0", "N:;;;;", "FN:Anna Maria Petrova", "END:VCARD"))
    #expect(c.fields["first_name"] == "Anna Maria")
    #expect(c.fields["last_name"] == "Petrova")

    let single = try card(crlf("BEGIN:VCARD", "VERSION:3.0", "FN:Cher", "END:VCARD"))
    #expect(single.fields == ["first_name": "Cher"])
}

@Test func companyCardDoesNotTurnTheCompanyIntoAName() throws {
    let c = try card(crlf("BEGIN:VCARD", "VERSION:3.0", "N:;;;;", "FN:Acme Corp", "ORG:Acme Corp;", "END:VCARD"))
    #expect(c.fields == ["company": "Acme Corp"])
}

@Test func phonePreferenceIsCellThenWorkThenFirstThatIsNotAFax() throws {
    func phone(_ tels: String...) throws -> String? {
        let lines = ["BEGIN:VCARD", "VERSION:3.0", "FN:A B"] + tels + ["END:VCARD"]
        return try card(lines.joined(separator: "\r\n")).fields["phone"]
    }
    #expect(try phone("TEL;TYPE=HOME:1", "TEL;TYPE=WORK,FAX:2", "TEL;TYPE=WORK:3", "TEL;TYPE=CELL:4") == "4")
    #expect(try phone("TEL;TYPE=HOME:1", "TEL;TYPE=WORK:3", "TEL;TYPE=WORK:5") == "3")
    #expect(try phone("TEL;TYPE=FAX:2", "TEL;TYPE=HOME:1") == "1")
    #expect(try phone("TEL;TYPE=FAX:2") == "2")
    #expect(try phone("TEL:7", "TEL:8") == "7")
}

@Test func trailingBackslashKeepsTheLastComponent() throws {
    let c = try card(crlf("BEGIN:VCARD", "N:Petrova;Anna\\", "ORG:Acme\\", "END:VCARD"))
    #expect(c.fields["first_name"] == "Anna\\")
    #expect(c.fields["company"] == "Acme\\")
}

@Test func leadingBlankLinesAndIndentationBeforeBeginAreIgnored() throws {
    let c = try card("\r\n\r\n   BEGIN:VCARD\r\nFN:Anna Petrova\r\nEND:VCARD\r\n\r\n  ")
    #expect(c.fields["last_name"] == "Petrova")
}

@Test func escapesAreUndoneButOtherBackslashesStay() throws {
    let c = try card(
        crlf("BEGIN:VCARD", "VERSION:3.0", "FN:A B", "NOTE:a\\,b\\;c\\\\d\\ne\\Nf C:\\temp", "END:VCARD")
    )
    #expect(c.notes == "a,b;c\\d\ne\nf C:\\temp")
}

@Test func base64EncodedValuesAreDecoded() throws {
    let c = try card(
        crlf(
            "BEGIN:VCARD",
            "VERSION:3.0",
            "FN;ENCODING=B;CHARSET=UTF-8:0JDQvdC90LAg0J/QtdGC0YDQvtCy0LA=",
            "NOTE;ENCODING=BASE64:Rm9sbG93IHVwOyBkZW1v",
            "END:VCARD"
        )
    )
    #expect(c.fields["first_name"] == "Анна")
    #expect(c.fields["last_name"] == "Петрова")
    #expect(c.notes == "Follow up; demo")
}

@Test func badgeIdFromXBadgeWhenValid() throws {
    let good = try card(crlf("BEGIN:VCARD", "VERSION:3.0", "FN:A B", "X-BADGE-ID:EXPO26-000142", "END:VCARD"))
    #expect(good.badgeID == "EXPO26-000142")
    let bad = try card(crlf("BEGIN:VCARD", "VERSION:3.0", "FN:A B", "X-BADGE:not a badge!", "END:VCARD"))
    #expect(bad.badgeID == nil)
    let only = try card(crlf("BEGIN:VCARD", "VERSION:3.0", "X-BADGE:B-7", "END:VCARD"))
    #expect(only == DecodedCard(badgeID: "B-7"))
}

@Test func nestedAgentVCardIsIgnored() throws {
    let c = try card(
        crlf(
            "BEGIN:VCARD",
            "VERSION:2.1",
            "N:Petrova;Anna",
            "AGENT:",
            "BEGIN:VCARD",
            "VERSION:2.1",
            "N:Ivanov;Ivan",
            "EMAIL:ivan@example.ru",
            "END:VCARD",
            "EMAIL:anna@example.ru",
            "END:VCARD"
        )
    )
    #expect(c.fields == ["last_name": "Petrova", "first_name": "Anna", "email": "anna@example.ru"])
}

@Test func valueThatIsNotValidInItsCharsetIsSkipped() throws {
    let c = try card(
        crlf(
            "BEGIN:VCARD",
            "VERSION:2.1",
            "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=FF=FE;=C0=AF",
            "EMAIL:anna@example.ru",
            "END:VCARD"
        )
    )
    #expect(c.fields == ["email": "anna@example.ru"])
    let nothing = crlf("BEGIN:VCARD", "VERSION:2.1", "N;ENCODING=QUOTED-PRINTABLE:=FF=FE", "END:VCARD")
    #expect(reason(nothing) == .noUsableFields)
}

@Test func vcardWriterOutputReadsBack() throws {
    let lead = Lead(
        event: "expo",
        kiosk: "k1",
        channel: .keyboard,
        fields: [
            "first_name": "Анна", "last_name": "Петрова-Водкина; ООО", "email": "anna@example.ru",
            "phone": "+79161234567", "company": "ООО «Ромашка», филиал",
            "job_title": String(repeating: "Главный специалист ", count: 6),
        ],
        notes: "wants a demo\nsecond line"
    )
    var out: [UInt8] = []
    VCardWriter.append(lead, to: &out)
    let c = try #require(try? VCardParser.parse(String(decoding: out, as: UTF8.self)).get())
    #expect(c.fields["first_name"] == "Анна")
    #expect(c.fields["last_name"] == "Петрова-Водкина; ООО")
    #expect(c.fields["email"] == "anna@example.ru")
    #expect(c.fields["phone"] == "+79161234567")
    #expect(c.fields["company"] == "ООО «Ромашка», филиал")
    #expect(c.fields["job_title"] == String(repeating: "Главный специалист ", count: 6).dropLast().description)
}

@Test func structuralErrorsAreMalformed() {
    #expect(reason("FN:Anna\r\nEND:VCARD\r\n") == .malformed)
    #expect(reason("") == .malformed)
    #expect(reason(crlf("BEGIN:VCARD", "VERSION:3.0", "FN:Anna Petrova")) == .malformed, "cut off")
    #expect(reason(crlf("BEGIN:VCARD", "FN:Anna", "BEGIN:VCARD", "FN:Ivan", "END:VCARD")) == .malformed)
}

@Test func garbageInsideBeginAndEndMakesNoCard() {
    let text = crlf("BEGIN:VCARD", "%%%%", "::::", "X-\u{1B}[2J:\u{1B}[2J", "FN:\u{7}\u{1B}", ";;;", "END:VCARD")
    #expect(reason(text) == .noUsableFields)
}

@Test func propertyLimitIsEnforced() throws {
    func vcard(properties: Int) -> String {
        "BEGIN:VCARD\nFN:Anna Petrova\n" + String(repeating: "X:1\n", count: properties - 1) + "END:VCARD\n"
    }
    #expect(try card(vcard(properties: VCardParser.maximumProperties)).fields["first_name"] == "Anna")
    #expect(reason(vcard(properties: VCardParser.maximumProperties + 1)) == .tooManyProperties)
    #expect(reason(vcard(properties: 10_000)) == .tooLong, "10 000 properties do not fit in 8 KiB")
}

@Test func overEightKilobytesIsTooLong() {
    let note = String(repeating: "x", count: 8200)
    #expect(reason(crlf("BEGIN:VCARD", "FN:A B", "NOTE:" + note, "END:VCARD")) == .tooLong)
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation in these tests).
    fileprivate func replacingCharacters(_ target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
