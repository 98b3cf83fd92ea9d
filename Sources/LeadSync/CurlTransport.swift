internal import CCurl
import Synchronization

/// An HTTP answer: status, lower-cased header names, body.
public struct HTTPResponse: Sendable, Hashable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    /// `2` when HTTP/2 was negotiated, else `1`.
    public var httpVersion: Int

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = [], httpVersion: Int = 1) {
        self.status = status
        self.headers = headers
        self.body = body
        self.httpVersion = httpVersion
    }
}

/// A failed HTTP exchange: nothing (or nothing usable) came back.
public struct TransportFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// In words for `last_error`.
    public var message: String
    /// The request may have reached the receiver (a timeout or reset after sending): the retry must resend the
    /// same batch, which the receiver's dedup turns into `duplicate`.
    public var ambiguous: Bool
    /// The worker is shutting down and aborted the request.
    public var cancelled: Bool
    public var description: String { message }
}

/// Set from any thread to abort a blocking transfer (graceful shutdown).
public final class CancellationFlag: Sendable {
    private let value = Atomic<Bool>(false)
    public init() {}
    public var isCancelled: Bool { value.load(ordering: .acquiring) }
    public func cancel() { value.store(true, ordering: .releasing) }
}

/// What the libcurl transport does, from the `[Sink]` section.
public struct TransportSettings: Sendable, Hashable {
    public var url: String
    /// `CAFile=`: extra trusted certificates; verification is always on.
    public var caFile: String?
    /// `AllowInsecure=`: plain `http://` to a host that is not loopback.
    public var allowInsecure: Bool
    /// The whole request, connection included (`TimeoutSec=`).
    public var timeoutSeconds: Int
    /// Connecting alone (capped by `timeoutSeconds`).
    public var connectTimeoutSeconds: Int
    public var userAgent: String
    /// The largest response body kept; anything longer fails the request.
    public var maximumResponseBytes: Int

    public init(
        url: String,
        caFile: String? = nil,
        allowInsecure: Bool = false,
        timeoutSeconds: Int = 30,
        connectTimeoutSeconds: Int = 10,
        userAgent: String,
        maximumResponseBytes: Int = 8 << 20
    ) {
        self.url = url
        self.caFile = caFile
        self.allowInsecure = allowInsecure
        self.timeoutSeconds = timeoutSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.userAgent = userAgent
        self.maximumResponseBytes = maximumResponseBytes
    }

    /// `http`/`https`, and whether the host is loopback (`localhost`, `127.x.x.x`, `[::1]`).
    static func split(_ url: String) -> (scheme: String, host: String)? {
        guard let colon = url.firstRange(of: "://") else { return nil }
        let scheme = url[..<colon.lowerBound].lowercased()
        var authority = url[colon.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let host: Substring
        if authority.hasPrefix("[") {
            host = authority.prefix { $0 != "]" } + "]"
        } else {
            host = authority.prefix { $0 != ":" }
        }
        return (scheme, host.lowercased())
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "[::1]"
    }
}

/// A blocking HTTP client over one libcurl easy handle: one per sink, reused for every batch so the connection
/// (and its TLS session) is kept alive between batches. Confined to its worker's thread.
///
/// TLS peer and host verification are always on; redirects are never followed; proxies come from the
/// environment the way libcurl reads them (`https_proxy`, `no_proxy`, …), except that loopback never uses one;
/// HTTP/2 is used when the server offers it over TLS.
public final class CurlTransport {
    private let handle: UnsafeMutableRawPointer
    /// The multi handle the easy handle runs in: it keeps the connection cache, and lets a request be in flight
    /// while the worker records the previous answer.
    private let multi: UnsafeMutableRawPointer
    private var inFlight = false
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var bodyCopy: UnsafeMutableRawBufferPointer?
    private var startFailure: TransportFailure?
    /// The URL set on the handle (``settings`` `url` unless a request named another).
    private var currentURL: String
    /// The handle was last switched to GET.
    private var isGet = false
    public let settings: TransportSettings
    private let cancel: CancellationFlag
    private let collector: Collector

