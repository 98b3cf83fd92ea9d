public import LeadCore
import LeadStore
public import Logging
public import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One badge scanner (`[Serial]` section) as a swift-service-lifecycle `Service`.
///
/// `run()` starts a dedicated thread (the serial line's I/O stays off Swift's cooperative pool) that opens its
/// own ``LeadStore`` and the device — raw, 8N1 at `Baud=`, following symlinks such as
/// `/dev/serial/by-id/…` — and waits in `poll()` for bytes or a shutdown. What it reads is cut into records by
/// ``ScannerFramer``, decoded by ``CardDecoder`` in the section's `Format=`, cleaned by
/// ``LeadValidator/validateScanned(_:)`` and committed as a lead with channel `scanner`, the configured device
/// path and, as consent, the section's `ConsentText=` in the kiosk language. With `Consent=form` the cleaned
/// card is handed to the form instead (``ScanHandoff``): the lead is stored only when the visitor ticks the
/// form's consent box and submits.
///
/// - A bare badge id becomes the attendee's lead when the imported attendee list knows it; otherwise an
///   unresolved lead (the badge id, no fields) that `leadctl attendees import` completes later.
/// - The same payload again within 2 s is one scan (a double read). A visitor scanned again later is stored
///   and flagged as a duplicate by the store.
/// - A bare badge id read within 0.5 s of dropped data, or (with `Format=auto`) one shorter than 4 characters
///   that the attendee list does not know, is dropped too: random bytes are full of short letter-and-digit
///   runs between their line breaks, and none of them may become a lead.
/// - A one-line record without its line end (a scanner set up without a suffix) is complete after 0.3 s of
///   silence; a vCard still needs its `END:VCARD` (2 s of silence inside one drops it as cut off).
/// - Garbage, invalid UTF-8, over-long records, cut-off vCards and cards with nobody in them are dropped,
///   logged with a reason (a few per second; the rest summed up) and counted per reason and day in the
///   database, where `leadctl status` reads them together with whether the device is connected.
/// - A read error, end of file or hang-up (unplugged) is logged once; the device is closed and reopened with
///   backoff (0.5 s doubling to 30 s). `run()` never ends for that, only for a graceful shutdown or
///   cancellation.
///
/// ```swift
/// for serial in config.serials {
///     services.append(.init(service: ScannerService(serial: serial, config: config, databasePath: path,
///                                                   logger: logger),
///                           successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
/// }
/// ```
public struct ScannerService: Service {
    /// Something that happened to the scanner, for the daemon and for tests. Reported from the scanner thread.
    public enum Event: Sendable, Hashable {
        /// The device is open (at start or after an outage).
        case connected
        /// The device went away or cannot be opened; the service retries with backoff. Reported once per
        /// outage, not for every retry.
        case disconnected(reason: String)
        /// A scan was committed (only now may a scanner beep). `unresolved`: a badge id the attendee list does
        /// not know yet.
        case leadCaptured(id: String, duplicateOf: String?, unresolved: Bool)
        /// A record was dropped, and why (a short fixed text, also the key of the status counters).
        case dropped(reason: String)
        /// `Consent=form`: a scan went to the form, where the visitor decides; nothing is stored yet.
        case handedToForm
    }

    /// Everything the scanner thread needs, all `Sendable`.
    struct Settings: Sendable {
        var serial: LeaddConfig.Serial
        var config: LeaddConfig
        var databasePath: String
        var onEvent: @Sendable (Event) -> Void
        /// Where `Consent=form` scans go (nil: no form runs).
        var handoff: ScanHandoff?
        /// Wall-clock time of a capture (tests move it to another day).
        var now: @Sendable () -> Timestamp = { .now() }
        /// Monotonic milliseconds for the double-read window (tests move it on instead of sleeping).
        var readClock: @Sendable () -> Int64 = { monotonicMilliseconds() }
        /// Silence after which a vCard without its `END:VCARD` is reported as cut off.
        var silenceMilliseconds: Int64 = 2000
        /// Silence after which a one-line record without its line end is taken as complete.
        var lineSilenceMilliseconds: Int64 = 300
        /// How often dropped-record counts are written to the database at most.
        var flushMilliseconds: Int64 = 1000
        var initialBackoffMilliseconds: Int64 = 500
        var maximumBackoffMilliseconds: Int64 = 30_000
    }

    private var settings: Settings
    private let logger: Logger

    /// Creates the service; nothing is opened until `run()`.
    ///
    /// - Parameters:
    ///   - serial: The `[Serial]` section: `Device=`, `Baud=`, `Format=`, `ConsentText=`.
    ///   - config: The rest of the configuration: `kiosk` (event, id, language, country) and `form` (the
    ///     fields a scan may fill and how they are checked).
    ///   - databasePath: The lead database; the scanner thread opens its own connection.
    ///   - logger: Where the scanner logs (`scanner.device`, `lead.id`, `drop.reason` metadata).
    ///   - handoff: Where scans go with `Consent=form` (the form's ``ScanHandoff``); without one such scans
    ///     are dropped and counted ("no form for consent").
    ///   - onEvent: Called from the scanner thread for every ``Event`` (the daemon nudges the sync worker on
    ///     ``Event/leadCaptured(id:duplicateOf:unresolved:)``).
    public init(
        serial: LeaddConfig.Serial,
        config: LeaddConfig,
        databasePath: String,
        logger: Logger,
        handoff: ScanHandoff? = nil,
        onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) {
        var logger = logger
        logger[metadataKey: "scanner.device"] = "\(serial.device)"
        self.logger = logger
        self.settings = Settings(
            serial: serial,
            config: config,
            databasePath: databasePath,
            onEvent: onEvent,
            handoff: handoff
        )
    }

    /// Tests only: the same service with other clocks and timings.
    func adjusting(_ change: (inout Settings) -> Void) -> ScannerService {
        var copy = self
        change(&copy.settings)
        return copy
    }

    /// Reads the scanner until a graceful shutdown or cancellation. A missing or unplugged device is retried,
    /// never an error.
    ///
    /// - Throws: ``FormServiceError`` with code `system` when the thread or its wake-up pipe cannot be had.
    public func run() async throws {
        let wake = try WakePipe()
        defer { wake.close() }
        let settings = self.settings
        let logger = self.logger
        let started: FormServiceError? = await withTaskCancellationOrGracefulShutdownHandler {
            await withCheckedContinuation { continuation in
                do throws(FormServiceError) {
                    try FormThread.start(name: "leadd-scanner") {
                        ScannerSession(settings: settings, logger: logger, wake: wake).run()
                        continuation.resume(returning: nil)
                    }
                } catch {
                    continuation.resume(returning: error)
                }
            }
        } onCancelOrGracefulShutdown: {
            wake.signalShutdown()
        }
        if let started {
            logger.error("Scanner service cannot start", metadata: ["error": "\(started)"])
            throw started
        }
        logger.info("Scanner service stopped")
    }
}
