#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension LeaddConfig {
    /// Reads the main config file and its drop-ins, and validates the result.
    ///
    /// The drop-ins are every `*.conf` in `<path>.d/` (hidden files aside), applied in byte order of their
    /// names after the main file. A later file overrides an earlier one key by key: `[Kiosk]`, `[Terminal]`,
    /// `[Form]`, `[Sync]`, `[Retention]` and `[Staff]` merge into one section each; a `[Sink]` or `[Field]`
    /// with the `Name=` of an earlier one (a `[Serial]` with its `Device=`) changes that one's keys in place,
    /// any other is appended. A missing `.d` directory is fine; a missing main file or an unreadable drop-in
    /// is an error naming that file.
    /// - Parameters:
    ///   - path: the main file, usually ``defaultPath``.
    ///   - hostname: the default kiosk `ID=`.
    /// - Throws: ``ConfigError`` for the first problem found, with file, line and key where there is one.
    public static func load(path: String, hostname: String) throws(ConfigError) -> LeaddConfig {
        var documents = [try INIParser.parse(bytes: try ConfigFiles.read(path), file: path)]
        var files = [path]
        for dropIn in try ConfigFiles.dropIns(for: path) {
            documents.append(try INIParser.parse(bytes: try ConfigFiles.read(dropIn), file: dropIn))
            files.append(dropIn)
        }
        var config = try build(documents, mainFile: path, hostname: hostname)
        config.files = files
        return config
    }

    /// Parses and validates one config text, without drop-ins.
    /// - Parameters:
    ///   - text: the file's contents.
    ///   - file: the path to name in errors.
    ///   - hostname: the default kiosk `ID=`.
    /// - Throws: ``ConfigError`` for the first problem found.
    public static func parse(_ text: String, file: String, hostname: String) throws(ConfigError) -> LeaddConfig {
        var config = try build([INIParser.parse(text, file: file)], mainFile: file, hostname: hostname)
        config.files = [file]
        return config
    }

    /// Merges parsed files (main file first) and turns the result into a configuration.
    private static func build(
        _ documents: [[INIParser.Section]],
        mainFile: String,
        hostname: String
    ) throws(ConfigError) -> LeaddConfig {
        let merged = try MergedSections(documents)
        var config = LeaddConfig(kiosk: Kiosk(id: Kiosk.defaultID(hostname: hostname), event: ""))
        try config.readKiosk(merged.single[.kiosk], mainFile: mainFile)
        if let section = merged.single[.terminal] { try config.readTerminal(section) }
        config.serials = try merged.repeated(.serial).map(readSerial)
        try config.readForm(merged.single[.form], fields: merged.repeated(.field))
        config.sinks = try merged.repeated(.sink).map(readSink)
        if let section = merged.single[.sync] { try config.readSync(section) }
        if let section = merged.single[.retention] { try config.readRetention(section) }
        if let section = merged.single[.staff] { try config.readStaff(section) }
        try config.crossCheck(merged)
        return config
    }
}

// MARK: - Sections and merging

/// The sections leadd knows, with their keys.
private enum ConfigSection: String, CaseIterable {
    case kiosk = "Kiosk"
    case terminal = "Terminal"
    case serial = "Serial"
    case form = "Form"
    case field = "Field"
    case sink = "Sink"
    case sync = "Sync"
    case retention = "Retention"
    case staff = "Staff"

    /// The key naming one instance of a repeatable section; nil for sections that occur once.
    var identityKey: String? {
        switch self {
        case .serial: "Device"
        case .field, .sink: "Name"
        default: nil
        }
    }

    var keys: [String] {
        switch self {
        case .kiosk: ["ID", "Event", "DataDirectory", "Language", "Country"]
        case .terminal: ["TTY", "Kiosk", "IdleResetSec", "ConfirmationSec", "Baud"]
        case .serial: ["Device", "Baud", "Format", "ConsentText", "Consent"]
        case .form: ["Title", "ConsentText", "ConsentRequired"]
        case .field: ["Name", "Label", "Type", "Required", "Choices", "MaxLength"]
        case .sink:
            [
                "Name", "Type", "URL", "Directory", "Credential", "SecretFile", "CAFile", "AllowInsecure", "BatchSize",
                "TimeoutSec", "Pipeline", "Status", "ResponsibleUser", "Source", "RatePerSec", "TimeZoneOffset",
                "UpsertBy",
            ]
        case .sync: ["RetryInitialSec", "RetryMaxSec"]
        case .retention: ["PurgeSyncedAfterDays", "DeadAfterDays"]
        case .staff: ["PIN", "PINCredential"]
        }
    }

    /// The `[Sink]` keys kept verbatim in ``LeaddConfig/Sink/options``, besides the prefixed families.
    static let sinkOptionKeys: Set<String> = [
        "Pipeline", "Status", "ResponsibleUser", "Source", "RatePerSec", "TimeZoneOffset", "UpsertBy",
    ]

    /// Families of keys with a free suffix (`Map.email`); only `[Sink]` has them.
    var keyPrefixes: [String] { self == .sink ? ["Map.", "Property.", "CustomField."] : [] }

