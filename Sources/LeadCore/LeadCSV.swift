/// Leads as CSV rows (DESIGN "Command lines"): columns `lead_id`, `captured_at`, `event`, `kiosk`, `channel`,
/// each form field, `consent`, `rating`, `notes`, `duplicate_of`.
///
/// Every cell goes through ``CSVWriter/neutralize(_:)`` so a spreadsheet never runs lead text as a formula;
/// ``decodeRow(header:row:)`` undoes that.
///
/// ```swift
/// var out: [UInt8] = []
/// LeadCSV.appendHeader(fieldNames: names, excel: true, to: &out)
/// for lead in leads { LeadCSV.appendRow(lead, fieldNames: names, excel: true, to: &out) }
/// ```
public enum LeadCSV {
    private static let leading = ["lead_id", "captured_at", "event", "kiosk", "channel"]
    private static let trailing = ["consent", "rating", "notes", "duplicate_of"]

    /// The header row for a form with fields `fieldNames`, in column order.
    public static func header(fieldNames: [String]) -> [String] {
        leading + fieldNames + trailing
    }

    /// Appends the header row to `out`, preceded by the UTF-8 byte order mark when `excel` (so call it first).
    public static func appendHeader(fieldNames: [String], excel: Bool, to out: inout [UInt8]) {
        if excel { out.append(contentsOf: CSVWriter.byteOrderMark) }
        var first = true
        for name in header(fieldNames: fieldNames) {
            if !first { out.append(0x2C) }
            first = false
            CSVWriter.appendField(CSVWriter.neutralize(name), to: &out)
        }
        CSVWriter.appendLineEnd(excel: excel, to: &out)
    }

    /// Appends one lead as a row: `captured_at` in RFC 3339 UTC, `consent` as `yes`/`no`, a field the lead
    /// lacks as an empty cell, every cell neutralised; the row ends in CRLF when `excel`, else LF.
    ///
    /// Fields of the lead not named in `fieldNames` are not written.
    public static func appendRow(_ lead: Lead, fieldNames: [String], excel: Bool, to out: inout [UInt8]) {
        @inline(__always) func cell(_ text: String) {
            CSVWriter.appendField(CSVWriter.neutralize(text), to: &out)
            out.append(0x2C)
        }
        cell(lead.id)
        lead.capturedAt.appendRFC3339(to: &out)
        out.append(0x2C)
        cell(lead.event)
        cell(lead.kiosk)
        cell(lead.channel.rawValue)
        for name in fieldNames { cell(lead.fields[name] ?? "") }
        cell(lead.consent?.given == true ? "yes" : "no")
        cell(lead.rating?.rawValue ?? "")
        cell(lead.notes)
        CSVWriter.appendField(CSVWriter.neutralize(lead.duplicateOf ?? ""), to: &out)
        CSVWriter.appendLineEnd(excel: excel, to: &out)
    }

    /// Rebuilds a lead from a row of a CSV that ``appendRow(_:fieldNames:excel:to:)`` wrote (for `leadctl import`).
    ///
    /// Columns are matched by header name; `lead_id`, `captured_at` and `channel` are required. Neutralisation
    /// is undone; `consent` `yes` becomes consent given at `captured_at` (the text hash and language are not in
    /// the CSV, so they are empty); `rating` may be empty or `none`. Any other column becomes a field, and
    /// empty cells are left out of `fields`. `revision`, `badge_id` and `device` columns are read when present.
    ///
    /// - Throws: ``LeadDecodingError`` naming the column that was missing or wrong.
    public static func decodeRow(header: [String], row: [String]) throws(LeadDecodingError) -> Lead {
        guard row.count == header.count else {
            throw .invalid("", "the row has \(row.count) cells but the header has \(header.count) columns")
        }
        var id: String?
        var capturedAt: Timestamp?
        var channel: Channel?
        var event = ""
        var kiosk = ""
        var consent = false
        var rating: Rating?
        var notes = ""
        var duplicateOf: String?
        var revision = 1
        var badgeID: String?
        var device: String?
        var fields: [String: String] = [:]
        for (name, raw) in zip(header, row) {
            let value = CSVWriter.unneutralize(raw)
            switch name {
            case "lead_id":
                guard LeadID.isValid(value) else { throw .invalid(name, "not a lower-case hyphenated UUID") }
                id = value
            case "captured_at":
                guard let t = Timestamp(rfc3339: value) else { throw .invalid(name, "not an RFC 3339 time") }
                capturedAt = t
            case "channel":
                guard let c = Channel(rawValue: value) else { throw .invalid(name, "unknown channel \"\(value)\"") }
                channel = c
            case "event": event = value
            case "kiosk": kiosk = value
            case "consent":
                switch value {
                case "yes": consent = true
                case "no", "": consent = false
                default: throw .invalid(name, "must be yes or no")
                }
            case "rating":
                if value.isEmpty || value == "none" {
                    rating = nil
                } else {
                    guard let r = Rating(rawValue: value) else { throw .invalid(name, "unknown rating \"\(value)\"") }
                    rating = r
                }
            case "notes": notes = value
            case "duplicate_of":
                if value.isEmpty {
                    duplicateOf = nil
                } else {
                    guard LeadID.isValid(value) else { throw .invalid(name, "not a lower-case hyphenated UUID") }
                    duplicateOf = value
                }
            case "revision":
                guard let r = Int(value), r >= 1 else { throw .invalid(name, "must be an integer ≥ 1") }
                revision = r
            case "badge_id": badgeID = value.isEmpty ? nil : value
            case "device": device = value.isEmpty ? nil : value
            default:
                if !value.isEmpty { fields[name] = value }
            }
        }
        guard let id else { throw .missing("lead_id") }
        guard let capturedAt else { throw .missing("captured_at") }
        guard let channel else { throw .missing("channel") }
        return Lead(
            id: id,
            revision: revision,
            event: event,
            kiosk: kiosk,
            capturedAt: capturedAt,
            channel: channel,
            device: device,
            fields: fields,
            consent: consent ? Consent(given: true, textSHA256: "", language: "", at: capturedAt) : nil,
            rating: rating,
            notes: notes,
            badgeID: badgeID,
            duplicateOf: duplicateOf
        )
    }
}
