import LeadCore
import Testing

@testable import LeadCapture

@Suite struct FormLayoutTests {
    let standard = TerminalSize(columns: 80, lines: 24)
    /// "> " + the widest default label ("Interested in", 13 cells) + " ".
    let boxStart = 16

    func line(_ screen: Screen, containing text: String) -> ScreenLine? {
        screen.lines.first { $0.text.contains(text) }
    }

    @Test func formShowsTitleLabelsSubmitAndHints() {
        let screen = FormLayout.screen(for: makeState(), size: standard)
        #expect(screen.lines[0].text.contains("Leave your contacts"))
        for label in ["First name*", "Last name", "Email*", "Phone", "Company", "Job title", "Interested in"] {
            #expect(line(screen, containing: label) != nil, "missing \(label)")
        }
        #expect(line(screen, containing: "[ ] I agree") != nil)
        #expect(line(screen, containing: "[ Submit ]") != nil)
        #expect(screen.lines[23].text.contains("Tab/↓ next · Shift-Tab/↑ back · Space toggle · F2 Русский"))
        #expect(screen.cursor == CursorPosition(row: 2, column: boxStart))
    }

    @Test func russianAfterF2() {
        var state = makeState()
        state.press(.f2)
        let screen = FormLayout.screen(for: state, size: standard)
        #expect(screen.lines[0].text.contains("Оставьте контакты"))
        #expect(line(screen, containing: "Имя*") != nil)
        #expect(line(screen, containing: "[ Отправить ]") != nil)
        #expect(screen.text.contains("F2 English"))
    }

    @Test func everyLineFitsTheTerminal() {
        var state = makeState()
        state.press(.text(String(repeating: "東", count: 150)))
        state.applyValidation(
            ValidationErrors(errors: [
                FieldError(field: "phone", kind: .invalidPhone), FieldError(field: "consent", kind: .consentRequired),
            ])
        )
        state.showStoreError()
        for size in [(40, 40), (41, 30), (80, 24), (80, 30), (132, 43), (200, 60), (39, 24), (10, 3), (1, 1), (0, 0)] {
            let terminal = TerminalSize(columns: size.0, lines: size.1)
            let screen = FormLayout.screen(for: state, size: terminal)
            #expect(screen.lines.count == max(0, size.1))
            for (row, line) in screen.lines.enumerated() {
                let limit = size.0 - (row == screen.lines.count - 1 ? 1 : 0)
                #expect(line.width <= max(0, limit), "\(size) row \(row): \(line.text)")
            }
            if let cursor = screen.cursor {
                #expect(cursor.row < size.1 && cursor.column < size.0)
            }
        }
    }

    @Test func tooSmallTerminalAsksToEnlarge() {
        let narrow = FormLayout.screen(for: makeState(), size: TerminalSize(columns: 39, lines: 24))
        #expect(narrow.text.contains("Please enlarge the window"))
        #expect(!narrow.text.contains("First name"))
        #expect(narrow.cursor == nil)
        let short = FormLayout.screen(for: makeState(), size: TerminalSize(columns: 80, lines: 11))
        #expect(short.text.contains("Please enlarge the window"))
        // Tall enough for the minimum, but not for the seven fields, the consent text and the hints.
        let cramped = FormLayout.screen(for: makeState(), size: TerminalSize(columns: 80, lines: 12))
        #expect(cramped.text.contains("Please enlarge the window"))
        let russian = FormLayout.screen(for: makeState(language: .ru), size: TerminalSize(columns: 30, lines: 10))
        #expect(russian.text.contains("Пожалуйста, увеличьте"))
    }

    @Test func errorIsShownBesideItsField() {
        var state = makeState()
        state.press(.tab, .tab, .text("bad"))
        state.applyValidation(ValidationErrors(errors: [FieldError(field: "email", kind: .invalidEmail)]))
        let screen = FormLayout.screen(for: state, size: TerminalSize(columns: 120, lines: 30))
        let email = line(screen, containing: "Email*")
        #expect(email?.text.contains("Enter a valid email address") == true)
        #expect(email?.spans.last?.style.contains(.error) == true)
        #expect(screen.cursor?.row == screen.lines.firstIndex { $0.text.contains("Email*") })
    }