    /// Keys that may carry a locale (`Label[ru]=`).
    var localizedKeys: Set<String> {
        switch self {
        case .serial: ["ConsentText"]
        case .form: ["Title", "ConsentText"]
        case .field: ["Label", "Choices"]
        default: []
        }
    }
}

/// All files' sections merged as described in ``LeaddConfig/load(path:hostname:)``.
private struct MergedSections {
    var single: [ConfigSection: INIParser.Section] = [:]
    private var instances: [ConfigSection: [(section: INIParser.Section, document: Int)]] = [:]

    init(_ documents: [[INIParser.Section]]) throws(ConfigError) {
        for (document, sections) in documents.enumerated() {
            for section in sections {
                guard let kind = ConfigSection(rawValue: section.name) else {
                    let names = ConfigSection.allCases.map(\.rawValue)
                    throw ConfigError(
                        file: section.file,
                        line: section.line,
                        section: section.name,
                        message: "unknown section" + suggestion(for: section.name, among: names)
                            + " (expected one of \(names.map { "[\($0)]" }.joined(separator: ", ")))"
                    )
                }
                try add(section, kind: kind, document: document)
            }
        }
    }

    private mutating func add(_ section: INIParser.Section, kind: ConfigSection, document: Int) throws(ConfigError) {
        guard let identityKey = kind.identityKey else {
            if single[kind] == nil {
                single[kind] = INIParser.Section(name: section.name, file: section.file, line: section.line)
            }
            single[kind]?.entries += section.entries
            return
        }
        var list = instances[kind] ?? []
        if let identity = section.last(identityKey), !identity.value.isEmpty,
            let index = list.firstIndex(where: { $0.section.last(identityKey)?.value == identity.value })
        {
            // Within one file the same name twice is a mistake; a later file changing it is a drop-in.
            guard list[index].document != document else {
                let first = list[index].section
                throw ConfigError(
                    file: identity.file,
                    line: identity.line,
                    section: section.name,
                    key: identity.displayKey,
                    message: "duplicate \(INIParser.quoted(identity.value)) (already used by the [\(section.name)] "
                        + "at line \(first.line))"
                )
            }
            list[index].section.entries += section.entries
            list[index].document = document
        } else {
            list.append((section, document))
        }
        instances[kind] = list
    }

    func repeated(_ kind: ConfigSection) -> [INIParser.Section] { (instances[kind] ?? []).map(\.section) }
}

/// `; did you mean "Name"?` when `name` matches a candidate but for case, else the empty string.
private func suggestion(for name: String, among candidates: [String]) -> String {
    guard let match = candidates.first(where: { $0.lowercased() == name.lowercased() }) else { return "" }
    return "; did you mean \(INIParser.quoted(match))?"
}

// MARK: - Reading one section

/// Typed access to one merged section's keys, with errors pointing at the line of the value read.
private struct SectionReader {
    let section: INIParser.Section

    /// Checks every key against the section's known keys before any value is read.
    init(_ section: INIParser.Section, kind: ConfigSection) throws(ConfigError) {
        self.section = section
        for entry in section.entries {
            if isSecretKey(entry.key) {
                let pointer = kind == .staff ? "PINCredential=" : "Credential="
                throw error(
                    entry,
                    "secrets do not belong in the config file: store the value as a systemd credential "
                        + "(LoadCredential= in the unit) and name it with \(pointer)"
                )
            }
            let known =
                kind.keys.contains(entry.key)
                || kind.keyPrefixes.contains { entry.key.hasPrefix($0) && entry.key.count > $0.count }
            guard known else {
                let hint = suggestion(for: entry.key, among: kind.keys)
                throw error(
                    entry,
                    "unknown key" + (hint.isEmpty ? " (expected one of \(kind.keys.joined(separator: ", ")))" : hint)
                )
            }
            if entry.locale != nil, !kind.localizedKeys.contains(entry.key) {
                throw error(
                    entry,
                    "cannot be localised (only \(kind.localizedKeys.sorted().joined(separator: ", ")) can)"
                )
            }
        }
    }

    func error(_ entry: INIParser.Entry, _ message: String) -> ConfigError {
        ConfigError(file: entry.file, line: entry.line, section: section.name, key: entry.displayKey, message: message)
    }

    /// An error about `key` located at the section header, for a key that is missing or spans keys.
    func headerError(_ key: String?, _ message: String) -> ConfigError {
        ConfigError(file: section.file, line: section.line, section: section.name, key: key, message: message)
    }

    /// The last unlocalised entry for `key` with a non-empty value (`Key=` resets to the default).
    func entry(_ key: String) -> INIParser.Entry? {
        guard let entry = section.last(key), !entry.value.isEmpty else { return nil }
        return entry
    }

    func string(_ key: String) -> String? { entry(key)?.value }

    func required(_ key: String) throws(ConfigError) -> INIParser.Entry {
        if let entry = entry(key) { return entry }
        if let empty = section.last(key) { throw error(empty, "must not be empty") }
        throw headerError(key, "missing required key")
    }

