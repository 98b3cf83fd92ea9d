public import LeadCore
public import LeadStore
public import Logging
public import ServiceLifecycle

/// What the sync engine needs besides the config: read once in `main` (components never read the environment).
public struct SyncEnvironment: Sendable, Hashable {
    /// The lead database.
    public var databasePath: String
    /// `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`), for `Credential=NAME`.
    public var credentialsDirectory: String?
    /// This build's version, for `User-Agent` and the batch `source`.
    public var appVersion: String

    public init(databasePath: String, credentialsDirectory: String?, appVersion: String) {
        self.databasePath = databasePath
        self.credentialsDirectory = credentialsDirectory
        self.appVersion = appVersion
    }
}

/// Builds sinks, engines and the daemon's sync services from the configuration.
public enum SyncSetup {
    /// The sink a `[Sink]` section describes.
    public static func makeSink(
        _ config: LeaddConfig.Sink,
        kiosk: LeaddConfig,
        environment: SyncEnvironment,
        cancel: CancellationFlag
    ) throws(SyncError) -> any Sink {
        let source = BatchSource(
            kioskID: kiosk.kiosk.id,
            eventID: kiosk.kiosk.event,
            appVersion: environment.appVersion
        )
        let fields = kiosk.form.fields.map(\.name)
        let credential = config.credential
        let secretFile = config.secretFile
        let directory = environment.credentialsDirectory
        let secrets: () throws(SyncError) -> [String]? = { () throws(SyncError) in
            try SecretReader.secrets(credential: credential, secretFile: secretFile, credentialsDirectory: directory)
        }
        switch config.type {
        case .webhook:
            guard let url = config.url else { throw SyncError(.configuration, "sink \(config.name): URL= is required") }
            let transport = try CurlTransport(
                settings: TransportSettings(
                    url: url,
                    caFile: config.caFile,
                    allowInsecure: config.allowInsecure,
                    timeoutSeconds: config.timeoutSec,
                    connectTimeoutSeconds: min(10, config.timeoutSec),
                    userAgent: "leadd/\(environment.appVersion) (\(kiosk.kiosk.id))"
                ),
                cancel: cancel
            )
            return WebhookSink(
                name: config.name,
                batchSize: config.batchSize,
                source: source,
                fieldOrder: fields,
                transport: transport,
                secrets: secrets
            )
        case .directory:
            guard let dir = config.directory else {
                throw SyncError(.configuration, "sink \(config.name): Directory= is required")
            }
            let configured = credential != nil || secretFile != nil
            return DirectorySink(
                name: config.name,
                directory: dir,
                batchSize: config.batchSize,
                source: source,
                fieldOrder: fields,
                secrets: configured ? secrets : { () throws(SyncError) in nil }
            )
        case .hubspot, .bitrix24, .amocrm:
            let connector: any CRMConnector
            switch config.type {
            case .hubspot: connector = HubSpotConnector(options: config.options)
            case .bitrix24: connector = Bitrix24Connector(options: config.options)
            default: connector = AmoCRMConnector(options: config.options)
            }
            return CRMSink(
                name: config.name,
                batchSize: config.batchSize,
                connector: connector,
                settings: TransportSettings(
                    url: config.url ?? "https://localhost/",
                    caFile: config.caFile,
                    allowInsecure: config.allowInsecure,
                    timeoutSeconds: config.timeoutSec,
                    connectTimeoutSeconds: min(10, config.timeoutSec),
                    userAgent: "leadd/\(environment.appVersion) (\(kiosk.kiosk.id))"
                ),
                configuredURL: config.url,
                ratePerSecond: config.ratePerSec ?? defaultRate(config.type),
                leaseSeconds: leaseSeconds(config),
                cancel: cancel,
                secrets: secrets
            )
        }
    }

    /// Requests per second a CRM sink sends at most when `RatePerSec=` is not set: the lowest documented limit
    /// (crm-targets.md §7.4: HubSpot 100 per 10 s on the smallest plans, Bitrix24 2/s sustained, Kommo 7/s).
    public static func defaultRate(_ type: LeaddConfig.Sink.Kind) -> Double {
        switch type {
        case .hubspot: 9
        case .bitrix24: 2
        case .amocrm: 7
        case .webhook, .directory: 1000
        }
    }

    /// How long a worker holds a batch: one request's timeout and a minute for the webhook and directory; a
    /// CRM delivery may take several requests (a lookup, a create, a resend without invalid leads, each waiting
    /// for the shaper), so it holds the batch for six.
    static func leaseSeconds(_ sink: LeaddConfig.Sink) -> Int64 {
        switch sink.type {
        case .webhook, .directory: Int64(sink.timeoutSec) + 60
        case .hubspot, .bitrix24, .amocrm: Int64(sink.timeoutSec) * 6 + 120
        }
    }

    /// The engine for one sink, with its own connection to the database (call on the thread that will use it).
    public static func makeEngine(
        _ sink: LeaddConfig.Sink,
        config: LeaddConfig,
        environment: SyncEnvironment,
        logger: Logger,
        cancel: CancellationFlag,
        store: LeadStore? = nil
    ) throws -> SyncEngine {
        let store = try store ?? LeadStore(path: environment.databasePath)
        try store.ensureSinks([sink.name])
        // This connection only forms batches and records answers: a resend after a power cut is harmless.
        try store.relaxDurabilityForSyncBookkeeping()
        let made = try makeSink(sink, kiosk: config, environment: environment, cancel: cancel)
        return SyncEngine(
            sink: made,
            store: store,
            settings: SyncSettings(config: config),
            logger: logger,
            cancel: cancel,
            leaseSeconds: leaseSeconds(sink)
        )
    }

    /// The daemon's sync services: the change monitor, then one worker per `[Sink]`. Add them to the
    /// `ServiceGroup` after the store is open; give `trigger.nudge` to the form.
    public static func services(
        config: LeaddConfig,
        environment: SyncEnvironment,
        trigger: SyncTrigger,
        logger: Logger
    ) -> [any Service] {
        guard !config.sinks.isEmpty else { return [] }
        let db = environment.databasePath
        var files = [db, db + "-wal"]
        files += config.sinks.compactMap(\.secretFile)
        var services: [any Service] = [ChangeMonitor(files: files, trigger: trigger, logger: logger)]
        for sink in config.sinks {
            let sinkLogger = logger
            services.append(
                SyncService(sinkName: sink.name, trigger: trigger, logger: logger) { cancel in
                    try makeEngine(sink, config: config, environment: environment, logger: sinkLogger, cancel: cancel)
                }
            )
        }
        return services
    }
}
