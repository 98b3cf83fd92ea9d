/// A problem with one field of a lead, with a message for the visitor in their language.
public struct FieldError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The field's name (`email`), or `consent` for the consent checkbox.
    public var field: String
    public var kind: Kind

    /// What is wrong with the field.
    public enum Kind: Hashable, Sendable {
        /// A required field is empty (or held nothing but invisible characters).
        case required
        case invalidEmail
        /// Not a phone number, or a national number where no default country is configured.
        case invalidPhone
        /// Longer than the field's `MaxLength`, in characters.
        case tooLong(max: Int)
        /// Not one of the choices; `allowed` lists the stored values.
        case invalidChoice(allowed: [String])
        /// The text holds U+FFFD, the mark of bytes that were not valid text somewhere upstream.
        case invalidText
        /// The form has no field of this name.
        case unknownField
        /// The form requires consent and it was not given.
        case consentRequired
    }

    public init(field: String, kind: Kind) {
        self.field = field
        self.kind = kind
    }

    /// The message shown next to the field.
    ///
    /// ```swift
    /// FieldError(field: "email", kind: .required).message(.ru)  // "Обязательное поле"
    /// ```
    public func message(_ language: Language) -> String {
        switch (kind, language) {
        case (.required, .en): "This field is required"
        case (.required, .ru): "Обязательное поле"
        case (.invalidEmail, .en): "Enter a valid email address"
        case (.invalidEmail, .ru): "Введите корректный адрес эл. почты"
        case (.invalidPhone, .en): "Enter the phone number with the country code, e.g. +7 916 123-45-67"
        case (.invalidPhone, .ru): "Введите номер телефона с кодом страны, например +7 916 123-45-67"
        case (.tooLong(let max), .en): "At most \(max) \(max == 1 ? "character" : "characters")"
        case (.tooLong(let max), .ru): "Не более \(max) \(Self.russianCharactersGenitive(max))"
        case (.invalidChoice(let allowed), .en): "Choose one of: \(allowed.joined(separator: ", "))"
        case (.invalidChoice(let allowed), .ru): "Выберите один из вариантов: \(allowed.joined(separator: ", "))"
        case (.invalidText, .en): "The text contains characters that cannot be read"
        case (.invalidText, .ru): "Текст содержит нечитаемые символы"
        case (.unknownField, .en): "Unknown field \"\(TextSanitizer.terminalSafe(field))\""
        case (.unknownField, .ru): "Неизвестное поле «\(TextSanitizer.terminalSafe(field))»"
        case (.consentRequired, .en): "Please agree to the processing of your contact details"
        case (.consentRequired, .ru): "Необходимо согласие на обработку персональных данных"
        }
    }

    /// `field: message` in English, safe to print on a terminal.
    public var description: String { "\(TextSanitizer.terminalSafe(field)): \(message(.en))" }

    /// "не более 1 символа", "не более 21 символа", but "не более 11 символов", "не более 40 символов".
    private static func russianCharactersGenitive(_ n: Int) -> String {
        n % 10 == 1 && n % 100 != 11 ? "символа" : "символов"
    }
}

/// Every field error of one submission, in form order.
public struct ValidationErrors: Error, Hashable, Sendable, CustomStringConvertible {
    public var errors: [FieldError]

    public init(errors: [FieldError]) { self.errors = errors }

    /// The error for `field`, if it has one.
    public subscript(field: String) -> FieldError? { errors.first { $0.field == field } }

    /// One `field: message` line per error, in English.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Cleans, normalises and checks lead fields against a form: the one set of rules for the terminal form,
/// scanner input and `leadctl add`.
///
/// ```swift
/// let validator = LeadValidator(form: .default, country: "RU")
/// switch validator.validate(["first_name": " Anna ", "email": "Anna@Example.com", "phone": "8 916 123-45-67"]) {
/// case .success(let fields): // ["first_name": "Anna", "email": "anna@example.com", "phone": "+79161234567"]
/// case .failure(let errors): print(errors)
/// }
/// ```
public struct LeadValidator: Sendable {
    public let form: FormSpec
    /// ISO code for national phone numbers (`[Kiosk] Country=`); `nil` accepts international numbers only.
    public let country: String?