    func bool(_ key: String, default value: Bool) throws(ConfigError) -> Bool {
        guard let entry = entry(key) else { return value }
        switch entry.value.lowercased() {
        case "yes", "true", "on", "1": return true
        case "no", "false", "off", "0": return false
        default: throw error(entry, "invalid boolean \(INIParser.quoted(entry.value)) (expected yes or no)")
        }
    }

    func integer(
        _ key: String,
        in range: ClosedRange<Int>,
        default value: Int,
        what: String = "number"
    ) throws(ConfigError) -> Int {
        try optionalInteger(key, in: range, what: what) ?? value
    }

    func optionalInteger(
        _ key: String,
        in range: ClosedRange<Int>,
        what: String = "number"
    ) throws(ConfigError) -> Int? {
        guard let entry = entry(key) else { return nil }
        guard let number = parseNumber(entry.value[...]), range.contains(number) else {
            throw error(
                entry,
                "invalid \(what) \(INIParser.quoted(entry.value)) "
                    + "(expected a whole number from \(range.lowerBound) to \(range.upperBound))"
            )
        }
        return number
    }

    /// Whole seconds, optionally written with a trailing `s` (`60s`), from 1 s to 365 days.
    func duration(_ key: String, default value: Int) throws(ConfigError) -> Int {
        guard let entry = entry(key) else { return value }
        let digits = entry.value.hasSuffix("s") ? entry.value.dropLast() : entry.value[...]
        guard let seconds = parseNumber(digits), (1...31_536_000).contains(seconds) else {
            throw error(
                entry,
                "invalid duration \(INIParser.quoted(entry.value)) (expected whole seconds from 1, e.g. 60 or 60s)"
            )
        }
        return seconds
    }

    func baud(_ key: String) throws(ConfigError) -> Int {
        guard let entry = entry(key) else { return 9600 }
        guard let rate = parseNumber(entry.value[...]), LeaddConfig.standardBaudRates.contains(rate) else {
            let rates = LeaddConfig.standardBaudRates.map(String.init).joined(separator: ", ")
            throw error(entry, "invalid baud rate \(INIParser.quoted(entry.value)) (expected one of \(rates))")
        }
        return rate
    }

    /// One of an enum's raw values, compared case-insensitively.
    func choice<Value: RawRepresentable & CaseIterable>(_ key: String) throws(ConfigError) -> Value?
    where Value.RawValue == String {
        guard let entry = entry(key) else { return nil }
        if let value = Value.allCases.first(where: { $0.rawValue == entry.value.lowercased() }) { return value }
        let expected = Value.allCases.map(\.rawValue).joined(separator: ", ")
        throw error(entry, "unknown value \(INIParser.quoted(entry.value)) (expected \(expected))")
    }

    /// The last non-empty value per locale of `Key[locale]=` entries.
    func translations(_ key: String) -> [String: String] {
        var out: [String: String] = [:]
        for entry in section.entries where entry.key == key {
            guard let locale = entry.locale else { continue }
            out[locale] = entry.value.isEmpty ? nil : entry.value
        }
        return out
    }

    /// `Key=` with its `Key[xx]=` translations. A configured base text replaces the default with all its
    /// translations (they translate another text); translations alone change only those of the default.
    func localized(_ key: String, default fallback: LocalizedText) -> LocalizedText {
        if let base = string(key) { return LocalizedText(base, translations: translations(key)) }
        return LocalizedText(fallback.base, translations: fallback.translations.merging(translations(key)) { $1 })
    }

    func absolutePath(_ key: String) throws(ConfigError) -> String? {
        guard let entry = entry(key) else { return nil }
        guard entry.value.hasPrefix("/") else {
            throw error(entry, "must be an absolute path, got \(INIParser.quoted(entry.value))")
        }
        return entry.value
    }

    /// A systemd credential name: a plain file name in `$CREDENTIALS_DIRECTORY`.
    func credentialName(_ key: String) throws(ConfigError) -> String? {
        guard let entry = entry(key) else { return nil }
        let name = entry.value
        guard !name.contains("/"), name != ".", name != "..", name.utf8.count <= 255,
            !name.contains(where: { $0 == " " || $0 == "\t" })
        else {
            throw error(
                entry,
                "invalid credential name \(INIParser.quoted(name)) (expected a file name in $CREDENTIALS_DIRECTORY)"
            )
        }
        return name
    }
}

/// Decimal digits only (no sign, no spaces), at most 9 of them so that nothing overflows later.
private func parseNumber(_ text: Substring) -> Int? {
    guard !text.isEmpty, text.count <= 9, text.unicodeScalars.allSatisfy({ $0.value >= 0x30 && $0.value <= 0x39 })
    else { return nil }
    return Int(text)
}

/// Key names that look like a secret value; `SecretFile` and `Credential` name where a secret is, so they pass.
private func isSecretKey(_ key: String) -> Bool {
    let lower = key.lowercased()
    guard !lower.contains("."), lower != "secretfile" else { return false }
    return ["secret", "token", "password", "passwd", "apikey", "api_key"].contains { lower.contains($0) }
}

