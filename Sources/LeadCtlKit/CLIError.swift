/// A failure `leadctl` reports in one line and maps to DESIGN's exit codes.
public struct CLIError: Error, CustomStringConvertible {
    public enum Kind: Sendable { case failure, usage, config }
    public let kind: Kind
    public let message: String

    public static func failure(_ message: String) -> CLIError { CLIError(kind: .failure, message: message) }
    public static func usage(_ message: String) -> CLIError { CLIError(kind: .usage, message: message) }
    public static func config(_ message: String) -> CLIError { CLIError(kind: .config, message: message) }

    /// 1 failure, 2 usage, 78 configuration (EX_CONFIG).
    public var exitCode: Int32 {
        switch kind {
        case .failure: 1
        case .usage: 2
        case .config: 78
        }
    }

    public var description: String { message }
}
