public import LeadCore

/// Per-sink counts and state for `leadctl status`.
public struct SinkStatus: Sendable, Hashable {
    public var name: String
    public var pending: Int
    public var sending: Int
    public var synced: Int
    public var rejected: Int
    public var dead: Int
    /// `ok`, `backoff` or `paused`.
    public var state: String
    public var stateReason: String?
    public var backoffUntil: Timestamp?
    public var lastSuccess: Timestamp?
    public var lastError: String?
    public var lastErrorAt: Timestamp?
}

/// What `leadctl status` shows.
public struct StoreStatus: Sendable, Hashable {
    /// Every stored lead, duplicates included.
    public var leads: Int
    public var leadsToday: Int
    public var duplicates: Int
    public var sinks: [SinkStatus]
    /// Leads not yet synced to at least one sink.
    public var unsynced: Int
}

/// The funnel and breakdowns for `leadctl stats`.
public struct LeadStats: Sendable, Hashable {
    /// Unique leads: stored leads minus duplicates (a visitor counted once).
    public var leads: Int
    public var stored: Int
    public var duplicates: Int
    public var byChannel: [(String, Int)]
    public var byRating: [(String, Int)]
    /// Local hour start (ms, UTC instant) → leads captured in that hour.
    public var perHour: [(Timestamp, Int)]
    public var formViews: Int
    public var formStarted: Int
    public var formSubmitted: Int
    public var formAbandoned: Int
    /// submitted / started, nil when nothing was started.
    public var conversion: Double?
    /// cost / leads, when a cost was given and there are leads.
    public var costPerLead: Double?

    public static func == (a: LeadStats, b: LeadStats) -> Bool {
        a.leads == b.leads && a.stored == b.stored && a.byChannel.elementsEqual(b.byChannel, by: ==)
            && a.byRating.elementsEqual(b.byRating, by: ==) && a.perHour.elementsEqual(b.perHour, by: ==)
            && a.formStarted == b.formStarted && a.formSubmitted == b.formSubmitted && a.conversion == b.conversion
            && a.costPerLead == b.costPerLead && a.duplicates == b.duplicates && a.formViews == b.formViews
            && a.formAbandoned == b.formAbandoned
    }
    public func hash(into h: inout Hasher) { h.combine(stored) }
}

/// The kinds of form event counted for the funnel.
public enum FormEventKind: String, Sendable, CaseIterable {
    case view, start, submit, abandon
    case idleReset = "idle_reset"
}

/// Which leads `list` returns.
public struct LeadFilter: Sendable, Hashable {
    /// A delivery state (`pending`, `sending`, `synced`, `rejected`, `dead`): leads with at least one delivery in
    /// it; `unsynced` for leads not synced everywhere; `duplicate`; `unresolved` for badge scans still waiting for
    /// an attendee list that knows them; nil for all.
    public var state: String?
    public var limit: Int
    public init(state: String? = nil, limit: Int = 50) {
        self.state = state
        self.limit = limit
    }
    public static let states = [
        "pending", "sending", "synced", "rejected", "dead", "unsynced", "duplicate", "unresolved",
    ]
}

extension LeadStore {
    /// Records one funnel event.
    public func recordFormEvent(
        _ kind: FormEventKind,
        kiosk: String,
        channel: Channel?,
        leadID: String? = nil,
        at: Timestamp = .now()
    ) throws {
        try db.transaction {
            try db.statement("INSERT INTO form_events (at, kind, kiosk, channel, lead_id) VALUES (?, ?, ?, ?, ?)")
                .run([.int(at.milliseconds), .text(kind.rawValue), .text(kiosk), .opt(channel?.rawValue), .opt(leadID)])
        }
    }

    /// Newest leads first, with their deliveries.
    public func list(_ filter: LeadFilter) throws -> [(lead: Lead, deliveries: [DeliveryInfo])] {
        var sql = "SELECT \(LeadStore.leadColumns) FROM leads l"
        var args: [SQLValue] = []
        switch filter.state {
        case nil: break
        case "unsynced":
            sql += " WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.lead_seq = l.seq AND d.state != 'synced')"
        case "duplicate":
            sql += " WHERE duplicate_of IS NOT NULL"
        case "unresolved":
            // A badge scan the attendee list did not know yet (see resolveUnresolvedLeads).
            sql += " WHERE fields = '{}' AND badge_key IS NOT NULL"
        case let state?:
            guard LeadFilter.states.contains(state) else {
                throw StoreError(
                    .invalidArgument,
                    "unknown state \"\(state)\" (expected \(LeadFilter.states.joined(separator: ", ")))"
                )
            }
            sql += " WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.lead_seq = l.seq AND d.state = ?)"
            args.append(.text(state))
        }
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(.int(Int64(max(0, filter.limit))))
        let s = try db.prepare(sql)
        try s.bind(args)
        var leads: [Lead] = []
        while try s.step() { leads.append(try readLead(s)) }
        return try leads.map { ($0, try deliveries(leadID: $0.id)) }
    }

