import LeadCore
import LeadStore
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A scanner's life on its own thread: device, framer, intake, counters and timers around one `poll()`.
///
/// Created and used on the scanner thread only.
final class ScannerSession {
    private let settings: ScannerService.Settings
    private let logger: Logger
    private let wake: WakePipe
    private var store: LeadStore?
    private var device: ScannerDevice?
    private var framer = ScannerFramer(maxRecordBytes: CardDecoder.maximumPayloadBytes)
    private var intake: ScannerIntake
    private var buffer = [UInt8](repeating: 0, count: 16_384)
    private var shutdown = false

    /// When the framer is to be finished for silence: set by input, cleared by the finish.
    private var silenceDeadline: Int64?
    /// When bytes last came (the read clock).
    private var lastReadAt: Int64 = 0
    /// Drop counts not yet written to the database, and when they are due.
    private var pendingDrops: [String: Int] = [:]
    private var flushDeadline: Int64?
    /// Drops logged one by one since the last flush; beyond ``logBudget`` they are only summed up.
    private var dropsLogged = 0
    private var dropsUnlogged: [String: Int] = [:]
    private static let logBudget = 10
    /// The last state written to the database, so that a retry loop writes only changes.
    private var recordedState: (connected: Bool, error: String?)?
    private var storeFailureLogged = false
    /// The scanner's connection checkpoints the WAL itself (never inside a commit): once the line has been quiet
    /// for ``checkpointQuietMilliseconds`` after a capture, so a checkpoint does not delay a waiting scan, and
    /// after every ``capturesPerCheckpoint`` captures of a stream that never pauses — a short WAL is rewritten
    /// from its start, while a growing one makes every commit's fsync also journal the file's new size (scan
    /// p50 0.25 ms instead of 0.42 ms in `make bench`).
    private var capturesSinceCheckpoint = 0
    private var checkpointDeadline: Int64?
    private static let capturesPerCheckpoint = 100
    static let checkpointQuietMilliseconds: Int64 = 1000

    private var devicePath: String { settings.serial.device }

    init(settings: ScannerService.Settings, logger: Logger, wake: WakePipe) {
        self.settings = settings
        self.logger = logger
        self.wake = wake
        self.intake = ScannerIntake(serial: settings.serial, config: settings.config)
    }

    // MARK: - The loop

    /// Runs until a shutdown is asked for through the wake-up pipe.
    func run() {
        var backoff = settings.initialBackoffMilliseconds
        var inOutage = false
        defer { stop() }
        while !shutdown {
            guard store != nil || openStore() else {
                wait(milliseconds: backoff)
                backoff = min(backoff * 2, settings.maximumBackoffMilliseconds)
                continue
            }
            guard let device else {
                do throws(ScannerDevice.OpenError) {
                    let opened = try ScannerDevice(path: devicePath, baud: settings.serial.baud)
                    self.device = opened
                    backoff = settings.initialBackoffMilliseconds
                    if inOutage {
                        logger.notice("Scanner reconnected")
                    } else {
                        logger.info("Scanner opened", metadata: ["scanner.baud": "\(settings.serial.baud)"])
                    }
                    inOutage = false
                    recordState(connected: true, error: nil)
                    settings.onEvent(.connected)
                } catch {
                    if !inOutage {
                        logger.error(
                            "Cannot open the scanner; retrying with backoff",
                            metadata: ["error": "\(error)"]
                        )
                        settings.onEvent(.disconnected(reason: error.description))
                        inOutage = true
                    }
                    recordState(connected: false, error: error.description)
                    wait(milliseconds: backoff)
                    backoff = min(backoff * 2, settings.maximumBackoffMilliseconds)
                }
                continue
            }
            if let reason = step(device) {
                // Unplugged (or the far end of a pty closed): what was half-read is reported as cut off.
                handle(framer.finish())
                silenceDeadline = nil
                device.close()
                self.device = nil
                logger.warning("Scanner disconnected; reopening with backoff", metadata: ["reason": "\(reason)"])
                recordState(connected: false, error: reason)
                settings.onEvent(.disconnected(reason: reason))
                inOutage = true
                wait(milliseconds: backoff)
                backoff = min(backoff * 2, settings.maximumBackoffMilliseconds)
            }
        }
    }

