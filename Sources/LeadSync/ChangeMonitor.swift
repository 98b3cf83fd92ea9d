public import Logging
public import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Watches, on a thread of its own, for what should wake the sync workers without any polling:
/// - route and link changes from the kernel (an rtnetlink `NETLINK_ROUTE` socket subscribed to
///   `RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE`): the network may be back;
/// - writes to the database by other processes (inotify on its folder: `leadctl add`, `retry`, `sync`, import);
/// - a replaced secret file (inotify on its folder), so a sink paused for a bad credential resumes.
///
/// It blocks in `poll(2)` and wakes only when one of those happens. Without netlink or inotify (a sandbox that
/// forbids them) it logs once and the workers still wake on new leads and their own timers.
public struct ChangeMonitor: Service {
    /// Files whose changes wake the workers: folder → names in it.
    let watched: [String: Set<String>]
    let trigger: SyncTrigger
    let logger: Logger
    let watchNetwork: Bool

    /// - Parameters:
    ///   - files: absolute paths (the database, its `-wal`, secret files).
    public init(files: [String], trigger: SyncTrigger, logger: Logger, watchNetwork: Bool = true) {
        var watched: [String: Set<String>] = [:]
        for path in files {
            guard let slash = path.lastIndex(of: "/") else { continue }
            let dir = slash == path.startIndex ? "/" : String(path[..<slash])
            watched[dir, default: []].insert(String(path[path.index(after: slash)...]))
        }
        self.watched = watched
        self.trigger = trigger
        self.logger = logger
        self.watchNetwork = watchNetwork
    }

    public func run() async throws {
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else {
            logger.warning("Cannot watch for network and database changes", metadata: ["error": "\(errno)"])
            // Returning would end the daemon's service group: wait for the shutdown instead.
            try? await gracefulShutdown()
            return
        }
        let netlink = watchNetwork ? ChangeMonitor.openNetlink() : -1
        if watchNetwork && netlink < 0 {
            logger.warning(
                "Cannot listen for network changes (rtnetlink); sinks retry on their backoff timers only",
                metadata: ["error": "\(String(cString: strerror(errno)))"]
            )
        }
        let (inotify, names) = ChangeMonitor.openInotify(watched)
        if inotify < 0 && !watched.isEmpty {
            logger.warning(
                "Cannot watch the database for changes by leadctl (inotify); sinks wake on new leads and timers only"
            )
        }
        for fd in pipeEnds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let trigger = self.trigger
        let thread = WorkerThread<Void>.start()
        let stop = pipeEnds[0]
        // The watch loop occupies the thread until the pipe is written to.
        async let watching: Void = thread.perform { _ in
            ChangeMonitor.watch(netlink: netlink, inotify: inotify, names: names, stop: stop, trigger: trigger)
        }
        try? await gracefulShutdown()
        var one: UInt8 = 1
        _ = write(pipeEnds[1], &one, 1)
        await watching
        await thread.shutdown()
        if netlink >= 0 { close(netlink) }
        if inotify >= 0 { close(inotify) }
        close(pipeEnds[0])
        close(pipeEnds[1])
    }

    /// `NETLINK_ROUTE` and the `RTMGRP_*` groups from `<linux/rtnetlink.h>` (not in Glibc's module).
    static let netlinkRoute: Int32 = 0
    static let rtmgrpLink: UInt32 = 0x1
    static let rtmgrpIPv4Route: UInt32 = 0x40
    static let rtmgrpIPv6Route: UInt32 = 0x400

    /// `struct sockaddr_nl` from `<linux/netlink.h>`.
    struct NetlinkAddress {
        var family: UInt16 = UInt16(AF_NETLINK)
        var pad: UInt16 = 0
        var pid: UInt32 = 0
        var groups: UInt32 = 0
    }

    static func openNetlink() -> Int32 {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkRoute)
        guard fd >= 0 else { return -1 }
        var address = NetlinkAddress()
        address.groups = rtmgrpLink | rtmgrpIPv4Route | rtmgrpIPv6Route
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<NetlinkAddress>.size))
            }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            errno = e
            return -1
        }
        return fd
    }

    /// An inotify descriptor watching the folders, and each watch descriptor's file names.
    static func openInotify(_ watched: [String: Set<String>]) -> (Int32, [Int32: Set<String>]) {
        guard !watched.isEmpty else { return (-1, [:]) }
        let fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { return (-1, [:]) }
        var names: [Int32: Set<String>] = [:]
        let mask = UInt32(IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)
        for (dir, files) in watched {
            let wd = inotify_add_watch(fd, dir, mask)
            if wd >= 0 { names[wd, default: []].formUnion(files) }
        }
        if names.isEmpty {
            close(fd)
            return (-1, [:])
        }
        return (fd, names)
    }

    /// The blocking loop: returns when `stop` is readable.
    static func watch(netlink: Int32, inotify: Int32, names: [Int32: Set<String>], stop: Int32, trigger: SyncTrigger) {
        var fds = [pollfd(fd: stop, events: Int16(POLLIN), revents: 0)]
        if netlink >= 0 { fds.append(pollfd(fd: netlink, events: Int16(POLLIN), revents: 0)) }
        if inotify >= 0 { fds.append(pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)) }
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = poll(&fds, nfds_t(fds.count), -1)
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[0].revents != 0 { return }
            for i in 1..<fds.count where fds[i].revents != 0 {
                let got = read(fds[i].fd, &buf, buf.count)
                guard got > 0 else { continue }
                if fds[i].fd == netlink {
                    trigger.post(.network)
                } else if matches(buf[..<got], names: names) {
                    trigger.post(.storeChanged)
                }
            }
        }
    }

    /// Whether a read of `struct inotify_event`s names one of the watched files.
    static func matches(_ events: ArraySlice<UInt8>, names: [Int32: Set<String>]) -> Bool {
        var offset = events.startIndex
        let header = 16  // int wd; uint32_t mask, cookie, len; in host byte order
        while offset + header <= events.endIndex {
            func u32(_ at: Int) -> UInt32 {
                events[at..<(at + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            }
            let wd = Int32(bitPattern: u32(offset))
            let length = Int(u32(offset + 12))
            let nameStart = offset + header
            let nameEnd = min(nameStart + length, events.endIndex)
            let name = String(decoding: events[nameStart..<nameEnd].prefix { $0 != 0 }, as: UTF8.self)
            if names[wd]?.contains(name) == true { return true }
            offset = nameStart + length
        }
        return false
    }
}
