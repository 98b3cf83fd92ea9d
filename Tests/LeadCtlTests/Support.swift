import Foundation
import Testing

/// What one run of the built `leadctl` binary did.
struct CLIResult {
    var status: Int32
    var stdout: Data
    var stderr: Data

    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }

    /// stdout parsed as one JSON object.
    func json() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: stdout)
        return try #require(object as? [String: Any], "stdout is not a JSON object: \(out)")
    }
}

enum LeadctlBinary {
    /// The `leadctl` built beside the test bundle (`.build*/debug/leadctl`): SwiftPM builds it first because
    /// the test target depends on it.
    static let path: String? = {
        let fm = FileManager.default
        var candidates: [String] = []
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(
                URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("leadctl").path
            )
        }
        if let bundle = CommandLine.arguments.first {
            candidates.append(
                URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("leadctl").path
            )
        }
        // Tests/LeadCtlTests/Support.swift → the package root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/leadctl").path)
        return candidates.first { fm.isExecutableFile(atPath: $0) }
    }()
}

/// A fresh temporary directory for one test: the databases, config files and command outputs live here.
struct Sandbox {
    let dir: String

    /// The database a config written by `writeConfig` points at.
    var configuredDB: String { dir + "/state/leads.sqlite3" }
    var configPath: String { dir + "/leadd.conf" }

    /// Writes `leadd.conf` with `[Kiosk]` (event, kiosk id, data directory under the sandbox, `Country=RU`)
    /// plus `extra` (more sections).
    @discardableResult
    func writeConfig(country: String? = "RU", extra: String = "") throws -> String {
        var text = """
            # leadd test config
            [Kiosk]
            ID=booth-1
            Event=Expo 2026
            DataDirectory=\(dir)/state

            """
        if let country { text += "Country=\(country)\n" }
        text += extra
        try write(text, to: configPath)
        return configPath
    }

    func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// Runs `leadctl` with `arguments` in the sandbox and a minimal environment (no `STATE_DIRECTORY`) plus
    /// `environment`.
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CLIResult {
        let binary = try #require(LeadctlBinary.path, "leadctl is not built beside the tests")
        let id = UUID().uuidString
        let outPath = dir + "/.stdout-\(id)"
        let errPath = dir + "/.stderr-\(id)"
        // Files, not pipes: a chatty command can never block on a full pipe while the test waits for it.
        #expect(FileManager.default.createFile(atPath: outPath, contents: nil))
        #expect(FileManager.default.createFile(atPath: errPath, contents: nil))
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        process.environment = ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": dir, "TZ": "UTC"]
            .merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return CLIResult(
            status: process.terminationStatus,
            stdout: try bytes(outPath),
            stderr: try bytes(errPath)
        )
    }

    /// Runs `leadctl` and requires exit status 0.
    @discardableResult
    func ok(
        _ arguments: [String],
        environment: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> CLIResult {
        let result = try run(arguments, environment: environment)
        #expect(
            result.status == 0,
            "leadctl \(arguments.joined(separator: " ")): \(result.err)",
            sourceLocation: sourceLocation
        )
        return result
    }

    /// `leadctl add` of a valid lead; returns its id.
    @discardableResult
    func add(_ db: [String], _ fields: [String], extra: [String] = []) throws -> String {
        let result = try ok(db + ["add"] + fields + ["--consent", "--json"] + extra)
        return try #require(try result.json()["lead_id"] as? String)
    }
}

/// Runs `body` in a fresh sandbox directory and removes it afterwards, whatever happens.
func withSandbox<T>(_ body: (Sandbox) throws -> T) throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("leadctl-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(Sandbox(dir: dir))
}

/// Lines of a JSON Lines document, each parsed.
func jsonLines(_ data: Data) throws -> [[String: Any]] {
    try data.split(separator: 0x0A).map { line in
        try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
    }
}

/// Whether `data` contains `needle` as a byte sequence.
func contains(_ data: Data, _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, data.count >= needle.count else { return false }
    return data.withUnsafeBytes { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        for i in 0...(bytes.count - needle.count) where bytes[i] == needle[0] {
            if needle.indices.allSatisfy({ bytes[i + $0] == needle[$0] }) { return true }
        }
        return false
    }
}
