import LeadCore
import LeadStore
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Milliseconds on the monotonic clock: the form's timers do not jump with the wall clock.
func monotonicMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// The form's life on its own thread: terminal, state machine, store and timers, around one `poll()`.
///
/// Created and used on the form thread only.
final class FormSession {
    /// Why the session ended.
    enum Exit {
        /// A graceful shutdown (or cancellation) asked it to stop.
        case shutdown
        /// The visitor (outside kiosk mode) quit: Ctrl-C or Q on the staff screen.
        case quit
        /// Its own terminal's input ended (`TTY=-` and EOF on standard input).
        case inputEnded
    }

    private let settings: FormService.Settings
    private let logger: Logger
    private let wake: WakePipe
    private let store: LeadStore
    private let validator: LeadValidator
    private let channel: Channel
    private let device: String?
    private var state: FormState
    private var decoder = InputDecoder()
    private var terminal: Terminal?
    private var readyReported = false
    private var nextBeat: Int64?
    private var needsDraw = false
    /// What a card read into the form adds to the lead the visitor submits.
    private struct PendingCard {
        var notes: String
        var badgeID: String?
        /// The scanner's device for a `Consent=form` scan (the lead's channel is then `scanner`); nil for a
        /// keyboard-wedge card typed into this terminal.
        var scanner: String?
    }

    private var pendingCard: PendingCard?
    private var exit: Exit?

    private static let initialBackoff: Int64 = 500
    private static let maximumBackoff: Int64 = 30_000

    init(settings: FormService.Settings, logger: Logger, wake: WakePipe) throws(FormServiceError) {
        self.settings = settings
        self.wake = wake
        var logger = logger
        logger[metadataKey: "tty"] = "\(settings.config.terminal.tty)"
        self.logger = logger
        do {
            store = try LeadStore(path: settings.databasePath)
        } catch {
            throw FormServiceError(.store, "\(settings.databasePath): \(error)")
        }
        if let prepare = settings.prepareStore {
            do {
                try prepare(store)
            } catch {
                throw FormServiceError(.store, "\(settings.databasePath): \(error)")
            }
        }
        let config = settings.config
        validator = LeadValidator(form: config.form, country: config.kiosk.country)
        (channel, device) = FormSession.source(of: config.terminal.tty)
        state = FormState(
            form: config.form,
            language: config.kiosk.language,
            kiosk: config.terminal.kiosk,
            staffPIN: settings.staffPIN,
            idleResetMilliseconds: Int64(max(0, config.terminal.idleResetSec)) * 1000,
            confirmationMilliseconds: Int64(max(0, config.terminal.confirmationSec)) * 1000
        )
    }

    /// The channel and device recorded with a lead typed on `tty`: the console keyboard (`-`, `/dev/ttyN`) or a
    /// serial terminal (`/dev/ttyS0`, `/dev/ttyUSB0`, a pty given by path).
    static func source(of tty: String) -> (Channel, String?) {
        if tty == LeaddConfig.Terminal.ownTerminal {
            let name = isatty(STDIN_FILENO) == 1 ? ttyname(STDIN_FILENO).map { String(cString: $0) } : nil
            return (.keyboard, name)
        }
        return (Terminal.isConsole(tty) ? .keyboard : .serialTerminal, tty)
    }

    // MARK: - The loop

    /// Runs until a shutdown, a quit or the end of the own terminal's input. Never returns for a hang-up.
    ///
    /// - Throws: ``FormServiceError`` when `TTY=-` cannot be driven at all (a device is retried instead).
    func run() throws(FormServiceError) -> Exit {
        let path = settings.config.terminal.tty
        var backoff = Self.initialBackoff
        var inOutage = false
        if let heartbeat = settings.heartbeat { nextBeat = monotonicMilliseconds() + heartbeat.milliseconds }
        defer {
            state.reset()
            terminal?.close()
            terminal = nil
        }
        while exit == nil {
            guard let terminal else {
                do {
                    let opened = try Terminal(
                        path: path,
                        term: settings.term,
                        baud: settings.config.terminal.baud,
                        wakeFD: wake.writeFD
                    )
                    self.terminal = opened
                    if inOutage {
                        logger.notice("Form terminal reopened", metadata: ["terminal.type": "\(opened.termName)"])
                        settings.onEvent(.reopened)
                    } else {
                        logger.info("Form terminal opened", metadata: ["terminal.type": "\(opened.termName)"])
                    }
                    inOutage = false
                    backoff = Self.initialBackoff
                    showFreshForm()
                    reportReady()
                } catch {
                    if path == LeaddConfig.Terminal.ownTerminal {
                        throw FormServiceError(.terminal, "cannot open the form terminal: \(error)")
                    }
                    if !inOutage {
                        logger.error("Cannot open the form terminal; retrying", metadata: ["error": "\(error)"])
                        inOutage = true
                    }
                    reportReady()
                    waitForWake(milliseconds: backoff)
                    backoff = min(backoff * 2, Self.maximumBackoff)
                }
                continue
            }
            if !step(terminal) {
                // Hang-up: drop the half-typed form, give the device back and reopen it with backoff.
                terminal.close()
                self.terminal = nil
                state.reset()
                pendingCard = nil
                decoder = InputDecoder()
                if path == LeaddConfig.Terminal.ownTerminal {
                    logger.info("Form input ended")
                    exit = .inputEnded
                    break
                }
                logger.warning("Form terminal hung up; reopening")
                settings.onEvent(.hangUp)
                inOutage = true
                waitForWake(milliseconds: backoff)
                backoff = min(backoff * 2, Self.maximumBackoff)
            }
        }
        return exit ?? .shutdown
    }