    /// libcurl loaded (`dlopen`, first use only: a kiosk without network sinks never maps it) and its global
    /// state set up, once before the first handle (thread-safe in libcurl ≥ 7.84); nil, or why not.
    private static let unavailable: String? = {
        if let problem = CCurl_load() { return String(cString: problem) }
        return CCurl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK ? nil : "curl_global_init failed"
    }()

    public init(settings: TransportSettings, cancel: CancellationFlag) throws(SyncError) {
        guard let (scheme, host) = TransportSettings.split(settings.url), scheme == "https" || scheme == "http" else {
            throw SyncError(.configuration, "URL must be http:// or https://")
        }
        let loopback = TransportSettings.isLoopback(host)
        if scheme == "http" && !loopback && !settings.allowInsecure {
            throw SyncError(
                .configuration,
                "plain http:// only to loopback; use https:// or set AllowInsecure=yes"
            )
        }
        if let problem = CurlTransport.unavailable {
            throw SyncError(.transport, "libcurl is not available (install libcurl4): \(problem)")
        }
        guard let handle = CCurl_easy_init() else {
            throw SyncError(.transport, "libcurl could not be initialised")
        }
        guard let multi = CCurl_multi_init() else {
            CCurl_easy_cleanup(handle)
            throw SyncError(.transport, "libcurl could not be initialised")
        }
        self.handle = handle
        self.multi = multi
        self.settings = settings
        self.currentURL = settings.url
        self.cancel = cancel
        self.collector = Collector(limit: settings.maximumResponseBytes, cancel: cancel)
        let timeout = max(1, settings.timeoutSeconds)
        var ok = true
        func set(_ option: CURLoption, _ value: Int) { ok = ok && CCurl_setopt_long(handle, option, value) == CURLE_OK }
        func set(_ option: CURLoption, _ value: String) {
            ok = ok && value.withCString { CCurl_setopt_ptr(handle, option, $0) } == CURLE_OK
        }
        set(CURLOPT_URL, settings.url)
        set(CURLOPT_PROTOCOLS_STR, settings.allowInsecure || loopback ? "http,https" : "https")
        set(CURLOPT_FOLLOWLOCATION, 0)
        set(CURLOPT_SSL_VERIFYPEER, 1)
        set(CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile = settings.caFile { set(CURLOPT_CAINFO, caFile) }
        set(CURLOPT_CONNECTTIMEOUT_MS, 1000 * min(timeout, max(1, settings.connectTimeoutSeconds)))
        set(CURLOPT_TIMEOUT_MS, 1000 * timeout)
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_TCP_KEEPALIVE, 1)
        set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        set(CURLOPT_USERAGENT, settings.userAgent)
        if loopback { set(CURLOPT_NOPROXY, "*") }
        set(CURLOPT_POST, 1)
        let user = Unmanaged.passUnretained(collector).toOpaque()
        ok = ok && CCurl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, curlWrite) == CURLE_OK
        ok = ok && CCurl_setopt_ptr(handle, CURLOPT_WRITEDATA, user) == CURLE_OK
        ok = ok && CCurl_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, curlHeader) == CURLE_OK
        ok = ok && CCurl_setopt_ptr(handle, CURLOPT_HEADERDATA, user) == CURLE_OK
        ok = ok && CCurl_setopt_xferinfo_callback(handle, curlProgress) == CURLE_OK
        ok = ok && CCurl_setopt_ptr(handle, CURLOPT_XFERINFODATA, user) == CURLE_OK
        set(CURLOPT_NOPROGRESS, 0)
        // Fully initialised by now: `deinit` frees the handles.
        guard ok else { throw SyncError(.transport, "libcurl refused an option (too old a libcurl?)") }
    }

    deinit {
        if inFlight { _ = CCurl_multi_remove_handle(multi, handle) }
        CCurl_multi_cleanup(multi)
        CCurl_easy_cleanup(handle)
        CCurl_slist_free_all(headerList)
        bodyCopy?.deallocate()
    }

    /// POSTs `body` with `headers` (`Name: value` lines) and returns the answer; blocks for at most the timeout.
    public func post(headers: [String], body: [UInt8]) -> Result<HTTPResponse, TransportFailure> {
        start(headers: headers, body: body)
        return finish()
    }

    /// One request to `url` (a CRM's API path under the configured base, same scheme and host rules): `GET`
    /// ignores `body`; anything else is a POST. Blocks for at most the timeout.
    ///
    /// `freshConnection` opens a new connection for it: libcurl silently sends a request again when a reused
    /// keep-alive connection closes without an answer — and that may be a server that stored the request and
    /// then failed. A request that creates records without an idempotency key must never be repeated unseen.
    public func request(
        _ method: HTTPMethod,
        url: String,
        headers: [String],
        body: [UInt8] = [],
        freshConnection: Bool = false
    ) -> Result<HTTPResponse, TransportFailure> {
        if freshConnection { _ = CCurl_setopt_long(handle, CURLOPT_FRESH_CONNECT, 1) }
        defer { if freshConnection { _ = CCurl_setopt_long(handle, CURLOPT_FRESH_CONNECT, 0) } }
        start(headers: headers, body: body, url: url, method: method)
        return finish()
    }

    /// The methods ``request(_:url:headers:body:)`` sends.
    public enum HTTPMethod: Sendable {
        case get, post
    }

    /// Starts a POST and sends what the socket takes without waiting; ``finish()`` waits for the answer.
    /// Between the two the caller may do other work on this thread (nothing else may use the transport).
    public func start(headers: [String], body: [UInt8], url: String? = nil, method: HTTPMethod = .post) {
        precondition(!inFlight, "one request at a time")
        collector.reset()
        startFailure = nil
        if let url, url != currentURL {
            guard let (scheme, _) = TransportSettings.split(url), scheme == "https" || scheme == "http" else {
                startFailure = TransportFailure(message: "invalid URL", ambiguous: false, cancelled: false)
                return
            }
            _ = url.withCString { CCurl_setopt_ptr(handle, CURLOPT_URL, $0) }
            currentURL = url
        } else if url == nil, currentURL != settings.url {
            _ = settings.url.withCString { CCurl_setopt_ptr(handle, CURLOPT_URL, $0) }
            currentURL = settings.url
        }
        if method == .get {
            _ = CCurl_setopt_long(handle, CURLOPT_HTTPGET, 1)
            isGet = true
        } else if isGet {
            _ = CCurl_setopt_long(handle, CURLOPT_POST, 1)
            isGet = false
        }
        var list: UnsafeMutablePointer<curl_slist>?
        // An empty `Expect:` stops libcurl from waiting for `100 Continue` before a large body.
        for line in headers + ["Expect:"] {
            guard let next = CCurl_slist_append(list, line) else {
                CCurl_slist_free_all(list)
                startFailure = TransportFailure(message: "out of memory", ambiguous: false, cancelled: false)
                return
            }
            list = next
        }
        headerList = list
        // libcurl reads the body from this copy until the transfer ends (`CURLOPT_POSTFIELDS` does not copy).
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, body.count), alignment: 1)
        body.withUnsafeBytes { copy.copyMemory(from: $0) }
        bodyCopy = copy
        _ = CCurl_setopt_ptr(handle, CURLOPT_HTTPHEADER, list)
        if method == .post {
            _ = CCurl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            _ = CCurl_setopt_ptr(handle, CURLOPT_POSTFIELDS, copy.baseAddress)
        }
        guard CCurl_multi_add_handle(multi, handle) == CURLM_OK else {
            startFailure = TransportFailure(message: "libcurl refused the request", ambiguous: false, cancelled: false)
            return
        }
        inFlight = true
        var running: Int32 = 0
        _ = CCurl_multi_perform(multi, &running)
    }

    /// Waits for the answer to the request ``start(headers:body:)`` began (at most the timeout).
    public func finish() -> Result<HTTPResponse, TransportFailure> {
        defer {
            _ = CCurl_setopt_ptr(handle, CURLOPT_POSTFIELDS, nil)
            _ = CCurl_setopt_ptr(handle, CURLOPT_HTTPHEADER, nil)
            CCurl_slist_free_all(headerList)
            headerList = nil
            bodyCopy?.deallocate()
            bodyCopy = nil
        }
        if let startFailure { return .failure(startFailure) }
        var code = CURLE_OK
        var running: Int32 = 1
        while running > 0 {
            if CCurl_multi_perform(multi, &running) != CURLM_OK { break }
            if running > 0 { _ = CCurl_multi_poll(multi, nil, 0, 1000, nil) }
        }
        var left: Int32 = 0
        while let message = CCurl_multi_info_read(multi, &left) {
            if message.pointee.msg == CURLMSG_DONE { code = message.pointee.data.result }
        }
        _ = CCurl_multi_remove_handle(multi, handle)
        inFlight = false
        guard code == CURLE_OK else {
            if cancel.isCancelled {
                return .failure(
                    TransportFailure(message: "cancelled (shutting down)", ambiguous: true, cancelled: true)
                )
            }
            return .failure(CurlTransport.failure(code, collector: collector))
        }
        var status = 0
        _ = CCurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var version = 0
        _ = CCurl_getinfo_long(handle, CURLINFO_HTTP_VERSION, &version)
        return .success(
            HTTPResponse(
                status: status,
                headers: collector.headers,
                body: collector.body,
                httpVersion: version == Int(CURL_HTTP_VERSION_2_0) ? 2 : 1
            )
        )
    }

    static func failure(_ code: CURLcode, collector: Collector) -> TransportFailure {
        let text = CCurl_easy_strerror(code).map { String(cString: $0) } ?? "error \(code.rawValue)"
        let reason: String
        var ambiguous = false
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: reason = "DNS: \(text)"
        case CURLE_COULDNT_CONNECT: reason = "connection failed: \(text)"
        case CURLE_OPERATION_TIMEDOUT:
            reason = "timeout: \(text)"
            ambiguous = true
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE:
            reason = "TLS: \(text)"
        case CURLE_WRITE_ERROR where collector.overflowed:
            reason = "the response is larger than \(collector.limit) bytes"
            ambiguous = true
        default:
            reason = text
            ambiguous = true
        }
        return TransportFailure(message: reason, ambiguous: ambiguous, cancelled: false)
    }
}

