import LeadCore
import Testing

struct TextSanitizerTests {
    // MARK: decodeUTF8

    @Test func decodesValidUTF8() {
        #expect(TextSanitizer.decodeUTF8(Array("Анна 🙂".utf8)) == "Анна 🙂")
        #expect(TextSanitizer.decodeUTF8([UInt8]()) == "")
        #expect(TextSanitizer.decodeUTF8(Array("Anna".utf8)[...]) == "Anna")
    }

    @Test(arguments: [
        [0xFF] as [UInt8],  // never valid
        [0x41, 0x80, 0x42],  // stray continuation byte
        [0xD0],  // truncated two-byte sequence (the first half of "А")
        [0xC0, 0xAF],  // overlong "/"
        [0xE0, 0x80, 0xAF],  // overlong "/"
        [0xED, 0xA0, 0x80],  // UTF-16 surrogate U+D800
        [0xF4, 0x90, 0x80, 0x80],  // beyond U+10FFFF
        [0x41, 0x6E, 0x6E, 0x61, 0xC3],  // "Anna" then a cut-off sequence
    ])
    func refusesInvalidUTF8(_ bytes: [UInt8]) {
        #expect(TextSanitizer.decodeUTF8(bytes) == nil)
    }

    // MARK: clean

    @Test func trimsAndCollapsesSpacesInSingleLineText() {
        #expect(TextSanitizer.clean("  Anna   Maria  ", multiline: false) == "Anna Maria")
        #expect(TextSanitizer.clean("Anna\tMaria", multiline: false) == "Anna Maria")
        #expect(TextSanitizer.clean("Anna\u{00A0}\u{3000}Maria", multiline: false) == "Anna Maria")
        #expect(TextSanitizer.clean(" \t\n ", multiline: false) == "")
    }

    @Test(arguments: ["Anna\nMaria", "Anna\r\nMaria", "Anna\rMaria", "Anna\u{2028}Maria", "Anna \n Maria"])
    func turnsLineBreaksIntoOneSpaceInSingleLineText(_ raw: String) {
        #expect(TextSanitizer.clean(raw, multiline: false) == "Anna Maria")
    }

    @Test func normalizesLineBreaksInMultilineText() {
        #expect(TextSanitizer.clean("one\r\ntwo\rthree\nfour", multiline: true) == "one\ntwo\nthree\nfour")
        #expect(TextSanitizer.clean("\n\n  one  \n\n\ttwo \n\n", multiline: true) == "one\n\n two")
        #expect(TextSanitizer.clean("a\r\n\r\nb", multiline: true) == "a\n\nb")
        #expect(TextSanitizer.clean("a\u{2029}b", multiline: true) == "a\nb")
    }

    @Test func escapeSequencesLoseTheirEscape() {
        let hostile = "\u{1B}[2J\u{1B}]0;pwned\u{07}Anna"
        #expect(TextSanitizer.clean(hostile, multiline: false) == "[2J]0;pwnedAnna")
        #expect(TextSanitizer.clean("\u{1B}[31mRed\u{1B}[0m", multiline: true) == "[31mRed[0m")
        // C1 CSI (U+009B) is a one-character escape on some terminals.
        #expect(TextSanitizer.clean("\u{9B}2JAnna", multiline: false) == "2JAnna")
    }

    @Test func removesControlCharacters() {
        #expect(TextSanitizer.clean("An\u{0}na", multiline: false) == "Anna")
        #expect(TextSanitizer.clean("\u{0}\u{1}\u{8}\u{B}\u{C}\u{1F}\u{7F}\u{85}\u{9F}Anna", multiline: true) == "Anna")
        #expect(TextSanitizer.clean("\u{0}\u{0}", multiline: false) == "")
    }

