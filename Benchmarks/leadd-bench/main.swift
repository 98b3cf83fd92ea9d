// leadd benchmarks (`make bench`, release build). Prints each figure beside its bar from DESIGN.md and the
// baseline it is compared with in the same run. Not a test: it never fails the build, it reports.
import CSQLite
import Foundation
import LeadCore
import LeadStore
import LeaddTesting

let args = CommandLine.arguments
let leadctlPath = URL(fileURLWithPath: args[0]).deletingLastPathComponent().appendingPathComponent("leadctl").path
let workDir = ProcessInfo.processInfo.environment["BENCH_DIR"] ?? FileManager.default.currentDirectoryPath + "/.build/bench-data"
let exportCount = Int(ProcessInfo.processInfo.environment["BENCH_LEADS"] ?? "") ?? 1_000_000
let captureCount = Int(ProcessInfo.processInfo.environment["BENCH_CAPTURES"] ?? "") ?? 400

try? FileManager.default.removeItem(atPath: workDir)
try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func fmt(_ v: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", v) }

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s[s.count / 2]
}

/// Runs a program, returning wall seconds and peak RSS (KiB) from wait4's rusage.
@discardableResult
func spawn(_ path: String, _ arguments: [String], stdout: String? = nil) -> (seconds: Double, maxRSSKiB: Int, status: Int32) {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    if let stdout { posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    var pid: pid_t = 0
    let start = now()
    let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
    precondition(rc == 0, "cannot start \(path): \(String(cString: strerror(rc)))")
    var status: Int32 = 0
    var usage = rusage()
    wait4(pid, &status, 0, &usage)
    let elapsed = now() - start
    for p in argv { free(p) }
    posix_spawn_file_actions_destroy(&actions)
    return (elapsed, Int(usage.ru_maxrss), (status >> 8) & 0xFF)
}

func sqliteOpen(_ path: String) -> OpaquePointer {
    var db: OpaquePointer?
    precondition(sqlite3_open(path, &db) == SQLITE_OK)
    return db!
}

func exec(_ db: OpaquePointer, _ sql: String) {
    precondition(sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK, String(cString: sqlite3_errmsg(db)))
}

print("leadd benchmarks — release build, \(ProcessInfo.processInfo.activeProcessorCount) cores, data in \(workDir)")
print("")

// A realistic lead.
let firstNames = ["Анна", "Иван", "John", "María", "Chen", "Olga", "Peter", "Fatima"]
let companies = ["ООО Ромашка", "Acme Corp", "Globex, Inc.", "Initech", "Umbrella \"Bio\""]
func makeLead(_ i: Int, at time: Timestamp) -> Lead {
    Lead(
        id: LeadID.make(at: time), event: "expo-2026", kiosk: "booth-a1", capturedAt: time,
        channel: i % 3 == 0 ? .scanner : .keyboard,
        fields: [
            "first_name": firstNames[i % firstNames.count], "last_name": "Petrova-\(i)",
            "email": "visitor\(i)@example.com", "phone": "+7916\(1_000_000 + i % 9_000_000)",
            "company": companies[i % companies.count], "job_title": "Head of Procurement", "interest": "pricing",
        ],
        consent: Consent(
            given: true, textSHA256: SHA256.hex("consent"), language: "ru", at: time),
        rating: i % 4 == 0 ? .hot : nil, notes: i % 10 == 0 ? "wants a demo, call after 5pm" : "")
}

// 1. Durable capture vs a raw single-row insert, same mode, same disk, same run.
do {
    let form = FormSpec.default
    let storePath = workDir + "/capture.sqlite3"
    let store = try LeadStore(path: storePath)
    try store.ensureSinks(["crm"])
    let rawPath = workDir + "/raw.sqlite3"
    let raw = sqliteOpen(rawPath)
    exec(raw, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
    exec(raw, "CREATE TABLE leads (seq INTEGER PRIMARY KEY, lead_id TEXT UNIQUE, captured_at INTEGER, fields TEXT)")
    var stmt: OpaquePointer?
    sqlite3_prepare_v2(raw, "INSERT INTO leads (lead_id, captured_at, fields) VALUES (?, ?, ?)", -1, &stmt, nil)
    var captureTimes: [Double] = []
    var rawTimes: [Double] = []
    // Interleave in blocks so that disk and cache drift hit both sides alike.
    let block = 20
    var i = 0
    while i < captureCount {
        for _ in 0..<block {
            let lead = makeLead(i, at: .now())
            let t0 = now()
            try store.capture(lead, form: form)
            captureTimes.append(now() - t0)
            i += 1
        }
        for j in 0..<block {
            let id = LeadID.make()
            let fields = "{\"email\":\"raw\(i + j)@example.com\",\"first_name\":\"Анна\"}"
            let t0 = now()
            sqlite3_bind_text(stmt, 1, id, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            sqlite3_bind_int64(stmt, 2, Timestamp.now().milliseconds)
            sqlite3_bind_text(stmt, 3, fields, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            precondition(sqlite3_step(stmt) == SQLITE_DONE)
            sqlite3_reset(stmt)
            rawTimes.append(now() - t0)
        }
    }
    sqlite3_finalize(stmt)
    sqlite3_close(raw)
    let c = median(captureTimes) * 1000
    let r = median(rawTimes) * 1000
    let ratio = c / r
    print("durable capture of one lead (WAL, synchronous=FULL), median of \(captureCount):")
    print("  leadd capture \(fmt(c, 3)) ms  vs  raw sqlite3 single-row insert \(fmt(r, 3)) ms")
    print("  ratio \(fmt(ratio)) — bar ≤ 1.20: \(ratio <= 1.2 ? "MET" : "NOT MET")")
    print("")
}

// 2. Bulk import of a JSON Lines export, through the release leadctl.
let jsonlPath = workDir + "/leads.jsonl"
do {
    let t0 = now()
    var out = [UInt8]()
    out.reserveCapacity(1 << 20)
    _ = FileManager.default.createFile(atPath: jsonlPath, contents: nil)
    let fh = FileHandle(forWritingAtPath: jsonlPath)!
    let base = Timestamp.now().milliseconds - Int64(exportCount) * 100
    let names = FormSpec.default.fields.map(\.name)
    for i in 0..<exportCount {
        LeadJSON.appendExportRecord(makeLead(i, at: Timestamp(milliseconds: base + Int64(i) * 100)), deliveries: [], fieldOrder: names, to: &out)
        out.append(0x0A)
        if out.count > 1 << 20 {
            fh.write(Data(out))
            out.removeAll(keepingCapacity: true)
        }
    }
    fh.write(Data(out))
    try fh.close()
    print("generated \(exportCount) leads as JSON Lines in \(fmt(now() - t0, 1)) s")
}
let dbPath = workDir + "/bulk.sqlite3"
do {
    let r = spawn(leadctlPath, ["--db", dbPath, "import", jsonlPath], stdout: "/dev/null")
    precondition(r.status == 0, "leadctl import failed")
    let rate = Double(exportCount) / r.seconds
    // Baseline: the raw C API inserting the same number of rows of the same size in one transaction.
    let rawPath = workDir + "/raw-bulk.sqlite3"
    let raw = sqliteOpen(rawPath)
    exec(raw, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
    exec(raw, "CREATE TABLE leads (seq INTEGER PRIMARY KEY, lead_id TEXT UNIQUE, captured_at INTEGER, fields TEXT)")
    var stmt: OpaquePointer?
    sqlite3_prepare_v2(raw, "INSERT INTO leads (lead_id, captured_at, fields) VALUES (?, ?, ?)", -1, &stmt, nil)
    let fields = #"{"company":"Acme Corp","email":"visitor1@example.com","first_name":"Анна","interest":"pricing","job_title":"Head of Procurement","last_name":"Petrova-1","phone":"+79161000001"}"#
    let t0 = now()
    exec(raw, "BEGIN")
    for i in 0..<exportCount {
        let id = LeadID.make()
        sqlite3_bind_text(stmt, 1, id, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        sqlite3_bind_int64(stmt, 2, Int64(i))
        sqlite3_bind_text(stmt, 3, fields, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        precondition(sqlite3_step(stmt) == SQLITE_DONE)
        sqlite3_reset(stmt)
    }
    exec(raw, "COMMIT")
    let rawRate = Double(exportCount) / (now() - t0)
    sqlite3_finalize(stmt)
    sqlite3_close(raw)
    print("bulk import (leadctl import of a \(exportCount)-lead JSON Lines file: parse, validate ids, dedup, queue):")
    print("  \(Int(rate)) leads/s in \(fmt(r.seconds)) s, peak RSS \(r.maxRSSKiB / 1024) MiB — bar ≥ 100000 leads/s: \(rate >= 100_000 ? "MET" : "NOT MET")")
    print("  baseline: raw sqlite3 C API inserting \(exportCount) pre-built rows in one transaction: \(Int(rawRate)) rows/s")
    print("")
}

// 3. Export of the imported leads to CSV, through the release leadctl, vs the sqlite3 tool.
do {
    let csvPath = workDir + "/leads.csv"
    let r = spawn(leadctlPath, ["--db", dbPath, "export", "--format", "csv", "--out", csvPath])
    precondition(r.status == 0, "leadctl export failed")
    let size = (try? FileManager.default.attributesOfItem(atPath: csvPath)[.size] as? Int) ?? 0
    let small = spawn(leadctlPath, ["--db", dbPath, "export", "--format", "csv", "--since", "1h", "--out", workDir + "/small.csv"])
    print("export of \(exportCount) leads to CSV (leadctl export --format csv --out FILE):")
    print("  \(fmt(r.seconds)) s, \(size / 1_048_576) MiB written, peak RSS \(r.maxRSSKiB / 1024) MiB (an export of the last hour only: \(small.maxRSSKiB / 1024) MiB — memory flat) — bar ≤ 5 s: \(r.seconds <= 5 ? "MET" : "NOT MET")")
    let tool = "/usr/bin/sqlite3"
    if FileManager.default.isExecutableFile(atPath: tool) {
        let b = spawn(tool, ["-csv", "-header", dbPath, "SELECT lead_id, captured_at, event, kiosk, channel, fields, consent_given, rating, notes, duplicate_of FROM leads"], stdout: workDir + "/baseline.csv")
        print("  baseline: the sqlite3 tool dumping the same rows as CSV (fields left as JSON): \(fmt(b.seconds)) s")
    }
    print("")
}
// 4–6. The daemon: start to READY=1 with the bulk database, idle cost with the form on screen, binary size.
let leaddPath = URL(fileURLWithPath: leadctlPath).deletingLastPathComponent().appendingPathComponent("leadd").path
if FileManager.default.isExecutableFile(atPath: leaddPath) {
    let notifyPath = workDir + "/notify.sock"
    let notify = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
        for (i, b) in notifyPath.utf8.enumerated() { raw[i] = b }
    }
    _ = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(notify, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    // The form goes on a real pseudo-terminal, as on a kiosk console.
    var master: Int32 = 0
    var slave: Int32 = 0
    var size = winsize(ws_row: 30, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0)
    openpty(&master, &slave, nil, nil, &size)
    let ttyPath = String(cString: ttyname(slave))
    let masterFD = master
    let dataDir = (dbPath as NSString).deletingLastPathComponent
    let conf = workDir + "/leadd.conf"
    try "[Kiosk]\nEvent=expo-2026\nDataDirectory=\(dataDir)\n[Terminal]\nTTY=\(ttyPath)\nKiosk=yes\n"
        .write(toFile: conf, atomically: true, encoding: .utf8)
    // The bulk database from section 2 is leads.sqlite3's stand-in: leadd opens <DataDirectory>/leads.sqlite3.
    try? FileManager.default.removeItem(atPath: dataDir + "/leads.sqlite3")
    try FileManager.default.linkItem(atPath: dbPath, toPath: dataDir + "/leads.sqlite3")
    // Drain the pty so leadd never blocks writing the screen.
    let drain = Thread {
        var buf = [UInt8](repeating: 0, count: 65536)
        while read(masterFD, &buf, buf.count) > 0 {}
    }
    drain.start()
    var env = ProcessInfo.processInfo.environment
    env["NOTIFY_SOCKET"] = notifyPath
    env["TERM"] = "xterm"
    let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    let words: [String] = [leaddPath, "--config", conf]
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    var pid: pid_t = 0
    let start = now()
    posix_spawn(&pid, leaddPath, nil, nil, argv, envp)
    var ready: Double?
    var buf = [UInt8](repeating: 0, count: 4096)
    var pfd = pollfd(fd: notify, events: Int16(POLLIN), revents: 0)
    while ready == nil && now() - start < 10 {
        guard poll(&pfd, 1, 10_000) > 0 else { break }
        let n = recv(notify, &buf, buf.count, 0)
        if n > 0, String(decoding: buf[..<n], as: UTF8.self).split(separator: "\n").contains("READY=1") {
            ready = now() - start
        }
    }
    print("start to READY=1 with \(exportCount) leads in the database, form on a pty:")
    if let ready {
        print("  \(fmt(ready * 1000, 1)) ms — bar ≤ 200 ms: \(ready <= 0.2 ? "MET" : "NOT MET")")
    } else {
        print("  no READY=1 within 10 s — bar ≤ 200 ms: NOT MET")
    }
    print("")
    func procStatus(_ key: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" })[1]) ?? -1
        }
        return -1
    }
    let idleSeconds = Double(ProcessInfo.processInfo.environment["BENCH_IDLE"] ?? "") ?? 30
    Thread.sleep(forTimeInterval: 1)
    let switchesBefore = procStatus("voluntary_ctxt_switches") + procStatus("nonvoluntary_ctxt_switches")
    Thread.sleep(forTimeInterval: idleSeconds)
    let switchesAfter = procStatus("voluntary_ctxt_switches") + procStatus("nonvoluntary_ctxt_switches")
    let rss = procStatus("VmRSS")
    print("idle for \(Int(idleSeconds)) s with the form on screen:")
    print("  RSS \(fmt(Double(rss) / 1024, 1)) MiB — bar ≤ 20 MB: \(rss <= 20 * 1000 ? "MET" : "NOT MET")")
    print("  context switches while idle: \(switchesAfter - switchesBefore) (0 means no polling loop)")
    kill(pid, SIGTERM)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    print("  SIGTERM → exit status \((status >> 8) & 0xFF)")
    close(slave)
    close(master)
    close(notify)
    print("")
} else {
    print("leadd not built beside leadctl: start-up and idle figures skipped")
    print("")
}
if let stripped = ProcessInfo.processInfo.environment["BENCH_STRIPPED_LEADD"],
    let size = try? FileManager.default.attributesOfItem(atPath: stripped)[.size] as? Int
{
    print("release leadd, static Swift stdlib, stripped (\(stripped)):")
    print("  \(fmt(Double(size) / 1_048_576, 1)) MiB — bar ≤ 20 MB: \(size <= 20_000_000 ? "MET" : "NOT MET")")
    print("")
}
// 7. Sync drain: 100 000 queued leads to the loopback reference receiver, by the release `leadctl sync` (the
// engine leadd runs, default batch size) and by a minimal Python baseline (sqlite3 + http.client, batch 100).
do {
    let drainCount = Int(ProcessInfo.processInfo.environment["BENCH_DRAIN"] ?? "") ?? 100_000
    let drainDir = workDir + "/drain"
    try FileManager.default.createDirectory(atPath: drainDir, withIntermediateDirectories: true)
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    let secretPath = drainDir + "/secret"
    try (secret + "\n").write(toFile: secretPath, atomically: true, encoding: .utf8)
    // One queued database, copied for the baseline so that both start from the same bytes.
    let base = Timestamp.now().milliseconds - Int64(drainCount) * 100
    do {
        let store = try LeadStore(path: drainDir + "/leads.sqlite3")
        try store.ensureSinks(["bench"])
        let leads = (0..<drainCount).lazy.map { i in
            (makeLead(i, at: Timestamp(milliseconds: base + Int64(i) * 100)), [DeliveryInfo]())
        }
        _ = try store.importLeads(leads, form: .default)
    }
    try FileManager.default.copyItem(atPath: drainDir + "/leads.sqlite3", toPath: drainDir + "/baseline.sqlite3")
    func receiver(_ name: String) throws -> ReferenceReceiver {
        try ReferenceReceiver(secrets: [secret], databasePath: drainDir + "/" + name, recordBodies: false)
    }
    let forLeadd = try receiver("receiver-leadd.sqlite3")
    let conf = drainDir + "/leadd.conf"
    try """
    [Kiosk]
    ID=booth-bench
    Event=expo-2026
    DataDirectory=\(drainDir)
    [Terminal]
    TTY=none
    [Sink]
    Name=bench
    Type=webhook
    URL=\(forLeadd.url)
    SecretFile=\(secretPath)
    """.write(toFile: conf, atomically: true, encoding: .utf8)
    let r = spawn(leadctlPath, ["--config", conf, "sync"], stdout: drainDir + "/sync.out")
    let leaddStored = forLeadd.snapshot.stored.count
    let leaddReceiverMs = forLeadd.snapshot.requests.map { $0.endedAt - $0.startedAt }.reduce(0, +) * 1000
    forLeadd.stop()
    let rate = Double(drainCount) / r.seconds
    print("sync drain of \(drainCount) queued leads to the loopback reference receiver (leadctl sync, BatchSize=100):")
    print("  \(Int(rate)) leads/s in \(fmt(r.seconds)) s (exit \(r.status), receiver stored \(leaddStored)) "
        + "— bar ≥ 20000 leads/s: \(rate >= 20_000 && r.status == 0 && leaddStored == drainCount ? "MET" : "NOT MET")")
    print("  (the receiver's own work: \(fmt(leaddReceiverMs / 1000)) s of the \(fmt(r.seconds)) s)")
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("baseline_drain.py").path
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") {
        let forPython = try receiver("receiver-python.sqlite3")
        let b = spawn(
            "/usr/bin/python3", [script, drainDir + "/baseline.sqlite3", forPython.url, secretPath, "bench", "100"],
            stdout: drainDir + "/python.out")
        let pythonStored = forPython.snapshot.stored.count
        let pythonReceiverMs = forPython.snapshot.requests.map { $0.endedAt - $0.startedAt }.reduce(0, +) * 1000
        forPython.stop()
        let baseRate = Double(drainCount) / b.seconds
        print("  baseline: Benchmarks/baseline_drain.py (python3, sqlite3 + http.client, batch 100): "
            + "\(Int(baseRate)) leads/s in \(fmt(b.seconds)) s (exit \(b.status), receiver stored \(pythonStored); "
            + "the receiver's own work: \(fmt(pythonReceiverMs / 1000)) s)")
        print("  leadd / baseline: \(fmt(rate / baseRate))× — leadd must be faster: \(rate > baseRate ? "MET" : "NOT MET")")
    } else {
        print("  baseline skipped: no /usr/bin/python3")
    }
    print("")
}
try? FileManager.default.removeItem(atPath: workDir)