    /// One wait for bytes, a timer or a shutdown, and what follows. Returns why the device is gone, if it is.
    private func step(_ device: ScannerDevice) -> String? {
        let now = monotonicMilliseconds()
        let timeout = [silenceDeadline, flushDeadline, checkpointDeadline].compactMap { $0 }.min().map {
            Int32(clamping: max(0, $0 - now))
        }
        var fds = [
            pollfd(fd: device.fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0),
        ]
        let ready = poll(&fds, 2, timeout ?? -1)
        if ready < 0 {
            if errno == EINTR { return nil }
            return "poll: \(String(cString: strerror(errno)))"
        }
        if fds[1].revents != 0, wake.drain().shutdown {
            shutdown = true
            return nil
        }
        var gone: String?
        let events = fds[0].revents
        // Read what is there first: the last bytes before a hang-up still count.
        if events & Int16(POLLIN | POLLHUP | POLLERR) != 0 { gone = readAvailable(device) }
        if events & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { gone = "hung up" }
        runTimers()
        return gone
    }

    /// Reads until nothing is waiting (at most 256 KiB, so that a flood still lets a shutdown through).
    private func readAvailable(_ device: ScannerDevice) -> String? {
        var total = 0
        while total < 262_144 {
            switch device.read(into: &buffer) {
            case .bytes(let n):
                total += n
                lastReadAt = settings.readClock()
                handle(framer.push(buffer[0..<n]))
                let now = monotonicMilliseconds()
                // A vCard's lines may trickle in; a one-line record is sent in one go, so a short silence
                // after it ends it (scanners set up without a line-end suffix).
                let silence = framer.isInsideVCard ? settings.silenceMilliseconds : settings.lineSilenceMilliseconds
                silenceDeadline = now + silence
                if checkpointDeadline != nil { checkpointDeadline = now + Self.checkpointQuietMilliseconds }
            case .wouldBlock:
                return nil
            case .ended(let reason):
                return reason
            }
        }
        return nil
    }

    private func runTimers() {
        let now = monotonicMilliseconds()
        if let due = silenceDeadline, now >= due {
            silenceDeadline = nil
            // Judged as of its last byte: a tail of garbage does not escape the garbage rules by waiting.
            handle(framer.finish(acceptingUnterminatedLine: true), readAt: lastReadAt)
        }
        if let due = flushDeadline, now >= due { flushDrops() }
        if let due = checkpointDeadline, now >= due { checkpoint() }
    }

    private func checkpoint() {
        checkpointDeadline = nil
        capturesSinceCheckpoint = 0
        do { try store?.checkpoint() } catch {
            logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
        }
    }

    /// Waits `milliseconds` (a backoff) for a shutdown; pending counts are written first.
    private func wait(milliseconds: Int64) {
        flushDrops()
        let until = monotonicMilliseconds() + milliseconds
        while !shutdown {
            let now = monotonicMilliseconds()
            if now >= until { return }
            var fds = [pollfd(fd: wake.readFD, events: Int16(POLLIN), revents: 0)]
            _ = poll(&fds, 1, Int32(clamping: until - now))
            if fds[0].revents != 0, wake.drain().shutdown { shutdown = true }
        }
    }

    private func stop() {
        if device != nil { handle(framer.finish()) }
        device?.close()
        device = nil
        flushDrops()
        if checkpointDeadline != nil { checkpoint() }
        recordState(connected: false, error: "leadd stopped")
        store = nil
    }

    // MARK: - Records

    /// - Parameter readAt: When the records' bytes were read (monotonic ms); nil: now.
    private func handle(_ frames: [ScannerFrame], readAt: Int64? = nil) {
        for frame in frames {
            switch frame {
            case .dropped(let reason, let bytes):
                drop(reason, detail: "\(bytes) bytes")
            case .record(let bytes):
                take(bytes, readAt: readAt ?? settings.readClock())
            }
        }
    }

