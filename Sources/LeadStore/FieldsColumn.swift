import LeadCore

/// The `fields` column: a flat JSON object of strings, keys sorted so equal field sets store equal text.
enum FieldsColumn {
    static func encode(_ fields: [String: String]) -> [UInt8] {
        var w = JSONWriter()
        w.bytes.reserveCapacity(32 * fields.count + 2)
        w.beginObject()
        for key in fields.keys.sorted() { w.member(key, fields[key]) }
        w.endObject()
        return w.bytes
    }

    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) throws -> [String: String] {
        do { return try JSONValue.parseStringObject(bytes) } catch {
            throw StoreError(.corrupt, "stored lead fields are not a JSON object of strings: \(error)")
        }
    }
}
