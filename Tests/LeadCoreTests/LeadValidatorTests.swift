import LeadCore
import Testing

struct LeadValidatorTests {
    let validator = LeadValidator(form: .default, country: "RU")

    /// The default form plus a short field and a multiline field.
    static let wideForm = FormSpec(
        title: "Test",
        fields: FormSpec.default.fields + [
            FieldSpec(name: "badge_note", label: "Badge note", maxLength: 40),
            FieldSpec(name: "notes", label: "Notes", type: .multiline),
            FieldSpec(name: "mobile", label: "Mobile", type: .phone, required: true),
        ],
        consentText: "I agree",
        consentRequired: true
    )

    private func errors(_ result: Result<[String: String], ValidationErrors>) -> [FieldError] {
        if case .failure(let errors) = result { return errors.errors }
        return []
    }

    // MARK: validate

    @Test func cleansAndNormalizesEveryField() throws {
        let result = validator.validate(
            [
                "first_name": "  Anna ", "last_name": "Petrova\tVodkina", "email": " Anna@Example.COM",
                "phone": "8 (916) 123-45-67", "company": "", "interest": "Pricing",
            ],
            consentGiven: true
        )
        let fields = try result.get()
        #expect(
            fields == [
                "first_name": "Anna", "last_name": "Petrova Vodkina", "email": "anna@example.com",
                "phone": "+79161234567", "interest": "pricing",
            ]
        )
    }

    @Test func omitsEmptyOptionalFields() throws {
        let fields = try validator.validate(["first_name": "Anna", "email": "a@example.com", "company": "  "]).get()
        #expect(fields == ["first_name": "Anna", "email": "a@example.com"])
    }

    @Test func reportsEveryErrorInFormOrder() {
        let result = validator.validate(
            ["zzz": "1", "interest": "cheese", "phone": "12", "email": "nope", "aaa": "2"],
            consentGiven: false
        )
        #expect(
            errors(result) == [
                FieldError(field: "first_name", kind: .required),
                FieldError(field: "email", kind: .invalidEmail),
                FieldError(field: "phone", kind: .invalidPhone),
                FieldError(
                    field: "interest",
                    kind: .invalidChoice(allowed: ["product", "pricing", "partnership", "other"])
                ),
                FieldError(field: "consent", kind: .consentRequired),
                FieldError(field: "aaa", kind: .unknownField),
                FieldError(field: "zzz", kind: .unknownField),
            ]
        )
    }

    @Test func descriptionListsFieldAndEnglishMessagePerLine() {
        let result = validator.validate(["email": "nope", "frist_name": "Anna"])
        guard case .failure(let errors) = result else {
            Issue.record("expected errors")
            return
        }
        #expect(
            errors.description == """
                first_name: This field is required
                email: Enter a valid email address
                frist_name: Unknown field "frist_name"
                """
        )
        #expect(errors["email"]?.kind == .invalidEmail)
        #expect(errors["company"] == nil)
    }

    @Test func checksConsentOnlyWhenAsked() throws {
        let raw = ["first_name": "Anna", "email": "a@example.com"]
        #expect(throws: Never.self) { try validator.validate(raw).get() }
        #expect(throws: Never.self) { try validator.validate(raw, consentGiven: true).get() }
        #expect(
            errors(validator.validate(raw, consentGiven: false)) == [
                FieldError(field: "consent", kind: .consentRequired)
            ]
        )

        var optional = FormSpec.default
        optional.consentRequired = false
        let lenient = LeadValidator(form: optional, country: nil)
        #expect(throws: Never.self) { try lenient.validate(raw, consentGiven: false).get() }
    }

    @Test func refusesLocalPhoneWithoutCountry() {
        let international = LeadValidator(form: .default, country: nil)
        #expect(
            international.validateField("phone", "8 916 123-45-67")
                == .failure(FieldError(field: "phone", kind: .invalidPhone))
        )
        #expect(international.validateField("phone", "+7 916 123-45-67") == .success("+79161234567"))
    }

    // MARK: hostile text

    @Test func storesHostileNameWithoutEscapesAndPrintsItSafely() throws {
        let raw = "\u{1B}[2J\u{1B}]0;pwned\u{07}Anna"
        let fields = try validator.validate(["first_name": raw, "email": "a@example.com"]).get()
        #expect(fields["first_name"] == "[2J]0;pwnedAnna")
        #expect(TextSanitizer.terminalSafe(raw) == "^[[2J^[]0;pwned^GAnna")
        #expect(!(fields["first_name"] ?? "").unicodeScalars.contains("\u{1B}"))
    }

    @Test func storesNameWithNULWithoutIt() {
        #expect(validator.validateField("first_name", "An\u{0}na\u{0}") == .success("Anna"))
        #expect(TextSanitizer.terminalSafe("An\u{0}na") == "An^@na")
    }

    @Test func storesBidiOverrideWithoutIt() {
        #expect(validator.validateField("company", "\u{202E}gnp.exe") == .success("gnp.exe"))
        #expect(TextSanitizer.terminalSafe("\u{202E}gnp.exe") == "<U+202E>gnp.exe")
    }

    @Test func storesFormulaTextAsIsForTheExportToNeutralize() {
        // Formula injection is the CSV writer's job; the stored value is what the visitor typed.
        let formula = "=HYPERLINK(\"http://evil\",\"x\")"
        #expect(validator.validateField("company", formula) == .success(formula))
        #expect(TextSanitizer.terminalSafe(formula) == formula)
        #expect(validator.validateField("email", formula) == .failure(FieldError(field: "email", kind: .invalidEmail)))
        #expect(validator.validateField("phone", formula) == .failure(FieldError(field: "phone", kind: .invalidPhone)))
    }

    @Test(arguments: ["\u{1B}\u{0}", "\u{202E}", "\u{0}\u{0}\u{0}", " \u{FEFF} ", "\u{200B}\u{2060}"])
    func requiredFieldOfOnlyInvisibleCharactersIsRequired(_ raw: String) {
        #expect(
            validator.validateField("first_name", raw) == .failure(FieldError(field: "first_name", kind: .required))
        )
        #expect(validator.validateField("company", raw) == .success(nil))
    }

    @Test func refusesTextThatWasMisdecodedUpstream() {
        #expect(
            validator.validateField("company", "Ac\u{FFFD}e")
                == .failure(FieldError(field: "company", kind: .invalidText))
        )
    }

    // MARK: per-field rules

    @Test func countsLengthInCharactersAfterCleaning() {
        let wide = LeadValidator(form: Self.wideForm, country: "RU")
        let forty = String(repeating: "й", count: 39) + "👨‍👩‍👧"  // 40 characters, many more bytes and scalars
        #expect(wide.validateField("badge_note", forty) == .success(forty))
        #expect(wide.validateField("badge_note", "  " + forty + "\u{1B}\u{0}  ") == .success(forty))
        #expect(
            wide.validateField("badge_note", forty + "x")
                == .failure(FieldError(field: "badge_note", kind: .tooLong(max: 40)))
        )
    }

    @Test func keepsLineBreaksOnlyInMultilineFields() {
        let wide = LeadValidator(form: Self.wideForm, country: "RU")
        #expect(wide.validateField("notes", "call\r\nafter 5\r\n") == .success("call\nafter 5"))
        #expect(wide.validateField("company", "Acme\r\nLtd") == .success("Acme Ltd"))
    }

    @Test func phoneLengthIsCountedOnTheStoredNumber() {
        var form = FormSpec.default
        form.fields[3].maxLength = 12
        let strict = LeadValidator(form: form, country: "RU")
        #expect(strict.validateField("phone", "+7 (916) 123-45-67") == .success("+79161234567"))
    }

    @Test(arguments: [
        ("product", "product"), ("Product", "product"), ("PRICING", "pricing"), ("Product demo", "product"),
        ("демо продукта", "product"), ("Партнёрство", "partnership"), ("  Другое ", "other"),
    ])
    func acceptsChoiceByValueOrLabelInAnyLanguage(_ raw: String, _ expected: String) {
        #expect(validator.validateField("interest", raw) == .success(expected))
    }

    @Test func validateFieldRefusesUnknownField() {
        #expect(validator.validateField("nope", "x") == .failure(FieldError(field: "nope", kind: .unknownField)))
    }

    @Test func requiredPhoneOnWideForm() {
        let wide = LeadValidator(form: Self.wideForm, country: nil)
        let result = wide.validate(["first_name": "Anna", "email": "a@example.com", "mobile": " "], consentGiven: true)
        #expect(errors(result) == [FieldError(field: "mobile", kind: .required)])
    }

    // MARK: messages

    @Test func messagesInEnglishAndRussian() {
        let cases: [(FieldError.Kind, String, String)] = [
            (.required, "This field is required", "Обязательное поле"),
            (.invalidEmail, "Enter a valid email address", "Введите корректный адрес эл. почты"),
            (
                .invalidPhone, "Enter the phone number with the country code, e.g. +7 916 123-45-67",
                "Введите номер телефона с кодом страны, например +7 916 123-45-67"
            ),
            (.tooLong(max: 40), "At most 40 characters", "Не более 40 символов"),
            (.tooLong(max: 1), "At most 1 character", "Не более 1 символа"),
            (.tooLong(max: 21), "At most 21 characters", "Не более 21 символа"),
            (.tooLong(max: 11), "At most 11 characters", "Не более 11 символов"),
            (
                .invalidChoice(allowed: ["hot", "cold"]), "Choose one of: hot, cold",
                "Выберите один из вариантов: hot, cold"
            ),
            (.unknownField, "Unknown field \"foo\"", "Неизвестное поле «foo»"),
            (
                .consentRequired, "Please agree to the processing of your contact details",
                "Необходимо согласие на обработку персональных данных"
            ),
            (.invalidText, "The text contains characters that cannot be read", "Текст содержит нечитаемые символы"),
        ]
        for (kind, english, russian) in cases {
            let error = FieldError(field: "foo", kind: kind)
            #expect(error.message(.en) == english)
            #expect(error.message(.ru) == russian)
        }
    }

    @Test func everyFailureOfTheFormHasMessagesInBothLanguages() {
        let result = validator.validate(
            ["email": "x", "phone": "x", "interest": "x", "bogus": "x"],
            consentGiven: false
        )
        let found = errors(result)
        #expect(found.count == 6)
        for error in found {
            #expect(!error.message(.en).isEmpty)
            #expect(!error.message(.ru).isEmpty)
            #expect(error.message(.en) != error.message(.ru))
        }
    }

    @Test func unknownFieldNameIsPrintedSafely() {
        let error = FieldError(field: "x\u{1B}[2J", kind: .unknownField)
        #expect(error.message(.en) == "Unknown field \"x^[[2J\"")
        #expect(error.description == "x^[[2J: Unknown field \"x^[[2J\"")
    }
}
