import Foundation
import LeadCore
import Testing

private let mainFile = "/etc/leadd/leadd.conf"

private func parse(_ text: String) throws -> LeaddConfig {
    try LeaddConfig.parse(text, file: mainFile, hostname: "booth-host")
}

private func parseError(_ text: String) -> ConfigError? {
    do {
        _ = try LeaddConfig.parse(text, file: mainFile, hostname: "booth-host")
        return nil
    } catch {
        return error
    }
}

private func loadError(_ path: String) -> ConfigError? {
    do {
        _ = try LeaddConfig.load(path: path, hostname: "booth-host")
        return nil
    } catch {
        return error
    }
}

/// A fresh directory under the system temporary directory, removed by `cleanUp()`.
private struct TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("leadd-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` to `name` (relative to the directory), creating parent directories.
    func write(_ name: String, _ text: String) throws {
        let url = URL(fileURLWithPath: path + "/" + name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    func mkdir(_ name: String) throws {
        try FileManager.default.createDirectory(atPath: path + "/" + name, withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

@Suite struct LeaddConfigDefaultsTests {
    @Test func minimalConfigHasEveryDocumentedDefault() throws {
        let config = try parse("[Kiosk]\nEvent=expo-2026\n")
        #expect(config.kiosk.id == "booth-host")
        #expect(config.kiosk.event == "expo-2026")
        #expect(config.kiosk.dataDirectory == nil)
        #expect(config.kiosk.language == .en)
        #expect(config.kiosk.country == nil)
        #expect(config.terminal.tty == "-")
        #expect(config.terminal.usesOwnTerminal)
        #expect(config.terminal.hasForm)
        #expect(config.terminal.kiosk == true)
        #expect(config.terminal.idleResetSec == 60)
        #expect(config.terminal.confirmationSec == 5)
        #expect(config.terminal.baud == 9600)
        #expect(config.serials.isEmpty)
        #expect(config.form == FormSpec.default)
        #expect(config.sinks.isEmpty)
        #expect(config.sync.retryInitialSec == 5)
        #expect(config.sync.retryMaxSec == 3600)
        #expect(config.retention.purgeSyncedAfterDays == nil)
        #expect(config.retention.deadAfterDays == 30)
        #expect(config.staff.pin == nil)
        #expect(config.staff.pinCredential == nil)
        #expect(config.files == [mainFile])
    }

    @Test func emptySectionsKeepDefaults() throws {
        let text = "[Kiosk]\nEvent=e\n[Terminal]\n[Form]\n[Sync]\n[Retention]\n[Staff]\n"
        var expected = LeaddConfig(kiosk: .init(id: "booth-host", event: "e"))
        expected.files = [mainFile]
        #expect(try parse(text) == expected)
    }

    @Test func serialAndSinkDefaults() throws {
        let config = try parse(
            """
            [Kiosk]
            Event=e
            [Serial]
            Device=/dev/ttyACM0
            [Sink]
            Name=office
            Type=webhook
            URL=https://leads.example.com/in
            Credential=office-secret
            [Sink]
            Name=b24
            Type=bitrix24
            Credential=b24-webhook
            """
        )
        #expect(config.serials == [LeaddConfig.Serial(device: "/dev/ttyACM0")])
        #expect(config.serials[0].baud == 9600)
        #expect(config.serials[0].format == .auto)
        #expect(config.serials[0].consentText == LocalizedText("Badge scanned at the booth"))
        let office = config.sinks[0]
        #expect(office.allowInsecure == false)
        #expect(office.batchSize == 100)
        #expect(office.timeoutSec == 30)
        #expect(office.directory == nil)
        #expect(office.secretFile == nil)
        #expect(office.caFile == nil)
        #expect(office.options.isEmpty)
        #expect(config.sinks[1].url == nil)
        #expect(config.sinks[1].batchSize == 50, "Bitrix24 takes at most 50 commands per batch")
    }

    @Test func embeddedDefaultIsTheDemoBox() {
        let config = LeaddConfig.embeddedDefault(hostname: "pi")
        #expect(config.kiosk.id == "pi")
        #expect(config.kiosk.event == "demo")
        #expect(config.kiosk.language == .en)
        #expect(config.kiosk.country == nil)
        #expect(config.terminal.tty == "-")
        #expect(config.terminal.kiosk == false)
        #expect(config.sinks.isEmpty)
        #expect(config.serials.isEmpty)
        #expect(config.form == FormSpec.default)
        #expect(config.files.isEmpty)
        #expect(LeaddConfig.embeddedDefault(hostname: "").kiosk.id == "kiosk")
        #expect(LeaddConfig.defaultPath == "/etc/leadd/leadd.conf")
    }

    @Test func exampleTextParsesToTheDefaults() throws {
        let config = try LeaddConfig.parse(LeaddConfig.exampleText, file: mainFile, hostname: "booth-host")
        var expected = try parse("[Kiosk]\nEvent=my-event\n")
        expected.files = [mainFile]
        #expect(config == expected)
    }

    @Test func exampleTextShowsEveryKey() {
        let keys = [
            "Event", "ID", "DataDirectory", "Language", "Country", "TTY", "Kiosk", "IdleResetSec", "ConfirmationSec",
            "Baud", "Device", "Format", "ConsentText", "Title", "ConsentRequired", "Name", "Label", "Type",
            "Required", "Choices", "MaxLength", "URL", "Directory", "Credential", "SecretFile", "CAFile",
            "AllowInsecure", "BatchSize", "TimeoutSec", "Map.email", "Pipeline", "Status", "ResponsibleUser",
            "Source", "Property.", "CustomField.", "RatePerSec", "RetryInitialSec", "RetryMaxSec",
            "PurgeSyncedAfterDays", "DeadAfterDays", "PIN", "PINCredential",
        ]
        for key in keys {
            #expect(
                LeaddConfig.exampleText.contains("\n#\(key)") || LeaddConfig.exampleText.contains("\n\(key)="),
                "\(key)"
            )
        }
    }
}

@Suite struct LeaddConfigParsingTests {
    @Test func parsesEverySectionAndKey() throws {
        let config = try parse(
            """
            [Kiosk]
            ID=booth-a1
            Event=Expo 2026
            DataDirectory=/var/lib/leadd
            Language=ru
            Country=ru

            [Terminal]
            TTY=/dev/ttyUSB1
            Kiosk=no
            IdleResetSec=90s
            ConfirmationSec=3
            Baud=115200

            [Serial]
            Device=/dev/ttyACM0
            Baud=57600
            Format=mecard
            ConsentText=Scanned
            ConsentText[ru]=Отсканировано

            [Form]
            Title=Hello
            Title[ru]=Привет
            ConsentText=I agree
            ConsentRequired=off

            [Field]
            Name=full_name
            Label=Full name
            Label[ru]=ФИО
            Required=yes
            MaxLength=80

            [Field]
            Name=topic
            Label=Topic
            Type=choice
            Choices=demo:Product demo, price, other:Other\\, really
            Choices[ru]=Демо, Цена, Другое

            [Sink]
            Name=crm
            Type=amocrm
            URL=https://example.amocrm.ru
            Credential=amo-token
            SecretFile=/etc/leadd/amo.secret
            CAFile=/etc/leadd/ca.pem
            AllowInsecure=true
            BatchSize=25
            TimeoutSec=10
            Map.rating=123456
            Map.full_name=NAME
            Pipeline=123
            Status=456
            ResponsibleUser=789
            Source=Booth
            Property.lead_source=Expo
            CustomField.987=booth-a1
            RatePerSec=6.5

            [Sink]
            Name=usb
            Type=directory
            Directory=/media/usb/leads

            [Sync]
            RetryInitialSec=2
            RetryMaxSec=600

            [Retention]
            PurgeSyncedAfterDays=14
            DeadAfterDays=7

            [Staff]
            PIN=0042
            """
        )
        #expect(
            config.kiosk
                == .init(
                    id: "booth-a1",
                    event: "Expo 2026",
                    dataDirectory: "/var/lib/leadd",
                    language: .ru,
                    country: "RU"
                )
        )
        #expect(
            config.terminal
                == .init(tty: "/dev/ttyUSB1", kiosk: false, idleResetSec: 90, confirmationSec: 3, baud: 115_200)
        )
        #expect(!config.terminal.usesOwnTerminal)
        #expect(
            config.serials == [
                .init(
                    device: "/dev/ttyACM0",
                    baud: 57600,
                    format: .mecard,
                    consentText: LocalizedText("Scanned", translations: ["ru": "Отсканировано"])
                )
            ]
        )
        #expect(config.form.title == LocalizedText("Hello", translations: ["ru": "Привет"]))
        #expect(config.form.consentText == LocalizedText("I agree"), "a new base text drops the default's translations")
        #expect(config.form.consentRequired == false)
        #expect(config.form.fields.map(\.name) == ["full_name", "topic"])
        #expect(
            config.form.fields[0]
                == FieldSpec(
                    name: "full_name",
                    label: LocalizedText("Full name", translations: ["ru": "ФИО"]),
                    type: .text,
                    required: true,
                    maxLength: 80
                )
        )
        let topic = config.form.fields[1]
        #expect(topic.type == .choice)
        #expect(topic.required == false)
        #expect(topic.maxLength == 200)
        #expect(
            topic.choices == [
                Choice(value: "demo", label: LocalizedText("Product demo", translations: ["ru": "Демо"])),
                Choice(value: "price", label: LocalizedText("price", translations: ["ru": "Цена"])),
                Choice(value: "other", label: LocalizedText("Other, really", translations: ["ru": "Другое"])),
            ]
        )
        #expect(
            config.sinks[0]
                == LeaddConfig.Sink(
                    name: "crm",
                    type: .amocrm,
                    url: "https://example.amocrm.ru",
                    credential: "amo-token",
                    secretFile: "/etc/leadd/amo.secret",
                    caFile: "/etc/leadd/ca.pem",
                    allowInsecure: true,
                    batchSize: 25,
                    timeoutSec: 10,
                    options: [
                        "Map.rating": "123456", "Map.full_name": "NAME", "Pipeline": "123", "Status": "456",
                        "ResponsibleUser": "789", "Source": "Booth", "Property.lead_source": "Expo",
                        "CustomField.987": "booth-a1", "RatePerSec": "6.5",
                    ]
                )
        )
        #expect(config.sinks[0].fieldMap == ["rating": "123456", "full_name": "NAME"])
        #expect(config.sinks[0].ratePerSec == 6.5)
        #expect(config.sinks[1] == LeaddConfig.Sink(name: "usb", type: .directory, directory: "/media/usb/leads"))
        #expect(config.sync == .init(retryInitialSec: 2, retryMaxSec: 600))
        #expect(config.retention == .init(purgeSyncedAfterDays: 14, deadAfterDays: 7))
        #expect(config.staff == .init(pin: "0042"))
    }

    @Test(arguments: [
        ("yes", true), ("no", false), ("true", true), ("false", false), ("1", true), ("0", false), ("on", true),
        ("off", false), ("YES", true), ("Off", false),
    ])
    func acceptsEveryBooleanSpelling(value: String, expected: Bool) throws {
        #expect(try parse("[Kiosk]\nEvent=e\n[Terminal]\nKiosk=\(value)\n").terminal.kiosk == expected)
    }

    @Test func durationsTakeAnOptionalSecondsSuffix() throws {
        let config = try parse("[Kiosk]\nEvent=e\n[Terminal]\nIdleResetSec=120s\nConfirmationSec=7\n")
        #expect(config.terminal.idleResetSec == 120)
        #expect(config.terminal.confirmationSec == 7)
    }

    @Test func terminalAcceptsOwnTerminalAndNone() throws {
        let none = try parse("[Kiosk]\nEvent=e\n[Terminal]\nTTY=none\n")
        #expect(none.terminal.tty == "none")
        #expect(!none.terminal.hasForm)
    }

    @Test func laterAssignmentWinsAndEmptyValueResetsToDefault() throws {
        let config = try parse("[Kiosk]\nEvent=a\nEvent=b\nCountry=DE\nCountry=\n[Terminal]\nBaud=1200\nBaud=\n")
        #expect(config.kiosk.event == "b")
        #expect(config.kiosk.country == nil)
        #expect(config.terminal.baud == 9600)
    }

    @Test func repeatedSectionsKeepTheirOrder() throws {
        let config = try parse(
            """
            [Kiosk]
            Event=e
            [Serial]
            Device=/dev/ttyACM1
            [Sink]
            Name=b
            Type=directory
            Directory=/srv/b
            [Serial]
            Device=/dev/ttyACM0
            Format=badge
            [Sink]
            Name=a
            Type=directory
            Directory=/srv/a
            """
        )
        #expect(config.serials.map(\.device) == ["/dev/ttyACM1", "/dev/ttyACM0"])
        #expect(config.serials.map(\.format) == [.auto, .badge])
        #expect(config.sinks.map(\.name) == ["b", "a"])
    }

    @Test func fieldLabelTranslationsAndDefaultMaxLengthByType() throws {
        let config = try parse(
            """
            [Kiosk]
            Event=e
            [Field]
            Name=mail
            Label=E-mail
            Label[ru]=Почта
            Type=email
            [Field]
            Name=comment
            Label=Comment
            Type=multiline
            """
        )
        #expect(config.form.fields[0].label == LocalizedText("E-mail", translations: ["ru": "Почта"]))
        #expect(config.form.fields[0].label.text(for: .ru) == "Почта")
        #expect(config.form.fields[0].maxLength == 254)
        #expect(config.form.fields[1].maxLength == 2000)
        #expect(config.form.title == FormSpec.default.title)
        #expect(config.form.consentRequired)
    }

    @Test func translationAloneKeepsTheDefaultText() throws {
        let config = try parse("[Kiosk]\nEvent=e\n[Form]\nTitle[ru]=Контакты\n")
        #expect(config.form.title == LocalizedText("Leave your contacts", translations: ["ru": "Контакты"]))
    }

    @Test func plainHTTPIsAllowedToLoopbackAndWithAllowInsecure() throws {
        for (url, insecure) in [
            ("http://127.0.0.1:8080/in", "no"), ("http://localhost/in", "no"), ("http://[::1]:9/x", "no"),
            ("http://leads.example.com/in", "yes"),
        ] {
            let config = try parse(
                "[Kiosk]\nEvent=e\n[Sink]\nName=w\nType=webhook\nURL=\(url)\nCredential=c\nAllowInsecure=\(insecure)\n"
            )
            #expect(config.sinks[0].url == url)
        }
    }
}

