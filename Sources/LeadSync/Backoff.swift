/// Full-jitter exponential backoff (AWS "Exponential Backoff And Jitter"): the wait before retry number
/// `failures + 1` is uniformly random in `0 … min(cap, base · 2^failures)`.
public struct Backoff: Sendable, Hashable {
    /// `RetryInitialSec=`, in milliseconds.
    public var baseMilliseconds: Int64
    /// `RetryMaxSec=`, in milliseconds.
    public var capMilliseconds: Int64

    public init(initialSeconds: Int, maximumSeconds: Int) {
        baseMilliseconds = Int64(max(0, initialSeconds)) * 1000
        capMilliseconds = max(baseMilliseconds, Int64(max(0, maximumSeconds)) * 1000)
    }

    /// The upper bound of the wait after `failures` failed attempts.
    public func ceiling(failures: Int) -> Int64 {
        let shift = min(max(failures, 0), 40)
        let grown = baseMilliseconds > (Int64.max >> Int64(shift)) ? Int64.max : baseMilliseconds << Int64(shift)
        return min(capMilliseconds, grown)
    }

    /// A random wait, in milliseconds, after `failures` failed attempts.
    public func delay(failures: Int, using rng: inout some RandomNumberGenerator) -> Int64 {
        Int64.random(in: 0...ceiling(failures: failures), using: &rng)
    }
}
