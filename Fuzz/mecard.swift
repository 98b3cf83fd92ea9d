// libFuzzer target: MECardParser.parse on every input that is valid UTF-8 (with and without the `MECARD:`
// prefix). Built by Fuzz/run.sh together with Sources/LeadCore/*.swift (one module, so no import).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    checkMECard(MECardParser.parse(text))
    checkMECard(MECardParser.parse("MECARD:" + text))
    return 0
}

/// What every decoder promises: a card has a usable field or a badge id, field names are form-field names,
/// values are not blank; an error has a reason.
private func checkMECard(_ result: Result<DecodedCard, CardDecodeError>) {
    switch result {
    case .success(let card):
        precondition(card.badgeID == nil, "MECARD carries no badge id")
        let identifying = ["first_name", "last_name", "email", "phone", "company"]
        precondition(identifying.contains { card.fields[$0] != nil }, "unusable card")
        for (name, value) in card.fields {
            precondition(KeyValueCardParser.fieldName(forKey: name) != nil, "bad field name")
            precondition(!TextSanitizer.clean(value, multiline: false).isEmpty, "blank value")
        }
    case .failure(let error):
        precondition(!error.description.isEmpty, "error without a reason")
    }
}
