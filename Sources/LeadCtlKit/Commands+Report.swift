import ArgumentParser
import LeadCore
import LeadStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct Stats: LeadCtlSubcommand {
    static let configuration = CommandConfiguration(
        abstract: "Leads by channel, rating and hour; the form funnel; cost per lead with --cost."
    )
    @ParentCommand var root: LeadCtl
    @Option(help: "What the event cost, to compute the cost per lead (CPL).") var cost: Double?
    @Flag(help: "One JSON document on stdout.") var json = false

    func validate() throws {
        if let cost, !(cost >= 0) || !cost.isFinite { throw ValidationError("--cost must be a number, 0 or more") }
    }

    func run() throws {
        let ctx = try open(readOnly: true)
        let s = try ctx.store.stats(cost: cost)
        if json {
            var w = JSONWriter()
            w.beginObject()
            w.member("leads", s.leads)
            w.member("stored", s.stored)
            w.member("duplicates", s.duplicates)
            w.key("by_channel")
            w.beginObject()
            for (k, v) in s.byChannel { w.member(k, v) }
            w.endObject()
            w.key("by_rating")
            w.beginObject()
            for (k, v) in s.byRating { w.member(k, v) }
            w.endObject()
            w.key("per_hour")
            w.beginArray()
            for (hour, n) in s.perHour {
                w.beginObject()
                w.member("hour", hour)
                w.member("leads", n)
                w.endObject()
            }
            w.endArray()
            w.member("form_views", s.formViews)
            w.member("form_started", s.formStarted)
            w.member("form_submitted", s.formSubmitted)
            w.member("form_abandoned", s.formAbandoned)
            w.key("conversion")
            if let c = s.conversion { w.double(c) } else { w.null() }
            if let cost {
                w.key("cost")
                w.double(cost)
                w.key("cpl")
                if let cpl = s.costPerLead { w.double(cpl) } else { w.null() }
            }
            w.endObject()
            print(String(decoding: w.bytes, as: UTF8.self))
            return
        }
        print("Leads: \(s.leads) (\(s.stored) stored, \(s.duplicates) duplicates counted once)")
        if !s.byChannel.isEmpty {
            print("By channel: " + s.byChannel.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
        }
        if !s.byRating.isEmpty {
            print("By rating:  " + s.byRating.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
        }
        let conversion = s.conversion.map { Stats.percent($0) } ?? "—"
        print(
            "Form: \(s.formViews) shown, \(s.formStarted) started, \(s.formSubmitted) submitted, "
                + "\(s.formAbandoned) abandoned; conversion \(conversion)"
        )
        if let cost {
            print(
                "Cost per lead: " + (s.costPerLead.map { Stats.money($0) } ?? "— (no leads)")
                    + " (cost \(Stats.money(cost)))"
            )
        }
        if !s.perHour.isEmpty {
            print("Leads per hour:")
            print(Stats.barChart(s.perHour, width: 40))
        }
    }

    static func percent(_ v: Double) -> String {
        let tenths = Int((v * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }

    static func money(_ v: Double) -> String {
        let cents = Int((v * 100).rounded())
        let c = cents % 100
        return "\(cents / 100).\(c < 10 ? "0" : "")\(c)"
    }

    /// One line per hour: local time, a bar scaled to the busiest hour, the count.
    static func barChart(_ hours: [(Timestamp, Int)], width: Int) -> String {
        let peak = max(1, hours.map(\.1).max() ?? 1)
        return hours.map { hour, n in
            let cells = max(n > 0 ? 1 : 0, n * width / peak)
            return "  \(LocalTime.format(hour, seconds: false)) \(String(repeating: "█", count: cells)) \(n)"
        }.joined(separator: "\n")
    }
}

struct Attendees: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The attendee list that turns a scanned badge id into a full lead offline.",
        subcommands: [ImportList.self]
    )
    @ParentCommand var root: LeadCtl

    struct ImportList: LeadCtlSubcommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Replace the attendee list with a CSV: a badge id column plus any fields."
        )
        @ParentCommand var group: Attendees
        var root: LeadCtl { group.root }
        @Argument(help: "The CSV file; its header names the columns.") var file: String

        func run() throws {
            let ctx = try open(create: true)
            let input = try InputFile(path: file)
            var reader = CSVReader(chunks: { try input.read() })
            guard let header = try reader.nextRecord() else { throw CLIError.failure("\(file): empty file") }
            let mapped = header.map { AttendeeColumns.fieldName(for: $0, form: ctx.form) }
            guard let badgeColumn = mapped.firstIndex(of: AttendeeColumns.badge) else {
                throw CLIError.failure(
                    "\(file): no badge id column (name one of: \(AttendeeColumns.badgeNames.joined(separator: ", ")))"
                )
            }
            var attendees: [(badgeID: String, fields: [String: String])] = []
            var skipped = 0
            while let row = try reader.nextRecord() {
                guard badgeColumn < row.count else {
                    skipped += 1
                    continue
                }
                let badge = TextSanitizer.clean(row[badgeColumn], multiline: false)
                guard !badge.isEmpty else {
                    skipped += 1
                    continue
                }
                var fields: [String: String] = [:]
                for (i, name) in mapped.enumerated() where i != badgeColumn && i < row.count {
                    let field = ctx.form.field(named: name)
                    var value = TextSanitizer.clean(row[i], multiline: field?.type == .multiline)
                    if field?.type == .email { value = EmailAddress.normalize(value) ?? value }
                    if field?.type == .phone {
                        value = PhoneNumber.normalize(value, defaultCountry: ctx.config.kiosk.country) ?? value
                    }
                    if !value.isEmpty { fields[name] = value }
                }
                attendees.append((badge, fields))
            }
            let n = try ctx.store.replaceAttendees(attendees)
            print(
                "\(n) attendees imported (the previous list was replaced)"
                    + (skipped > 0 ? "; \(skipped) rows without a badge id skipped" : "")
            )
            // Badge scans the previous list did not know become full leads now (new revision, queued again).
            let validator = LeadValidator(form: ctx.form, country: ctx.config.kiosk.country)
            let resolved = try ctx.store.resolveUnresolvedLeads(validator: validator)
            if !resolved.isEmpty { print("\(resolved.count) unresolved badge scans completed from the list") }
        }
    }
}

