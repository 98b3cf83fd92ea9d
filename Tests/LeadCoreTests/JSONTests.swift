import Foundation
import LeadCore
import Testing

private func parse(_ text: String) throws(JSONError) -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

private func parseError(_ bytes: [UInt8]) -> JSONError? {
    do {
        _ = try JSONValue.parse(bytes)
        return nil
    } catch {
        return error
    }
}

private func parseError(_ text: String) -> JSONError? { parseError(Array(text.utf8)) }

private func written(_ body: (inout JSONWriter) -> Void) -> String {
    var w = JSONWriter()
    body(&w)
    return String(decoding: w.bytes, as: UTF8.self)
}

@Test func parsesNestedDocumentWithAccessors() throws {
    let doc = try parse(#" {"a": [1, -2.5e3, true, false, null], "b": {"c": "d"}, "n": 42} "#)
    #expect(doc["n"]?.intValue == 42)
    #expect(doc["a"]?[0]?.intValue == 1)
    #expect(doc["a"]?[1] == .number("-2.5e3"))
    #expect(doc["a"]?[1]?.doubleValue == -2500)
    #expect(doc["a"]?[1]?.intValue == nil)
    #expect(doc["a"]?[2]?.boolValue == true)
    #expect(doc["a"]?[3]?.boolValue == false)
    #expect(doc["a"]?[4]?.isNull == true)
    #expect(doc["a"]?[5] == nil)
    #expect(doc["b"]?["c"]?.stringValue == "d")
    #expect(doc["missing"] == nil)
    #expect(doc["n"]?.stringValue == nil)
    #expect(doc.objectValue?.map(\.key) == ["a", "b", "n"])
}

@Test func lastDuplicateKeyWins() throws {
    let doc = try parse(#"{"k": 1, "k": 2}"#)
    #expect(doc["k"]?.intValue == 2)
    #expect(doc.objectValue?.count == 2)
}

@Test func numbersKeepTheirLiteralText() throws {
    for literal in ["0", "-0", "12", "-12", "0.5", "1e10", "1E+2", "-1.25e-7", "123456789012345678901234567890"] {
        #expect(try parse(literal) == .number(literal))
    }
}

@Test func decodesEscapesAndSurrogatePairs() throws {
    let doc = try parse(#""q\"b\\s\/ \b\f\n\r\t \u0041\u00e9\u0416 \ud83d\ude00 \u2028""#)
    #expect(doc.stringValue == "q\"b\\s/ \u{8}\u{c}\n\r\t AéЖ 😀 \u{2028}")
    #expect(try parse(#""\u0000""#).stringValue == "\u{0}")
}

@Test func acceptsRawMultibyteUTF8() throws {
    #expect(try parse(#"{"имя":"Анна 🎉 ООО «Ромашка»"}"#)["имя"]?.stringValue == "Анна 🎉 ООО «Ромашка»")
}

@Test func acceptsNonContiguousInput() throws {
    let bytes = Array(#"{"a":[1,"x"]}"#.utf8).lazy.map { $0 }
    #expect(try JSONValue.parse(bytes)["a"]?[1]?.stringValue == "x")
}

@Test func rejectsTrailingCommas() {
    #expect(parseError("[1,2,]")?.reason == .trailingComma)
    #expect(parseError("[1,2,]")?.offset == 5)
    #expect(parseError(#"{"a":1,}"#)?.reason == .trailingComma)
    #expect(parseError(#"{"a":1,}"#)?.offset == 7)
    #expect(parseError("[,]")?.reason == .expectedValue)
    #expect(parseError("{,}")?.reason == .expectedKey)
}

@Test func rejectsLoneSurrogates() {
    #expect(parseError(#""\ud83d""#)?.reason == .loneSurrogate)
    #expect(parseError(#""\ud83dx""#)?.reason == .loneSurrogate)
    #expect(parseError(#""\ude00""#)?.reason == .loneSurrogate)
    #expect(parseError(#""\ud83d\u0041""#)?.reason == .loneSurrogate)
    #expect(parseError(#""\ud83d\ud83d""#)?.reason == .loneSurrogate)
    #expect(parseError(#"["ok", "\udfff"]"#)?.offset == 8)
}

@Test func rejectsNestingDeeperThan64() throws {
    let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
    #expect(try parse(ok).arrayValue != nil)
    let tooDeep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
    #expect(parseError(tooDeep)?.reason == .tooDeep)
    #expect(parseError(tooDeep)?.offset == 64)
    let objects = String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65)
    #expect(parseError(objects)?.reason == .tooDeep)
    // A million brackets must fail cleanly, not overflow the stack.
    #expect(parseError(String(repeating: "[", count: 1_000_000))?.reason == .tooDeep)
}

@Test func rejectsControlCharactersInStrings() {
    for c: UInt8 in [0x00, 0x09, 0x0A, 0x0D, 0x1F] {
        let error = parseError([0x22, 0x61, c, 0x22])
        #expect(error?.reason == .controlCharacter)
        #expect(error?.offset == 2)
    }
    // After an escape, too (the slow path).
    #expect(parseError([0x22, 0x5C, 0x6E, 0x0A, 0x22])?.reason == .controlCharacter)
}

@Test func rejectsInvalidUTF8() {
    let bad: [[UInt8]] = [
        [0xFF],
        [0xC0, 0x80],  // overlong NUL
        [0xE0, 0x80, 0x80],  // overlong
        [0xED, 0xA0, 0x80],  // encoded surrogate
        [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
        [0xE2, 0x82],  // truncated
        [0x80],  // stray continuation
    ]
    for seq in bad {
        let error = parseError([0x22, 0x61] + seq + [0x22])
        #expect(error?.reason == .invalidUTF8, "\(seq)")
        #expect(error?.offset == 2)
        // Also inside a string that has escapes.
        #expect(parseError([0x22, 0x5C, 0x6E] + seq + [0x22])?.reason == .invalidUTF8)
    }
}

@Test func rejectsOtherMalformedTexts() {
    #expect(parseError("")?.reason == .unexpectedEnd)
    #expect(parseError("   ")?.reason == .unexpectedEnd)
    #expect(parseError("[1] x")?.reason == .trailingGarbage)
    #expect(parseError("[1] x")?.offset == 4)
    #expect(parseError("{} {}")?.reason == .trailingGarbage)
    #expect(parseError("01")?.reason == .invalidNumber)
    #expect(parseError("1.")?.reason == .invalidNumber)
    #expect(parseError(".5")?.reason == .expectedValue)
    #expect(parseError("-")?.reason == .invalidNumber)
    #expect(parseError("1e")?.reason == .invalidNumber)
    #expect(parseError("+1")?.reason == .expectedValue)
    #expect(parseError("NaN")?.reason == .expectedValue)
    #expect(parseError("tru")?.reason == .unexpectedEnd)
    #expect(parseError("trUe")?.reason == .unexpectedCharacter)
    #expect(parseError("'a'")?.reason == .expectedValue)
    #expect(parseError(#"{"a" 1}"#)?.reason == .expectedColon)
    #expect(parseError(#"{"a":1 "b":2}"#)?.reason == .expectedCommaOrEnd)
    #expect(parseError("[1 2]")?.reason == .expectedCommaOrEnd)
    #expect(parseError(#"{a:1}"#)?.reason == .expectedKey)
    #expect(parseError(#""\x""#)?.reason == .invalidEscape)
    #expect(parseError(#""\u12G4""#)?.reason == .invalidEscape)
    #expect(parseError(#""abc"#)?.reason == .unexpectedEnd)
    #expect(parseError("[1, // c\n2]")?.reason == .expectedValue)
    #expect(parseError([0xEF, 0xBB, 0xBF] + Array("{}".utf8))?.reason == .expectedValue)
    #expect(parseError("[1,2")?.reason == .unexpectedEnd)
}

@Test func errorDescriptionNamesOffsetAndReason() {
    #expect(parseError("[1,]")?.description == "invalid JSON at byte 3: trailing comma")
}

@Test func writerEscapesQuotesBackslashesAndControlCharacters() {
    let s = written { $0.string("a\"b\\c\n\t\r\u{8}\u{c}\u{0}\u{1f}\u{7f}/é\u{2028}\u{2029}😀") }
    #expect(s == #""a\"b\\c\n\t\r\b\f\u0000\u001f"# + "\u{7f}/é" + #"\u2028\u2029"# + "😀\"")
}

@Test func writerOutputOfEveryControlCharacterParsesBack() throws {
    var text = ""
    for v in 0..<0x20 { text.unicodeScalars.append(Unicode.Scalar(UInt8(v))) }
    text += "\"\\\u{2028}\u{2029}€\u{2027}\u{202A}x"
    var w = JSONWriter()
    w.string(text)
    #expect(!w.bytes.contains { $0 < 0x20 })
    #expect(try JSONValue.parse(w.bytes).stringValue == text)
    let foundation = try JSONSerialization.jsonObject(with: Data(w.bytes), options: [.fragmentsAllowed])
    #expect(foundation as? String == text)
}

@Test func writerInsertsCommasAndKeepsKeyOrder() {
    let s = written { w in
        w.beginObject()
        w.member("z", "last?")
        w.member("a", 1)
        w.key("list")
        w.beginArray()
        w.int(-7)
        w.bool(true)
        w.null()
        w.beginObject()
        w.endObject()
        w.beginArray()
        w.endArray()
        w.string(orNull: nil)
        w.endArray()
        w.member("t", Timestamp(milliseconds: 1_795_773_521_123))
        w.member("b", false)
        w.member("nil", nil as String?)
        w.endObject()
    }
    let expected =
        #"{"z":"last?","a":1,"list":[-7,true,null,{},[],null],"#
        + #""t":"2026-11-27T09:58:41.123Z","b":false,"nil":null}"#
    #expect(s == expected)
}

@Test func writerNumbers() {
    #expect(written { $0.int(0) } == "0")
    #expect(written { $0.int(Int.max) } == "9223372036854775807")
    #expect(written { $0.int(Int.min) } == "-9223372036854775808")
    #expect(written { $0.double(0.1) } == "0.1")
    #expect(written { $0.double(.nan) } == "null")
    #expect(written { $0.double(-.infinity) } == "null")
    #expect(written { $0.number(literal: "1e-7") } == "1e-7")
}

@Test func valuesRoundTripThroughWriterAndParser() throws {
    let value = JSONValue.object([
        JSONMember("s", .string("Привет, \"мир\"\n🎉")),
        JSONMember("n", .number("-1.5e-3")),
        JSONMember("a", .array([.null, .bool(true), .array([]), .object([])])),
        JSONMember("", .string("")),
    ])
    let text = value.description
    #expect(try parse(text) == value)
    let foundation = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    #expect(foundation?["s"] as? String == "Привет, \"мир\"\n🎉")
    #expect((foundation?["n"] as? NSNumber)?.doubleValue == -0.0015)
}
