import Foundation
import LeadCore
import Testing

private let formOrder = FormSpec.default.fields.map(\.name)

private func sampleLead() -> Lead {
    Lead(
        id: "0193a5c1-7e2a-7b3c-9d4e-5f6a7b8c9d0e",
        revision: 3,
        event: "expo-2026",
        kiosk: "booth-a1",
        capturedAt: Timestamp(rfc3339: "2026-11-22T09:58:41.123Z")!,
        channel: .serialTerminal,
        device: "/dev/ttyUSB0",
        fields: [
            "first_name": "Анна",
            "last_name": "Петрова-\"Смит\"",
            "email": "anna@example.ru",
            "phone": "+79161234567",
            "company": "ООО «Ромашка», Inc.",
            "interest": "pricing",
            "zz_extra": "🎉 emoji",
            "aa_extra": "=HYPERLINK(\"http://evil\",\"x\")",
        ],
        consent: Consent(
            given: true,
            textSHA256: String(repeating: "ab", count: 32),
            language: "ru",
            at: Timestamp(rfc3339: "2026-11-22T09:58:40Z")!
        ),
        rating: .hot,
        notes: "wants a demo, \"soon\"\nline 2\r\nline 3\u{2028}tab\there 👍🏽",
        badgeID: "B-000123",
        duplicateOf: "0193a5c0-0000-7000-8000-000000000001"
    )
}

private let sampleDeliveries = [
    DeliveryInfo(sink: "crm", state: "synced", remoteID: "00Q5g00000AbCdE", attempts: 1, lastError: nil),
    DeliveryInfo(sink: "usb", state: "pending", remoteID: nil, attempts: 4, lastError: "timeout: \"connect\"\n"),
]

private func decodeError(_ text: String) -> LeadDecodingError? {
    do {
        _ = try LeadJSON.decode(Array(text.utf8))
        return nil
    } catch {
        return error
    }
}

private let minimal = #"{"lead_id":"0193a5c1-7e2a-7b3c-9d4e-5f6a7b8c9d0e","captured_at":"2026-11-22T09:58:41Z","#

@Test func exportRecordRoundTripsLeadAndDeliveries() throws {
    let lead = sampleLead()
    var out: [UInt8] = []
    LeadJSON.appendExportRecord(lead, deliveries: sampleDeliveries, fieldOrder: formOrder, to: &out)
    let decoded = try LeadJSON.decode(out)
    #expect(decoded.lead == lead)
    #expect(decoded.deliveries == sampleDeliveries)
}

@Test func payloadRoundTripsWithoutExportKeys() throws {
    var lead = sampleLead()
    var out: [UInt8] = []
    LeadJSON.appendPayload(lead, fieldOrder: formOrder, to: &out)
    let decoded = try LeadJSON.decode(out)
    lead.event = ""
    lead.kiosk = ""
    lead.device = nil
    #expect(decoded.lead == lead)
    #expect(decoded.deliveries.isEmpty)
}

@Test func minimalLeadRoundTrips() throws {
    let lead = Lead(
        event: "e",
        kiosk: "k",
        capturedAt: Timestamp(milliseconds: 0),
        channel: .keyboard,
        fields: [:]
    )
    var out: [UInt8] = []
    LeadJSON.appendExportRecord(lead, deliveries: [], fieldOrder: formOrder, to: &out)
    #expect(try LeadJSON.decode(out).lead == lead)
}

@Test func payloadHasProtocolKeysInOrder() throws {
    var out: [UInt8] = []
    LeadJSON.appendPayload(sampleLead(), fieldOrder: formOrder, to: &out)
    let doc = try JSONValue.parse(out)
    #expect(
        doc.objectValue?.map(\.key) == [
            "lead_id", "revision", "captured_at", "channel", "fields", "consent", "rating", "notes", "badge_id",
            "duplicate_of",
        ]
    )
    // Form order first (only the fields the lead has), then the others sorted.
    #expect(
        doc["fields"]?.objectValue?.map(\.key) == [
            "first_name", "last_name", "email", "phone", "company", "interest", "aa_extra", "zz_extra",
        ]
    )
    #expect(doc["consent"]?.objectValue?.map(\.key) == ["given", "text_sha256", "language", "at"])
    #expect(doc["captured_at"]?.stringValue == "2026-11-22T09:58:41.123Z")
    #expect(doc["consent"]?["at"]?.stringValue == "2026-11-22T09:58:40.000Z")
    #expect(doc["channel"]?.stringValue == "serial-terminal")
    #expect(doc["revision"]?.intValue == 3)
    #expect(doc["rating"]?.stringValue == "hot")
}

