import ArgumentParser
import LeadCore
import LeadStore

struct Add: LeadCtlSubcommand {
    static let configuration = CommandConfiguration(
        abstract: "Staff entry of a lead: same validation as the form; prints the new lead id."
    )
    @ParentCommand var root: LeadCtl
    @Argument(help: ArgumentHelp("Form fields, e.g. first_name=Anna email=anna@example.ru.", valueName: "FIELD=VALUE"))
    var assignments: [String] = []
    @Flag(help: "The visitor agreed to the form's consent text.") var consent = false
    @Option(help: "hot, warm or cold.") var rating: String?
    @Option(help: "A staff note.") var note: String?
    @Flag(help: "Print the stored lead as JSON instead of its id.") var json = false

    func validate() throws {
        if let rating, Rating(rawValue: rating) == nil {
            throw ValidationError("--rating must be hot, warm or cold, not \"\(rating)\"")
        }
    }

    func run() throws {
        let ctx = try open(create: true)
        var raw: [String: String] = [:]
        for a in assignments {
            guard let eq = a.firstIndex(of: "="), eq != a.startIndex else {
                throw CLIError.usage("expected FIELD=VALUE, got \"\(safe(a))\"")
            }
            let name = String(a[..<eq])
            if raw[name] != nil { throw CLIError.usage("field \(safe(name)) given twice") }
            raw[name] = String(a[a.index(after: eq)...])
        }
        let validator = LeadValidator(form: ctx.form, country: ctx.config.kiosk.country)
        let fields: [String: String]
        switch validator.validate(raw, consentGiven: consent) {
        case .success(let f): fields = f
        case .failure(let errors):
            throw CLIError.failure(
                "the lead was not saved:\n"
                    + errors.errors.map { "  \(safe($0.field)): \($0.message(.en))" }
                    .joined(separator: "\n")
            )
        }
        let language = ctx.config.kiosk.language
        let lead = Lead(
            event: ctx.config.kiosk.event,
            kiosk: ctx.config.kiosk.id,
            channel: .staff,
            fields: fields,
            consent: consent
                ? Consent(text: ctx.form.consentText.text(for: language), language: language.rawValue) : nil,
            rating: rating.flatMap(Rating.init(rawValue:)),
            notes: note.map { TextSanitizer.clean($0, multiline: true) } ?? ""
        )
        let stored = try ctx.store.capture(lead, form: ctx.form)
        if json {
            var out: [UInt8] = []
            LeadJSON.appendExportRecord(
                stored,
                deliveries: try ctx.store.deliveries(leadID: stored.id),
                fieldOrder: ctx.fieldNames,
                to: &out
            )
            print(String(decoding: out, as: UTF8.self))
        } else {
            print(stored.id)
            if let dup = stored.duplicateOf { printError("note: duplicate of \(dup) (stored, counted once)") }
        }
    }
}

struct Rate: LeadCtlSubcommand {
    static let configuration = CommandConfiguration(abstract: "Qualify a lead: hot, warm, cold or none.")
    @ParentCommand var root: LeadCtl
    @Argument(help: "The lead id (or a unique prefix).") var leadID: String
    @Argument(help: "hot, warm, cold or none.") var rating: String

    func validate() throws {
        guard rating == "none" || Rating(rawValue: rating) != nil else {
            throw ValidationError("rating must be hot, warm, cold or none, not \"\(rating)\"")
        }
    }

    func run() throws {
        let ctx = try open()
        guard let lead = try ctx.store.lead(id: leadID) else {
            throw CLIError.failure("no lead with id \(safe(leadID))")
        }
        let updated = try ctx.store.edit(id: lead.id, rating: .some(Rating(rawValue: rating)), form: ctx.form)
        print("\(updated.id) rated \(rating) (revision \(updated.revision))")
    }
}

struct Note: LeadCtlSubcommand {
    static let configuration = CommandConfiguration(
        abstract: "Append a staff note to a lead (notes are appended, never overwritten)."
    )
    @ParentCommand var root: LeadCtl
    @Argument(help: "The lead id (or a unique prefix).") var leadID: String
    @Argument(help: "The note.") var text: String

    func run() throws {
        let ctx = try open()
        let clean = TextSanitizer.clean(text, multiline: true)
        guard !clean.isEmpty else { throw CLIError.usage("the note is empty") }
        guard let lead = try ctx.store.lead(id: leadID) else {
            throw CLIError.failure("no lead with id \(safe(leadID))")
        }
        let updated = try ctx.store.edit(id: lead.id, appendNote: clean, form: ctx.form)
        print("\(updated.id) noted (revision \(updated.revision))")
    }
}

struct Retry: LeadCtlSubcommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue rejected or dead leads again for every sink."
    )
    @ParentCommand var root: LeadCtl
    @Argument(help: "Lead ids (or unique prefixes).") var leadIDs: [String] = []
    @Flag(help: "Every rejected lead.") var rejected = false

    func validate() throws {
        if leadIDs.isEmpty == !rejected { throw ValidationError("give lead ids or --rejected") }
    }

    func run() throws {
        let ctx = try open()
        let n: Int
        if rejected {
            n = try ctx.store.retryAllRejected()
        } else {
            var ids: [String] = []
            for id in leadIDs {
                guard let lead = try ctx.store.lead(id: id) else {
                    throw CLIError.failure("no lead with id \(safe(id))")
                }
                ids.append(lead.id)
            }
            n = try ctx.store.retry(leadIDs: ids)
        }
        print("\(n) deliveries queued again")
    }
}

struct Purge: LeadCtlSubcommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete leads every sink has synced; unsynced leads are kept unless --force."
    )
    @ParentCommand var root: LeadCtl
    @Option(
        name: .customLong("synced-before"),
        help: "Only leads captured more than DAYS days ago (default: [Retention] PurgeSyncedAfterDays, else 0)."
    )
    var days: Int?
    @Flag(help: "Also delete leads some sink has not synced. They are gone for good.") var force = false

    func run() throws {
        let ctx = try open()
        let days = self.days ?? ctx.config.retention.purgeSyncedAfterDays ?? 0
        guard days >= 0 else { throw CLIError.usage("--synced-before takes a number of days, 0 or more") }
        let cutoff = Timestamp.now().adding(seconds: -Int64(days) * 86400)
        let result = try ctx.store.purge(capturedBefore: cutoff, force: force)
        print("\(result.purged) leads purged")
        if result.keptUnsynced > 0 {
            print("\(result.keptUnsynced) leads kept: not yet synced to every sink (export them, or --force)")
        }
    }
}

struct Backup: LeadCtlSubcommand {
    static let configuration = CommandConfiguration(
        abstract: "An online, consistent copy of the database (safe while leadd runs)."
    )
    @ParentCommand var root: LeadCtl
    @Argument(help: "The new file; an existing file is never overwritten.") var file: String

    func run() throws {
        let ctx = try open(readOnly: true)
        try ctx.store.backup(to: file)
        let copy = try LeadStore(path: file, readOnly: true)
        let problems = try copy.integrityProblems()
        guard problems.isEmpty else {
            throw CLIError.failure("\(file): the copy fails its integrity check: \(problems[0])")
        }
        print("\(file): \(try copy.status().leads) leads, integrity ok")
    }
}
