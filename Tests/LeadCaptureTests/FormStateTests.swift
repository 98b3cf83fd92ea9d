import LeadCore
import Testing

@testable import LeadCapture

/// The default form: first_name*, last_name, email*, phone, company, job_title, interest (choice), consent*.
func makeState(
    kiosk: Bool = true,
    pin: String? = "2468",
    form: FormSpec = .default,
    language: Language = .en
)
    -> FormState
{
    FormState(
        form: form,
        language: language,
        kiosk: kiosk,
        staffPIN: pin,
        idleResetMilliseconds: 60_000,
        confirmationMilliseconds: 5_000
    )
}

extension FormState {
    /// Applies keys at time `now`, returning every effect.
    @discardableResult
    mutating func press(_ keys: Key..., now: Int64 = 0) -> [FormEffect] {
        keys.flatMap { handle($0, now: now) }
    }

    mutating func focusField(_ name: String) {
        let index = form.fields.firstIndex { $0.name == name }!
        while focus != .field(index) { press(.tab) }
    }

    mutating func focusConsent() { while focus != .consent { press(.tab) } }
    mutating func focusSubmit() { while focus != .submit { press(.tab) } }
}

@Suite struct FormStateTests {
    // MARK: Editing

    @Test func typingInsertsAtTheCursor() {
        var state = makeState()
        state.press(.text("Ana"), .left, .text("n"))
        #expect(state.value(of: "first_name") == "Anna")
        #expect(state.cursors[0] == 3)
    }

    @Test func cyrillicEditsByCharacterNotByte() {
        var state = makeState()
        state.press(.text("Анна"), .left, .left, .backspace)
        #expect(state.value(of: "first_name") == "Ана")
        #expect(state.cursors[0] == 1)
        state.press(.delete)
        #expect(state.value(of: "first_name") == "Аа")
    }

    @Test func homeEndAndDelete() {
        var state = makeState()
        state.press(.text("Maria"), .home, .delete, .text("Z"), .end, .backspace, .text("!"))
        #expect(state.value(of: "first_name") == "Zari!")
        state.press(.home, .backspace, .end, .delete)
        #expect(state.value(of: "first_name") == "Zari!")
    }

    @Test func combiningMarkJoinsThePreviousCharacter() {
        var state = makeState()
        state.press(.text("Rene"), .text("\u{301}"))
        #expect(state.value(of: "first_name") == "Ren\u{E9}")
        #expect(state.value(of: "first_name")?.count == 4)
        #expect(state.cursors[0] == 4)
        state.press(.backspace)
        #expect(state.value(of: "first_name") == "Ren")
    }

    @Test func enterTabAndDownGoToTheNextField() {
        var state = makeState()
        state.press(.enter)
        #expect(state.focus == .field(1))
        state.press(.tab)
        #expect(state.focus == .field(2))
        state.press(.down)
        #expect(state.focus == .field(3))
    }

    @Test func shiftTabAndUpGoBackAndFocusWraps() {
        var state = makeState()
        state.press(.backTab)
        #expect(state.focus == .submit)
        state.press(.up)
        #expect(state.focus == .consent)
        state.press(.tab, .tab)
        #expect(state.focus == .field(0))
    }

    @Test func cursorGoesToTheEndWhenAFieldIsEntered() {
        var state = makeState()
        state.press(.text("Anna"), .home, .tab, .backTab)
        #expect(state.cursors[0] == 4)
    }

    @Test func typingIsBoundedByMaxLength() {
        let form = FormSpec(
            title: "T",
            fields: [FieldSpec(name: "code", label: "Code", maxLength: 5)],
            consentText: "ok",
            consentRequired: false
        )
        var state = makeState(form: form)
        for character in "abcdefgh" { state.press(.text(String(character))) }
        #expect(state.value(of: "code") == "abcde")
        state.press(.home, .text("XYZ"))
        #expect(state.value(of: "code") == "abcde")
        state.press(.delete, .text("XYZ"))
        #expect(state.value(of: "code") == "Xbcde")
    }

    // MARK: Consent, choices, submit

    @Test func spaceTogglesConsentAndTypesNothing() {
        var state = makeState()
        state.focusConsent()
        state.press(.text(" "))
        #expect(state.consentChecked)
        state.press(.text(" "))
        #expect(!state.consentChecked)
        state.press(.text("x"))
        #expect(!state.consentChecked)
        #expect(state.rawValues.isEmpty)
    }

    @Test func spaceInATextFieldIsASpace() {
        var state = makeState()
        state.press(.text("Anna"), .text(" "), .text("Maria"))
        #expect(state.value(of: "first_name") == "Anna Maria")
        #expect(!state.consentChecked)
    }

