import LeadCore
public import Logging
public import ServiceLifecycle

/// The sync worker of one `[Sink]`: a `Service` that sleeps until a lead is committed, the database changes, the
/// network comes back, or a retry comes due, then runs a ``SyncEngine`` pass on a thread of its own. There is no
/// polling loop: with nothing queued it waits without a timer.
///
/// One batch is in flight per sink at a time (the engine holds the batch's lease in the database, so a
/// concurrent `leadctl sync` of the same sink waits its turn).
public struct SyncService: Service {
    public let sinkName: String
    let makeEngine: @Sendable (CancellationFlag) throws -> SyncEngine
    let trigger: SyncTrigger
    let logger: Logger
    /// How long to wait after a database failure before trying again.
    let failureRetrySeconds: Int64
    /// The upper bound of the random delay after a network change (protocol: 0–30 s).
    let networkJitterSeconds: Int64

    /// - Parameters:
    ///   - makeEngine: builds the engine on the worker's thread (it opens its own store connection and transport
    ///     there); the flag aborts a transfer in progress at shutdown.
    public init(
        sinkName: String,
        trigger: SyncTrigger,
        logger: Logger,
        failureRetrySeconds: Int64 = 5,
        networkJitterSeconds: Int64 = 30,
        makeEngine: @escaping @Sendable (CancellationFlag) throws -> SyncEngine
    ) {
        self.sinkName = sinkName
        self.trigger = trigger
        self.logger = logger
        self.failureRetrySeconds = failureRetrySeconds
        self.networkJitterSeconds = networkJitterSeconds
        self.makeEngine = makeEngine
    }

    public func run() async throws {
        let cancel = CancellationFlag()
        let worker = WorkerThread<SyncEngine>.start()
        let inbox = WakeSignal()
        let id = trigger.subscribe(inbox)
        defer { trigger.unsubscribe(id) }
        await withTaskCancellationOrGracefulShutdownHandler {
            await loop(worker: worker, inbox: inbox, cancel: cancel, id: id)
        } onCancelOrGracefulShutdown: {
            cancel.cancel()
            inbox.finish()
        }
        await worker.shutdown()
    }

    private func loop(worker: WorkerThread<SyncEngine>, inbox: WakeSignal, cancel: CancellationFlag, id: UInt64) async {
        let make = makeEngine
        let meta: Logger.Metadata = ["sink.name": "\(sinkName)"]
        var wakes: Set<SyncWake> = [.nudge]
        var wasFailing = false
        // Consecutive database or start-up failures: the retry delay doubles, so a broken setup is not polled.
        var failures = 0
        func failureDelay() -> Int64 {
            defer { failures += 1 }
            return min(300, failureRetrySeconds << min(failures, 8))
        }
        var timer: Task<Void, Never>?
        defer { timer?.cancel() }
        while !cancel.isCancelled {
            let jitter = networkJitterSeconds
            let network = wakes.contains(.network) || wakes.contains(.peerSucceeded)
            let result: Result<PassReport, SyncError> = await worker.perform { state in
                if state == nil {
                    do { state = try make(cancel) } catch {
                        return .failure(SyncError(.configuration, "\(error)"))
                    }
                }
                if network { state!.networkReturned(maxJitterSeconds: jitter) }
                return .success(state!.pass())
            }
            var wakeAt: Timestamp?
            switch result {
            case .success(let report):
                if report.anySuccess && wasFailing { trigger.post(.peerSucceeded, except: id) }
                wasFailing = report.endedInFailure
                wakeAt = report.nextWake
                if case .failed = report.stop {
                    wakeAt = Timestamp.now().adding(seconds: failureDelay())
                } else {
                    failures = 0
                }
                if case .cancelled = report.stop { return }
            case .failure(let error):
                let delay = failureDelay()
                logger.error(
                    "Sync worker cannot start; trying again later",
                    metadata: meta.merging(["error": "\(error)", "sync.retry_in_s": "\(delay)"]) { $1 }
                )
                wakeAt = Timestamp.now().adding(seconds: delay)
            }
            timer?.cancel()
            timer = nil
            if let wakeAt {
                let delay = max(0, wakeAt.milliseconds - Timestamp.now().milliseconds)
                timer = Task {
                    try? await Task.sleep(for: .milliseconds(delay))
                    if !Task.isCancelled { inbox.post(.timer) }
                }
            }
            guard let next = await inbox.next() else { break }
            wakes = next
        }
    }
}
