/// The whole configuration of `leadd` and `leadctl`: `/etc/leadd/leadd.conf` plus its drop-ins.
///
/// Built once in `main` with ``load(path:hostname:)`` (or ``embeddedDefault(hostname:)`` for `--demo`) and
/// handed to the components; nothing else reads the file. Every property documents its default, which is what
/// a key left out (or set to the empty string, as `Key=` resets a key in systemd) stands for.
///
/// ```swift
/// let config = try LeaddConfig.load(path: LeaddConfig.defaultPath, hostname: "booth-a1")
/// config.kiosk.event        // "expo-2026"
/// config.form.fields.count  // 7 with the embedded default form
/// ```
public struct LeaddConfig: Sendable, Hashable {
    /// Where `leadd` and `leadctl` look without `--config`. Drop-ins live in `/etc/leadd/leadd.conf.d/`.
    public static let defaultPath = "/etc/leadd/leadd.conf"

    /// `[Kiosk]`: who this box is and which event it serves.
    public var kiosk: Kiosk
    /// `[Terminal]`: where the visitor form is shown.
    public var terminal: Terminal
    /// `[Serial]` sections: badge scanners, in file order. Default: none.
    public var serials: [Serial]
    /// `[Form]` and `[Field]` sections. Default: ``FormSpec/default``; with any `[Field]` section the fields
    /// are exactly the configured ones, in order.
    public var form: FormSpec
    /// `[Sink]` sections: where leads are delivered, in file order. Default: none (leads stay on the box).
    public var sinks: [Sink]
    /// `[Sync]`: retry timing shared by all sinks.
    public var sync: Sync
    /// `[Retention]`: how long leads are kept.
    public var retention: Retention
    /// `[Staff]`: how staff leave kiosk mode.
    public var staff: Staff
    /// The files this configuration was read from, in the order they were applied (empty when embedded).
    public var files: [String]

    /// Creates a configuration; everything but `kiosk` has the documented defaults.
    public init(
        kiosk: Kiosk,
        terminal: Terminal = Terminal(),
        serials: [Serial] = [],
        form: FormSpec = .default,
        sinks: [Sink] = [],
        sync: Sync = Sync(),
        retention: Retention = Retention(),
        staff: Staff = Staff(),
        files: [String] = []
    ) {
        self.kiosk = kiosk
        self.terminal = terminal
        self.serials = serials
        self.form = form
        self.sinks = sinks
        self.sync = sync
        self.retention = retention
        self.staff = staff
        self.files = files
    }

    /// The configuration of `leadd --demo` and of a box with no config file: event `demo`, the form on the
    /// process's own terminal without kiosk lock-down, English, no country, no scanners and no sinks.
    /// - Parameter hostname: the kiosk id (`kiosk` if empty).
    public static func embeddedDefault(hostname: String) -> LeaddConfig {
        var terminal = Terminal()
        terminal.kiosk = false
        return LeaddConfig(kiosk: Kiosk(id: Kiosk.defaultID(hostname: hostname), event: "demo"), terminal: terminal)
    }

    /// The baud rates accepted for `[Terminal] Baud=` and `[Serial] Baud=`.
    public static let standardBaudRates = [
        1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 921_600,
    ]

    // MARK: - Sections

    /// `[Kiosk]`.
    public struct Kiosk: Sendable, Hashable {
        /// `ID=`: this box's name in leads, exports and the sync `User-Agent`. Default: the hostname.
        /// Letters, digits, `.`, `_` and `-`.
        public var id: String
        /// `Event=`: the event every lead belongs to. Required.
        public var event: String
        /// `DataDirectory=`: an absolute path holding `leads.sqlite3`, used when systemd gives no
        /// `$STATE_DIRECTORY`. Default: nil.
        public var dataDirectory: String?
        /// `Language=`: the form's initial language, `en` or `ru`. Default: `en`.
        public var language: Language
        /// `Country=`: ISO 3166-1 alpha-2 code (stored upper-case) for reading local phone numbers.
        /// Default: nil, and then phone numbers must be international.
        public var country: String?

        /// Creates the section; `id` is usually ``defaultID(hostname:)``.
        public init(
            id: String,
            event: String,
            dataDirectory: String? = nil,
            language: Language = .en,
            country: String? = nil
        ) {
            self.id = id
            self.event = event
            self.dataDirectory = dataDirectory
            self.language = language
            self.country = country
        }

        /// The kiosk id used without `ID=`: the hostname, or `kiosk` when it is empty.
        public static func defaultID(hostname: String) -> String { hostname.isEmpty ? "kiosk" : hostname }
    }