@Suite struct LeaddConfigErrorTests {
    @Test func unknownSectionNamesFileAndLine() throws {
        let error = try #require(parseError("[Kiosk]\nEvent=e\n\n[Kiosks]\nEvent=f\n"))
        #expect(error.file == mainFile)
        #expect(error.line == 4)
        #expect(error.section == "Kiosks")
        #expect(error.key == nil)
        #expect(error.message.hasPrefix("unknown section"))
    }

    @Test func unknownSectionSuggestsTheRightCase() throws {
        let error = try #require(parseError("[kiosk]\nEvent=e\n"))
        #expect(error.message.contains("did you mean \"Kiosk\""))
    }

    @Test func unknownKeyNamesFileLineAndKey() throws {
        let error = try #require(parseError("[Kiosk]\nEvent=e\n[Terminal]\nTTY=-\nIdleReset=60\n"))
        #expect(error.file == mainFile)
        #expect(error.line == 5)
        #expect(error.section == "Terminal")
        #expect(error.key == "IdleReset")
        #expect(error.message.hasPrefix("unknown key"))
    }

    @Test func unknownSinkKeyIsAnError() throws {
        let error = try #require(
            parseError("[Kiosk]\nEvent=e\n[Sink]\nName=u\nType=directory\nDirectory=/srv\nColour=blue\n")
        )
        #expect(error.line == 7)
        #expect(error.key == "Colour")
    }

    @Test func badBaudNamesLineAndKey() throws {
        let error = try #require(parseError("[Kiosk]\nEvent=e\n[Terminal]\nBaud=fast\n"))
        #expect(error.line == 4)
        #expect(error.section == "Terminal")
        #expect(error.key == "Baud")
        #expect(error.message.hasPrefix("invalid baud rate \"fast\""))
        let odd = try #require(parseError("[Kiosk]\nEvent=e\n[Serial]\nDevice=/dev/ttyACM0\nBaud=9601\n"))
        #expect(odd.line == 5)
        #expect(odd.section == "Serial")
        #expect(odd.key == "Baud")
    }

    @Test func unknownSinkTypeReadsLikeTheDesign() throws {
        let text = """
            [Kiosk]
            Event=e

            [Sink]
            Name=office
            Type=webhok
            """
        let error = try #require(parseError(text))
        #expect(error.line == 6)
        #expect(error.key == "Type")
        #expect(
            error.description
                == "/etc/leadd/leadd.conf:6: [Sink] Type: unknown value \"webhok\" "
                + "(expected webhook, directory, hubspot, bitrix24, amocrm)"
        )
    }

    @Test(arguments: ["-5", "0", "abc", "1.5", "60m", "99999999999"])
    func badDurationNamesLineAndKey(value: String) throws {
        let error = try #require(parseError("[Kiosk]\nEvent=e\n[Terminal]\nIdleResetSec=\(value)\n"))
        #expect(error.file == mainFile)
        #expect(error.line == 4)
        #expect(error.key == "IdleResetSec")
        #expect(error.message.hasPrefix("invalid duration"))
    }

    @Test(arguments: [
        ("[Kiosk]\nEvent=e\nLanguage=de\n", 3, "Language"),
        ("[Kiosk]\nEvent=e\nCountry=RUS\n", 3, "Country"),
        ("[Kiosk]\nEvent=e\nCountry=XX\n", 3, "Country"),
        ("[Kiosk]\nEvent=e\nDataDirectory=data\n", 3, "DataDirectory"),
        ("[Kiosk]\nEvent=e\nID=booth a1\n", 3, "ID"),
        ("[Kiosk]\nEvent=e\n[Terminal]\nTTY=tty1\n", 4, "TTY"),
        ("[Kiosk]\nEvent=e\n[Terminal]\nKiosk=maybe\n", 4, "Kiosk"),
        ("[Kiosk]\nEvent=e\n[Serial]\nDevice=/dev/ttyACM0\nFormat=xml\n", 5, "Format"),
        ("[Kiosk]\nEvent=e\n[Serial]\nDevice=ttyACM0\n", 4, "Device"),
        ("[Kiosk]\nEvent=e\n[Form]\nConsentRequired=sure\n", 4, "ConsentRequired"),
        ("[Kiosk]\nEvent=e\n[Field]\nName=x\nLabel=X\nType=date\n", 6, "Type"),
        ("[Kiosk]\nEvent=e\n[Field]\nName=x\nLabel=X\nMaxLength=0\n", 6, "MaxLength"),
        ("[Kiosk]\nEvent=e\n[Field]\nName=First\nLabel=X\n", 4, "Name"),
        ("[Kiosk]\nEvent=e\n[Field]\nName=rating\nLabel=X\n", 4, "Name"),
        ("[Kiosk]\nEvent=e\n[Field]\nName=x\nLabel=X\nChoices=a,b\n", 6, "Choices"),
        ("[Kiosk]\nEvent=e\n[Field]\nName=x\nLabel=X\nType=choice\nChoices=a,,b\n", 7, "Choices"),
        ("[Kiosk]\nEvent=e\n[Field]\nName=x\nLabel=X\nType=choice\nChoices=a,b\nChoices[ru]=А\n", 8, "Choices[ru]"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=a b\nType=directory\nDirectory=/d\n", 4, "Name"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=w\nType=webhook\nURL=ftp://x\nCredential=c\n", 6, "URL"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=w\nType=webhook\nURL=http://example.com/\nCredential=c\n", 6, "URL"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=w\nType=webhook\nURL=https://u:p@example.com/\nCredential=c\n", 6, "URL"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=d\nType=directory\nDirectory=/d\nURL=https://x/\n", 7, "URL"),
        (
            "[Kiosk]\nEvent=e\n[Sink]\nName=w\nType=webhook\nURL=https://x/\nDirectory=/d\nCredential=c\n", 7,
            "Directory"
        ),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=d\nType=directory\nDirectory=/d\nBatchSize=0\n", 7, "BatchSize"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=d\nType=directory\nDirectory=/d\nBatchSize=1001\n", 7, "BatchSize"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=h\nType=hubspot\nCredential=c\nBatchSize=101\n", 7, "BatchSize"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=h\nType=hubspot\nCredential=c\nRatePerSec=fast\n", 7, "RatePerSec"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=h\nType=hubspot\nCredential=c\nMap.Email=email\n", 7, "Map.Email"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=h\nType=hubspot\nCredential=a/b\n", 6, "Credential"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=h\nType=hubspot\nCredential=c\nURL[ru]=https://x/\n", 7, "URL[ru]"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=h\nType=hubspot\nCredential=c\nMap.email=Email\n", 7, "Map.email"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=h\nType=hubspot\nCredential=c\nMap.nickname=nick\n", 7, "Map.nickname"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=h\nType=hubspot\nCredential=c\nSource=Expo\n", 7, "Source"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=h\nType=hubspot\nCredential=c\nTimeZoneOffset=CET\n", 7, "TimeZoneOffset"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=h\nType=hubspot\nCredential=c\nUpsertBy=phone\n", 7, "UpsertBy"),
        // UpsertBy=lead_id needs the property that holds the lead id.
        ("[Kiosk]\nEvent=e\n[Sink]\nName=h\nType=hubspot\nCredential=c\nUpsertBy=lead_id\n", 7, "UpsertBy"),
        (
            "[Kiosk]\nEvent=e\n[Sink]\nName=h\nType=hubspot\nCredential=c\nMap.lead_id=-\nUpsertBy=lead_id\n", 8,
            "UpsertBy"
        ),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=b\nType=bitrix24\nCredential=c\nUpsertBy=lead_id\n", 7, "UpsertBy"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=b\nType=bitrix24\nCredential=c\nPipeline=5\n", 7, "Pipeline"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=b\nType=bitrix24\nCredential=c\nMap.phone=phone\n", 7, "Map.phone"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=b\nType=bitrix24\nCredential=c\nResponsibleUser=boss\n", 7, "ResponsibleUser"),
        ("[Kiosk]\nEvent=e\n[Sink]\nName=a\nType=amocrm\nCredential=c\n", 3, "URL"),
        (
            "[Kiosk]\nEvent=e\n[Sink]\nName=a\nType=amocrm\nURL=https://x.kommo.com\nCredential=c\nStatus=NEW\n", 8,
            "Status"
        ),
        (
            "[Kiosk]\nEvent=e\n[Sink]\nName=a\nType=amocrm\nURL=https://x.kommo.com\nCredential=c\nMap.lead_id=LEAD\n",
            8, "Map.lead_id"
        ),
        (
            "[Kiosk]\nEvent=e\n[Sink]\nName=a\nType=amocrm\nURL=https://x.kommo.com\nCredential=c\nCustomField.x=1\n",
            8, "CustomField.x"
        ),
        (
            "[Kiosk]\nEvent=e\n[Sink]\nName=w\nType=webhook\nURL=https://x/\nCredential=c\nMap.email=email\n", 8,
            "Map.email"
        ),
        ("[Kiosk]\nEvent=e\n[Retention]\nDeadAfterDays=0\n", 4, "DeadAfterDays"),
        ("[Kiosk]\nEvent=e\n[Retention]\nPurgeSyncedAfterDays=soon\n", 4, "PurgeSyncedAfterDays"),
        ("[Kiosk]\nEvent=e\n[Staff]\nPIN=12a4\n", 4, "PIN"),
        ("[Kiosk]\nEvent=e\n[Staff]\nPIN=123\n", 4, "PIN"),
    ])
    func badValueNamesLineAndKey(text: String, line: Int, key: String) throws {
        let error = try #require(parseError(text))
        #expect(error.file == mainFile)
        #expect(error.line == line)
        #expect(error.key == key)
    }

    @Test func missingEventWithoutKioskSectionNamesTheMainFile() throws {
        let error = try #require(parseError("[Terminal]\nTTY=-\n"))
        #expect(error.file == mainFile)
        #expect(error.line == nil)
        #expect(error.section == "Kiosk")
        #expect(error.key == "Event")
        #expect(error.description == "/etc/leadd/leadd.conf: [Kiosk] Event: missing required key")
    }

    @Test func missingEventPointsAtTheKioskHeader() throws {
        let error = try #require(parseError("# box\n[Kiosk]\nID=a1\n"))
        #expect(error.line == 2)
        #expect(error.key == "Event")
        #expect(error.description == "/etc/leadd/leadd.conf:2: [Kiosk] Event: missing required key")
        let empty = try #require(parseError("[Kiosk]\nEvent=\n"))
        #expect(empty.line == 2)
        #expect(empty.key == "Event")
        #expect(empty.message == "must not be empty")
    }

    @Test func fieldWithoutNamePointsAtItsHeader() throws {
        let error = try #require(parseError("[Kiosk]\nEvent=e\n[Field]\nName=a\nLabel=A\n\n[Field]\nLabel=B\n"))
        #expect(error.file == mainFile)
        #expect(error.line == 7)
        #expect(error.section == "Field")
        #expect(error.key == "Name")
        #expect(error.message == "missing required key")
    }

    @Test func fieldWithoutLabelPointsAtItsHeader() throws {
        let error = try #require(parseError("[Kiosk]\nEvent=e\n[Field]\nName=a\n"))
        #expect(error.line == 3)
        #expect(error.key == "Label")
    }

    @Test func choiceFieldWithoutChoicesPointsAtItsType() throws {
        let error = try #require(parseError("[Kiosk]\nEvent=e\n[Field]\nName=topic\nLabel=Topic\nType=choice\n"))
        #expect(error.file == mainFile)
        #expect(error.line == 6)
        #expect(error.section == "Field")
        #expect(error.key == "Choices")
        #expect(error.message == "required for Type=choice")
    }

    @Test(arguments: ["Token", "Secret", "Password", "APIToken", "WebhookSecret"])
    func secretInConfigIsRejectedPointingAtCredential(key: String) throws {
        let text = "[Kiosk]\nEvent=e\n[Sink]\nName=h\nType=hubspot\n\(key)=pat-na1-123\nCredential=c\n"
        let error = try #require(parseError(text))
        #expect(error.file == mainFile)
        #expect(error.line == 6)
        #expect(error.section == "Sink")
        #expect(error.key == key)
        #expect(error.message.contains("Credential="))
    }

    @Test func bitrixWebhookURLWithItsSecretIsRejected() throws {
        let text = "[Kiosk]\nEvent=e\n[Sink]\nName=b\nType=bitrix24\nURL=https://x.bitrix24.ru/rest/1/abc123/\n"
        let error = try #require(parseError(text))
        #expect(error.line == 6)
        #expect(error.key == "URL")
        #expect(error.message.contains("Credential="))
    }

    @Test func sinkMissingItsRequiredKeys() throws {
        let noURL = try #require(parseError("[Kiosk]\nEvent=e\n[Sink]\nName=w\nType=webhook\nCredential=c\n"))
        #expect(noURL.line == 3)
        #expect(noURL.key == "URL")
        let noDirectory = try #require(parseError("[Kiosk]\nEvent=e\n[Sink]\nName=d\nType=directory\n"))
        #expect(noDirectory.line == 3)
        #expect(noDirectory.key == "Directory")
        let noType = try #require(parseError("[Kiosk]\nEvent=e\n[Sink]\nName=d\n"))
        #expect(noType.line == 3)
        #expect(noType.key == "Type")
        let noName = try #require(parseError("[Kiosk]\nEvent=e\n[Sink]\nType=directory\nDirectory=/d\n"))
        #expect(noName.line == 3)
        #expect(noName.key == "Name")
        let noSecret = try #require(parseError("[Kiosk]\nEvent=e\n[Sink]\nName=w\nType=webhook\nURL=https://x/\n"))
        #expect(noSecret.line == 5)
        #expect(noSecret.key == "Credential")
    }

    @Test func duplicateNamesInOneFileAreRejected() throws {
        let sinks = try #require(
            parseError(
                "[Kiosk]\nEvent=e\n[Sink]\nName=a\nType=directory\nDirectory=/a\n[Sink]\nName=a\nType=directory\n"
            )
        )
        #expect(sinks.line == 8)
        #expect(sinks.key == "Name")
        #expect(sinks.message.contains("line 3"))
        let fields = try #require(parseError("[Kiosk]\nEvent=e\n[Field]\nName=a\nLabel=A\n[Field]\nName=a\nLabel=B\n"))
        #expect(fields.line == 7)
        #expect(fields.key == "Name")
        let serials = try #require(parseError("[Kiosk]\nEvent=e\n[Serial]\nDevice=/dev/x\n[Serial]\nDevice=/dev/x\n"))
        #expect(serials.line == 6)
        #expect(serials.key == "Device")
    }

    @Test func retryMaxBelowInitialPointsAtTheKeyThatBreaksIt() throws {
        let both = try #require(parseError("[Kiosk]\nEvent=e\n[Sync]\nRetryInitialSec=60\nRetryMaxSec=30\n"))
        #expect(both.line == 5)
        #expect(both.section == "Sync")
        #expect(both.key == "RetryMaxSec")
        let initialOnly = try #require(parseError("[Kiosk]\nEvent=e\n[Sync]\nRetryInitialSec=7200\n"))
        #expect(initialOnly.line == 4)
        #expect(initialOnly.key == "RetryInitialSec")
    }

    @Test func staffPINAndPINCredentialAreExclusive() throws {
        let error = try #require(parseError("[Kiosk]\nEvent=e\n[Staff]\nPIN=1234\nPINCredential=pin\n"))
        #expect(error.line == 5)
        #expect(error.key == "PINCredential")
        #expect(try parse("[Kiosk]\nEvent=e\n[Staff]\nPINCredential=leadd-pin\n").staff.pinCredential == "leadd-pin")
    }

    @Test func scannerCannotUseTheFormTerminal() throws {
        let error = try #require(
            parseError("[Kiosk]\nEvent=e\n[Terminal]\nTTY=/dev/ttyUSB0\n[Serial]\nDevice=/dev/ttyUSB0\n")
        )
        #expect(error.line == 6)
        #expect(error.key == "Device")
    }

    @Test func typedThrowsCarryConfigError() {
        #expect(throws: ConfigError.self) { try parse("[Kiosk]\nEvent=e\n[Terminal]\nBaud=fast\n") }
        #expect(throws: ConfigError.self) { try parse("Event=e\n") }
    }
}