/// Header names of attendee lists mapped to form field names.
enum AttendeeColumns {
    static let badge = "\u{0}badge"
    static let badgeNames = ["badge", "badge id", "badge number", "barcode", "registration id", "id"]
    static let synonyms: [String: String] = [
        "first name": "first_name", "firstname": "first_name", "given name": "first_name", "имя": "first_name",
        "last name": "last_name", "lastname": "last_name", "surname": "last_name", "family name": "last_name",
        "фамилия": "last_name", "e mail": "email", "email address": "email", "mail": "email", "почта": "email",
        "phone number": "phone", "mobile": "phone", "tel": "phone", "telephone": "phone", "телефон": "phone",
        "organization": "company", "organisation": "company", "org": "company", "компания": "company",
        "title": "job_title", "job title": "job_title", "position": "job_title", "должность": "job_title",
    ]

    static func fieldName(for header: String, form: FormSpec) -> String {
        // "First-Name", "first_name", " First  name " all read as "first name".
        let h = header.lowercased().split(whereSeparator: { $0 == " " || $0 == "_" || $0 == "-" || $0 == "\u{FEFF}" })
            .joined(separator: " ")
        if badgeNames.contains(h) { return badge }
        let underscored = h.split(separator: " ").joined(separator: "_")
        if form.field(named: underscored) != nil { return underscored }
        if let s = synonyms[h] { return s }
        for f in form.fields {
            let labels = [f.label.base] + f.label.translations.values
            if labels.contains(where: { $0.lowercased() == h }) { return f.name }
        }
        return underscored
    }
}