private func isASCIILetter(_ s: Unicode.Scalar) -> Bool {
    (s.value >= 0x41 && s.value <= 0x5A) || (s.value >= 0x61 && s.value <= 0x7A)
}

private func isASCIIDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 0x30 && s.value <= 0x39 }

/// `[a-z][a-z0-9_]*`, at most 64 characters: a form field name.
private func isFieldName(_ text: some StringProtocol) -> Bool {
    guard let first = text.unicodeScalars.first, first.value >= 0x61 && first.value <= 0x7A, text.count <= 64 else {
        return false
    }
    return text.unicodeScalars.allSatisfy { ($0.value >= 0x61 && $0.value <= 0x7A) || isASCIIDigit($0) || $0 == "_" }
}

// MARK: - Interpreting sections

extension LeaddConfig {
    /// Lead attributes exported next to the form fields (CSV columns, JSON keys), so no field may take their names.
    private static let reservedFieldNames: Set<String> = [
        "lead_id", "revision", "captured_at", "event", "kiosk", "channel", "device", "fields", "consent", "rating",
        "notes", "badge_id", "duplicate_of",
    ]

    private mutating func readKiosk(_ section: INIParser.Section?, mainFile: String) throws(ConfigError) {
        guard let section else {
            throw ConfigError(file: mainFile, section: "Kiosk", key: "Event", message: "missing required key")
        }
        let reader = try SectionReader(section, kind: .kiosk)
        if let entry = reader.entry("ID") {
            guard entry.value.count <= 64,
                entry.value.unicodeScalars.allSatisfy({
                    isASCIILetter($0) || isASCIIDigit($0) || $0 == "." || $0 == "_" || $0 == "-"
                })
            else {
                throw reader.error(
                    entry,
                    "invalid kiosk id \(INIParser.quoted(entry.value)) (letters, digits, \".\", \"_\", \"-\")"
                )
            }
            kiosk.id = entry.value
        }
        let event = try reader.required("Event")
        guard event.value.count <= 200 else { throw reader.error(event, "longer than 200 characters") }
        kiosk.event = event.value
        kiosk.dataDirectory = try reader.absolutePath("DataDirectory")
        kiosk.language = try reader.choice("Language") ?? .en
        if let entry = reader.entry("Country") {
            guard entry.value.unicodeScalars.count == 2, entry.value.unicodeScalars.allSatisfy(isASCIILetter) else {
                throw reader.error(
                    entry,
                    "invalid country \(INIParser.quoted(entry.value)) (expected an ISO 3166 code such as RU)"
                )
            }
            guard PhoneNumber.country(entry.value) != nil else {
                throw reader.error(
                    entry,
                    "country \(INIParser.quoted(entry.value.uppercased())) is not in leadd's phone-number table "
                        + "(known: \(PhoneNumber.countries.map(\.isoCode).sorted().joined(separator: " ")))"
                )
            }
            kiosk.country = entry.value.uppercased()
        }
    }

    private mutating func readTerminal(_ section: INIParser.Section) throws(ConfigError) {
        let reader = try SectionReader(section, kind: .terminal)
        if let entry = reader.entry("TTY") {
            guard
                entry.value == Terminal.ownTerminal || entry.value == Terminal.noTerminal || entry.value.hasPrefix("/")
            else {
                throw reader.error(
                    entry,
                    "invalid terminal \(INIParser.quoted(entry.value)) (expected a device path such as /dev/tty1, "
                        + "\"-\" for leadd's own terminal, or \"none\")"
                )
            }
            terminal.tty = entry.value
        }
        terminal.kiosk = try reader.bool("Kiosk", default: true)
        terminal.idleResetSec = try reader.duration("IdleResetSec", default: 60)
        terminal.confirmationSec = try reader.duration("ConfirmationSec", default: 5)
        terminal.baud = try reader.baud("Baud")
    }

    private static func readSerial(_ section: INIParser.Section) throws(ConfigError) -> Serial {
        let reader = try SectionReader(section, kind: .serial)
        let device = try reader.required("Device")
        guard device.value.hasPrefix("/") else {
            throw reader.error(device, "must be an absolute path, got \(INIParser.quoted(device.value))")
        }
        return Serial(
            device: device.value,
            baud: try reader.baud("Baud"),
            format: try reader.choice("Format") ?? .auto,
            consentText: reader.localized("ConsentText", default: Serial.defaultConsentText),
            consent: try reader.choice("Consent") ?? .basis
        )
    }

    private mutating func readForm(_ section: INIParser.Section?, fields: [INIParser.Section]) throws(ConfigError) {
        if let section {
            let reader = try SectionReader(section, kind: .form)
            form.title = reader.localized("Title", default: FormSpec.default.title)
            form.consentText = reader.localized("ConsentText", default: FormSpec.default.consentText)
            form.consentRequired = try reader.bool("ConsentRequired", default: FormSpec.default.consentRequired)
        }
        if !fields.isEmpty {
            form.fields = []
            for section in fields { form.fields.append(try Self.readField(section)) }
        }
    }

