// libFuzzer target: CardDecoder.decode with format detection on raw bytes, the same payload as text, and each
// explicit format. Built by Fuzz/run.sh together with Sources/LeadCore/*.swift (one module, so no import).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let result = CardDecoder.decode(bytes)
    checkCard(result)
    if let text = String(validating: bytes, as: UTF8.self) {
        precondition(CardDecoder.decode(text) == result, "text and bytes decode differently")
    } else if size <= CardDecoder.maximumPayloadBytes {
        guard case .failure(let error) = result else { preconditionFailure("invalid UTF-8 decoded to a card") }
        precondition(error.reason == .invalidUTF8 || error.reason == .binary, "invalid UTF-8 not rejected")
    }
    for format in CardFormat.allCases where format != .auto {
        checkCard(CardDecoder.decode(bytes, format: format))
    }
    return 0
}
