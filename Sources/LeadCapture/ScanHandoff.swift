public import LeadCore
import Synchronization

/// Carries scans from scanners with `[Serial] Consent=form` to the on-screen form, which asks the visitor for
/// consent before anything is stored.
///
/// A scanner thread ``post(_:)``s the decoded, looked-up and cleaned card; the form thread, woken through
/// ``readFD``, ``take(now:)``s the newest one and fills a fresh form with it. Nothing of a handed-over scan
/// reaches the database unless the visitor ticks the form's consent box and submits; a scan the form never
/// takes (no terminal, the staff screen open, older than ``maximumAgeMilliseconds``) is forgotten.
///
/// Create one per daemon and give it to the ``FormService`` and every ``ScannerService``.
public final class ScanHandoff: Sendable {
    /// A scan on its way to the form.
    public struct Scan: Sendable, Hashable {
        /// Cleaned field values (an attendee's data for a badge id the list knows).
        public var fields: [String: String]
        /// The badge id the card carried, if any.
        public var badgeID: String?
        /// Notes from the card (vCard `NOTE`).
        public var notes: String
        /// The scanner's `Device=`, recorded with the lead.
        public var device: String
        /// When it was read (monotonic milliseconds).
        public var readAt: Int64

        public init(fields: [String: String], badgeID: String?, notes: String, device: String, readAt: Int64) {
            self.fields = fields
            self.badgeID = badgeID
            self.notes = notes
            self.device = device
            self.readAt = readAt
        }
    }

    /// A scan older than this when the form gets to it is not shown: the visitor has probably left.
    public static let maximumAgeMilliseconds: Int64 = 30_000
    /// Scans waiting beyond this many are dropped, oldest first.
    static let capacity = 8

    private let waiting = Mutex<[Scan]>([])
    private let pipe: WakePipe

    /// - Throws: ``FormServiceError`` with code `system` when its wake-up pipe cannot be created.
    public init() throws(FormServiceError) {
        pipe = try WakePipe()
    }

    deinit { pipe.close() }

    /// The descriptor the form thread polls; readable while scans wait.
    var readFD: Int32 { pipe.readFD }

    /// Hands a scan to the form (any thread). Returns how many waiting scans it pushed out (0 normally).
    @discardableResult
    public func post(_ scan: Scan) -> Int {
        let dropped = waiting.withLock { queue in
            queue.append(scan)
            let excess = max(0, queue.count - Self.capacity)
            queue.removeFirst(excess)
            return excess
        }
        pipe.signal(WakePipe.scanByte)
        return dropped
    }

    /// The newest scan no older than ``maximumAgeMilliseconds`` at `now`, and how many others were discarded
    /// (replaced by a newer scan, or too old). Empties the queue. Form thread only.
    func take(now: Int64) -> (scan: Scan?, discarded: Int) {
        _ = pipe.drain()
        let all = waiting.withLock { queue in
            defer { queue.removeAll() }
            return queue
        }
        guard let newest = all.last, now - newest.readAt <= Self.maximumAgeMilliseconds else {
            return (nil, all.count)
        }
        return (newest, all.count - 1)
    }
}