    /// One wait for input or a timer and what follows. Returns false on a hang-up.
    private func step(_ terminal: Terminal) -> Bool {
        if needsDraw { draw() }
        let now = monotonicMilliseconds()
        let deadlines = [state.deadline, decoder.deadline, nextBeat].compactMap { $0 }
        let timeout = deadlines.min().map { Int32(clamping: max(0, $0 - now)) } ?? -1
        var fds = [
            pollfd(fd: terminal.inputFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0),
        ]
        if let handoff = settings.handoff {
            fds.append(pollfd(fd: handoff.readFD, events: Int16(POLLIN), revents: 0))
        }
        let ready = poll(&fds, nfds_t(fds.count), timeout)
        if ready < 0 {
            if errno == EINTR { return true }
            logger.error("poll failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
            return false
        }
        if fds[1].revents != 0 {
            let woke = wake.drain()
            if woke.shutdown {
                exit = .shutdown
                return true
            }
            if woke.resize, terminal.refreshSize() { needsDraw = true }
        }
        if fds.count > 2, fds[2].revents != 0 { takeHandedScan() }
        var hungUp = false
        let events = fds[0].revents
        if events & Int16(POLLIN) != 0 {
            let (inputs, ended) = terminal.drain()
            if !inputs.isEmpty { handle(decoder.feed(inputs, now: monotonicMilliseconds())) }
            if ended { hungUp = true }
            // A device's size changes without a signal to this process: look after every input.
            if terminal.refreshSize() { needsDraw = true }
        }
        if events & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { hungUp = true }
        if exit != nil { return true }
        runTimers()
        if hungUp { return false }
        if needsDraw { draw() }
        return true
    }

    private func runTimers() {
        let now = monotonicMilliseconds()
        handle(decoder.expire(now: now))
        apply(state.tick(now: now))
        if let beat = nextBeat, now >= beat, let heartbeat = settings.heartbeat {
            heartbeat.beat()
            nextBeat = now + heartbeat.milliseconds
        }
    }

    /// Waits `milliseconds` (a backoff) for a shutdown, still beating the watchdog.
    private func waitForWake(milliseconds: Int64) {
        let until = monotonicMilliseconds() + milliseconds
        while exit == nil {
            let now = monotonicMilliseconds()
            if now >= until { return }
            var due = until
            if let beat = nextBeat { due = min(due, beat) }
            var fds = [pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 1, Int32(clamping: max(0, due - now)))
            if fds[0].revents != 0, wake.drain().shutdown { exit = .shutdown }
            if let beat = nextBeat, monotonicMilliseconds() >= beat, let heartbeat = settings.heartbeat {
                heartbeat.beat()
                nextBeat = monotonicMilliseconds() + heartbeat.milliseconds
            }
        }
    }

    // MARK: - Input and effects

    private func handle(_ inputs: [DecodedInput]) {
        for input in inputs where exit == nil {
            needsDraw = true
            switch input {
            case .key(let key):
                apply(state.handle(key, now: monotonicMilliseconds()))
            case .card(let text):
                fillFromCard(text)
            case .cardTooLong:
                logger.warning("Keyboard-wedge scan dropped", metadata: ["reason": "too long"])
                state.showScanNotRead()
            }
        }
    }

    private func apply(_ effects: [FormEffect]) {
        for effect in effects {
            needsDraw = true
            switch effect {
            case .started:
                record(.start)
            case .submit(let raw, let consentGiven):
                submit(raw, consentGiven: consentGiven)
            case .languageChanged:
                break
            case .leaveKiosk:
                logger.notice("Staff screen opened")
                state.showStaffSummary(staffSummary())
            case .staffExitRequested:
                logger.info("Staff screen closed")
            case .freshForm:
                pendingCard = nil
                terminal?.clearOnNextDraw()
                record(.view)
            case .idleReset:
                pendingCard = nil
                logger.info("Idle form wiped")
                record(.idleReset)
                settings.onEvent(.idleReset)
            case .quit:
                logger.notice("Form quit by the operator")
                exit = .quit
            }
        }
    }

    private func fillFromCard(_ text: String) {
        switch CardDecoder.decode(text, format: .auto) {
        case .success(let card):
            logger.info("Keyboard-wedge scan read", metadata: ["card.fields": "\(card.fields.count)"])
            pendingCard = PendingCard(notes: card.notes ?? "", badgeID: card.badgeID)
            apply(state.fill(card.fields, now: monotonicMilliseconds()))
        case .failure(let error):
            logger.warning("Keyboard-wedge scan dropped", metadata: ["reason": "\(error.reason)"])
            state.showScanNotRead()
        }
    }

    /// A `Consent=form` scan: a fresh form filled with its data, for this visitor to check, consent and submit.
    /// Whatever was on the screen before is wiped (it belonged to someone else or to an earlier scan).
    private func takeHandedScan() {
        guard let handoff = settings.handoff else { return }
        let now = monotonicMilliseconds()
        let (scan, discarded) = handoff.take(now: now)
        if discarded > 0 {
            logger.info("Scans not shown: replaced by a newer scan or too old", metadata: ["scans": "\(discarded)"])
        }
        guard let scan else { return }
        guard state.acceptsScan else {
            logger.notice("Scan not shown: the staff screen is open")
            return
        }
        needsDraw = true
        state.reset()
        terminal?.clearOnNextDraw()
        pendingCard = PendingCard(notes: scan.notes, badgeID: scan.badgeID, scanner: scan.device)
        apply(state.fill(scan.fields, now: now))
        state.showScanForConsent()
        logger.info("Scan shown for consent", metadata: ["card.fields": "\(scan.fields.count)"])
    }

    private func submit(_ raw: [String: String], consentGiven: Bool) {
        let config = settings.config
        switch validator.validate(raw, consentGiven: consentGiven) {
        case .failure(let errors):
            logger.debug("Form not valid", metadata: ["fields": "\(errors.errors.map(\.field))"])
            state.applyValidation(errors)
        case .success(let fields):
            let language = state.language
            let consent =
                consentGiven
                ? Consent(text: config.form.consentText.text(for: language), language: language.rawValue) : nil
            let scanner = pendingCard?.scanner
            let lead = Lead(
                event: config.kiosk.event,
                kiosk: config.kiosk.id,
                channel: scanner == nil ? channel : .scanner,
                device: scanner ?? device,
                fields: fields,
                consent: consent,
                notes: pendingCard?.notes ?? "",
                badgeID: pendingCard?.badgeID
            )
            do {
                let stored = try store.capture(lead, form: config.form)
                var metadata: Logger.Metadata = ["lead.id": "\(stored.id)", "lead.channel": "\(lead.channel.rawValue)"]
                if let original = stored.duplicateOf { metadata["lead.duplicate_of"] = "\(original)" }
                logger.info("Lead captured", metadata: metadata)
                record(.submit, leadID: stored.id)
                pendingCard = nil
                // Only now, with the lead committed, does the visitor see the thank-you.
                state.showConfirmation(
                    name: FormSession.visitorName(fields, form: config.form),
                    now: monotonicMilliseconds()
                )
                terminal?.clearOnNextDraw()
                settings.onEvent(.leadCaptured(id: stored.id))
            } catch {
                var metadata: Logger.Metadata = ["lead.channel": "\(lead.channel.rawValue)", "error": "\(error)"]
                if let storeError = error as? StoreError { metadata["error.code"] = "\(storeError.code)" }
                logger.error("Lead not stored", metadata: metadata)
                state.showStoreError()
                settings.onEvent(.storeFailed)
            }
        }
    }

    /// The name to thank: `first_name`, else `name`, else the first text field that has a value.
    static func visitorName(_ fields: [String: String], form: FormSpec) -> String {
        let name =
            fields["first_name"] ?? fields["name"]
            ?? form.fields.first { $0.type == .text && fields[$0.name] != nil }.flatMap { fields[$0.name] } ?? ""
        return String(name.prefix(60))
    }

    private func staffSummary() -> FormState.StaffSummary? {
        do {
            let status = try store.status()
            return FormState.StaffSummary(leadsToday: status.leadsToday, pendingSync: status.unsynced)
        } catch {
            logger.warning("Staff counts unavailable", metadata: ["error": "\(error)"])
            return nil
        }
    }

    private func record(_ kind: FormEventKind, leadID: String? = nil) {
        do {
            try store.recordFormEvent(kind, kiosk: settings.config.kiosk.id, channel: channel, leadID: leadID)
        } catch {
            logger.warning("Form event not recorded", metadata: ["event": "\(kind.rawValue)", "error": "\(error)"])
        }
    }

    // MARK: - Screen

    private func showFreshForm() {
        state.reset()
        pendingCard = nil
        decoder = InputDecoder()
        terminal?.clearOnNextDraw()
        draw()
        record(.view)
    }

    private func draw() {
        needsDraw = false
        guard let terminal else { return }
        terminal.draw(FormLayout.screen(for: state, size: terminal.size))
    }

    private func reportReady() {
        guard !readyReported else { return }
        readyReported = true
        settings.onReady()
    }
}
