import Foundation

/// Runs blocking work — waiting for a child process, a blocking socket call, a semaphore, a poll loop — on a
/// thread of its own and awaits its result, so the calling test's cooperative thread stays free.
///
/// Swift Testing runs every test on the cooperative pool, which has one thread per core: two on a two-core CI
/// machine. Two tests blocking those threads for seconds stall every other test, while their waits with
/// real-time deadlines run out; under load that failed a dozen unrelated tests at once.
public func onOwnThread<T: Sendable, E: Error>(_ work: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(returning: Result { () throws(E) -> T in try work() })
        }
    }
    return try result.get()
}