    @Test func longErrorGoesUnderItsFieldOnANarrowTerminal() {
        var state = makeState()
        state.applyValidation(ValidationErrors(errors: [FieldError(field: "phone", kind: .invalidPhone)]))
        let screen = FormLayout.screen(for: state, size: standard)
        let phoneRow = screen.lines.firstIndex { $0.text.contains("Phone") }!
        #expect(screen.lines[phoneRow + 1].text.contains("Enter the phone number"))
        #expect(screen.lines[phoneRow + 2].text.contains("Company") || screen.lines[phoneRow + 2].text.contains("67"))
    }

    @Test func cyrillicAndCJKValuesTakeTheirCells() {
        var state = makeState()
        state.press(.text("Анна"))
        var screen = FormLayout.screen(for: state, size: standard)
        #expect(screen.cursor == CursorPosition(row: 2, column: boxStart + 4))
        state.press(.tab, .text("東京"))
        screen = FormLayout.screen(for: state, size: standard)
        #expect(screen.cursor == CursorPosition(row: 3, column: boxStart + 4))
        #expect(line(screen, containing: "東京")?.text.contains("東京") == true)
    }

    @Test func longValueScrollsToKeepTheCursorInItsBox() {
        var state = makeState()
        let value = String(repeating: "A", count: 100) + String(repeating: "Z", count: 50)
        state.press(.text(value))
        let screen = FormLayout.screen(for: state, size: standard)
        let row = screen.lines[2].text
        #expect(row.contains(String(value.suffix(20))))
        #expect(!row.contains(String(value.prefix(20))))
        let cursor = try! #require(screen.cursor)
        #expect(cursor.column < 80)
        state.press(.home)
        let atHome = FormLayout.screen(for: state, size: standard)
        #expect(atHome.lines[2].text.contains(String(value.prefix(20))))
        #expect(atHome.cursor?.column == boxStart)
    }

    @Test func visibleWindowNeverSplitsAWideCharacter() {
        let window = FormLayout.visibleWindow("東京東京東", cursor: 5, width: 7, scroll: true)
        #expect(DisplayWidth.of(window.text) <= 7)
        #expect(window.cursorCell <= 6)
        #expect(window.text.hasSuffix("東"))
    }

    @Test func choiceShowsItsLabelInTheVisitorsLanguage() {
        var state = makeState()
        state.focusField("interest")
        state.press(.text(" "))
        #expect(line(FormLayout.screen(for: state, size: standard), containing: "< Product demo >") != nil)
        state.press(.f2)
        #expect(line(FormLayout.screen(for: state, size: standard), containing: "< Демо продукта >") != nil)
    }

    @Test func consentTickAndErrorShow() {
        var state = makeState()
        state.applyValidation(ValidationErrors(errors: [FieldError(field: "consent", kind: .consentRequired)]))
        var screen = FormLayout.screen(for: state, size: standard)
        #expect(screen.text.contains("Please agree to the processing"))
        state.press(.text(" "))
        screen = FormLayout.screen(for: state, size: standard)
        #expect(line(screen, containing: "[x] I agree") != nil)
        #expect(!screen.text.contains("Please agree to the processing"))
    }

    @Test func storeErrorShowsTheCalmStaffMessageAndKeepsTheLead() {
        var state = makeState()
        state.press(.text("Анна"))
        state.showStoreError()
        let screen = FormLayout.screen(for: state, size: standard)
        #expect(screen.text.contains("Something went wrong — please call a member of staff."))
        #expect(screen.text.contains("Анна"))
        state.press(.f2)
        #expect(FormLayout.screen(for: state, size: standard).text.contains("позовите сотрудника"))
    }