    private static func readField(_ section: INIParser.Section) throws(ConfigError) -> FieldSpec {
        let reader = try SectionReader(section, kind: .field)
        let name = try reader.required("Name")
        guard isFieldName(name.value) else {
            throw reader.error(
                name,
                "invalid field name \(INIParser.quoted(name.value)) (expected lower-case [a-z][a-z0-9_]*)"
            )
        }
        guard !reservedFieldNames.contains(name.value) else {
            throw reader.error(name, "\(INIParser.quoted(name.value)) is reserved for a lead attribute of that name")
        }
        let label = try reader.required("Label")
        let type: FieldType = try reader.choice("Type") ?? .text
        var choices: [Choice] = []
        if let entry = reader.entry("Choices") {
            guard type == .choice else { throw reader.error(entry, "only allowed with Type=choice") }
            choices = try parseChoices(entry, reader: reader)
        } else if type == .choice {
            let at = reader.entry("Type")!
            throw ConfigError(
                file: at.file,
                line: at.line,
                section: section.name,
                key: "Choices",
                message: "required for Type=choice"
            )
        }
        if let stray = section.entries.first(where: { $0.key == "Choices" && $0.locale != nil && !$0.value.isEmpty }),
            choices.isEmpty
        {
            throw reader.error(stray, "needs Choices= with the values")
        }
        return FieldSpec(
            name: name.value,
            label: LocalizedText(label.value, translations: reader.translations("Label")),
            type: type,
            required: try reader.bool("Required", default: false),
            choices: choices,
            maxLength: try reader.optionalInteger("MaxLength", in: 1...100_000, what: "length")
        )
    }

    /// `Choices=a:Label A, b, c:Label C` plus `Choices[ru]=…` with the labels in the same order.
    /// `\,` and `\:` stand for a literal comma and colon.
    private static func parseChoices(_ entry: INIParser.Entry, reader: SectionReader) throws(ConfigError) -> [Choice] {
        var choices: [Choice] = []
        for item in splitList(entry.value) {
            let (value, label) = splitChoice(item)
            guard !value.isEmpty else { throw reader.error(entry, "empty choice value in \(INIParser.quoted(item))") }
            guard !choices.contains(where: { $0.value == value }) else {
                throw reader.error(entry, "duplicate choice \(INIParser.quoted(value))")
            }
            choices.append(Choice(value: value, label: LocalizedText(label.isEmpty ? value : label)))
        }
        for (locale, text) in reader.translations("Choices").sorted(by: { $0.key < $1.key }) {
            let labels = splitList(text).map { unescape($0[...]) }
            let localized = reader.section.last("Choices", locale: locale)!
            guard labels.count == choices.count else {
                throw reader.error(
                    localized,
                    "has \(labels.count) labels for \(choices.count) choices (give them in the same order)"
                )
            }
            for (index, label) in labels.enumerated() {
                guard !label.isEmpty else { throw reader.error(localized, "empty label for choice \(index + 1)") }
                choices[index].label.translations[locale] = label
            }
        }
        return choices
    }

    private static func readSink(_ section: INIParser.Section) throws(ConfigError) -> Sink {
        let reader = try SectionReader(section, kind: .sink)
        let name = try reader.required("Name")
        guard name.value.count <= 64,
            name.value.unicodeScalars.allSatisfy({ isASCIILetter($0) || isASCIIDigit($0) || $0 == "_" || $0 == "-" })
        else {
            throw reader.error(
                name,
                "invalid sink name \(INIParser.quoted(name.value)) (letters, digits, \"_\" and \"-\")"
            )
        }
        _ = try reader.required("Type")
        let type: Sink.Kind = try reader.choice("Type")!
        var sink = Sink(name: name.value, type: type)
        sink.allowInsecure = try reader.bool("AllowInsecure", default: false)
        sink.credential = try reader.credentialName("Credential")
        sink.secretFile = try reader.absolutePath("SecretFile")
        sink.caFile = try reader.absolutePath("CAFile")
        sink.batchSize = try reader.integer(
            "BatchSize",
            in: 1...type.maxBatchSize,
            default: type.defaultBatchSize,
            what: "batch size"
        )
        sink.timeoutSec = try reader.duration("TimeoutSec", default: 30)

        let typeEntry = reader.entry("Type")!
        if let entry = reader.entry("URL") {
            guard type != .directory else {
                throw reader.error(entry, "not allowed with Type=directory (use Directory=)")
            }
            sink.url = try checkURL(entry, sink: sink, reader: reader)
        } else if type == .webhook {
            throw reader.headerError("URL", "missing required key (Type=webhook needs URL=)")
        } else if type == .amocrm {
            throw reader.headerError(
                "URL",
                "missing required key (Type=amocrm needs the account's address, URL=https://SUBDOMAIN.amocrm.ru "
                    + "or https://SUBDOMAIN.kommo.com)"
            )
        }
        if let entry = reader.entry("Directory") {
            guard type == .directory else { throw reader.error(entry, "only allowed with Type=directory") }
            sink.directory = try reader.absolutePath("Directory")
        } else if type == .directory {
            throw reader.headerError("Directory", "missing required key (Type=directory needs Directory=)")
        }
        if type != .directory, sink.credential == nil, sink.secretFile == nil {
            throw ConfigError(
                file: typeEntry.file,
                line: typeEntry.line,
                section: section.name,
                key: "Credential",
                message: "Type=\(type.rawValue) needs a secret: name a systemd credential with Credential= "
                    + "(or a root-only file with SecretFile=)"
            )
        }

        for entry in section.entries
        where ConfigSection.sinkOptionKeys.contains(entry.key)
            || ConfigSection.sink.keyPrefixes.contains(where: { entry.key.hasPrefix($0) })
        {
            // The last assignment of each option wins; `Key=` removes it.
            sink.options[entry.key] = entry.value.isEmpty ? nil : entry.value
            if entry.key.hasPrefix("Map."), !isFieldName(entry.key.dropFirst(4)) {
                throw reader.error(entry, "expected Map.<field name>=<CRM property>")
            }
            if !entry.value.isEmpty { try checkCRMOption(entry, type: type, reader: reader) }
            if entry.key == "RatePerSec", !entry.value.isEmpty {
                guard let rate = Double(entry.value), rate.isFinite, rate > 0 else {
                    throw reader.error(
                        entry,
                        "invalid rate \(INIParser.quoted(entry.value)) (expected a positive number)"
                    )
                }
            }
        }
        // Upserting email-less contacts by the lead id needs the property that holds it.
        if sink.options["UpsertBy"] == "lead_id",
            sink.options["Map.lead_id"] == nil || sink.options["Map.lead_id"] == "-",
            let entry = reader.entry("UpsertBy")
        {
            throw reader.error(
                entry,
                "UpsertBy=lead_id needs Map.lead_id=<a contact property created with unique values on>"
            )
        }
        return sink
    }