    @Test func choiceCyclesWithSpaceAndArrows() {
        var state = makeState()
        state.focusField("interest")
        #expect(state.value(of: "interest") == "")
        state.press(.text(" "))
        #expect(state.value(of: "interest") == "product")
        state.press(.right)
        #expect(state.value(of: "interest") == "pricing")
        state.press(.left, .left)
        #expect(state.value(of: "interest") == "")  // optional: back to none
        state.press(.left)
        #expect(state.value(of: "interest") == "other")
        state.press(.text("abc"))
        #expect(state.value(of: "interest") == "other")
        state.press(.backspace)
        #expect(state.value(of: "interest") == "")
    }

    @Test func requiredChoiceNeverGoesBackToNone() {
        let form = FormSpec(
            title: "T",
            fields: [
                FieldSpec(
                    name: "size",
                    label: "Size",
                    type: .choice,
                    required: true,
                    choices: [Choice(value: "s", label: "S"), Choice(value: "m", label: "M")]
                )
            ],
            consentText: "ok",
            consentRequired: false
        )
        var state = makeState(form: form)
        state.press(.right, .right, .right)
        #expect(state.value(of: "size") == "s")
    }

    @Test func enterOnSubmitSubmitsTheTypedValuesAndConsent() {
        var state = makeState()
        state.press(.text("Анна"), .tab, .tab, .text("anna@example.com"))
        state.focusField("interest")
        state.press(.text(" "))
        state.focusConsent()
        state.press(.text(" "))
        state.focusSubmit()
        let effects = state.press(.enter)
        #expect(
            effects == [
                .submit(
                    raw: ["first_name": "Анна", "email": "anna@example.com", "interest": "product"],
                    consentGiven: true
                )
            ]
        )
    }

    @Test func firstKeystrokeStartsTheFormOnce() {
        var state = makeState()
        #expect(state.press(.text("A")) == [.started])
        #expect(state.press(.text("n")) == [])
        state.reset()
        #expect(state.press(.tab) == [.started])
    }

    // MARK: Validation

    @Test func validationErrorsShowBesideFieldsAndFocusTheFirst() throws {
        var state = makeState()
        state.press(.text("Anna"), .tab, .tab, .text("not-an-email"))
        state.focusSubmit()
        let effects = state.press(.enter)
        guard case .submit(let raw, let consent)? = effects.first else {
            Issue.record("no submit")
            return
        }
        let result = LeadValidator(form: .default, country: nil).validate(raw, consentGiven: consent)
        guard case .failure(let errors) = result else {
            Issue.record("expected errors")
            return
        }
        state.applyValidation(errors)
        #expect(state.focus == .field(2))
        #expect(state.errors["email"]?.kind == .invalidEmail)
        #expect(state.errors["consent"]?.kind == .consentRequired)
        #expect(state.value(of: "email") == "not-an-email")
        // Editing the field clears its error; the other errors stay.
        state.press(.backspace)
        #expect(state.errors["email"] == nil)
        #expect(state.errors["consent"] != nil)
    }

    @Test func consentErrorFocusesTheCheckboxAndTickingClearsIt() {
        var state = makeState()
        state.applyValidation(ValidationErrors(errors: [FieldError(field: "consent", kind: .consentRequired)]))
        #expect(state.focus == .consent)
        state.press(.text(" "))
        #expect(state.errors.isEmpty)
    }

    // MARK: Language

    @Test func f2SwitchesLanguageAndResetRestoresIt() {
        var state = makeState()
        #expect(state.press(.f2) == [.started, .languageChanged])
        #expect(state.language == .ru)
        state.press(.f2)
        #expect(state.language == .en)
        state.press(.f2)
        state.reset()
        #expect(state.language == .en)
        var russian = makeState(language: .ru)
        russian.press(.f2)
        #expect(russian.language == .en)
    }

    // MARK: Kiosk and staff

    @Test(arguments: [UInt8(0x03), 0x1A, 0x1C, 0x04, 0x11, 0x13, 0x00])
    func kioskIgnoresControlKeys(code: UInt8) {
        var state = makeState(kiosk: true)
        state.press(.text("Anna"))
        let effects = state.press(.control(code))
        #expect(effects.isEmpty)
        #expect(state.value(of: "first_name") == "Anna")
        #expect(state.mode == .editing)
    }

    @Test func ctrlCQuitsOutsideKioskModeOnly() {
        var state = makeState(kiosk: false)
        #expect(state.press(.ctrlC) == [.quit])
        #expect(state.press(.control(0x1A)) == [])
        #expect(state.press(.control(0x1C)) == [])
        var kiosk = makeState(kiosk: true)
        #expect(kiosk.press(.ctrlC) == [])
    }

    @Test func escapeDoesNotLeaveTheKioskForm() {
        var state = makeState(kiosk: true)
        state.press(.text("Anna"))
        #expect(state.press(.escape) == [])
        #expect(state.mode == .editing)
        #expect(state.value(of: "first_name") == "Anna")
    }

    @Test func f12WithoutPINInKioskModeSaysSo() {
        var state = makeState(kiosk: true, pin: nil)
        #expect(state.press(.f12) == [])
        #expect(state.mode == .editing)
        #expect(state.banner == .noStaffPIN)
        state.press(.text("A"))
        #expect(state.banner == nil)
        var empty = makeState(kiosk: true, pin: "")
        empty.press(.f12)
        #expect(empty.banner == .noStaffPIN)
    }

    @Test func f12WithoutPINOutsideKioskModeOpensTheStaffScreen() {
        var state = makeState(kiosk: false, pin: nil)
        #expect(state.press(.f12) == [.leaveKiosk])
        #expect(state.mode == .staff(nil))
    }

    @Test func f12AndTheRightPINLeaveTheKioskForm() {
        var state = makeState(kiosk: true, pin: "2468")
        #expect(state.press(.f12) == [])
        #expect(state.mode == .staffPIN)
        state.press(.text("24"), .text("6"), .text("8"))
        #expect(state.pinDigitsEntered == 4)
        #expect(state.press(.enter) == [.leaveKiosk])
        #expect(state.mode == .staff(nil))
        state.showStaffSummary(FormState.StaffSummary(leadsToday: 3, pendingSync: 1))
        #expect(state.mode == .staff(FormState.StaffSummary(leadsToday: 3, pendingSync: 1)))
        #expect(state.press(.escape) == [.staffExitRequested])
        #expect(state.mode == .editing)
    }

    @Test func aWrongPINStaysAtThePrompt() {
        var state = makeState(kiosk: true, pin: "2468")
        state.press(.text("Anna"), .f12, .text("1111"))
        #expect(state.press(.enter) == [])
        #expect(state.mode == .staffPIN)
        #expect(state.banner == .wrongPIN)
        #expect(state.pinDigitsEntered == 0)
        // A longer PIN that starts with the right one is wrong too.
        state.press(.text("24680"))
        #expect(state.press(.enter) == [])
        #expect(state.mode == .staffPIN)
        // Esc goes back to the visitor's form as it was.
        state.press(.escape)
        #expect(state.mode == .editing)
        #expect(state.value(of: "first_name") == "Anna")
    }

    @Test func pinPromptTakesDigitsOnlyAndBackspace() {
        var state = makeState(kiosk: true, pin: "2468")
        state.press(.f12, .text("2a4\u{1B}[6"), .backspace, .text("68"))
        #expect(state.press(.enter) == [.leaveKiosk])
    }

    @Test func threeWrongPINsLockThePromptForThirtySeconds() {
        var state = makeState(kiosk: true, pin: "2468")
        state.press(.f12)
        for _ in 0..<3 { state.press(.text("0000"), .enter, now: 1_000) }
        #expect(state.banner == .pinLocked)
        #expect(state.press(.text("2468"), .enter, now: 20_000) == [])
        #expect(state.mode == .staffPIN)
        #expect(state.press(.text("2468"), .enter, now: 31_001) == [.leaveKiosk])
    }

    @Test func staffScreenQuitsOnlyOutsideKioskMode() {
        var kiosk = makeState(kiosk: true, pin: "2468")
        kiosk.press(.f12, .text("2468"), .enter)
        #expect(kiosk.press(.text("q")) == [])
        #expect(kiosk.mode == .staff(nil))
        var desk = makeState(kiosk: false, pin: "2468")
        desk.press(.f12, .text("2468"), .enter)
        #expect(desk.press(.text("Q")) == [.quit])
    }

    @Test func pinComparisonIsExact() {
        #expect(FormState.constantTimeEqual(Array("2468".utf8), Array("2468".utf8)))
        #expect(!FormState.constantTimeEqual(Array("2469".utf8), Array("2468".utf8)))
        #expect(!FormState.constantTimeEqual(Array("246".utf8), Array("2468".utf8)))
        #expect(!FormState.constantTimeEqual([], Array("2468".utf8)))
    }

    // MARK: Timers

    @Test func idleResetWipesTheStartedForm() {
        var state = makeState()
        #expect(state.deadline == nil)
        state.press(.text("Анна"), .tab, .text("Secret"), now: 1_000)
        state.focusConsent()
        state.press(.text(" "), now: 2_000)
        #expect(state.deadline == 62_000)
        #expect(state.tick(now: 61_999) == [])
        #expect(state.value(of: "first_name") == "Анна")
        #expect(state.tick(now: 62_000) == [.idleReset, .freshForm])
        #expect(state.values.allSatisfy { $0.isEmpty })
        #expect(!state.consentChecked)
        #expect(!state.isStarted)
        #expect(state.focus == .field(0))
        #expect(state.deadline == nil)
    }

    @Test func idleStaffScreenReturnsToTheForm() {
        var state = makeState(kiosk: true, pin: "2468")
        state.press(.f12, .text("2468"), .enter, now: 0)
        #expect(state.tick(now: 60_000) == [])
        #expect(state.mode == .editing)
    }

    @Test func confirmationWipesTheFormAndEndsAfterItsTime() {
        var state = makeState()
        state.press(.text("Анна"), .f2)
        state.showConfirmation(name: "Анна", now: 10_000)
        #expect(state.mode == .confirmation(name: "Анна"))
        #expect(state.language == .ru)  // thanked in the visitor's language
        #expect(state.values.allSatisfy { $0.isEmpty })
        #expect(state.press(.text("x"), now: 11_000) == [])
        #expect(state.tick(now: 14_999) == [])
        #expect(state.tick(now: 15_000) == [.freshForm])
        #expect(state.mode == .editing)
        #expect(state.language == .en)
    }

    @Test func storeErrorKeepsTheLeadAndStaysUntilResubmitted() {
        var state = makeState()
        state.press(.text("Anna"))
        state.showStoreError()
        state.press(.tab, .text("Smith"))
        #expect(state.banner == .storeError)
        #expect(state.value(of: "first_name") == "Anna")
        #expect(state.value(of: "last_name") == "Smith")
    }

    // MARK: Bad input

    @Test func hundredThousandCharacterPasteIsBoundedAndFast() {
        var state = makeState()
        let paste = String(repeating: "Ж", count: 100_000)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            state.press(.text(paste))
            state.press(.tab, .text(String(repeating: "é", count: 100_000)))
        }
        #expect(state.value(of: "first_name") == String(repeating: "Ж", count: 200))
        #expect(state.value(of: "last_name")?.count == 200)
        #expect(elapsed < .seconds(1))
    }

    @Test func pasteIntoTheMiddleKeepsTheTail() {
        var state = makeState()
        state.press(.text("AZ"), .left, .text(String(repeating: "x", count: 1_000)))
        let value = state.value(of: "first_name")!
        #expect(value.count == 200)
        #expect(value.hasPrefix("Axx"))
        #expect(value.hasSuffix("xZ"))
    }

    @Test func escapeSequencesAndControlCharactersNeverEnterAField() {
        var state = makeState()
        state.press(.text("\u{1B}[2J\u{1B}]0;pwned\u{07}An\u{00}n\u{7F}a\u{9B}31m\u{1B}P1$r\u{1B}\\\u{08}\u{1B}OQ"))
        #expect(state.value(of: "first_name") == "Anna")
        state.press(.tab, .text("Bob\r\nby\tT\u{202E}ables\u{200B}"))
        #expect(state.value(of: "last_name") == "BobbyTables")
    }

    @Test func invalidUTF8NeverEntersAField() {
        var state = makeState()
        let decoded = String(decoding: [0xFF, 0x41, 0xC3, 0x28, 0xED, 0xA0, 0x80, 0x42], as: UTF8.self)
        #expect(decoded.unicodeScalars.contains("\u{FFFD}"))
        state.press(.text(decoded))
        #expect(state.value(of: "first_name") == "A(B")
    }

    @Test func emojiSequencesKeepTheirJoiners() {
        var state = makeState()
        state.press(.text("👩‍💻 Ana"))
        #expect(state.value(of: "first_name") == "👩‍💻 Ana")
    }

    // MARK: Keyboard-wedge fill

    @Test func scannedCardFillsFieldsAndFocusesTheFirstMissingRequired() {
        var state = makeState()
        let effects = state.fill(["first_name": "John", "last_name": "Doe", "company": "ACME\u{1B}[31m"], now: 5_000)
        #expect(effects == [.started])
        #expect(state.value(of: "first_name") == "John")
        #expect(state.value(of: "company") == "ACME")
        #expect(state.focus == .field(2))  // email is required and empty
        #expect(state.deadline == 65_000)
        _ = state.fill(["email": "john@example.com"], now: 6_000)
        #expect(state.focus == .consent)
    }
}
