// libFuzzer target: KeyValueCardParser (JSON object, key=value pairs, bare badge id) on every input that is
// valid UTF-8. Built by Fuzz/run.sh together with Sources/LeadCore/*.swift (one module, so no import).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    checkCard(KeyValueCardParser.parseJSON(text))
    checkCard(KeyValueCardParser.parseKeyValue(text))
    let badge = KeyValueCardParser.parseBadge(text)
    checkCard(badge)
    if case .success(let card) = badge {
        precondition(card.fields.isEmpty && card.notes == nil, "a badge id is only a badge id")
        precondition(card.badgeID!.utf8.allSatisfy { $0 < 0x80 && $0 > 0x20 }, "badge id not printable ASCII")
    }
    if let name = KeyValueCardParser.fieldName(forKey: text) {
        precondition(KeyValueCardParser.fieldName(forKey: name) == name, "field names are not idempotent")
    }
    return 0
}