    /// A CRM option's value, for the sink's type: ids are numbers where the CRM's are, property names are
    /// spelt the CRM's way (HubSpot lower case, Bitrix24 upper case), and each key only where the CRM has it.
    private static func checkCRMOption(
        _ entry: INIParser.Entry,
        type: Sink.Kind,
        reader: SectionReader
    ) throws(ConfigError) {
        let key = entry.key
        let value = entry.value
        func fail(_ message: String) -> ConfigError { reader.error(entry, message) }
        func only(_ types: [Sink.Kind]) throws(ConfigError) {
            guard types.contains(type) else {
                throw fail(
                    "not used by Type=\(type.rawValue) (only \(types.map { "Type=\($0.rawValue)" }.joined(separator: ", ")))"
                )
            }
        }
        func chars(_ text: some StringProtocol, _ allowed: (Unicode.Scalar) -> Bool) -> Bool {
            !text.isEmpty && text.unicodeScalars.allSatisfy(allowed)
        }
        let digits = chars(value, isASCIIDigit)
        let lowerName: (Unicode.Scalar) -> Bool = { ("a"..."z").contains($0) || isASCIIDigit($0) || $0 == "_" }
        let upperName: (Unicode.Scalar) -> Bool = { ("A"..."Z").contains($0) || isASCIIDigit($0) || $0 == "_" }
        let anyName: (Unicode.Scalar) -> Bool = { isASCIILetter($0) || isASCIIDigit($0) || $0 == "_" }
        try only([.hubspot, .bitrix24, .amocrm])
        switch key {
        case "Pipeline":
            try only([.amocrm])
            guard digits else { throw fail("expected the pipeline's numeric id") }
        case "Status":
            switch type {
            case .amocrm where !digits: throw fail("expected the status's numeric id")
            case .bitrix24 where !chars(value, { upperName($0) || $0 == ":" }):
                throw fail("expected a Bitrix24 STATUS_ID such as NEW")
            default: break
            }
        case "ResponsibleUser":
            guard digits else { throw fail("expected the user's numeric id") }
        case "Source":
            try only([.bitrix24, .amocrm])
        case "TimeZoneOffset":
            try only([.hubspot])
            let parts = value.dropFirst().split(separator: ":")
            guard
                value == "Z"
                    || (value.hasPrefix("+") || value.hasPrefix("-")) && parts.count == 2
                        && parts.allSatisfy({ $0.count == 2 && chars($0, isASCIIDigit) })
            else { throw fail("expected the account's UTC offset as +HH:MM or -HH:MM") }
        case "UpsertBy":
            try only([.hubspot])
            guard value == "email" || value == "lead_id" else {
                throw fail("expected email (the default) or lead_id")
            }
        case _ where key.hasPrefix("CustomField."):
            try only([.amocrm])
            guard chars(key.dropFirst(12), isASCIIDigit) else { throw fail("expected CustomField.<numeric field id>") }
        case _ where key.hasPrefix("Property."):
            let name = key.dropFirst(9)
            let ok =
                switch type {
                case .hubspot: chars(name, lowerName)
                case .bitrix24: chars(name, upperName)
                default: chars(name, anyName)
                }
            guard ok else { throw fail("invalid property name for Type=\(type.rawValue)") }
        case _ where key.hasPrefix("Map."):
            guard value != "-" else { return }
            let ok =
                switch type {
                case .hubspot: chars(value, lowerName)
                case .bitrix24: chars(value, upperName)
                default:
                    ["first_name", "last_name", "NAME", "company", "EMAIL", "PHONE"].contains(value) || digits
                        || value.hasPrefix("contact.") && chars(value.dropFirst(8), isASCIIDigit)
                }
            guard ok else {
                let expected =
                    switch type {
                    case .hubspot: "a HubSpot property's internal name (lower case, digits, _)"
                    case .bitrix24: "a Bitrix24 lead field (NAME, EMAIL, UF_CRM_…)"
                    default:
                        "first_name, last_name, NAME, company, EMAIL, PHONE, a lead custom field id or "
                            + "contact.<custom field id>"
                    }
                throw fail("expected \(expected), or - for none")
            }
        default: break
        }
    }

