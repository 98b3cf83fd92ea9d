// libFuzzer target: VCardParser.parse on every input that is valid UTF-8. Built by Fuzz/run.sh together with
// Sources/LeadCore/*.swift (one module, so no import).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    let result = VCardParser.parse(text)
    checkCard(result)
    precondition(result == VCardParser.parse(text), "not deterministic")
    return 0
}