    /// `[Terminal]`.
    public struct Terminal: Sendable, Hashable {
        /// The `TTY=` value that puts the form on the process's own terminal.
        public static let ownTerminal = "-"
        /// The `TTY=` value for a box without a form (scanner-only or relay).
        public static let noTerminal = "none"

        /// `TTY=`: an absolute device path (`/dev/tty1`, `/dev/ttyUSB0`), ``ownTerminal`` or ``noTerminal``.
        /// Default: `-`.
        public var tty: String
        /// `Kiosk=`: lock the form down (no Ctrl-C/Ctrl-Z/Ctrl-\, leave only with F12 + PIN). Default: yes.
        public var kiosk: Bool
        /// `IdleResetSec=`: seconds without input before a half-filled form is wiped. Default: 60.
        public var idleResetSec: Int
        /// `ConfirmationSec=`: seconds the "thank you" screen stays up. Default: 5.
        public var confirmationSec: Int
        /// `Baud=`: line speed when `tty` is a serial terminal. Default: 9600.
        public var baud: Int

        /// Creates the section with the documented defaults.
        public init(
            tty: String = Terminal.ownTerminal,
            kiosk: Bool = true,
            idleResetSec: Int = 60,
            confirmationSec: Int = 5,
            baud: Int = 9600
        ) {
            self.tty = tty
            self.kiosk = kiosk
            self.idleResetSec = idleResetSec
            self.confirmationSec = confirmationSec
            self.baud = baud
        }

        /// Whether a form is shown at all (`TTY=` is not `none`).
        public var hasForm: Bool { tty != Terminal.noTerminal }
        /// Whether the form uses the process's own terminal (`TTY=-`).
        public var usesOwnTerminal: Bool { tty == Terminal.ownTerminal }
    }

    /// One `[Serial]` section: a badge scanner.
    public struct Serial: Sendable, Hashable {
        /// `Format=`: how records from the scanner are decoded.
        public enum Format: String, Sendable, CaseIterable, Hashable {
            /// Recognise vCard, MECARD, JSON and key=value; anything else is a badge id.
            case auto
            case vcard, mecard, json, kv, badge
        }

        /// `Consent=`: how a scanned visitor's consent is obtained.
        public enum ConsentMode: String, Sendable, CaseIterable, Hashable {
            /// The scan is stored at once with `ConsentText=` as the recorded basis (the badge was handed over
            /// to be scanned).
            case basis
            /// The scan only fills the on-screen form; the lead is stored when the visitor ticks the form's
            /// consent box and submits, with the form's consent text. Needs a form with `ConsentRequired=yes`.
            case form
        }

        /// The consent basis recorded for scans without `ConsentText=`.
        public static let defaultConsentText: LocalizedText = "Badge scanned at the booth"

        /// `Device=`: the absolute device path, e.g. `/dev/ttyACM0`. Required; identifies the section, so a
        /// drop-in `[Serial]` with the same `Device=` changes this one.
        public var device: String
        /// `Baud=`: line speed (8N1). Default: 9600.
        public var baud: Int
        /// `Format=`. Default: `auto`.
        public var format: Format
        /// `ConsentText=` (localisable): the basis recorded with a scanned lead's consent.
        /// Default: "Badge scanned at the booth".
        public var consentText: LocalizedText
        /// `Consent=`. Default: `basis`.
        public var consent: ConsentMode

        /// Creates the section with the documented defaults.
        public init(
            device: String,
            baud: Int = 9600,
            format: Format = .auto,
            consentText: LocalizedText = defaultConsentText,
            consent: ConsentMode = .basis
        ) {
            self.device = device
            self.baud = baud
            self.format = format
            self.consentText = consentText
            self.consent = consent
        }
    }

    /// One `[Sink]` section: a destination for leads.
    public struct Sink: Sendable, Hashable {
        /// `Type=`.
        public enum Kind: String, Sendable, CaseIterable, Hashable {
            case webhook, directory, hubspot, bitrix24, amocrm

            /// The largest `BatchSize=` the destination accepts (the CRMs' documented per-call limits).
            public var maxBatchSize: Int {
                switch self {
                case .webhook, .directory: 1000
                case .hubspot: 100
                case .bitrix24, .amocrm: 50
                }
            }

            /// `BatchSize=` when not set: 100, or the destination's limit when that is lower.
            public var defaultBatchSize: Int { min(100, maxBatchSize) }
        }

