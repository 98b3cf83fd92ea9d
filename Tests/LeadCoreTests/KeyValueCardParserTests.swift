import LeadCore
import Testing

private func jsonReason(_ text: String) -> CardDecodeError.Reason? {
    if case .failure(let error) = KeyValueCardParser.parseJSON(text) { return error.reason }
    return nil
}

private func kvReason(_ text: String) -> CardDecodeError.Reason? {
    if case .failure(let error) = KeyValueCardParser.parseKeyValue(text) { return error.reason }
    return nil
}

private func badgeReason(_ text: String) -> CardDecodeError.Reason? {
    if case .failure(let error) = KeyValueCardParser.parseBadge(text) { return error.reason }
    return nil
}

@Test func jsonKeysAreMappedThroughSynonyms() throws {
    let c = try KeyValueCardParser.parseJSON(
        #"""
        {"firstName": "Anna", "Surname": "Petrova", "E-Mail": "anna@example.ru", "mobile": "+79161234567",
         "organization": "ООО Ромашка", "position": "CTO", "barcode": "EXPO-0042", "note": "demo please",
         "t-shirt size": "M", "Größe": "XL", "extra": {"nested": "ignored"}, "vip": true, "tags": ["a"],
         "middle": null}
        """#
    ).get()
    #expect(
        c.fields == [
            "first_name": "Anna", "last_name": "Petrova", "email": "anna@example.ru", "phone": "+79161234567",
            "company": "ООО Ромашка", "job_title": "CTO", "t_shirt_size": "M",
        ]
    )
    #expect(c.badgeID == "EXPO-0042")
    #expect(c.notes == "demo please")
}

@Test func jsonNumbersAreTextAndFullNameIsSplit() throws {
    let c = try KeyValueCardParser.parseJSON(#"{"id": 100042, "name": "Anna Maria Petrova", "phone": 79161234567}"#)
        .get()
    #expect(c.badgeID == "100042")
    #expect(c.fields == ["first_name": "Anna Maria", "last_name": "Petrova", "phone": "79161234567"])
    let both = try KeyValueCardParser.parseJSON(#"{"name": "A B", "first_name": "Anna"}"#).get()
    #expect(both.fields == ["first_name": "Anna"], "explicit name fields win over a full name")
}

@Test func jsonLaterValueWinsAndEmptyValuesAreDropped() throws {
    let c = try KeyValueCardParser.parseJSON(#"{"email": "a@example.com", "mail": "b@example.com", "org": " "}"#).get()
    #expect(c.fields == ["email": "b@example.com"])
}

@Test func jsonBadInput() {
    #expect(jsonReason(#"{"email": "a@example.com",}"#) == .malformed)
    #expect(jsonReason(#"["a@example.com"]"#) == .malformed)
    #expect(jsonReason(#""just a string""#) == .malformed)
    #expect(jsonReason("{") == .malformed)
    #expect(jsonReason(#"{"color": "red", "size": "M"}"#) == .noUsableFields)
    #expect(jsonReason("{}") == .noUsableFields)
    #expect(jsonReason(String(repeating: "[", count: 100)) == .malformed)
    let many = "{" + Array(repeating: #""a":1"#, count: 1001).joined(separator: ",") + "}"
    #expect(jsonReason(many) == .tooManyProperties)
}

@Test func keyValuePairsSeparatedBySemicolons() throws {
    let c = try KeyValueCardParser.parseKeyValue(
        "first_name=Anna; last name = Petrova ;email=anna@example.ru;company=Smith & Sons;note=a=b;junk;;"
    ).get()
    #expect(
        c.fields == [
            "first_name": "Anna", "last_name": "Petrova", "email": "anna@example.ru", "company": "Smith & Sons",
        ]
    )
    #expect(c.notes == "a=b")
}

@Test func keyValueQueryStyleIsPercentDecoded() throws {
    let c = try KeyValueCardParser.parseKeyValue(
        "fn=%D0%90%D0%BD%D0%BD%D0%B0+%D0%9F%D0%B5%D1%82%D1%80%D0%BE%D0%B2%D0%B0"
            + "&tel=%2B79161234567&badge=A-1&pct=50%"
    ).get()
    #expect(c.fields == ["first_name": "Анна", "last_name": "Петрова", "phone": "+79161234567", "pct": "50%"])
    #expect(c.badgeID == "A-1")
    let invalid = try KeyValueCardParser.parseKeyValue("email=a%40example.com&company=%FF%FE").get()
    #expect(invalid.fields == ["email": "a@example.com", "company": "%FF%FE"], "not UTF-8 once decoded: kept raw")
}

@Test func keyValueBadInput() {
    #expect(kvReason("colour=red;size=M") == .noUsableFields)
    #expect(kvReason("=;=;=") == .noUsableFields)
    #expect(kvReason("https://www.linkedin.com/in/anna?trk=qr") == .noUsableFields)
    #expect(kvReason(String(repeating: "a=1;", count: 1001) + "email=a@example.com") == .tooManyProperties)
}

@Test func fieldNamesAreNormalised() {
    #expect(KeyValueCardParser.fieldName(forKey: "E-Mail") == "email")
    #expect(KeyValueCardParser.fieldName(forKey: "jobTitle") == "job_title")
    #expect(KeyValueCardParser.fieldName(forKey: "badgeID") == "badge_id")
    #expect(KeyValueCardParser.fieldName(forKey: " first name ") == "first_name")
    #expect(KeyValueCardParser.fieldName(forKey: "T-shirt") == "t_shirt")
    #expect(KeyValueCardParser.fieldName(forKey: "Größe") == nil)
    #expect(KeyValueCardParser.fieldName(forKey: "1st") == nil)
    #expect(KeyValueCardParser.fieldName(forKey: "") == nil)
    #expect(
        KeyValueCardParser.fieldName(forKey: String(repeating: "a", count: 40)) == String(repeating: "a", count: 40)
    )
    #expect(KeyValueCardParser.fieldName(forKey: String(repeating: "a", count: 41)) == nil)
}

@Test func bareBadgeIds() throws {
    #expect(try KeyValueCardParser.parseBadge("  A-10042_x \r\n").get() == DecodedCard(badgeID: "A-10042_x"))
    #expect(try KeyValueCardParser.parseBadge("7").get().badgeID == "7")
    let longest = String(repeating: "Z", count: 64)
    #expect(try KeyValueCardParser.parseBadge(longest).get().badgeID == longest)
    #expect(badgeReason(longest + "Z") == .malformed)
    #expect(badgeReason("A 1") == .malformed)
    #expect(badgeReason("Анна") == .malformed)
    #expect(badgeReason("155148186443500172ft^Brian^Trainor") == .malformed)
    #expect(badgeReason("A\u{1B}[2J") == .malformed)
    #expect(badgeReason(" \t ") == .empty)
}