@Test func exportRecordAddsEventKioskDeviceAndDeliveries() throws {
    var out: [UInt8] = []
    LeadJSON.appendExportRecord(sampleLead(), deliveries: sampleDeliveries, fieldOrder: formOrder, to: &out)
    let doc = try JSONValue.parse(out)
    #expect(doc.objectValue?.map(\.key).suffix(4) == ["event", "kiosk", "device", "deliveries"])
    #expect(
        doc["deliveries"]?[0]?.objectValue?.map(\.key) == ["sink", "state", "remote_id", "attempts", "last_error"]
    )
    #expect(doc["deliveries"]?[1]?["remote_id"]?.isNull == true)
    #expect(doc["deliveries"]?[1]?["attempts"]?.intValue == 4)
}

@Test func nullsForAbsentOptionalValues() throws {
    let lead = Lead(event: "e", kiosk: "k", channel: .scanner, fields: ["email": "a@b.c"])
    var out: [UInt8] = []
    LeadJSON.appendPayload(lead, fieldOrder: [], to: &out)
    let text = String(decoding: out, as: UTF8.self)
    #expect(text.contains(#""consent":null,"rating":null,"notes":"","badge_id":null,"duplicate_of":null}"#))
}

@Test func foundationParsesTheSameValues() throws {
    let lead = sampleLead()
    var out: [UInt8] = []
    LeadJSON.appendExportRecord(lead, deliveries: sampleDeliveries, fieldOrder: formOrder, to: &out)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
    #expect(object["lead_id"] as? String == lead.id)
    #expect(object["notes"] as? String == lead.notes)
    #expect(object["fields"] as? [String: String] == lead.fields)
    #expect((object["consent"] as? [String: Any])?["given"] as? Bool == true)
    #expect(object["event"] as? String == "expo-2026")
}

@Test func jsonLinesRecordsStayOnOneLine() throws {
    let leads = (0..<3).map { i -> Lead in
        var lead = sampleLead()
        lead.id = LeadID.make()
        lead.notes = "line\n\(i)\r\u{2028}\u{2029}"
        return lead
    }
    var out: [UInt8] = []
    for lead in leads {
        LeadJSON.appendExportRecord(lead, deliveries: [], fieldOrder: formOrder, to: &out)
        out.append(0x0A)
    }
    let lines = out.split(separator: 0x0A)
    #expect(lines.count == 3)
    #expect(try lines.map { try LeadJSON.decode($0).lead } == leads)
    // U+2028/U+2029 are escaped too, so JavaScript line readers agree on the line count.
    #expect(!String(decoding: out, as: UTF8.self).contains("\u{2028}"))
}

@Test func appendsAfterExistingBytes() throws {
    var out = Array("prefix ".utf8)
    LeadJSON.appendPayload(sampleLead(), fieldOrder: formOrder, to: &out)
    #expect(out.starts(with: Array(#"prefix {"lead_id":"#.utf8)))
}

@Test func sameLeadGivesSameBytes() {
    var a: [UInt8] = []
    var b: [UInt8] = []
    LeadJSON.appendPayload(sampleLead(), fieldOrder: formOrder, to: &a)
    LeadJSON.appendPayload(sampleLead(), fieldOrder: formOrder, to: &b)
    #expect(a == b)
}

@Test func decodeAppliesDefaultsAndIgnoresUnknownKeys() throws {
    let text = minimal + #""channel":"keyboard","fields":{"email":"a@b.c"},"future":{"x":[1]}}"#
    let (lead, deliveries) = try LeadJSON.decode(Array(text.utf8))
    #expect(lead.revision == 1)
    #expect(lead.event == "")
    #expect(lead.kiosk == "")
    #expect(lead.notes == "")
    #expect(lead.consent == nil)
    #expect(lead.rating == nil)
    #expect(lead.capturedAt == Timestamp(rfc3339: "2026-11-22T09:58:41.000Z"))
    #expect(lead.fields == ["email": "a@b.c"])
    #expect(deliveries.isEmpty)
}