@Suite struct LeaddConfigLoadingTests {
    private let main = """
        [Kiosk]
        Event=expo
        Language=en

        [Terminal]
        IdleResetSec=30

        [Field]
        Name=first_name
        Label=First name
        Required=yes

        [Field]
        Name=email
        Label=Email
        Type=email

        [Sink]
        Name=office
        Type=webhook
        URL=https://leads.example.com/in
        Credential=office
        BatchSize=50

        [Serial]
        Device=/dev/ttyACM0
        """

    @Test func dropInsOverrideKeyByKeyInNameOrder() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let path = dir.path + "/leadd.conf"
        try dir.write("leadd.conf", main)
        try dir.mkdir("leadd.conf.d")
        try dir.write(
            "leadd.conf.d/20-later.conf",
            "[Kiosk]\nLanguage=ru\n[Sink]\nName=office\nTimeoutSec=5\n[Field]\nName=email\nLabel[ru]=Почта\n"
        )
        try dir.write(
            "leadd.conf.d/10-first.conf",
            """
            [Kiosk]
            Event=expo-2026
            Language=de-not-valid-but-overridden
            [Sink]
            Name=office
            BatchSize=20
            [Sink]
            Name=usb
            Type=directory
            Directory=/media/usb
            [Field]
            Name=company
            Label=Company
            [Serial]
            Device=/dev/ttyACM0
            Format=badge
            [Serial]
            Device=/dev/ttyACM1
            """
        )
        try dir.write("leadd.conf.d/README", "not a config file")
        try dir.write("leadd.conf.d/.hidden.conf", "[Bogus]\n")
        try dir.write("leadd.conf.d/30-off.conf.disabled", "[Bogus]\n")

