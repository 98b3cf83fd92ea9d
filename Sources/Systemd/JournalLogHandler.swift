internal import CSystemd
public import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A swift-log handler writing structured entries to journald: the message as `MESSAGE=`, the level as
/// `PRIORITY=`, and every metadata key as a journal field (`lead.id` → `LEAD_ID=`), so
/// `journalctl LEAD_ID=…` finds a lead's whole story.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Whether standard error is the journal: `JOURNAL_STREAM` (`device:inode`, set by systemd) matches fd 2.
    /// `journalStream` is the variable's value, read by `main`.
    public static func stderrIsJournal(journalStream: String?) -> Bool {
        guard let value = journalStream else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }

    /// `lead.id` → `LEAD_ID`: upper-case letters, digits and underscores, not starting with `_` or a digit.
    static func fieldName(_ key: String) -> String? {
        var out = ""
        for u in key.unicodeScalars {
            switch u {
            case "a"..."z": out.unicodeScalars.append(Unicode.Scalar(u.value - 32)!)
            case "A"..."Z", "0"..."9": out.unicodeScalars.append(u)
            default: out.append("_")
            }
        }
        while out.hasPrefix("_") { out.removeFirst() }
        guard let first = out.first, !first.isNumber, out.utf8.count <= 64 else { return nil }
        return out
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// The journal fields of one entry, in order.
    static func fields(
        level: Logger.Level,
        message: String,
        metadata: Logger.Metadata,
        label: String,
        source: String
    ) -> [String] {
        var fields = [
            "MESSAGE=\(message)", "PRIORITY=\(priority(level))", "SYSLOG_IDENTIFIER=leadd", "LOGGER=\(label)",
            "CODE_MODULE=\(source)",
        ]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            guard let name = fieldName(key) else { continue }
            fields.append("\(name)=\(value)")
        }
        return fields
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let fields = Self.fields(
            level: event.level,
            message: "\(event.message)",
            metadata: merged,
            label: label,
            source: event.source
        )
        // sd_journal_sendv takes an iovec: field values may hold any bytes, newlines included.
        let buffers = fields.map { Array($0.utf8) }
        withIOVecs(buffers) { iov in _ = sd_journal_sendv(iov.baseAddress, Int32(iov.count)) }
    }

    private func withIOVecs(_ buffers: [[UInt8]], _ body: (UnsafeBufferPointer<iovec>) -> Void) {
        var storage: [UnsafeMutableRawPointer] = []
        var iovs: [iovec] = []
        for b in buffers {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(b.count, 1), alignment: 1)
            b.withUnsafeBytes { if let base = $0.baseAddress { p.copyMemory(from: base, byteCount: b.count) } }
            storage.append(p)
            iovs.append(iovec(iov_base: p, iov_len: b.count))
        }
        iovs.withUnsafeBufferPointer(body)
        for p in storage { p.deallocate() }
    }
}
