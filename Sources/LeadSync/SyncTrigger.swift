import Synchronization

/// Why a sync worker was woken.
public enum SyncWake: Sendable, Hashable {
    /// A lead was committed (the form), or `leadctl sync` asked.
    case nudge
    /// The database changed (another process added, edited, retried or synced leads).
    case storeChanged
    /// A route or link changed: the network may be back.
    case network
    /// Another sink just delivered after failing: the network works again.
    case peerSucceeded
    /// The worker's own timer (a retry came due).
    case timer
}

/// Wakes sync workers. The form calls ``nudge()`` after each COMMIT; the change monitor reports network and
/// database changes; every worker of the daemon listens. Wakes that arrive while a worker is busy are merged.
///
/// ```swift
/// let trigger = SyncTrigger()
/// // after the lead's COMMIT returned:
/// trigger.nudge()
/// ```
public final class SyncTrigger: Sendable {
    private let subscribers = Mutex<[UInt64: WakeSignal]>([:])
    private let nextID = Atomic<UInt64>(1)

    public init() {}

    /// A new lead is queued: sync now.
    public func nudge() { post(.nudge) }

    /// Wakes every subscribed worker (but `except`).
    public func post(_ wake: SyncWake, except: UInt64? = nil) {
        let targets = subscribers.withLock { s in s.filter { $0.key != except }.map(\.value) }
        for t in targets { t.post(wake) }
    }

    func subscribe(_ signal: WakeSignal) -> UInt64 {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        subscribers.withLock { $0[id] = signal }
        return id
    }

    func unsubscribe(_ id: UInt64) { _ = subscribers.withLock { $0.removeValue(forKey: id) } }
}

/// One worker's inbox of wakes: posting never blocks, and wakes posted while the worker is busy are merged into
/// one set it takes at once.
final class WakeSignal: Sendable {
    private struct State {
        var pending: Set<SyncWake> = []
        var waiter: CheckedContinuation<Set<SyncWake>?, Never>?
        var finished = false
    }
    private let state = Mutex(State())

    func post(_ wake: SyncWake) {
        let resume: (CheckedContinuation<Set<SyncWake>?, Never>, Set<SyncWake>)? = state.withLock { s in
            guard !s.finished else { return nil }
            s.pending.insert(wake)
            guard let waiter = s.waiter else { return nil }
            s.waiter = nil
            let pending = s.pending
            s.pending = []
            return (waiter, pending)
        }
        if let (waiter, pending) = resume { waiter.resume(returning: pending) }
    }

    /// Ends the inbox: the waiting `next()` (and every later one) returns nil.
    func finish() {
        let waiter = state.withLock { s in
            s.finished = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The wakes since the last call, waiting for one if there are none; nil once finished.
    func next() async -> Set<SyncWake>? {
        await withCheckedContinuation { (c: CheckedContinuation<Set<SyncWake>?, Never>) in
            let ready: Set<SyncWake>?? = state.withLock { s in
                if !s.pending.isEmpty {
                    defer { s.pending = [] }
                    return .some(s.pending)
                }
                if s.finished { return .some(nil) }
                s.waiter = c
                return .none
            }
            if let ready { c.resume(returning: ready) }
        }
    }
}
