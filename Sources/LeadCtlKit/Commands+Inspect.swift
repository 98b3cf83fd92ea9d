import ArgumentParser
import LeadCore
import LeadStore

struct Status: LeadCtlSubcommand {
    static let configuration = CommandConfiguration(
        abstract: "Leads, per-sink pending/synced/rejected/dead, sink state and last error, and each scanner."
    )
    @ParentCommand var root: LeadCtl
    @Flag(help: "One JSON document on stdout.") var json = false

    func run() throws {
        let ctx = try open()
        let status = try ctx.store.status()
        let scanners = try ScannerReport.statuses(ctx)
        let unresolved = try ctx.store.unresolvedLeadCount()
        if json {
            var w = JSONWriter()
            w.beginObject()
            w.member("leads", status.leads)
            w.member("leads_today", status.leadsToday)
            w.member("duplicates", status.duplicates)
            w.member("unsynced", status.unsynced)
            w.member("event", ctx.config.kiosk.event)
            w.member("kiosk", ctx.config.kiosk.id)
            w.member("database", ctx.databasePath)
            w.key("sinks")
            w.beginArray()
            for s in status.sinks {
                w.beginObject()
                w.member("name", s.name)
                w.member("pending", s.pending + s.sending)
                w.member("sending", s.sending)
                w.member("synced", s.synced)
                w.member("rejected", s.rejected)
                w.member("dead", s.dead)
                w.member("state", s.state)
                w.member("state_reason", s.stateReason)
                w.key("backoff_until")
                w.string(orNull: s.backoffUntil?.rfc3339)
                w.key("last_success")
                w.string(orNull: s.lastSuccess?.rfc3339)
                w.member("last_error", s.lastError)
                w.endObject()
            }
            w.endArray()
            ScannerReport.writeJSON(scanners, unresolved: unresolved, to: &w)
            w.endObject()
            print(String(decoding: w.bytes, as: UTF8.self))
            return
        }
        print("Event \(safe(ctx.config.kiosk.event)), kiosk \(safe(ctx.config.kiosk.id)) — \(ctx.databasePath)")
        print(
            "Leads: \(status.leads) (\(status.leadsToday) today, \(status.duplicates) duplicates), "
                + "\(status.unsynced) not yet synced everywhere"
        )
        defer { ScannerReport.printText(scanners, unresolved: unresolved) }
        if status.sinks.isEmpty {
            print("Sinks: none configured — leads stay on this kiosk until exported.")
            return
        }
        var rows = [["SINK", "STATE", "PENDING", "SYNCED", "REJECTED", "DEAD", "LAST SUCCESS", "LAST ERROR"]]
        for s in status.sinks {
            var state = s.state
            if let until = s.backoffUntil, s.state == "backoff" { state += " until " + LocalTime.format(until) }
            if let reason = s.stateReason, s.state == "paused" { state += ": " + reason }
            rows.append([
                safe(s.name), safe(state), "\(s.pending + s.sending)", "\(s.synced)", "\(s.rejected)", "\(s.dead)",
                s.lastSuccess.map { LocalTime.format($0) } ?? "never", safe(s.lastError ?? "—"),
            ])
        }
        print(table(rows))
    }
}

struct List: LeadCtlSubcommand {
    static let configuration = CommandConfiguration(abstract: "The newest leads first.")
    @ParentCommand var root: LeadCtl
    @Option(help: "Only leads with a delivery in this state: \(LeadFilter.states.joined(separator: ", ")).")
    var state: String?
    @Option(help: "At most this many leads.") var limit = 50
    @Flag(help: "One JSON document on stdout.") var json = false

    func validate() throws {
        if let state, !LeadFilter.states.contains(state) {
            throw ValidationError("unknown state \"\(state)\" (expected \(LeadFilter.states.joined(separator: ", ")))")
        }
        if limit < 0 { throw ValidationError("--limit must be 0 or more") }
    }

