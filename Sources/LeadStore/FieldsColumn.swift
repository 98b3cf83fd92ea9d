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
        let value: JSONValue
        do { value = try JSONValue.parse(bytes) } catch {
            throw StoreError(.corrupt, "stored lead fields are not valid JSON: \(error)")
        }
        guard let members = value.objectValue else {
            throw StoreError(.corrupt, "stored lead fields are not a JSON object")
        }
        var out: [String: String] = [:]
        out.reserveCapacity(members.count)
        for m in members { if let s = m.value.stringValue { out[m.key] = s } }
        return out
    }
}