        /// `Name=`: letters, digits, `_` and `-`; unique. Required; identifies the section, so a drop-in
        /// `[Sink]` with the same `Name=` changes this one. Used in `leadctl sync --sink NAME` and the database.
        public var name: String
        /// `Type=`. Required.
        public var type: Kind
        /// `URL=`: `https://…` (plain `http://` only to loopback or with `AllowInsecure=yes`), without
        /// user or password. Required for `webhook`; for the CRMs it overrides the API base.
        public var url: String?
        /// `Directory=`: absolute path batch files are written to. Required for `directory`, forbidden otherwise.
        public var directory: String?
        /// `Credential=`: name of the systemd credential (`$CREDENTIALS_DIRECTORY/NAME`) holding the webhook
        /// secret or CRM token. `webhook` and the CRMs need this or `SecretFile=`.
        public var credential: String?
        /// `SecretFile=`: absolute path of a root-only file holding the secret, for use outside systemd
        /// (e.g. `leadctl sync`) when no credential of that name is available.
        public var secretFile: String?
        /// `CAFile=`: absolute path of extra trusted CA certificates (PEM). Default: the system store.
        public var caFile: String?
        /// `AllowInsecure=`: permit plain `http://` to a non-loopback host. Default: no.
        public var allowInsecure: Bool
        /// `BatchSize=`: leads per request or file, 1…``Kind/maxBatchSize``. Default: ``Kind/defaultBatchSize``.
        public var batchSize: Int
        /// `TimeoutSec=`: seconds one request may take. Default: 30.
        public var timeoutSec: Int
        /// Per-CRM keys exactly as written: `Map.<field>` (form field → CRM property), `Pipeline`, `Status`,
        /// `ResponsibleUser`, `Source`, `Property.<name>`, `CustomField.<id>`, `RatePerSec`. Default: empty.
        public var options: [String: String]

        /// Creates the section with the documented defaults.
        public init(
            name: String,
            type: Kind,
            url: String? = nil,
            directory: String? = nil,
            credential: String? = nil,
            secretFile: String? = nil,
            caFile: String? = nil,
            allowInsecure: Bool = false,
            batchSize: Int? = nil,
            timeoutSec: Int = 30,
            options: [String: String] = [:]
        ) {
            self.name = name
            self.type = type
            self.url = url
            self.directory = directory
            self.credential = credential
            self.secretFile = secretFile
            self.caFile = caFile
            self.allowInsecure = allowInsecure
            self.batchSize = batchSize ?? type.defaultBatchSize
            self.timeoutSec = timeoutSec
            self.options = options
        }

        /// The `Map.<field>=<property>` options as form field name → CRM property.
        public var fieldMap: [String: String] {
            var map: [String: String] = [:]
            for (key, value) in options where key.hasPrefix("Map.") { map[String(key.dropFirst(4))] = value }
            return map
        }

        /// What a `Map.<name>=` may name besides the form's fields: the lead's own values.
        public static let leadValueNames: Set<String> = [
            "lead_id", "rating", "notes", "event", "kiosk", "captured_at", "badge_id", "channel",
        ]

        /// `RatePerSec=` as a number, if set.
        public var ratePerSec: Double? { options["RatePerSec"].flatMap(Double.init) }
    }

    /// `[Sync]`.
    public struct Sync: Sendable, Hashable {
        /// `RetryInitialSec=`: the first retry delay (full-jitter exponential backoff). Default: 5.
        public var retryInitialSec: Int
        /// `RetryMaxSec=`: the cap of the retry delay, at least `retryInitialSec`. Default: 3600.
        public var retryMaxSec: Int

        /// Creates the section with the documented defaults.
        public init(retryInitialSec: Int = 5, retryMaxSec: Int = 3600) {
            self.retryInitialSec = retryInitialSec
            self.retryMaxSec = retryMaxSec
        }
    }

    /// `[Retention]`.
    public struct Retention: Sendable, Hashable {
        /// `PurgeSyncedAfterDays=`: delete leads every sink has synced this many days after capture.
        /// Default: nil (keep them until `leadctl purge`).
        public var purgeSyncedAfterDays: Int?
        /// `DeadAfterDays=`: give up on a delivery still failing this many days after capture. Default: 30.
        public var deadAfterDays: Int

        /// Creates the section with the documented defaults.
        public init(purgeSyncedAfterDays: Int? = nil, deadAfterDays: Int = 30) {
            self.purgeSyncedAfterDays = purgeSyncedAfterDays
            self.deadAfterDays = deadAfterDays
        }
    }

