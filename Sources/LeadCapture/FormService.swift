internal import CNcurses
public import LeadCore
import LeadStore
public import Logging
public import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The visitor form on a terminal, as a swift-service-lifecycle `Service`.
///
/// `run()` starts a dedicated thread (ncurses and the terminal's blocking I/O stay off Swift's cooperative
/// pool) that opens its own ``LeadStore``, puts the form on `[Terminal] TTY=` and waits in `poll()` for
/// keys, its timers or a shutdown: zero wake-ups while nothing happens and no timer is due. Every lead is
/// committed before the visitor sees "Thank you".
///
/// - A hang-up (serial cable pulled, pty closed) drops the half-typed form, closes the device and reopens it
///   with backoff (0.5 s doubling to 30 s); the service keeps running.
/// - A graceful shutdown or cancellation wakes the thread, which drops the half-typed form (nothing reaches the
///   database), restores the terminal and ends; `run()` then returns normally.
/// - `run()` also returns normally when the operator quits a form that is not in kiosk mode (Ctrl-C, or Q on
///   the staff screen) and when `TTY=-` reaches the end of its input. To make that stop the whole daemon,
///   add the service with `successTerminationBehavior: .gracefullyShutdownGroup`:
///
/// ```swift
/// let form = FormService(config: config, databasePath: path, logger: logger, term: env["TERM"],
///                        onReady: { notifier.ready() })
/// let group = ServiceGroup(configuration: .init(
///     services: [.init(service: form, successTerminationBehavior: .gracefullyShutdownGroup)],
///     gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
/// ```
///
/// With `TTY=none` there is no form: `run()` reports ready at once and waits for the shutdown.
public struct FormService: Service {
    /// Something that happened to the form, for the daemon's status line and for tests.
    public enum Event: Sendable, Hashable {
        /// A lead was committed; the visitor now sees "Thank you".
        case leadCaptured(id: String)
        /// Storing a lead failed; the visitor sees the call-staff message and the lead stays on screen.
        case storeFailed
        /// A started form was wiped after `IdleResetSec` without input.
        case idleReset
        /// The terminal hung up; the service reopens it with backoff.
        case hangUp
        /// The terminal is back after a hang-up (or a failed open), with a fresh form.
        case reopened
    }

    /// Everything the form thread needs, all `Sendable`.
    struct Settings: Sendable {
        var config: LeaddConfig
        var databasePath: String
        var term: String?
        var staffPIN: String?
        var onReady: @Sendable () -> Void
        var onEvent: @Sendable (Event) -> Void
        var heartbeat: (milliseconds: Int64, beat: @Sendable () -> Void)?
        /// Scans from `Consent=form` scanners, shown for the visitor's consent.
        var handoff: ScanHandoff?
        /// Tests only: runs on the form thread right after the store is opened (a tiny page limit, a lock).
        var prepareStore: (@Sendable (LeadStore) throws -> Void)?
    }

    private var settings: Settings
    private let logger: Logger

