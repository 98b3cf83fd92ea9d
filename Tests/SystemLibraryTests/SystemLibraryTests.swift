import CCurl
import CNcurses
import COpenSSL
import CSQLite
import CSystemd
import Testing

/// One call per system-library target: each proves that its module map's header imports and its `link`
/// directive resolves against the installed Debian library.
struct SystemLibraryTests {
    @Test func sqliteReportsVersion3() throws {
        let version = String(cString: try #require(sqlite3_libversion()))
        #expect(version.hasPrefix("3."))
        #expect(sqlite3_libversion_number() >= 3_031_000)
        #expect(sqlite3_threadsafe() != 0)
    }

    @Test func systemdAnswersBooted() {
        // 1 under systemd, 0 in a container without it; never an error.
        let booted = sd_booted()
        #expect(booted == 0 || booted == 1)
    }

    @Test func curlReportsVersionAndTLS() throws {
        let version = String(cString: try #require(curl_version()))
        #expect(version.hasPrefix("libcurl/"))
        // CURLVERSION_NOW is a macro Swift cannot import; the fourth layout is a prefix of every later one.
        let info = try #require(curl_version_info(CURLVERSION_FOURTH))
        #expect(info.pointee.features & CURL_VERSION_SSL != 0)
    }

    @Test func openSSLReportsVersion() throws {
        let version = String(cString: try #require(OpenSSL_version(OPENSSL_VERSION)))
        #expect(version.hasPrefix("OpenSSL "))
        #expect(OpenSSL_version_num() >= 0x1010_0000)
    }

    @Test func ncursesReportsVersion() throws {
        let version = String(cString: try #require(curses_version()))
        #expect(version.hasPrefix("ncurses "))
    }
}
