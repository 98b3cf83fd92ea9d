#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs a producer on its own thread, handing batches to the consumer through a small bounded queue, so that
/// decoding a file (on one core) overlaps with writing the database (on the other).
///
/// The producer returns nil when done; an error it throws ends the stream and is rethrown by `next()` after
/// the batches before it. Memory stays bounded: at most `depth` batches wait.
final class Pipeline<Element>: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var changed = pthread_cond_t()
    private var queue: [[Element]] = []
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false
    private let depth: Int
    private var thread = pthread_t()
    private var started = false
    private var current: [Element] = []
    private var index = 0

    private let produce: () throws -> [Element]?

    init(depth: Int = 4, produce: @escaping () throws -> [Element]?) {
        self.depth = depth
        self.produce = produce
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&changed, nil)
        // The thread does not keep the pipeline alive: deinit stops and joins it before the memory goes away.
        let box = Unmanaged.passRetained(ThreadBox(self)).toOpaque()
        started = pthread_create(&thread, nil, pipelineThreadMain, box) == 0
        if !started {
            Unmanaged<ThreadBox>.fromOpaque(box).release()
            finished = true
            failure = CLIError.failure("cannot start the decoding thread")
        }
    }

    deinit {
        pthread_mutex_lock(&mutex)
        cancelled = true
        pthread_cond_broadcast(&changed)
        pthread_mutex_unlock(&mutex)
        if started { pthread_join(thread, nil) }
        pthread_cond_destroy(&changed)
        pthread_mutex_destroy(&mutex)
    }

    fileprivate func runProducer() {
        while true {
            let batch: [Element]?
            var thrown: (any Error)?
            do { batch = try produce() } catch {
                batch = nil
                thrown = error
            }
            pthread_mutex_lock(&mutex)
            while queue.count >= depth && !cancelled { pthread_cond_wait(&changed, &mutex) }
            if cancelled {
                pthread_mutex_unlock(&mutex)
                return
            }
            if let batch, !batch.isEmpty { queue.append(batch) }
            if batch == nil {
                finished = true
                failure = thrown
            }
            pthread_cond_broadcast(&changed)
            pthread_mutex_unlock(&mutex)
            if batch == nil { return }
        }
    }

    /// The next element; nil at the end. Rethrows the producer's error once the batches before it are consumed.
    func next() throws -> Element? {
        if index < current.count {
            index += 1
            return current[index - 1]
        }
        pthread_mutex_lock(&mutex)
        while queue.isEmpty && !finished { pthread_cond_wait(&changed, &mutex) }
        if queue.isEmpty {
            let error = failure
            failure = nil
            pthread_mutex_unlock(&mutex)
            if let error { throw error }
            return nil
        }
        current = queue.removeFirst()
        pthread_cond_broadcast(&changed)
        pthread_mutex_unlock(&mutex)
        index = 1
        return current[0]
    }
}

extension Pipeline: PipelineProducer {}

/// The producer side, without the element type, so a plain C thread entry point can start it.
private protocol PipelineProducer: AnyObject {
    func runProducer()
}

private final class ThreadBox {
    unowned(unsafe) let producer: any PipelineProducer
    init(_ producer: any PipelineProducer) { self.producer = producer }
}

private func pipelineThreadMain(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let box = Unmanaged<ThreadBox>.fromOpaque(raw!).takeRetainedValue()
    box.producer.runProducer()
    return nil
}
