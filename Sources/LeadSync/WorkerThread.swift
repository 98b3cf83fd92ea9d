#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A thread of its own for blocking work (SQLite, libcurl) that must never run on Swift's cooperative pool.
/// It owns a `State` that is not `Sendable` (a store connection, a curl handle): the state is made, used and
/// dropped only on this thread, by the jobs handed to ``perform(_:)``.
final class WorkerThread<State>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    // Guarded by `mutex`.
    private var jobs: [(inout State?) -> Void] = []
    private var stopping = false
    // Touched only on the thread.
    private var state: State?

    private init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        cond = .allocate(capacity: 1)
        cond.initialize(to: pthread_cond_t())
        pthread_cond_init(cond, nil)
    }

    /// A new thread, waiting for jobs.
    static func start() -> WorkerThread {
        let worker = WorkerThread()
        let box = Unmanaged.passRetained(ThreadBody { worker.loop() }).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread,
            nil,
            { arg in
                Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue().run()
                return nil
            },
            box
        )
        precondition(rc == 0, "cannot start a thread: \(String(cString: strerror(rc)))")
        pthread_detach(thread)
        return worker
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    private func loop() {
        while true {
            pthread_mutex_lock(mutex)
            while jobs.isEmpty && !stopping { pthread_cond_wait(cond, mutex) }
            if jobs.isEmpty {
                pthread_mutex_unlock(mutex)
                break
            }
            let job = jobs.removeFirst()
            pthread_mutex_unlock(mutex)
            job(&state)
        }
        state = nil
    }

    private func enqueue(_ job: @escaping (inout State?) -> Void) {
        pthread_mutex_lock(mutex)
        jobs.append(job)
        pthread_cond_signal(cond)
        pthread_mutex_unlock(mutex)
    }

    /// Runs `body` on the thread with its state, and returns its result.
    func perform<T: Sendable>(_ body: @escaping @Sendable (inout State?) -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            enqueue { state in continuation.resume(returning: body(&state)) }
        }
    }

    /// Drops the state on the thread (closing what it holds) and ends the thread once the queue is empty.
    func shutdown() async {
        await perform { state in state = nil }
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_signal(cond)
        pthread_mutex_unlock(mutex)
    }
}

/// What a new thread runs: a C entry point cannot capture the generic `WorkerThread`, so it gets this box.
private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
