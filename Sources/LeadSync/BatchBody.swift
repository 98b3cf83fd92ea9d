public import LeadCore
public import LeadStore

/// Who sends a batch: the `source` object of every batch body and the `User-Agent`.
public struct BatchSource: Sendable, Hashable {
    public var kioskID: String
    public var eventID: String
    public var appVersion: String

    public init(kioskID: String, eventID: String, appVersion: String) {
        self.kioskID = kioskID
        self.eventID = eventID
        self.appVersion = appVersion
    }
}

/// The protocol's `leads.batch` body, written once when a batch is formed and frozen from then on.
public enum BatchBody {
    /// The protocol's cap on a batch body.
    public static let maximumBytes = 1 << 20

    /// Writes the body for up to all of `leads`, stopping before the lead that would take the body over
    /// `maximumBytes`.
    /// - Returns: the body and how many leads (a prefix) it holds; 0 when even the first lead does not fit.
    public static func make(
        batchID: String,
        createdAt: Timestamp,
        source: BatchSource,
        leads: [Lead],
        fieldOrder: [String],
        maximumBytes: Int = BatchBody.maximumBytes
    ) -> BatchContent {
        var w = JSONWriter()
        w.bytes.reserveCapacity(512 + 600 * leads.count)
        w.beginObject()
        w.member("type", "leads.batch")
        w.member("schema_version", 1)
        w.member("batch_id", batchID)
        w.member("created_at", createdAt)
        w.key("source")
        w.beginObject()
        w.member("kiosk_id", source.kioskID)
        w.member("event_id", source.eventID)
        w.member("app_version", source.appVersion)
        w.endObject()
        w.key("leads")
        w.beginArray()
        var body = w.bytes
        var count = 0
        for lead in leads {
            let mark = body.count
            if count > 0 { body.append(UInt8(ascii: ",")) }
            LeadJSON.appendPayload(lead, fieldOrder: fieldOrder, to: &body)
            // "]}" still to come.
            if body.count + 2 > maximumBytes {
                body.removeSubrange(mark...)
                break
            }
            count += 1
        }
        guard count > 0 || leads.isEmpty else { return BatchContent(body: [], count: 0) }
        body.append(UInt8(ascii: "]"))
        body.append(UInt8(ascii: "}"))
        return BatchContent(body: body, count: count)
    }
}