    /// Creates the service; nothing is opened until `run()`.
    ///
    /// - Parameters:
    ///   - config: The configuration: `terminal` (TTY, kiosk, timers, baud), `kiosk` (event, id, language,
    ///     country), `form` and `staff.pin`.
    ///   - databasePath: The lead database; the form thread opens its own connection.
    ///   - logger: Where the form logs (`lead.id`, `lead.channel`, `tty` metadata).
    ///   - term: The terminal type, usually the daemon's `$TERM`; nil lets ncurses read `$TERM`. When ncurses
    ///     does not know it, the form falls back to `linux` on a console and `vt100` elsewhere.
    ///   - staffPIN: The PIN that opens the staff screen after F12; overrides `config.staff.pin` (the daemon
    ///     passes the PIN it read from `PINCredential=`). Without any, F12 in kiosk mode says so.
    ///   - onReady: Called once, from the form thread, after the form was first drawn (or the terminal first
    ///     failed to open and is being retried): the moment for `READY=1`.
    ///   - onEvent: Called from the form thread for every ``Event``.
    ///   - heartbeat: A watchdog beat the form thread calls every `interval` from its own loop, so a hung form
    ///     stops beating.
    ///   - handoff: Scans from `[Serial] Consent=form` scanners: each fills a fresh form, and the lead is stored
    ///     only when the visitor ticks consent and submits (channel `scanner`, the scanner's device).
    public init(
        config: LeaddConfig,
        databasePath: String,
        logger: Logger,
        term: String?,
        staffPIN: String? = nil,
        onReady: @escaping @Sendable () -> Void = {},
        onEvent: @escaping @Sendable (Event) -> Void = { _ in },
        heartbeat: (interval: Duration, beat: @Sendable () -> Void)? = nil,
        handoff: ScanHandoff? = nil
    ) {
        self.logger = logger
        self.settings = Settings(
            config: config,
            databasePath: databasePath,
            term: term,
            staffPIN: staffPIN ?? config.staff.pin,
            onReady: onReady,
            onEvent: onEvent,
            heartbeat: heartbeat.map { heartbeat in
                let (seconds, attoseconds) = heartbeat.interval.components
                let milliseconds = max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
                return (milliseconds, heartbeat.beat)
            },
            handoff: handoff
        )
    }

    /// Tests only: the same service, with `body` run on the form's own store connection before the form
    /// appears (connection settings such as `setMaxPageCount` are per connection).
    func preparingStore(_ body: @escaping @Sendable (LeadStore) throws -> Void) -> FormService {
        var copy = self
        copy.settings.prepareStore = body
        return copy
    }

    /// Runs the form until a graceful shutdown, a quit outside kiosk mode, or the end of `TTY=-` input.
    ///
    /// - Throws: ``FormServiceError`` when the database cannot be opened or the thread cannot start.
    public func run() async throws {
        if settings.config.terminal.tty == LeaddConfig.Terminal.noTerminal {
            settings.onReady()
            try? await gracefulShutdown()
            return
        }
        let wake = try WakePipe()
        defer { wake.close() }
        let settings = self.settings
        let logger = self.logger
        let result: Result<FormSession.Exit, FormServiceError> = await withTaskCancellationOrGracefulShutdownHandler {
            await withCheckedContinuation { continuation in
                do throws(FormServiceError) {
                    try FormThread.start(name: "leadd-form") {
                        do throws(FormServiceError) {
                            let session = try FormSession(settings: settings, logger: logger, wake: wake)
                            continuation.resume(returning: .success(try session.run()))
                        } catch {
                            continuation.resume(returning: .failure(error))
                        }
                    }
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        } onCancelOrGracefulShutdown: {
            wake.signalShutdown()
        }
        switch result {
        case .success(.quit): logger.notice("Form service ends: quit by the operator")
        case .success(.inputEnded): logger.notice("Form service ends: terminal input ended")
        case .success(.shutdown): logger.info("Form service stopped")
        case .failure(let error):
            logger.error("Form service failed", metadata: ["error": "\(error)"])
            throw error
        }
    }
}

/// A plain POSIX thread for the form: its blocking `poll()` and ncurses calls must not occupy one of the
/// few threads of Swift's cooperative pool.
enum FormThread {
    private final class Body {
        let name: String
        let run: @Sendable () -> Void
        init(name: String, run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }

    static func start(name: String, _ run: @escaping @Sendable () -> Void) throws(FormServiceError) {
        let body = Unmanaged.passRetained(Body(name: name, run: run)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread,
            nil,
            { argument in
                guard let argument else { return nil }
                let body = Unmanaged<Body>.fromOpaque(argument).takeRetainedValue()
                _ = CNcurses_set_thread_name(body.name)
                body.run()
                return nil
            },
            body
        )
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(body).release()
            throw FormServiceError(.system, "cannot start the form thread: \(String(cString: strerror(rc)))")
        }
        pthread_detach(thread)
    }
}
