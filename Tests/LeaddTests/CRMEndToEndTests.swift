import Foundation
import LeadCore
import LeaddTesting
import Testing

/// The built `leadctl` against each CRM's contract server: `doctor` proves the credential with one call,
/// `sync` delivers, and `list --state rejected` shows the CRM's own reason for the lead it refused.
@Suite struct CRMEndToEndTests {
    enum CRM: String, CaseIterable, Sendable {
        case hubspot, bitrix24, amocrm
    }

    /// The contract server (kept alive by the test), the `[Sink]` keys and the credential for `crm`.
    static func serve(_ crm: CRM) throws -> (server: AnyObject, keys: String, secret: String, reason: String) {
        switch crm {
        case .hubspot:
            let s = try HubSpotContractServer(token: "pat-e2e")
            return (s, "URL=\(s.baseURL)", "pat-e2e", "INVALID_EMAIL")
        case .bitrix24:
            let s = try Bitrix24ContractServer()
            return (s, "", s.webhookURL, "incorrect E-mail address")
        case .amocrm:
            let s = try KommoContractServer(token: "amo-e2e")
            return (s, "URL=\(s.baseURL)", "amo-e2e", "InvalidEmail")
        }
    }

    /// `runLeadctl` on a thread of its own: waiting for the process must not hold a cooperative thread.
    func leadctl(_ config: String, _ args: [String]) async throws -> (status: Int32, out: String) {
        try await onOwnThread { try runLeadctl(config: config, args) }
    }

    @Test(arguments: CRM.allCases)
    func doctorSyncAndListShowTheCRMsReason(crm: CRM) async throws {
        let dir = TemporaryDirectory("leadd-crm")
        defer { dir.remove() }
        let (server, keys, secret, reason) = try Self.serve(crm)
        defer { withExtendedLifetime(server) {} }
        try (secret + "\n").write(toFile: dir.path + "/token", atomically: true, encoding: .utf8)
        let config = dir.path + "/leadd.conf"
        try """
        [Kiosk]
        ID=booth-crm
        Event=expo-crm
        DataDirectory=\(dir.path)/data
        [Terminal]
        TTY=none
        [Sink]
        Name=crm
        Type=\(crm.rawValue)
        SecretFile=\(dir.path)/token
        RatePerSec=100
        \(keys)
        """.write(toFile: config, atomically: true, encoding: .utf8)
        #expect(try await leadctl(config, ["config", "check"]).status == 0)
        let doctor = try await leadctl(config, ["doctor"])
        #expect(doctor.out.contains("ok   sink crm:") && doctor.out.contains("credential works"), "\(doctor.out)")
        for (i, email) in ["ann@example.com", "nobody@example.invalid", "bob@example.com"].enumerated() {
            let add = try await leadctl(config, ["add", "first_name=P\(i)", "email=\(email)", "--consent"])
            #expect(add.status == 0)
        }
        let sync = try await leadctl(config, ["sync"])
        #expect(sync.out.contains("2 synced, 1 rejected"), "\(sync.out)")
        let list = try await leadctl(config, ["list", "--state", "rejected"])
        #expect(list.out.contains("nobody@example.invalid"))
        #expect(list.out.contains("crm: rejected (") && list.out.contains(reason), "\(list.out)")
        #expect(!list.out.contains("ann@example.com"))

        // A wrong credential: doctor fails and says why, without the secret.
        try "wrong-\(crm.rawValue)\n".write(toFile: dir.path + "/token", atomically: true, encoding: .utf8)
        let bad = try await leadctl(config, ["doctor"])
        #expect(bad.status == 1)
        #expect(bad.out.contains("FAIL sink crm:"), "\(bad.out)")
        #expect(!bad.out.contains(secret))
    }
}