    /// `[Staff]`: at most one of the two is set. With neither, the staff key cannot unlock a kiosk-mode form.
    public struct Staff: Sendable, Hashable {
        /// `PIN=`: 4 to 12 digits. Default: nil.
        public var pin: String?
        /// `PINCredential=`: name of the systemd credential holding the PIN. Default: nil.
        public var pinCredential: String?

        /// Creates the section with the documented defaults.
        public init(pin: String? = nil, pinCredential: String? = nil) {
            self.pin = pin
            self.pinCredential = pinCredential
        }
    }
}

extension LeaddConfig {
    /// A fully commented configuration that parses as it is: the `/etc/leadd/leadd.conf` shipped in the package.
    /// Every key is shown with its default, commented out, except `Event=`, which is required.
    public static let exampleText: String = #"""
        # /etc/leadd/leadd.conf — configuration of leadd, the lead-capture kiosk daemon.
        #
        # Syntax as in systemd units: [Section], Key=value, "#" or ";" starts a comment line, a value ending
        # in "\" continues on the next line. Label[ru]= is the Russian text of Label=. Booleans are yes/no,
        # durations whole seconds. "Key=" (empty) resets a key to its default.
        #
        # Do not edit this file for local changes: put them in /etc/leadd/leadd.conf.d/*.conf. Those files are
        # read in name order after this one and override it key by key; a [Sink] or [Field] with the Name= of
        # an existing one (a [Serial] with its Device=) changes that one, any other is added.
        #
        # Check the result with: leadctl config check
        #
        # Secrets (webhook secrets, CRM tokens, the staff PIN) never go in here. Give them to the service as
        # systemd credentials (LoadCredential= in a drop-in for leadd.service) and name them with Credential=
        # and PINCredential=.

        [Kiosk]
        # The event every lead belongs to. Required: change it before the show.
        Event=my-event
        # This box's name in leads and exports. Default: the hostname.
        #ID=booth-a1
        # Where the database lives when systemd gives no StateDirectory=.
        #DataDirectory=/var/lib/leadd
        # The form's first language: en or ru (visitors switch with F2).
        #Language=en
        # ISO 3166 country code for local phone numbers (e.g. RU: 8 916 123-45-67 becomes +79161234567).
        # Without it visitors must type numbers in international form.
        #Country=RU

        [Terminal]
        # Where the form is shown: a device such as /dev/tty1 or /dev/ttyUSB1 (a serial terminal),
        # "-" for leadd's own terminal, or "none" for no form (a scanner-only or relay box).
        #TTY=-
        # Kiosk mode: Ctrl-C, Ctrl-Z and Ctrl-\ do nothing; only F12 and the staff PIN leave the form.
        #Kiosk=yes
        # Seconds without input before a half-filled form is wiped.
        #IdleResetSec=60
        # Seconds the "thank you" screen stays up.
        #ConfirmationSec=5
        # Line speed when TTY= is a serial terminal.
        #Baud=9600

        # One [Serial] section per badge scanner.
        #[Serial]
        #Device=/dev/ttyACM0
        #Baud=9600
        # auto, vcard, mecard, json, kv or badge (a badge id looked up in the imported attendee list).
        #Format=auto
        # The consent basis recorded with scanned leads.
        #ConsentText=Badge scanned at the booth
        #ConsentText[ru]=Бейдж отсканирован на стенде
        # basis: store each scan at once with ConsentText= as the recorded basis. form: a scan only fills the
        # on-screen form; the lead is stored when the visitor ticks the form's consent box and submits
        # (needs a form, TTY= not none, with ConsentRequired=yes).
        #Consent=basis

        [Form]
        # Defaults: the built-in English and Russian texts.
        #Title=Leave your contacts
        #Title[ru]=Оставьте контакты
        #ConsentText=I agree that my contact details are stored and passed to the exhibitor to contact me \
        #    about this event.
        #ConsentRequired=yes

        # Without [Field] sections the form has first_name*, last_name, email*, phone, company, job_title
        # and interest (* required). With any [Field] section the form has exactly those, in this order.
        # Name= is the field's key in CSV columns, the sync payload and "leadctl add NAME=...".
        #[Field]
        #Name=email
        #Label=Email
        #Label[ru]=Эл. почта
        # text, email, phone, choice or multiline.
        #Type=email
        #Required=yes
        # Characters allowed. Default: 254 for email, 32 for phone, 2000 for multiline, else 200.
        #MaxLength=254
        #
        #[Field]
        #Name=interest
        #Label=Interested in
        #Label[ru]=Интересует
        #Type=choice
        # value:Label items separated by commas; Choices[ru]= gives the labels in the same order.
        #Choices=product:Product demo, pricing:Pricing, other:Other
        #Choices[ru]=Демо продукта, Цены, Другое

