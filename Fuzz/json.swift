// libFuzzer target: JSONValue.parse on raw bytes; whatever parses must survive a write and re-parse unchanged.
// Built by Fuzz/run.sh together with Sources/LeadCore/*.swift (one module, so no import).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    do {
        let value = try JSONValue.parse(bytes)
        let written = Array(value.description.utf8)
        let again = try JSONValue.parse(written)
        precondition(again == value, "write and re-parse changed the value")
        precondition(Array(again.description.utf8) == written, "writing is not stable")
    } catch {
        precondition(error.offset >= 0 && error.offset <= size, "error offset outside the input")
        precondition(!error.description.isEmpty, "error without a reason")
    }
    return 0
}
