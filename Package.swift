// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "leadd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "leadd", targets: ["leadd"]),
        .executable(name: "leadctl", targets: ["leadctl"]),
        .executable(name: "leadd-bench", targets: ["leadd-bench"]),
        .library(name: "LeadCore", targets: ["LeadCore"]),
        .library(name: "LeadStore", targets: ["LeadStore"]),
        .library(name: "LeadSync", targets: ["LeadSync"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        // System C libraries (Debian -dev packages; present on Raspberry Pi OS).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // libcurl is loaded with dlopen on first use (Sources/CCurl/loader.c), not linked: only its headers are
        // needed to build (libcurl4-openssl-dev), and libcurl4 at run time only for network sinks.
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl")]),
        // HMAC-SHA256 from libcrypto, loaded the same way (Sources/CCrypto/loader.c); COpenSSL, which links
        // libcrypto, is for the tests' independent reference implementations only.
        .target(name: "CCrypto", linkerSettings: [.linkedLibrary("dl")]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // ncursesw.pc adds -D_XOPEN_SOURCE flags SwiftPM rejects; the headers are in /usr/include anyway.
        .systemLibrary(name: "CNcurses", providers: [.apt(["libncurses-dev"])]),

        .target(name: "LeadCore"),
        .target(name: "LeadStore", dependencies: ["LeadCore", "CSQLite"]),
        .target(
            name: "LeadCapture",
            dependencies: [
                "LeadCore", "LeadStore", "CNcurses",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Systemd",
            dependencies: [
                "CSystemd",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "LeaddKit",
            dependencies: [
                "LeadCore", "LeadStore", "LeadCapture", "Systemd", "LeadSync",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(name: "leadd", dependencies: ["LeaddKit"]),
        .target(
            name: "LeadSync",
            dependencies: [
                "LeadCore", "LeadStore", "CCurl", "CCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "LeadCtlKit",
            dependencies: [
                "LeadCore", "LeadStore", "LeadSync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "leadctl", dependencies: ["LeadCtlKit"]),
        .executableTarget(
            name: "leadd-bench",
            dependencies: [
                "LeadCore", "LeadStore", "CSQLite", "LeaddTesting", "LeadCapture",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/leadd-bench"
        ),

        // Test support: a real pseudo-terminal driver, a notify socket, process helpers (may use Foundation).
        .target(name: "LeaddTesting", dependencies: ["LeadCore", "CSQLite", "COpenSSL"], path: "Tests/LeaddTesting"),
        .testTarget(name: "LeadCoreTests", dependencies: ["LeadCore"]),
        .testTarget(name: "LeadCaptureTests", dependencies: ["LeadCapture", "LeadCore", "LeadStore", "LeaddTesting"]),
        .testTarget(name: "SystemdTests", dependencies: ["Systemd", "LeaddTesting"]),
        .testTarget(
            name: "LeaddTests",
            dependencies: ["LeaddKit", "LeadCore", "LeadStore", "LeadSync", "LeaddTesting", "leadd", "leadctl"]
        ),
        .testTarget(
            name: "LeadSyncTests",
            dependencies: [
                "LeadSync", "LeadCore", "LeadStore", "LeaddTesting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "LeadStoreTests", dependencies: ["LeadCore", "LeadStore", "CSQLite", "LeaddTesting"]),
        .testTarget(
            name: "LeadCtlTests",
            dependencies: ["LeadCtlKit", "LeadCore", "LeadStore", "LeaddTesting", "leadctl"]
        ),
        .testTarget(
            name: "SystemLibraryTests",
            dependencies: ["CSQLite", "CSystemd", "CCurl", "CCrypto", "COpenSSL", "CNcurses"]
        ),
    ]
)

for target in package.targets where [.executable, .test, .regular].contains(target.type) {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
