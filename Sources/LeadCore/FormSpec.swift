/// A language the kiosk speaks. English and Russian are built in.
public enum Language: String, Sendable, CaseIterable, Hashable {
    case en, ru
}

/// A text with per-language variants, as in `Label=` / `Label[ru]=` config keys.
public struct LocalizedText: Sendable, Hashable, ExpressibleByStringLiteral {
    /// The text of the unlocalised key (`Label=`).
    public var base: String
    /// Language code → text (`Label[ru]=`).
    public var translations: [String: String]

    public init(_ base: String, translations: [String: String] = [:]) {
        self.base = base
        self.translations = translations
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// The text for `language`, falling back to the unlocalised text.
    public func text(for language: Language) -> String { translations[language.rawValue] ?? base }
}

/// The kinds of form field.
public enum FieldType: String, Sendable, CaseIterable, Hashable {
    case text, email, phone, choice, multiline
}

/// One option of a `choice` field: the stored value and what the visitor reads.
public struct Choice: Sendable, Hashable {
    public var value: String
    public var label: LocalizedText

    public init(value: String, label: LocalizedText) {
        self.value = value
        self.label = label
    }
}

/// One field of the form, from a `[Field]` section or the embedded default.
public struct FieldSpec: Sendable, Hashable {
    /// The key everywhere: CSV column, sync payload, `leadctl add NAME=…`. Lower-case `[a-z][a-z0-9_]*`.
    public var name: String
    public var label: LocalizedText
    public var type: FieldType
    public var required: Bool
    public var choices: [Choice]
    /// Maximum length in characters (grapheme clusters).
    public var maxLength: Int

    public init(
        name: String,
        label: LocalizedText,
        type: FieldType = .text,
        required: Bool = false,
        choices: [Choice] = [],
        maxLength: Int? = nil
    ) {
        self.name = name
        self.label = label
        self.type = type
        self.required = required
        self.choices = choices
        self.maxLength = maxLength ?? FieldSpec.defaultMaxLength(for: type)
    }

    public static func defaultMaxLength(for type: FieldType) -> Int {
        switch type {
        case .email: 254
        case .phone: 32
        case .multiline: 2000
        case .text, .choice: 200
        }
    }
}

/// The lead form: fields in order, then the consent checkbox.
public struct FormSpec: Sendable, Hashable {
    public var title: LocalizedText
    public var fields: [FieldSpec]
    public var consentText: LocalizedText
    public var consentRequired: Bool

    public init(title: LocalizedText, fields: [FieldSpec], consentText: LocalizedText, consentRequired: Bool) {
        self.title = title
        self.fields = fields
        self.consentText = consentText
        self.consentRequired = consentRequired
    }

    public func field(named name: String) -> FieldSpec? { fields.first { $0.name == name } }

    /// The embedded default form (DESIGN "Config file"): first_name*, last_name, email*, phone, company,
    /// job_title, interest (choice), then the consent checkbox*.
    public static let `default` = FormSpec(
        title: LocalizedText("Leave your contacts", translations: ["ru": "Оставьте контакты"]),
        fields: [
            FieldSpec(
                name: "first_name",
                label: LocalizedText("First name", translations: ["ru": "Имя"]),
                required: true
            ),
            FieldSpec(name: "last_name", label: LocalizedText("Last name", translations: ["ru": "Фамилия"])),
            FieldSpec(
                name: "email",
                label: LocalizedText("Email", translations: ["ru": "Эл. почта"]),
                type: .email,
                required: true
            ),
            FieldSpec(name: "phone", label: LocalizedText("Phone", translations: ["ru": "Телефон"]), type: .phone),
            FieldSpec(name: "company", label: LocalizedText("Company", translations: ["ru": "Компания"])),
            FieldSpec(name: "job_title", label: LocalizedText("Job title", translations: ["ru": "Должность"])),
            FieldSpec(
                name: "interest",
                label: LocalizedText("Interested in", translations: ["ru": "Интересует"]),
                type: .choice,
                choices: [
                    Choice(
                        value: "product",
                        label: LocalizedText("Product demo", translations: ["ru": "Демо продукта"])
                    ),
                    Choice(value: "pricing", label: LocalizedText("Pricing", translations: ["ru": "Цены"])),
                    Choice(
                        value: "partnership",
                        label: LocalizedText("Partnership", translations: ["ru": "Партнёрство"])
                    ),
                    Choice(value: "other", label: LocalizedText("Other", translations: ["ru": "Другое"])),
                ]
            ),
        ],
        consentText: LocalizedText(
            "I agree that my contact details are stored and passed to the exhibitor to contact me about this event.",
            translations: [
                "ru":
                    "Я согласен(на) на обработку моих персональных данных и их передачу экспоненту для связи со мной по поводу этой выставки."
            ]
        ),
        consentRequired: true
    )
}
