import LeadCtlKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Read the environment once, here; the library never does.
var environment: [String: String] = [:]
if let value = getenv("STATE_DIRECTORY") { environment["STATE_DIRECTORY"] = String(cString: value) }
if let value = getenv("CREDENTIALS_DIRECTORY") { environment["CREDENTIALS_DIRECTORY"] = String(cString: value) }
exit(LeadCtl.run(arguments: Array(CommandLine.arguments.dropFirst()), environment: environment))
