#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads a sink's secret: the systemd credential `Credential=NAME` (`$CREDENTIALS_DIRECTORY/NAME`), else the file
/// `SecretFile=`. The file holds one secret, or two separated by white space while a secret is rotated.
/// Errors name the credential or file, never the content.
public enum SecretReader {
    /// The largest secret file read (a few secrets and white space).
    static let maximumSize = 4096

    /// The secrets of a sink, or nil when it names none.
    public static func secrets(
        credential: String?,
        secretFile: String?,
        credentialsDirectory: String?
    ) throws(SyncError) -> [String]? {
        if let credential {
            if let credentialsDirectory {
                let path = credentialsDirectory + "/" + credential
                if access(path, F_OK) == 0 || secretFile == nil {
                    return try tokens(
                        readFile(path, what: "credential \(credential)"),
                        what: "credential \(credential)"
                    )
                }
            } else if secretFile == nil {
                throw SyncError(
                    .credential,
                    "credential \(credential): CREDENTIALS_DIRECTORY is not set (give it with LoadCredential= in the unit, "
                        + "or name a SecretFile=)"
                )
            }
        }
        guard let secretFile else { return nil }
        return try tokens(readFile(secretFile, what: "secret file \(secretFile)"), what: "secret file \(secretFile)")
    }

    static func tokens(_ bytes: [UInt8], what: String) throws(SyncError) -> [String] {
        let tokens = bytes.split { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
            .map { String(decoding: $0, as: UTF8.self) }
        guard !tokens.isEmpty else { throw SyncError(.credential, "\(what) is empty") }
        return tokens
    }

    static func readFile(_ path: String, what: String) throws(SyncError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SyncError(.credential, "\(what): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1024)
        while true {
            let n = read(fd, &buf, buf.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw SyncError(.credential, "\(what): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            out.append(contentsOf: buf[..<n])
            if out.count > maximumSize { throw SyncError(.credential, "\(what) is larger than a secret can be") }
        }
        return out
    }
}
