import CCrypto
import CCurl
import CNcurses
import COpenSSL
import CSQLite
import CSystemd
import Testing

/// One call per system-library target: each proves that its module map's header imports and its `link`
/// directive resolves against the installed Debian library (libcurl and libcrypto: that `dlopen` finds them).
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

    @Test func curlLoadsOnFirstUseAndReportsVersionAndTLS() throws {
        let problem = CCurl_load().map { String(cString: $0) }
        #expect(problem == nil)
        let version = String(cString: try #require(CCurl_version()))
        #expect(version.hasPrefix("libcurl/"))
        #expect(version.contains("OpenSSL/"), "\(version)")
    }

    @Test func cryptoLoadsOnFirstUseAndComputesRFC4231Case2() throws {
        #expect(CCrypto_load() == nil)
        var out = [UInt8](repeating: 0, count: 32)
        let key = Array("Jefe".utf8)
        let data = Array("what do ya want for nothing?".utf8)
        #expect(CCrypto_hmac_sha256(key, key.count, data, data.count, &out) == 1)
        let hex = out.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        #expect(hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
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