    /// - Parameters:
    ///   - form: The form whose fields are checked.
    ///   - country: ISO 3166 code used to normalise national phone numbers, or `nil`.
    public init(form: FormSpec, country: String?) {
        self.form = form
        self.country = country
    }

    /// Cleans and normalises raw input; returns the stored field values (empty optional fields omitted) or
    /// every field error at once, in form order.
    ///
    /// - Parameters:
    ///   - raw: Field name → value as typed, scanned or given on the command line.
    ///   - consentGiven: Whether the visitor ticked the consent checkbox; `false` on a form that requires
    ///     consent is an error for the field `consent`. `nil` leaves consent unchecked (a scan, an import).
    /// - Returns: The values to store, or the errors: form fields in form order, then consent, then unknown
    ///   field names in alphabetical order.
    public func validate(
        _ raw: [String: String],
        consentGiven: Bool? = nil
    ) -> Result<[String: String], ValidationErrors> {
        var values: [String: String] = [:]
        var errors: [FieldError] = []
        for spec in form.fields {
            switch validate(spec, raw[spec.name] ?? "") {
            case .success(let value?): values[spec.name] = value
            case .success(nil): break
            case .failure(let error): errors.append(error)
            }
        }
        if consentGiven == false, form.consentRequired {
            errors.append(FieldError(field: "consent", kind: .consentRequired))
        }
        for name in raw.keys.sorted() where form.field(named: name) == nil {
            errors.append(FieldError(field: name, kind: .unknownField))
        }
        return errors.isEmpty ? .success(values) : .failure(ValidationErrors(errors: errors))
    }

    /// Checks one field, for the terminal form's per-field checks.
    ///
    /// - Returns: The value to store, `nil` for an empty optional field, or the field's error.
    public func validateField(_ name: String, _ raw: String) -> Result<String?, FieldError> {
        guard let spec = form.field(named: name) else { return .failure(FieldError(field: name, kind: .unknownField)) }
        return validate(spec, raw)
    }

    private func validate(_ spec: FieldSpec, _ raw: String) -> Result<String?, FieldError> {
        func failure(_ kind: FieldError.Kind) -> Result<String?, FieldError> {
            .failure(FieldError(field: spec.name, kind: kind))
        }

        let cleaned = TextSanitizer.clean(raw, multiline: spec.type == .multiline)
        if cleaned.isEmpty { return spec.required ? failure(.required) : .success(nil) }
        if cleaned.unicodeScalars.contains("\u{FFFD}") { return failure(.invalidText) }

        switch spec.type {
        case .text, .multiline:
            return cleaned.count > spec.maxLength ? failure(.tooLong(max: spec.maxLength)) : .success(cleaned)
        case .email:
            if cleaned.count > spec.maxLength { return failure(.tooLong(max: spec.maxLength)) }
            guard let email = EmailAddress.normalize(cleaned) else { return failure(.invalidEmail) }
            return .success(email)
        case .phone:
            guard let phone = PhoneNumber.normalize(cleaned, defaultCountry: country) else {
                return failure(.invalidPhone)
            }
            return phone.count > spec.maxLength ? failure(.tooLong(max: spec.maxLength)) : .success(phone)
        case .choice:
            guard let value = choiceValue(spec, cleaned) else {
                return failure(.invalidChoice(allowed: spec.choices.map(\.value)))
            }
            return .success(value)
        }
    }

    /// The stored value of the choice matching `input` by value, or by label in any language, ignoring case.
    private func choiceValue(_ spec: FieldSpec, _ input: String) -> String? {
        if let exact = spec.choices.first(where: { $0.value == input }) { return exact.value }
        let folded = input.lowercased()
        return spec.choices.first { choice in
            choice.value.lowercased() == folded || choice.label.base.lowercased() == folded
                || choice.label.translations.values.contains { $0.lowercased() == folded }
        }?.value
    }
}