    private func take(_ record: [UInt8], readAt: Int64) {
        guard let store else {
            drop(ScannerIntake.Reason.notStored, detail: "the database is not open")
            return
        }
        switch intake.take(record, store: store, readAt: readAt, now: settings.now()) {
        case .captured(let lead, let unresolved, let droppedFields):
            // Committed: report first (a scanner may beep now), then log.
            settings.onEvent(.leadCaptured(id: lead.id, duplicateOf: lead.duplicateOf, unresolved: unresolved))
            var metadata: Logger.Metadata = ["lead.id": "\(lead.id)", "lead.channel": "scanner"]
            if let original = lead.duplicateOf { metadata["lead.duplicate_of"] = "\(original)" }
            if unresolved { metadata["lead.unresolved_badge"] = "yes" }
            if !droppedFields.isEmpty {
                // Field names and what was wrong, never the values.
                metadata["lead.dropped_fields"] = "\(droppedFields.map { "\($0.field): \($0.kind)" })"
            }
            logger.info("Lead captured", metadata: metadata)
            capturesSinceCheckpoint += 1
            if capturesSinceCheckpoint >= Self.capturesPerCheckpoint {
                checkpoint()
            } else {
                checkpointDeadline = monotonicMilliseconds() + Self.checkpointQuietMilliseconds
            }
        case .forConsent(let scan, let droppedFields):
            guard let handoff = settings.handoff else {
                drop(ScannerIntake.Reason.noForm, detail: "Consent=form but no form to ask for consent")
                return
            }
            let pushedOut = handoff.post(scan)
            settings.onEvent(.handedToForm)
            var metadata: Logger.Metadata = ["card.fields": "\(scan.fields.count)"]
            if !droppedFields.isEmpty {
                metadata["lead.dropped_fields"] = "\(droppedFields.map { "\($0.field): \($0.kind)" })"
            }
            if pushedOut > 0 { metadata["scans.pushed_out"] = "\(pushedOut)" }
            logger.info("Scan handed to the form for the visitor's consent", metadata: metadata)
        case .dropped(let reason, let detail):
            drop(reason, detail: detail)
        }
    }

    /// Counts a dropped record, logs it (or sums it up when many come at once) and reports it.
    private func drop(_ reason: String, detail: String) {
        intake.noteDropped(reason: reason, at: settings.readClock())
        pendingDrops[reason, default: 0] += 1
        if flushDeadline == nil { flushDeadline = monotonicMilliseconds() + settings.flushMilliseconds }
        let level: Logger.Level = reason == ScannerIntake.Reason.notStored ? .error : .warning
        if dropsLogged < Self.logBudget {
            dropsLogged += 1
            logger.log(
                level: level,
                "Scanner record dropped",
                metadata: ["drop.reason": "\(reason)", "drop.detail": "\(detail)"]
            )
        } else {
            dropsUnlogged[reason, default: 0] += 1
        }
        settings.onEvent(.dropped(reason: reason))
    }

    /// Writes pending drop counts and sums up the drops that were not logged one by one.
    private func flushDrops() {
        flushDeadline = nil
        if !dropsUnlogged.isEmpty {
            let total = dropsUnlogged.values.reduce(0, +)
            let reasons = dropsUnlogged.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            logger.warning(
                "More scanner records dropped",
                metadata: ["drop.count": "\(total)", "drop.reasons": "\(reasons)"]
            )
            dropsUnlogged = [:]
        }
        dropsLogged = 0
        guard !pendingDrops.isEmpty, let store else { return }
        do {
            try store.addScannerDrops(device: devicePath, pendingDrops, at: settings.now())
            pendingDrops = [:]
        } catch {
            // Kept for the next flush: the reasons are few, so this cannot grow without bound.
            logger.warning("Scanner drop counts not saved", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Store

    private func openStore() -> Bool {
        do {
            let opened = try LeadStore(path: settings.databasePath)
            // A scan's commit (and so its beep) never waits for a checkpoint: see capturesPerCheckpoint.
            try opened.deferCheckpoints()
            store = opened
            storeFailureLogged = false
            return true
        } catch {
            if !storeFailureLogged {
                logger.error("Scanner cannot open the lead database; retrying", metadata: ["error": "\(error)"])
                storeFailureLogged = true
            }
            return false
        }
    }

    /// Writes the connection state for `leadctl status` when it changed.
    private func recordState(connected: Bool, error: String?) {
        if let recorded = recordedState, recorded.connected == connected, recorded.error == error { return }
        guard let store else { return }
        do {
            try store.setScannerState(
                device: devicePath,
                connected: connected,
                error: error,
                pid: getpid(),
                at: settings.now()
            )
            recordedState = (connected, error)
        } catch {
            logger.warning("Scanner state not saved", metadata: ["error": "\(error)"])
        }
    }
}
