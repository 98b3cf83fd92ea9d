import LeadCore
import Testing

@Suite struct INIParserTests {
    private func parseError(_ text: String) -> ConfigError? {
        do {
            _ = try INIParser.parse(text, file: "test.conf")
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesSectionsKeysCommentsAndLineNumbers() throws {
        let text = """
            # leading comment
            ; also a comment

            [Kiosk]
              Event =  expo 2026\t
            ID=booth=a1 # not a comment

            [Terminal]
            TTY=-
            """
        let sections = try INIParser.parse(text, file: "/etc/leadd/leadd.conf")
        #expect(sections.map(\.name) == ["Kiosk", "Terminal"])
        #expect(sections.map(\.line) == [4, 8])
        let kiosk = sections[0]
        #expect(kiosk.file == "/etc/leadd/leadd.conf")
        #expect(kiosk.entries.map(\.key) == ["Event", "ID"])
        #expect(kiosk.last("Event")?.value == "expo 2026")
        #expect(kiosk.last("Event")?.line == 5)
        #expect(kiosk.last("ID")?.value == "booth=a1 # not a comment")
        #expect(kiosk.last("ID")?.file == "/etc/leadd/leadd.conf")
        #expect(sections[1].last("TTY")?.value == "-")
        #expect(sections[1].last("TTY")?.line == 9)
    }

    @Test func repeatedSectionsStaySeparateInFileOrder() throws {
        let sections = try INIParser.parse("[Sink]\nName=a\n[Sink]\nName=b\n[Kiosk]\n[Sink]\nName=c\n", file: "f")
        #expect(sections.map(\.name) == ["Sink", "Sink", "Kiosk", "Sink"])
        #expect(sections.compactMap { $0.last("Name")?.value } == ["a", "b", "c"])
        #expect(sections[2].entries.isEmpty)
    }

    @Test func localisedKeysCarryTheirLocale() throws {
        let sections = try INIParser.parse("[Field]\nLabel=Name\nLabel[ru]=Имя\nLabel[pt_BR]=Nome\n", file: "f")
        let field = sections[0]
        #expect(field.last("Label")?.value == "Name")
        #expect(field.last("Label", locale: "ru")?.value == "Имя")
        #expect(field.last("Label", locale: "ru")?.displayKey == "Label[ru]")
        #expect(field.last("Label", locale: "pt_BR")?.value == "Nome")
        #expect(field.entries.map(\.locale) == [nil, "ru", "pt_BR"])
    }

    @Test func laterAssignmentOfAKeyWins() throws {
        let sections = try INIParser.parse("[Sync]\nRetryMaxSec=10\nRetryMaxSec=20\n", file: "f")
        #expect(sections[0].entries.count == 2)
        #expect(sections[0].last("RetryMaxSec")?.value == "20")
        #expect(sections[0].last("RetryMaxSec")?.line == 3)
    }

    @Test func emptyValueIsKept() throws {
        let sections = try INIParser.parse("[Kiosk]\nCountry=\n", file: "f")
        #expect(sections[0].last("Country")?.value == "")
    }

    @Test func backslashContinuesValueOnNextLine() throws {
        let text = "[Form]\nConsentText=I agree \\\n   # skipped comment\n   to be \\\n contacted.\nTitle=T\n"
        let sections = try INIParser.parse(text, file: "f")
        #expect(sections[0].last("ConsentText")?.value == "I agree to be contacted.")
        #expect(sections[0].last("ConsentText")?.line == 2)
        #expect(sections[0].last("Title")?.line == 6)
    }

    @Test func acceptsByteOrderMarkAndCRLF() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("[Kiosk]\r\nEvent=expo\r\n".utf8)
        let sections = try INIParser.parse(bytes: bytes, file: "f")
        #expect(sections[0].name == "Kiosk")
        #expect(sections[0].last("Event")?.value == "expo")
        #expect(sections[0].last("Event")?.line == 2)
    }

    @Test func rejectsKeyBeforeAnySection() throws {
        let error = try #require(parseError("# config\nEvent=expo\n[Kiosk]\n"))
        #expect(error.file == "test.conf")
        #expect(error.line == 2)
        #expect(error.key == "Event")
        #expect(error.section == nil)
        #expect(error.description.hasPrefix("test.conf:2: Event: key outside any section"))
    }

    @Test func rejectsLineWithoutEquals() throws {
        let error = try #require(parseError("[Kiosk]\nEvent=expo\nLanguage ru\n"))
        #expect(error.line == 3)
        #expect(error.section == "Kiosk")
        #expect(error.key == nil)
        #expect(error.message.contains("expected Key=value"))
    }

    @Test func rejectsEmptyKey() throws {
        let error = try #require(parseError("[Kiosk]\n = expo\n"))
        #expect(error.line == 2)
        #expect(error.message.contains("empty key"))
    }

    @Test(arguments: ["[Kiosk", "[]", "[Kiosk] trailing", "[Ki osk]", "[[Kiosk]]"])
    func rejectsBadSectionHeader(header: String) throws {
        let error = try #require(parseError("# x\n\(header)\nEvent=expo\n"))
        #expect(error.file == "test.conf")
        #expect(error.line == 2)
        #expect(error.message.contains("invalid section header"))
    }

    @Test(arguments: ["Bad Key=1", "Label[RU]=x", "Label[ru=x", "Label[]=x", "1Key=x", "Label[ru]x=y"])
    func rejectsMalformedKey(line: String) throws {
        let error = try #require(parseError("[Field]\n\(line)\n"))
        #expect(error.line == 2)
        #expect(error.message.contains("invalid key name"))
    }

    @Test func rejectsInvalidUTF8NamingTheLine() throws {
        let bytes = Array("[Kiosk]\nEvent=expo\nID=".utf8) + [0xFF, 0xFE] + Array("\n".utf8)
        #expect(throws: ConfigError.self) { try INIParser.parse(bytes: bytes, file: "bad.conf") }
        do {
            _ = try INIParser.parse(bytes: bytes, file: "bad.conf")
        } catch {
            #expect(error.file == "bad.conf")
            #expect(error.line == 3)
            #expect(error.message.contains("invalid UTF-8"))
        }
    }

    @Test func rejectsControlCharacters() throws {
        let error = try #require(parseError("[Kiosk]\nEvent=ex\u{1B}[2Jpo\n"))
        #expect(error.line == 2)
        #expect(error.message.contains("U+001B"))
    }
}