        let config = try LeaddConfig.load(path: path, hostname: "pi")
        #expect(
            config.files == [path, dir.path + "/leadd.conf.d/10-first.conf", dir.path + "/leadd.conf.d/20-later.conf"]
        )
        #expect(config.kiosk.event == "expo-2026")
        #expect(config.kiosk.language == .ru)
        #expect(config.kiosk.id == "pi")
        #expect(config.terminal.idleResetSec == 30)
        #expect(config.sinks.map(\.name) == ["office", "usb"])
        #expect(config.sinks[0].batchSize == 20)
        #expect(config.sinks[0].timeoutSec == 5)
        #expect(config.sinks[0].url == "https://leads.example.com/in")
        #expect(config.form.fields.map(\.name) == ["first_name", "email", "company"])
        #expect(config.form.fields[1].label == LocalizedText("Email", translations: ["ru": "Почта"]))
        #expect(config.form.fields[1].type == .email)
        #expect(config.serials.map(\.device) == ["/dev/ttyACM0", "/dev/ttyACM1"])
        #expect(config.serials[0].format == .badge)
    }

    @Test func missingDropInDirectoryIsFine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try dir.write("leadd.conf", main)
        let config = try LeaddConfig.load(path: dir.path + "/leadd.conf", hostname: "pi")
        #expect(config.files == [dir.path + "/leadd.conf"])
        #expect(config.sinks.count == 1)
    }

    @Test func missingMainFileIsAnErrorWithoutLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let path = dir.path + "/nope.conf"
        let error = try #require(loadError(path))
        #expect(error.file == path)
        #expect(error.line == nil)
        #expect(error.key == nil)
        #expect(error.message == "cannot read: No such file or directory")
        #expect(error.description == "\(path): cannot read: No such file or directory")
    }

    @Test func dropInThatIsADirectoryIsNamed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try dir.write("leadd.conf", main)
        try dir.write("leadd.conf.d/10-ok.conf", "[Kiosk]\nLanguage=ru\n")
        try dir.mkdir("leadd.conf.d/20-bad.conf")
        let error = try #require(loadError(dir.path + "/leadd.conf"))
        #expect(error.file == dir.path + "/leadd.conf.d/20-bad.conf")
        #expect(error.line == nil)
        #expect(error.message == "cannot read: Is a directory")
    }

    @Test func danglingSymlinkDropInIsNamed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try dir.write("leadd.conf", main)
        try dir.mkdir("leadd.conf.d")
        try FileManager.default.createSymbolicLink(
            atPath: dir.path + "/leadd.conf.d/50-gone.conf",
            withDestinationPath: dir.path + "/missing"
        )
        let error = try #require(loadError(dir.path + "/leadd.conf"))
        #expect(error.file == dir.path + "/leadd.conf.d/50-gone.conf")
        #expect(error.message == "cannot read: No such file or directory")
    }

    @Test func errorInDropInNamesTheDropIn() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try dir.write("leadd.conf", main)
        try dir.write("leadd.conf.d/10-sink.conf", "# override\n[Sink]\nName=office\nType=webhok\n")
        let error = try #require(loadError(dir.path + "/leadd.conf"))
        #expect(error.file == dir.path + "/leadd.conf.d/10-sink.conf")
        #expect(error.line == 4)
        #expect(error.section == "Sink")
        #expect(error.key == "Type")
    }

    @Test func dropInMayRepeatANameOnceButNotTwice() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try dir.write("leadd.conf", main)
        try dir.write("leadd.conf.d/10-sink.conf", "[Sink]\nName=office\nTimeoutSec=9\n[Sink]\nName=office\n")
        let error = try #require(loadError(dir.path + "/leadd.conf"))
        #expect(error.file == dir.path + "/leadd.conf.d/10-sink.conf")
        #expect(error.line == 5)
        #expect(error.key == "Name")
    }

    @Test func crossKeyCheckSeesValuesFromAllFiles() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        try dir.write("leadd.conf", main + "\n[Sync]\nRetryMaxSec=60\n")
        try dir.write("leadd.conf.d/10-sync.conf", "[Sync]\nRetryInitialSec=120\n")
        let error = try #require(loadError(dir.path + "/leadd.conf"))
        #expect(error.file == dir.path + "/leadd.conf")
        #expect(error.key == "RetryMaxSec")
        try dir.write("leadd.conf.d/20-reset.conf", "[Sync]\nRetryMaxSec=\n")
        #expect(try LeaddConfig.load(path: dir.path + "/leadd.conf", hostname: "pi").sync.retryMaxSec == 3600)
    }

    @Test func invalidUTF8InAFileNamesItsLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let path = dir.path + "/leadd.conf"
        try Data(Array("[Kiosk]\nEvent=expo\nID=caf".utf8) + [0xE9] + Array("\n".utf8)).write(
            to: URL(fileURLWithPath: path)
        )
        let error = try #require(loadError(path))
        #expect(error.file == path)
        #expect(error.line == 3)
        #expect(error.message.contains("UTF-8"))
    }
}