    func run() throws {
        let ctx = try open()
        let leads = try ctx.store.list(LeadFilter(state: state, limit: limit))
        if json {
            var out: [UInt8] = Array(#"{"leads":["#.utf8)
            for (i, entry) in leads.enumerated() {
                if i > 0 { out.append(0x2C) }
                LeadJSON.appendExportRecord(
                    entry.lead,
                    deliveries: entry.deliveries,
                    fieldOrder: ctx.fieldNames,
                    to: &out
                )
            }
            out.append(contentsOf: Array("]}".utf8))
            print(String(decoding: out, as: UTF8.self))
            return
        }
        if leads.isEmpty {
            print("No leads\(state.map { " in state \($0)" } ?? "").")
            return
        }
        var rows = [["ID", "CAPTURED", "CHANNEL", "NAME", "EMAIL", "RATING", "SYNC"]]
        for (lead, deliveries) in leads {
            let name = [lead.fields["first_name"], lead.fields["last_name"]].compactMap { $0 }.joined(separator: " ")
            rows.append([
                lead.id, LocalTime.format(lead.capturedAt, seconds: false), lead.channel.rawValue, safe(name),
                safe(lead.fields["email"] ?? ""), lead.rating?.rawValue ?? "", Show.syncSummary(deliveries, lead),
            ])
        }
        print(table(rows))
    }
}

struct Show: LeadCtlSubcommand {
    static let configuration = CommandConfiguration(abstract: "One lead in full.")
    @ParentCommand var root: LeadCtl
    @Argument(help: "The lead id (or a unique prefix of 8+ characters).") var leadID: String
    @Flag(help: "The lead as one JSON document (the JSON Lines export shape).") var json = false

    static func syncSummary(_ deliveries: [DeliveryInfo], _ lead: Lead) -> String {
        // A rejected lead says why (the receiver's or CRM's reason), so `list --state rejected` needs no `show`.
        var parts = deliveries.map { d in
            d.state == "rejected"
                ? "\(d.sink): rejected (\(d.lastError ?? "no reason given"))" : "\(d.sink): \(d.state)"
        }
        if lead.duplicateOf != nil { parts.append("duplicate") }
        return parts.isEmpty ? "local only" : safe(parts.joined(separator: ", "))
    }

    func run() throws {
        let ctx = try open()
        guard let lead = try ctx.store.lead(id: leadID) else {
            throw CLIError.failure("no lead with id \(safe(leadID))")
        }
        let deliveries = try ctx.store.deliveries(leadID: lead.id)
        if json {
            var out: [UInt8] = []
            LeadJSON.appendExportRecord(lead, deliveries: deliveries, fieldOrder: ctx.fieldNames, to: &out)
            print(String(decoding: out, as: UTF8.self))
            return
        }
        var rows: [[String]] = [
            ["Lead", lead.id], ["Revision", "\(lead.revision)"],
            ["Captured", LocalTime.format(lead.capturedAt) + " (\(lead.capturedAt.rfc3339))"],
            ["Event", safe(lead.event)], ["Kiosk", safe(lead.kiosk)],
            ["Channel", lead.channel.rawValue + (lead.device.map { " (\(safe($0)))" } ?? "")],
        ]
        let known = ctx.fieldNames
        for name in known + lead.fields.keys.filter({ !known.contains($0) }).sorted() {
            guard let value = lead.fields[name] else { continue }
            let label = ctx.form.field(named: name)?.label.text(for: ctx.config.kiosk.language) ?? name
            rows.append([safe(label), safe(value)])
        }
        if let c = lead.consent {
            rows.append([
                "Consent",
                (c.given ? "given " : "refused ") + LocalTime.format(c.at) + " [\(c.language)] sha256 \(c.textSHA256)",
            ])
        } else {
            rows.append(["Consent", "none recorded"])
        }
        rows.append(["Rating", lead.rating?.rawValue ?? "none"])
        if let badge = lead.badgeID { rows.append(["Badge", safe(badge)]) }
        if let dup = lead.duplicateOf { rows.append(["Duplicate of", dup]) }
        for d in deliveries {
            var text = d.state + " (attempts \(d.attempts))"
            if let r = d.remoteID { text += ", remote id \(safe(r))" }
            if let e = d.lastError { text += ", last error: \(safe(e))" }
            rows.append(["Sink \(safe(d.sink))", text])
        }
        print(table(rows))
        if !lead.notes.isEmpty {
            print("Notes:")
            for line in lead.notes.split(separator: "\n", omittingEmptySubsequences: false) {
                print("  " + safe(String(line)))
            }
        }
    }
}