    @Test func confirmationThanksByName() {
        var state = makeState()
        state.showConfirmation(name: "Анна", now: 0)
        #expect(FormLayout.screen(for: state, size: standard).text.contains("Thank you, Анна!"))
        var russian = makeState(language: .ru)
        russian.showConfirmation(name: "Анна", now: 0)
        #expect(FormLayout.screen(for: russian, size: standard).text.contains("Спасибо, Анна!"))
        #expect(FormLayout.screen(for: russian, size: standard).cursor == nil)
    }

    @Test func pinPromptShowsStarsNotDigits() {
        var state = makeState(kiosk: true, pin: "2468")
        state.press(.f12, .text("24"))
        let screen = FormLayout.screen(for: state, size: standard)
        #expect(screen.text.contains("Staff PIN: **"))
        #expect(!screen.text.contains("24"))
        state.press(.text("1"), .enter)
        #expect(FormLayout.screen(for: state, size: standard).text.contains("Wrong PIN"))
    }

    @Test func staffScreenShowsCountsAndQuitOutsideKioskOnly() {
        var kiosk = makeState(kiosk: true, pin: "2468")
        kiosk.press(.f12, .text("2468"), .enter)
        kiosk.showStaffSummary(FormState.StaffSummary(leadsToday: 42, pendingSync: 3))
        let screen = FormLayout.screen(for: kiosk, size: standard)
        #expect(screen.text.contains("Leads today: 42"))
        #expect(screen.text.contains("Waiting to sync: 3"))
        #expect(screen.text.contains("Esc: back to the form"))
        #expect(!screen.text.contains("Q: quit"))
        var desk = makeState(kiosk: false, pin: nil)
        desk.press(.f12)
        let deskScreen = FormLayout.screen(for: desk, size: standard)
        #expect(deskScreen.text.contains("Q: quit"))
        #expect(deskScreen.text.contains("Counts unavailable"))
    }

    @Test func noStaffPINMessage() {
        var state = makeState(kiosk: true, pin: nil)
        state.press(.f12)
        #expect(FormLayout.screen(for: state, size: standard).text.contains("No staff PIN configured"))
    }

    @Test func configTextCannotDrawEscapeSequences() {
        let form = FormSpec(
            title: "Expo\u{1B}[2J 2026",
            fields: [FieldSpec(name: "name", label: "Name\u{07}")],
            consentText: "OK\u{1B}]0;x\u{07}",
            consentRequired: false
        )
        let screen = FormLayout.screen(for: makeState(form: form), size: standard)
        let controls = screen.lines.filter { line in line.text.unicodeScalars.contains { $0.value < 0x20 } }
        #expect(controls.isEmpty)
        #expect(screen.text.contains("Expo 2026"))
    }
}

@Suite struct DisplayWidthTests {
    @Test func latinAndCyrillicAreOneCellEach() {
        #expect(DisplayWidth.of("Anna") == 4)
        #expect(DisplayWidth.of("Анна Иванова") == 12)
        #expect(DisplayWidth.of("Ёжик") == 4)
    }

    @Test func wideCharactersAreTwoCells() {
        #expect(DisplayWidth.of("東京") == 4)
        #expect(DisplayWidth.of("한국어") == 6)
        #expect(DisplayWidth.of("ｈｉ") == 4)
        #expect(DisplayWidth.of("👍") == 2)
        #expect(DisplayWidth.of("🇷🇺") == 2)
        #expect(DisplayWidth.of("👩‍💻") == 2)
    }

    @Test func combiningMarksAndFormatCharactersAreZero() {
        #expect(DisplayWidth.of("e\u{301}") == 1)
        #expect(DisplayWidth.of(Unicode.Scalar(0x301)!) == 0)
        #expect(DisplayWidth.of(Unicode.Scalar(0x200B)!) == 0)
        #expect(DisplayWidth.of("й") == 1)
        #expect(DisplayWidth.of("и\u{306}") == 1)
    }
}