    /// Counts for `leadctl status`.
    public func status(now: Timestamp = .now()) throws -> StoreStatus {
        let leads = Int(try db.scalarInt("SELECT count(*) FROM leads") ?? 0)
        let today = Int(
            try db.scalarInt(
                "SELECT count(*) FROM leads WHERE captured_at >= ?",
                [
                    .int(LocalTime.startOfDay(now).milliseconds)
                ]
            ) ?? 0
        )
        let dups = Int(try db.scalarInt("SELECT count(*) FROM leads WHERE duplicate_of IS NOT NULL") ?? 0)
        let unsynced = Int(
            try db.scalarInt(
                "SELECT count(DISTINCT lead_seq) FROM deliveries WHERE state != 'synced'"
            ) ?? 0
        )
        var sinks: [SinkStatus] = []
        let s = try db.statement(
            """
            SELECT name, state, state_reason, backoff_until, last_success_at, last_error, last_error_at,
              (SELECT count(*) FROM deliveries d WHERE d.sink = s.name AND d.state = 'pending'),
              (SELECT count(*) FROM deliveries d WHERE d.sink = s.name AND d.state = 'sending'),
              (SELECT count(*) FROM deliveries d WHERE d.sink = s.name AND d.state = 'synced'),
              (SELECT count(*) FROM deliveries d WHERE d.sink = s.name AND d.state = 'rejected'),
              (SELECT count(*) FROM deliveries d WHERE d.sink = s.name AND d.state = 'dead')
            FROM sinks s ORDER BY name
            """
        )
        while try s.step() {
            sinks.append(
                SinkStatus(
                    name: s.text(0),
                    pending: s.int(7),
                    sending: s.int(8),
                    synced: s.int(9),
                    rejected: s.int(10),
                    dead: s.int(11),
                    state: s.text(1),
                    stateReason: s.optText(2),
                    backoffUntil: s.optInt64(3).map(Timestamp.init(milliseconds:)),
                    lastSuccess: s.optInt64(4).map(Timestamp.init(milliseconds:)),
                    lastError: s.optText(5),
                    lastErrorAt: s.optInt64(6).map(Timestamp.init(milliseconds:))
                )
            )
        }
        return StoreStatus(leads: leads, leadsToday: today, duplicates: dups, sinks: sinks, unsynced: unsynced)
    }

    /// The funnel and breakdowns, optionally with a cost per lead.
    public func stats(cost: Double? = nil, now: Timestamp = .now()) throws -> LeadStats {
        let stored = Int(try db.scalarInt("SELECT count(*) FROM leads") ?? 0)
        let dups = Int(try db.scalarInt("SELECT count(*) FROM leads WHERE duplicate_of IS NOT NULL") ?? 0)
        func groups(_ sql: String) throws -> [(String, Int)] {
            let s = try db.prepare(sql)
            var out: [(String, Int)] = []
            while try s.step() { out.append((s.optText(0) ?? "none", s.int(1))) }
            return out
        }
        let byChannel = try groups(
            "SELECT channel, count(*) FROM leads WHERE duplicate_of IS NULL GROUP BY channel ORDER BY 2 DESC, 1"
        )
        var byRating = try groups(
            "SELECT rating, count(*) FROM leads WHERE duplicate_of IS NULL GROUP BY rating"
        )
        let order = ["hot", "warm", "cold", "none"]
        byRating.sort { (order.firstIndex(of: $0.0) ?? 9) < (order.firstIndex(of: $1.0) ?? 9) }
        let offsetMs = LocalTime.utcOffsetSeconds(at: now) * 1000
        let h = try db.prepare(
            """
            SELECT (captured_at + ?1) / 3600000, count(*) FROM leads WHERE duplicate_of IS NULL
            GROUP BY 1 ORDER BY 1
            """
        )
        try h.bind([.int(offsetMs)])
        var perHour: [(Timestamp, Int)] = []
        while try h.step() { perHour.append((Timestamp(milliseconds: h.int64(0) * 3_600_000 - offsetMs), h.int(1))) }
        var events: [String: Int] = [:]
        let e = try db.prepare("SELECT kind, count(*) FROM form_events GROUP BY kind")
        while try e.step() { events[e.text(0)] = e.int(1) }
        let leads = stored - dups
        let started = events["start"] ?? 0
        let submitted = events["submit"] ?? 0
        return LeadStats(
            leads: leads,
            stored: stored,
            duplicates: dups,
            byChannel: byChannel,
            byRating: byRating,
            perHour: perHour,
            formViews: events["view"] ?? 0,
            formStarted: started,
            formSubmitted: submitted,
            formAbandoned: (events["abandon"] ?? 0) + (events["idle_reset"] ?? 0),
            conversion: started > 0 ? Double(submitted) / Double(started) : nil,
            costPerLead: cost.flatMap { leads > 0 ? $0 / Double(leads) : nil }
        )
    }
}

extension LeadStore {
    /// Today's leads and how many wait for at least one sink, from indexes only — cheap enough for start-up and
    /// the systemd `STATUS=` line even with a million leads stored (`status()` scans whole tables).
    public func quickStatus(now: Timestamp = .now()) throws -> (leadsToday: Int, waiting: Int, sinks: Int) {
        let today = Int(
            try db.scalarInt(
                "SELECT count(*) FROM leads WHERE captured_at >= ?",
                [
                    .int(LocalTime.startOfDay(now).milliseconds)
                ]
            ) ?? 0
        )
        var waiting = 0
        let sinks = try sinkNames()
        for sink in sinks {
            // A lead waiting for two sinks is one lead: the largest per-sink backlog is the honest lower bound.
            let n =
                try db.scalarInt(
                    "SELECT count(*) FROM deliveries WHERE sink = ? AND (state = 'pending' OR state = 'sending')",
                    [.text(sink)]
                ) ?? 0
            waiting = max(waiting, Int(n))
        }
        return (today, waiting, sinks.count)
    }
}