/// The response being received; libcurl calls back into it on the worker's thread.
final class Collector {
    let limit: Int
    let cancel: CancellationFlag
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    var overflowed = false

    init(limit: Int, cancel: CancellationFlag) {
        self.limit = limit
        self.cancel = cancel
    }

    func reset() {
        body.removeAll(keepingCapacity: true)
        headers = [:]
        overflowed = false
    }

    func header(_ line: UnsafeBufferPointer<UInt8>) {
        // A status line starts a new header block (an interim 100 Continue came before the real answer).
        if line.starts(with: "HTTP/".utf8) {
            headers = [:]
            return
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
        let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingSpaces
        headers[name] = value
    }
}

private let curlWrite: CCurl_data_callback = { data, size, count, user in
    let collector = Unmanaged<Collector>.fromOpaque(user!).takeUnretainedValue()
    let n = size * count
    guard collector.body.count + n <= collector.limit else {
        collector.overflowed = true
        return 0
    }
    if let data {
        data.withMemoryRebound(to: UInt8.self, capacity: n) {
            collector.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n))
        }
    }
    return n
}

private let curlHeader: CCurl_data_callback = { data, size, count, user in
    let collector = Unmanaged<Collector>.fromOpaque(user!).takeUnretainedValue()
    let n = size * count
    if let data {
        data.withMemoryRebound(to: UInt8.self, capacity: n) {
            collector.header(UnsafeBufferPointer(start: $0, count: n))
        }
    }
    return n
}

private let curlProgress: CCurl_xferinfo_callback = { user, _, _, _, _ in
    Unmanaged<Collector>.fromOpaque(user!).takeUnretainedValue().cancel.isCancelled ? 1 : 0
}
