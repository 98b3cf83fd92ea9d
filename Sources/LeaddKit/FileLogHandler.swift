import LeadCore
public import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Plain-text log lines appended to a file (used when the form owns the terminal stderr points at).
public struct FileLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let fd: Int32

    public init(label: String, path: String) {
        self.label = label
        self.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        guard fd >= 0 else { return }
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let meta =
            merged.isEmpty
            ? ""
            : " "
                + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: " ")
        let line = "\(Timestamp.now().rfc3339) \(event.level) \(label): \(event.message)\(meta)\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
