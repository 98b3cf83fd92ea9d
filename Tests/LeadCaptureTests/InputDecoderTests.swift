import Testing

@testable import LeadCapture

private func scalars(_ text: String) -> [RawInput] { text.unicodeScalars.map { .scalar($0) } }

@Suite struct InputDecoderTests {
    @Test func printableTextReadTogetherIsOneKey() {
        var decoder = InputDecoder()
        #expect(decoder.feed(scalars("Анна"), now: 1_000) == [.key(.text("Анна"))])
    }

    @Test func controlCharactersBecomeKeys() {
        var decoder = InputDecoder()
        let decoded = decoder.feed(scalars("a\tb\rc\u{7F}\u{08}\u{03}\u{1A}\u{1C}"), now: 1_000)
        #expect(
            decoded == [
                .key(.text("a")), .key(.tab), .key(.text("b")), .key(.enter), .key(.text("c")), .key(.backspace),
                .key(.backspace), .key(.control(0x03)), .key(.control(0x1A)), .key(.control(0x1C)),
            ]
        )
    }

    @Test func crlfIsOneEnter() {
        var decoder = InputDecoder()
        #expect(
            decoder.feed(scalars("x\r\ny\nz"), now: 1_000) == [
                .key(.text("x")), .key(.enter), .key(.text("y")), .key(.enter), .key(.text("z")),
            ]
        )
    }

    @Test func keysFromNcursesPassThrough() {
        var decoder = InputDecoder()
        #expect(decoder.feed([.key(.f12), .key(.left)], now: 1_000) == [.key(.f12), .key(.left)])
    }

    @Test func commonEscapeSequencesAreDecoded() {
        var decoder = InputDecoder()
        let decoded = decoder.feed(
            scalars(
                "\u{1B}[A\u{1B}[B\u{1B}OC\u{1B}[D\u{1B}[Z\u{1B}[24~\u{1B}OQ\u{1B}[12~"
                    + "\u{1B}[[B\u{1B}[3~\u{1B}[1~\u{1B}[4~"
            ),
            now: 1_000
        )
        #expect(
            decoded == [
                .key(.up), .key(.down), .key(.right), .key(.left), .key(.backTab), .key(.f12), .key(.f2), .key(.f2),
                .key(.f2), .key(.delete), .key(.home), .key(.end),
            ]
        )
    }

    @Test func unknownEscapeSequencesAreSwallowedWhole() {
        var decoder = InputDecoder()
        let decoded = decoder.feed(
            scalars("\u{1B}[2Jab\u{1B}]0;pwned\u{07}c\u{1B}[38;5;196md\u{1B}Pq#0\u{1B}\\e\u{1B}xf"),
            now: 1_000
        )
        #expect(decoded == [.key(.text("ab")), .key(.text("c")), .key(.text("d")), .key(.text("e")), .key(.text("f"))])
    }

    @Test func aLoneEscapeIsTheEscapeKey() {
        var decoder = InputDecoder()
        #expect(decoder.feed(scalars("\u{1B}"), now: 1_000) == [.key(.escape)])
        #expect(decoder.feed(scalars("x"), now: 1_100) == [.key(.text("x"))])
    }

    @Test func c1ControlsAndReplacementCharactersAreDropped() {
        var decoder = InputDecoder()
        #expect(decoder.feed(scalars("a\u{85}\u{9B}b\u{FFFD}c"), now: 1_000) == [.key(.text("abc"))])
    }

    // MARK: Keyboard-wedge scanners

    @Test func vcardBurstBecomesOneCard() {
        var decoder = InputDecoder()
        let card = "BEGIN:VCARD\rVERSION:3.0\rN:Doe;John\rEMAIL:john@example.com\rEND:VCARD"
        let decoded = decoder.feed(scalars(card + "\r\n"), now: 1_000)
        #expect(decoded == [.card(card)])
        #expect(decoder.deadline != nil)
        // The burst's trailing line ends are swallowed; later typing is typing.
        #expect(decoder.feed(scalars("\r"), now: 1_005) == [])
        #expect(decoder.feed(scalars("x"), now: 1_100) == [.key(.text("x"))])
    }

    @Test func vcardAcrossSeveralDrainsOfOneBurst() {
        var decoder = InputDecoder()
        var decoded: [DecodedInput] = []
        decoded += decoder.feed(scalars("BEG"), now: 1_000)
        decoded += decoder.feed(scalars("IN:VCARD\nFN:Anna\n"), now: 1_010)
        decoded += decoder.feed(scalars("END:VCARD\n"), now: 1_020)
        #expect(decoded == [.card("BEGIN:VCARD\nFN:Anna\nEND:VCARD")])
    }

    @Test func mecardEndsAtTheLineEnd() {
        var decoder = InputDecoder()
        let decoded = decoder.feed(scalars("mecard:N:Doe,John;EMAIL:j@example.com;;\rAnna"), now: 1_000)
        #expect(decoded == [.card("mecard:N:Doe,John;EMAIL:j@example.com;;"), .key(.text("Anna"))])
    }

    @Test func cardWithoutEndIsDeliveredWhenTheBurstPauses() {
        var decoder = InputDecoder()
        #expect(decoder.feed(scalars("MECARD:N:Doe,John;;"), now: 1_000) == [])
        #expect(decoder.expire(now: 1_010) == [])
        #expect(decoder.expire(now: 1_030) == [.card("MECARD:N:Doe,John;;")])
        #expect(decoder.deadline == nil)
    }

    @Test func aPersonTypingBIsHeldOnlyUntilTheBurstPauses() {
        var decoder = InputDecoder()
        #expect(decoder.feed(scalars("B"), now: 1_000) == [])
        #expect(decoder.deadline == 1_030)
        #expect(decoder.expire(now: 1_030) == [.key(.text("B"))])
        #expect(decoder.feed(scalars("o"), now: 1_200) == [.key(.text("o"))])
    }

    @Test func aWordThatOnlyStartsLikeAPrefixIsTypedAtOnce() {
        var decoder = InputDecoder()
        #expect(decoder.feed(scalars("Boris"), now: 1_000) == [.key(.text("Boris"))])
        #expect(decoder.feed(scalars("Mecardo"), now: 2_000) == [.key(.text("Mecardo"))])
        #expect(decoder.deadline == nil)
    }

    @Test func prefixInTheMiddleOfTypingIsText() {
        var decoder = InputDecoder()
        #expect(decoder.feed(scalars("xMECARD:N:A;;"), now: 1_000) == [.key(.text("xMECARD:N:A;;"))])
    }

    @Test func heldPrefixFollowedByAKeyIsTyped() {
        var decoder = InputDecoder()
        #expect(decoder.feed(scalars("BE") + [.key(.left)], now: 1_000) == [.key(.text("BE")), .key(.left)])
    }

    @Test func overlongCardIsDroppedWhole() {
        var decoder = InputDecoder()
        let huge = "BEGIN:VCARD\nNOTE:" + String(repeating: "x", count: 9_000) + "\nEND:VCARD\n"
        let decoded = decoder.feed(scalars(huge), now: 1_000)
        #expect(decoded == [.cardTooLong])
        #expect(decoder.expire(now: 1_100) == [])
        #expect(decoder.feed(scalars("a"), now: 1_200) == [.key(.text("a"))])
    }
}

@Suite struct InputFilterTests {
    @Test func keepsPrintableTextAndMapsSpaces() {
        #expect(InputFilter.printable("Anna\u{A0}Maria", limit: 100) == "Anna Maria")
        #expect(InputFilter.printable("Ёлка 東京 👩‍💻", limit: 100) == "Ёлка 東京 👩‍💻")
    }

    @Test func limitCountsCharacters() {
        #expect(InputFilter.printable("ЖЖЖЖ", limit: 2) == "ЖЖ")
        #expect(InputFilter.printable("e\u{301}e\u{301}e\u{301}", limit: 2) == "\u{E9}\u{E9}")
        #expect(InputFilter.printable("abc", limit: 0) == "")
    }

    @Test func zalgoTextStaysCheap() {
        let zalgo = "a" + String(repeating: "\u{301}", count: 100_000)
        let elapsed = ContinuousClock().measure { _ = InputFilter.printable(zalgo, limit: 200) }
        #expect(elapsed < .seconds(1))
    }

    @Test func removesInvisibleAndBidiCharacters() {
        #expect(InputFilter.printable("a\u{202E}b\u{200B}c\u{FEFF}d\u{2028}e\u{FFFF}f", limit: 100) == "abcdef")
    }
}