@Suite struct SerialConsentConfigTests {
    @Test func consentDefaultsToTheRecordedBasisAndFormIsAccepted() throws {
        let basis = try parse("[Kiosk]\nEvent=e\n[Serial]\nDevice=/dev/ttyACM0\n")
        #expect(basis.serials[0].consent == .basis)
        let form = try parse(
            "[Kiosk]\nEvent=e\n[Terminal]\nTTY=/dev/tty1\n[Serial]\nDevice=/dev/ttyACM0\nConsent=Form\n"
        )
        #expect(form.serials[0].consent == .form)
    }

    @Test(arguments: [
        ("[Kiosk]\nEvent=e\n[Serial]\nDevice=/dev/ttyACM0\nConsent=maybe\n", 5, "unknown value"),
        ("[Kiosk]\nEvent=e\n[Terminal]\nTTY=none\n[Serial]\nDevice=/dev/ttyACM0\nConsent=form\n", 7, "TTY= is none"),
        (
            "[Kiosk]\nEvent=e\n[Form]\nConsentRequired=no\n[Serial]\nDevice=/dev/ttyACM0\nConsent=form\n", 7,
            "ConsentRequired= is no"
        ),
    ])
    func consentErrorsNameTheLineAndKey(text: String, line: Int, message: String) throws {
        let error = try #require(parseError(text))
        #expect(error.file == mainFile)
        #expect(error.line == line)
        #expect(error.section == "Serial")
        #expect(error.key == "Consent")
        #expect(error.message.contains(message), "\(error.message)")
    }
}