    /// `http(s)://host[:port]/…`, without user info; plain http only to loopback or with `AllowInsecure=yes`.
    private static func checkURL(
        _ entry: INIParser.Entry,
        sink: Sink,
        reader: SectionReader
    ) throws(ConfigError) -> String {
        let url = entry.value
        let lower = url.lowercased()
        let scheme = lower.hasPrefix("https://") ? "https" : lower.hasPrefix("http://") ? "http" : nil
        let rest = url.dropFirst(scheme == "https" ? 8 : 7)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard let scheme, !authority.isEmpty, !url.contains(where: { $0 == " " || $0 == "\t" }) else {
            throw reader.error(entry, "invalid URL \(INIParser.quoted(url)) (expected https://host/path)")
        }
        if authority.contains("@") {
            throw reader.error(
                entry,
                "must not contain a user or password: store the secret as a systemd credential named by Credential="
            )
        }
        if sink.type == .bitrix24, rest.dropFirst(authority.count).hasPrefix("/rest/") {
            throw reader.error(
                entry,
                "a Bitrix24 inbound webhook URL contains its secret: store the whole URL as a systemd credential "
                    + "named by Credential= and set URL= to the portal only, if at all"
            )
        }
        let host = hostOf(authority).lowercased()
        let loopback = host == "localhost" || host.hasPrefix("127.") || host == "[::1]"
        if scheme == "http", !loopback, !sink.allowInsecure {
            throw reader.error(
                entry,
                "plain http:// sends personal data unencrypted; use https:// or set AllowInsecure=yes"
            )
        }
        return url
    }

    /// The host of `host:port` or `[v6]:port`.
    private static func hostOf(_ authority: Substring) -> Substring {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return authority[...close]
        }
        return authority.prefix { $0 != ":" }
    }

    private mutating func readSync(_ section: INIParser.Section) throws(ConfigError) {
        let reader = try SectionReader(section, kind: .sync)
        sync.retryInitialSec = try reader.duration("RetryInitialSec", default: 5)
        sync.retryMaxSec = try reader.duration("RetryMaxSec", default: 3600)
        guard sync.retryMaxSec >= sync.retryInitialSec else {
            let message = "must be at least RetryInitialSec (\(sync.retryInitialSec))"
            if let entry = reader.entry("RetryMaxSec") { throw reader.error(entry, message) }
            if let entry = reader.entry("RetryInitialSec") {
                throw reader.error(entry, "must not exceed RetryMaxSec (\(sync.retryMaxSec))")
            }
            throw reader.headerError("RetryMaxSec", message)
        }
    }

    private mutating func readRetention(_ section: INIParser.Section) throws(ConfigError) {
        let reader = try SectionReader(section, kind: .retention)
        retention.purgeSyncedAfterDays = try reader.optionalInteger(
            "PurgeSyncedAfterDays",
            in: 0...36500,
            what: "number of days"
        )
        retention.deadAfterDays = try reader.integer(
            "DeadAfterDays",
            in: 1...36500,
            default: 30,
            what: "number of days"
        )
    }

    private mutating func readStaff(_ section: INIParser.Section) throws(ConfigError) {
        let reader = try SectionReader(section, kind: .staff)
        if let entry = reader.entry("PIN") {
            guard (4...12).contains(entry.value.unicodeScalars.count),
                entry.value.unicodeScalars.allSatisfy(isASCIIDigit)
            else { throw reader.error(entry, "must be 4 to 12 digits") }
            staff.pin = entry.value
        }
        staff.pinCredential = try reader.credentialName("PINCredential")
        if staff.pin != nil, staff.pinCredential != nil {
            let pin = reader.entry("PIN")!
            let credential = reader.entry("PINCredential")!
            let later = (pin.file, pin.line) > (credential.file, credential.line) ? pin : credential
            throw reader.error(later, "set either PIN= or PINCredential=, not both")
        }
    }

    /// Checks that involve more than one section.
    private func crossCheck(_ merged: MergedSections) throws(ConfigError) {
        // A CRM field map names a form field or one of the lead's own values.
        let names = Set(form.fields.map(\.name)).union(Sink.leadValueNames)
        for section in merged.repeated(.sink) {
            for entry in section.entries where entry.key.hasPrefix("Map.") && !entry.value.isEmpty {
                let field = String(entry.key.dropFirst(4))
                guard names.contains(field) else {
                    throw ConfigError(
                        file: entry.file,
                        line: entry.line,
                        section: section.name,
                        key: entry.displayKey,
                        message: "\(field) is neither a form field nor one of "
                            + Sink.leadValueNames.sorted().joined(separator: ", ")
                    )
                }
            }
        }
        for section in merged.repeated(.serial) {
            guard let device = section.last("Device"), !device.value.isEmpty else { continue }
            if device.value == terminal.tty {
                throw ConfigError(
                    file: device.file,
                    line: device.line,
                    section: section.name,
                    key: "Device",
                    message: "\(device.value) is already the form's terminal ([Terminal] TTY=)"
                )
            }
            guard let consent = section.last("Consent"), consent.value.lowercased() == Serial.ConsentMode.form.rawValue
            else {
                continue
            }
            let problem: String? =
                !terminal.hasForm
                ? "\"form\" needs the on-screen form, but [Terminal] TTY= is none"
                : !form.consentRequired
                    ? "\"form\" needs the form to ask for consent, but [Form] ConsentRequired= is no" : nil
            if let problem {
                throw ConfigError(
                    file: consent.file,
                    line: consent.line,
                    section: section.name,
                    key: "Consent",
                    message: problem
                )
            }
        }
    }
}