@Test func decodeNamesTheWrongKey() {
    let fields = #""channel":"keyboard","fields":{}"#
    #expect(decodeError(#"{"captured_at":"2026-11-22T09:58:41Z","channel":"keyboard","fields":{}}"#)?.key == "lead_id")
    #expect(decodeError(#"{"lead_id":"not-a-uuid","captured_at":"2026-11-22T09:58:41Z"}"#)?.key == "lead_id")
    #expect(decodeError(minimal + #""channel":"fax","fields":{}}"#)?.key == "channel")
    #expect(decodeError(minimal + #""channel":"keyboard"}"#)?.key == "fields")
    #expect(decodeError(minimal + #""channel":"keyboard","fields":{"email":"x","age":42}}"#)?.key == "fields.age")
    #expect(decodeError(minimal + #""channel":"keyboard","fields":{"email":null}}"#)?.key == "fields.email")
    #expect(decodeError(minimal + fields + #","revision":0}"#)?.key == "revision")
    #expect(decodeError(minimal + fields + #","revision":"2"}"#)?.key == "revision")
    #expect(decodeError(minimal + fields + #","rating":"lukewarm"}"#)?.key == "rating")
    #expect(
        decodeError(minimal + fields + #","consent":{"given":"yes","at":"2026-11-22T09:58:41Z"}}"#)?.key
            == "consent.given"
    )
    #expect(decodeError(minimal + fields + #","consent":{"given":true}}"#)?.key == "consent.at")
    #expect(decodeError(minimal + fields + #","deliveries":[{"sink":"crm"}]}"#)?.key == "deliveries[0].state")
    #expect(decodeError(minimal + fields + #","duplicate_of":"x"}"#)?.key == "duplicate_of")
    let badTime = #"{"lead_id":"0193a5c1-7e2a-7b3c-9d4e-5f6a7b8c9d0e","captured_at":"yesterday"}"#
    #expect(decodeError(badTime)?.key == "captured_at")
    #expect(decodeError("[]")?.description == "the record must be a JSON object")
    let error = decodeError(minimal + #""channel":"keyboard","fields":{"age":42}}"#)
    #expect(error?.description == "\"fields.age\" must be a string")
}

@Test func decodeReportsJSONSyntaxErrors() {
    let error = decodeError(minimal + #""channel":"keyboard","fields":{},}"#)
    #expect(error?.jsonError?.reason == .trailingComma)
    #expect(error?.key == "")
}

@Test func decodeHoldsTheWholeRecordToStrictJSON() {
    let body = minimal + #""channel":"keyboard","fields":{}"#
    #expect(decodeError(body + "}x")?.jsonError?.reason == .trailingGarbage)
    #expect(decodeError(body + #","future":[1,]}"#)?.jsonError?.reason == .trailingComma)
    #expect(decodeError(body + #","future":"\ud800"}"#)?.jsonError?.reason == .loneSurrogate)
    #expect(decodeError(body + #","deliveries":[{"sink":"a","state":"b"},]}"#)?.jsonError?.reason == .trailingComma)
    let deep = String(repeating: "[", count: 70) + String(repeating: "]", count: 70)
    #expect(decodeError(body + #","future":"# + deep + "}")?.jsonError?.reason == .tooDeep)
    #expect(decodeError(body)?.jsonError?.reason == .unexpectedEnd)
    #expect(decodeError("nope")?.jsonError?.reason == .unexpectedCharacter)
    #expect(decodeError("xyz")?.jsonError?.reason == .expectedValue)
    #expect(decodeError(#""a string""#)?.description == "the record must be a JSON object")
}

@Test func decodeAcceptsEscapedKeysAndSlices() throws {
    let text =
        #"  {"lead_\u0069d":"0193a5c1-7e2a-7b3c-9d4e-5f6a7b8c9d0e","captured_at":"2026-11-22T09:58:41Z","#
        + #""channel":"scanner","fields":{"f\u00fcr":"x\"y"},"rating":null,"deliveries":null} "#
    let bytes = Array(("garbage" + text + "garbage").utf8)
    let (lead, _) = try LeadJSON.decode(bytes[7..<(bytes.count - 7)])
    #expect(lead.id == "0193a5c1-7e2a-7b3c-9d4e-5f6a7b8c9d0e")
    #expect(lead.fields == ["für": "x\"y"])
    #expect(try LeadJSON.decode(text.utf8).lead == lead)
}

@Test func decodeFromParsedValueMatchesBytes() throws {
    var out = Array(#"{"leads":["#.utf8)
    LeadJSON.appendPayload(sampleLead(), fieldOrder: formOrder, to: &out)
    out += Array("]}".utf8)
    let batch = try JSONValue.parse(out)
    let fromValue = try LeadJSON.decode(try #require(batch["leads"]?[0]))
    var expected = sampleLead()
    expected.event = ""
    expected.kiosk = ""
    expected.device = nil
    #expect(fromValue.lead == expected)
    #expect(throws: LeadDecodingError.self) { try LeadJSON.decode(JSONValue.array([])) }
}
