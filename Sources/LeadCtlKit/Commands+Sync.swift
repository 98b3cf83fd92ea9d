import ArgumentParser
import LeadCore
import LeadStore
import LeadSync

struct Sync: LeadCtlSubcommand {
    static let configuration = CommandConfiguration(
        abstract: "A sync pass now, from this process.",
        discussion: """
            Resumes the sink (a pause, a backoff or a Retry-After wait ends: you asked) and sends what is queued.
            A running leadd is not disturbed: a batch it is sending stays its own (the database holds the lease),
            and it wakes up on this command's writes. Exit 1 when a sink is left paused or failing.
            """
    )
    @ParentCommand var root: LeadCtl
    @Option(help: ArgumentHelp("Only this sink (its Name=).", valueName: "NAME")) var sink: String?
    @Flag(help: "Wait for a batch another process is sending to finish, then go on.") var wait = false

    func run() throws {
        let ctx = try open()
        var sinks = ctx.config.sinks
        if let sink {
            sinks = sinks.filter { $0.name == sink }
            guard !sinks.isEmpty else {
                let known = ctx.config.sinks.map(\.name)
                throw CLIError.usage(
                    "no sink named \(safe(sink)) in the config"
                        + (known.isEmpty ? " (none configured)" : " (configured: \(known.joined(separator: ", ")))")
                )
            }
        }
        guard !sinks.isEmpty else {
            print("No sinks configured: leads stay on this kiosk until exported.")
            return
        }
        let environment = SyncEnvironment(
            databasePath: ctx.databasePath,
            credentialsDirectory: Context.environment["CREDENTIALS_DIRECTORY"],
            appVersion: LeadCtl.version
        )
        let reports = try ManualSync.run(
            sinks: sinks,
            config: ctx.config,
            environment: environment,
            store: ctx.store,
            wait: wait,
            deadline: wait ? Timestamp.now().adding(seconds: 600) : nil
        )
        let status = try ctx.store.status()
        var failed = false
        for r in reports {
            let s = status.sinks.first { $0.name == r.sink }
            let pending = s.map { $0.pending + $0.sending } ?? 0
            var line =
                "\(safe(r.sink)): \(r.synced) synced, \(r.rejected) rejected, \(r.retried) to retry; \(pending) pending"
            switch r.stop {
            case .idle: line += " — ok"
            case .heldElsewhere:
                line += " — another process (leadd) is sending this sink's batch and carries on"
            case .waiting(let until, let reason):
                line += " — backoff until \(LocalTime.format(until)): \(safe(reason))"
                failed = true
            case .paused(let reason):
                line += " — paused: \(safe(reason))"
                failed = true
            case .failed(let error):
                line += " — failed: \(safe(error))"
                failed = true
            case .cancelled:
                line += " — interrupted"
                failed = true
            }
            print(line)
        }
        if failed { throw ExitCode(1) }
    }
}