        # One [Sink] section per destination. Without any, leads stay on this box (export them with leadctl).
        #[Sink]
        #Name=office
        # webhook, directory, hubspot, bitrix24 or amocrm.
        #Type=webhook
        # https:// only; plain http:// only to this host or with AllowInsecure=yes.
        #URL=https://leads.example.com/leadd
        # The systemd credential holding the whsec_... signing secret or the CRM token.
        #Credential=leadd-office
        # Or a root-only file holding it, for running outside systemd.
        #SecretFile=/etc/leadd/office.secret
        # Extra trusted CA certificates (PEM). Default: the system's.
        #CAFile=/etc/leadd/office-ca.pem
        #AllowInsecure=no
        # Leads per request, at most 1000 (HubSpot 100, Bitrix24 and amoCRM 50).
        #BatchSize=100
        #TimeoutSec=30
        #
        # Signed batch files for a USB stick or a share:
        #[Sink]
        #Name=usb
        #Type=directory
        #Directory=/media/usb/leads
        #
        # A CRM straight from the kiosk. Form fields map to CRM fields with Map.<field>=<CRM field> over the
        # defaults (Map.<field>=- drops one); besides form fields, lead_id, rating, notes, event, kiosk,
        # captured_at, badge_id and channel can be mapped. URL= replaces the CRM's API address (a proxy).
        # RatePerSec= caps requests per second (defaults: HubSpot 9, Bitrix24 2, amoCRM 7).
        #
        # HubSpot: a private app's access token (scopes crm.objects.contacts.read and .write) as the credential.
        #[Sink]
        #Name=hubspot
        #Type=hubspot
        #Credential=leadd-hubspot
        # Contact properties; create custom ones (leadd_lead_id, lead_rating…) in HubSpot first.
        #Map.email=email
        #Map.lead_id=leadd_lead_id
        #Map.rating=lead_rating
        # hs_lead_status and hubspot_owner_id of new contacts; any property with Property.<name>=.
        #Status=NEW
        #ResponsibleUser=12345678
        #Property.lead_source_event=Expo 2026
        # The account's UTC offset: the daily API limit resets at its midnight. Default: this kiosk's.
        #TimeZoneOffset=+01:00
        # Leads without an email are created, and looked up before a resend so a timeout never makes a second
        # contact. With UpsertBy=lead_id they are upserted by the Map.lead_id property instead (no lookup, no
        # search-index lag); create that property with "unique values" on. Leads with an email: always by email.
        #UpsertBy=lead_id
        #
        # Bitrix24: the whole inbound webhook URL (https://PORTAL/rest/USER/CODE/, scope crm) as the credential.
        #[Sink]
        #Name=bitrix
        #Type=bitrix24
        #Credential=leadd-bitrix24
        #Map.job_title=POST
        # SOURCE_ID, STATUS_ID and ASSIGNED_BY_ID of new leads (defaults TRADE_SHOW, NEW, the webhook's user).
        #Source=TRADE_SHOW
        #Status=NEW
        #ResponsibleUser=1
        #Property.UF_CRM_BOOTH=A1
        #
        # amoCRM / Kommo: the account address and a long-lived token of a private integration.
        #[Sink]
        #Name=amo
        #Type=amocrm
        #URL=https://example.amocrm.ru
        #Credential=leadd-amocrm
        # The lead custom field (its numeric id) that keeps our lead id: resends look it up.
        #Map.lead_id=1234567
        #Map.company=company
        #Pipeline=1234567
        #Status=7654321
        #ResponsibleUser=1122334
        # Lead name prefix and tag. Default: the event.
        #Source=Expo 2026 booth
        # Lead custom fields: by field code, or by numeric id.
        #Property.UTM_SOURCE=expo
        #CustomField.123456=booth-a1
        #RatePerSec=5

        [Sync]
        # Retry delays grow from RetryInitialSec to RetryMaxSec (exponential, with jitter).
        #RetryInitialSec=5
        #RetryMaxSec=3600

        [Retention]
        # Delete leads every sink has synced this many days after capture. Default: keep them.
        #PurgeSyncedAfterDays=90
        # Give up delivering a lead still failing this many days after capture.
        #DeadAfterDays=30

        [Staff]
        # The PIN typed after F12 to leave kiosk mode: 4 to 12 digits, or better a systemd credential.
        #PIN=2468
        #PINCredential=leadd-staff-pin
        """#
}
