/// A problem with the configuration, located as precisely as the input allows.
///
/// `leadd` prints it and exits with 78 (EX_CONFIG); `leadctl config check` prints it too. The description
/// reads like a compiler diagnostic, so editors and operators can jump to the line:
///
/// ```
/// /etc/leadd/leadd.conf:12: [Sink] Type: unknown value "webhok" (expected webhook, directory, hubspot, …)
/// ```
public struct ConfigError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The file the problem is in (the main config file when it is about something missing from all files).
    public var file: String
    /// The 1-based line, when the problem is on one line (or in the section whose header is on that line).
    public var line: Int?
    /// The section name without brackets, e.g. `Sink`.
    public var section: String?
    /// The key as written, including a locale suffix, e.g. `Label[ru]`.
    public var key: String?
    /// What is wrong, in plain words.
    public var message: String

    /// Creates an error; `message` should read well after `file:line: [Section] Key: `.
    public init(file: String, line: Int? = nil, section: String? = nil, key: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.section = section
        self.key = key
        self.message = message
    }

    /// `file:line: [Section] Key: message`, leaving out the parts that are unknown.
    public var description: String {
        var out = file
        if let line { out += ":\(line)" }
        out += ": "
        if let section { out += "[\(section)] " }
        if let key { out += "\(key): " }
        return out + message
    }
}