// MARK: - Lists

/// Splits on commas not preceded by a backslash, trimming each item.
private func splitList(_ text: String) -> [String] {
    var items: [String] = []
    var current = ""
    var escaped = false
    for c in text {
        if escaped {
            current.append("\\")
            current.append(c)
            escaped = false
        } else if c == "\\" {
            escaped = true
        } else if c == "," {
            items.append(String(INIParser.trimmed(current[...])))
            current = ""
        } else {
            current.append(c)
        }
    }
    if escaped { current.append("\\") }
    items.append(String(INIParser.trimmed(current[...])))
    return items
}

/// `value:Label` → (value, Label); `value` → (value, ""). Escapes are resolved in both parts.
private func splitChoice(_ item: String) -> (String, String) {
    var index = item.startIndex
    var escaped = false
    while index < item.endIndex {
        let c = item[index]
        if escaped {
            escaped = false
        } else if c == "\\" {
            escaped = true
        } else if c == ":" {
            return (
                unescape(INIParser.trimmed(item[..<index])),
                unescape(INIParser.trimmed(item[item.index(after: index)...]))
            )
        }
        index = item.index(after: index)
    }
    return (unescape(item[...]), "")
}

/// Resolves `\,`, `\:` and `\\`; any other backslash stays as written.
private func unescape(_ text: Substring) -> String {
    var out = ""
    var escaped = false
    for c in text {
        if escaped {
            if c != "," && c != ":" && c != "\\" { out.append("\\") }
            out.append(c)
            escaped = false
        } else if c == "\\" {
            escaped = true
        } else {
            out.append(c)
        }
    }
    if escaped { out.append("\\") }
    return out
}

// MARK: - Files

/// Reading config files with plain POSIX calls (LeadCore has no Foundation).
private enum ConfigFiles {
    /// Config files are small; this stops a mistaken `--config /dev/zero` from eating memory.
    static let maximumSize = 1 << 20

    /// The whole file, or a ``ConfigError`` naming it ("cannot read: No such file or directory").
    static func read(_ path: String) throws(ConfigError) -> [UInt8] {
        // O_NONBLOCK so that a FIFO does not hang the open; it does not affect regular files.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw ConfigError(file: path, message: "cannot read: \(errorText(errno))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ConfigError(file: path, message: "cannot read: \(errorText(errno))") }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw ConfigError(file: path, message: "cannot read: \(errorText(EISDIR))")
        default: throw ConfigError(file: path, message: "cannot read: not a regular file")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = buffer.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigError(file: path, message: "cannot read: \(errorText(errno))")
            }
            if count == 0 { return bytes }
            bytes += buffer[..<count]
            guard bytes.count <= maximumSize else {
                throw ConfigError(file: path, message: "cannot read: larger than \(maximumSize / 1024) KiB")
            }
        }
    }

    /// The `*.conf` files of `<path>.d/`, sorted by name; empty when the directory does not exist.
    static func dropIns(for path: String) throws(ConfigError) -> [String] {
        let directory = path + ".d"
        guard let handle = opendir(directory) else {
            if errno == ENOENT { return [] }
            throw ConfigError(file: directory, message: "cannot read directory: \(errorText(errno))")
        }
        defer { closedir(handle) }
        var names: [[UInt8]] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            // Hidden files are editors' and package managers' leftovers, as systemd treats them.
            guard name.first != UInt8(ascii: "."), name.count > 5, name.suffix(5).elementsEqual(".conf".utf8) else {
                continue
            }
            names.append(name)
        }
        names.sort { $0.lexicographicallyPrecedes($1) }
        return names.map { directory + "/" + String(decoding: $0, as: UTF8.self) }
    }

    private static func errorText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}

/// `read(2)`, reachable from inside ``ConfigFiles`` whose own `read` would shadow it.
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}
