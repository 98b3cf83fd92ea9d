/// An error of the terminal form: it cannot open its database, or the system refused a resource. A struct
/// around a private code so new cases break nobody.
public struct FormServiceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is; match with `==` against the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Sendable {
            case store, terminal, system
        }
        fileprivate let base: Base
        /// The lead database could not be opened.
        public static let store = Code(base: .store)
        /// The terminal could not be opened or set up.
        public static let terminal = Code(base: .terminal)
        /// A system resource (a thread, a pipe) could not be had.
        public static let system = Code(base: .system)
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// What happened, in words for a log.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