    @Test func removesBidiAndInvisibleFormatCharacters() {
        #expect(TextSanitizer.clean("\u{202E}gnp.exe", multiline: false) == "gnp.exe")
        let bidi = "\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}\u{2066}\u{2067}\u{2068}\u{2069}\u{200E}\u{200F}\u{061C}"
        #expect(TextSanitizer.clean("a\(bidi)b", multiline: false) == "ab")
        #expect(TextSanitizer.clean("\u{FEFF}Anna\u{200B}\u{2060}\u{00AD}", multiline: false) == "Anna")
        // Tag characters can smuggle invisible ASCII ("hi").
        #expect(TextSanitizer.clean("Anna\u{E0068}\u{E0069}", multiline: false) == "Anna")
        // A name of Hangul fillers looks blank.
        #expect(TextSanitizer.clean("\u{3164}\u{115F}", multiline: false) == "")
        // Noncharacters cannot be written as literals.
        var nonCharacters = "Anna"
        for value: UInt32 in [0xFFFF, 0xFDD0, 0x10FFFE] { nonCharacters.unicodeScalars.append(Unicode.Scalar(value)!) }
        #expect(TextSanitizer.clean(nonCharacters, multiline: false) == "Anna")
        #expect(TextSanitizer.terminalSafe(nonCharacters) == "Anna<U+FFFF><U+FDD0><U+10FFFE>")
    }

    @Test func keepsOrdinaryText() {
        let samples = [
            "Анна-Мария Петрова-Водкина", "O'Brien & Sons, Ltd.", "Zoë Ångström", "李小龍", "שלום", "مرحبا",
            "👨‍👩‍👧 family", "❤️", "नमस्ते", "=HYPERLINK(\"http://evil\",\"x\")",
        ]
        for sample in samples {
            #expect(TextSanitizer.clean(sample, multiline: false) == sample)
            #expect(TextSanitizer.clean(sample, multiline: true) == sample)
        }
    }

    @Test func cleaningTwiceChangesNothing() {
        let raw = " \u{1B}[2J Anna\r\n\u{202E}Maria\t\t \u{0}x \n"
        for multiline in [false, true] {
            let once = TextSanitizer.clean(raw, multiline: multiline)
            #expect(TextSanitizer.clean(once, multiline: multiline) == once)
        }
    }

    // MARK: terminalSafe

    @Test func terminalSafeShowsControlsInCaretNotation() {
        #expect(TextSanitizer.terminalSafe("\u{1B}[2J\u{1B}]0;pwned\u{07}Anna") == "^[[2J^[]0;pwned^GAnna")
        #expect(TextSanitizer.terminalSafe("An\u{0}na") == "An^@na")
        #expect(TextSanitizer.terminalSafe("a\tb\rc\u{7F}") == "a^Ib^Mc^?")
        #expect(TextSanitizer.terminalSafe("one\ntwo") == "one⏎two")
    }

    @Test func terminalSafeShowsC1AndBidiAsCodePoints() {
        #expect(TextSanitizer.terminalSafe("\u{202E}gnp.exe") == "<U+202E>gnp.exe")
        #expect(TextSanitizer.terminalSafe("\u{9B}2J") == "<U+009B>2J")
        #expect(TextSanitizer.terminalSafe("\u{FEFF}a\u{200B}b\u{2028}c") == "<U+FEFF>a<U+200B>b<U+2028>c")
        #expect(TextSanitizer.terminalSafe("\u{E0068}") == "<U+E0068>")
    }

    @Test func terminalSafeLeavesOrdinaryTextAlone() {
        for sample in ["Анна Петрова", "李小龍", "👨‍👩‍👧", "=HYPERLINK(\"http://evil\",\"x\")", "a b  c"] {
            #expect(TextSanitizer.terminalSafe(sample) == sample)
        }
    }

    @Test(arguments: [
        "\u{1B}[2J\u{1B}]0;pwned\u{07}Anna", "\u{0}", "\u{202E}gnp.exe", "\u{9B}31m", "\u{2066}x\u{2069}",
        "\u{7F}\u{85}\u{8D}", "\u{1B}P+q\u{1B}\\",
    ])
    func terminalSafeOutputHasNoControlOrBidiCharacters(_ hostile: String) {
        let shown = TextSanitizer.terminalSafe(hostile)
        #expect(!shown.unicodeScalars.contains(where: isDangerous))
    }

    private func isDangerous(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF: true
        default: false
        }
    }
}
