/// A sync failure that is not a receiver's answer: an unreadable credential, a transport that cannot be set up.
/// A struct around a private code, so new cases break nobody. Messages never contain a secret.
public struct SyncError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is; match with `==` against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable {
            case credential, configuration, transport, io
        }
        fileprivate let base: Base
        /// A secret could not be read or is not a `whsec_` secret of 24–64 bytes.
        public static let credential = Code(base: .credential)
        /// The sink's configuration cannot work (plain HTTP to a remote host, an unsupported type).
        public static let configuration = Code(base: .configuration)
        /// libcurl could not be set up.
        public static let transport = Code(base: .transport)
        /// A file or socket operation failed.
        public static let io = Code(base: .io)
        public var description: String { base.rawValue }
    }

    public let code: Code
    /// What happened, in words for a log, `leadctl status` or a terminal.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
