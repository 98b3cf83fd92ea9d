/// Versioned migrations. `PRAGMA user_version` holds the number of migrations applied;
/// `PRAGMA application_id` marks the file as a leadd database so a foreign file is never touched.
enum Schema {
    /// "LEAD" in ASCII.
    static let applicationID: Int64 = 0x4C45_4144

    static let migrations: [String] = [
        // 1: leads, revisions, sinks, deliveries, form events, attendees.
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

        CREATE TABLE leads (
            seq INTEGER PRIMARY KEY,
            lead_id TEXT NOT NULL UNIQUE,
            revision INTEGER NOT NULL CHECK (revision >= 1),
            event TEXT NOT NULL,
            kiosk TEXT NOT NULL,
            captured_at INTEGER NOT NULL,          -- ms since the epoch, UTC
            channel TEXT NOT NULL,
            device TEXT,
            fields TEXT NOT NULL,                  -- JSON object of form field values
            consent_given INTEGER,
            consent_sha256 TEXT,
            consent_language TEXT,
            consent_at INTEGER,
            -- CHECKs are OR chains: an IN list would build a temporary b-tree on every insert.
            rating TEXT CHECK (rating = 'hot' OR rating = 'warm' OR rating = 'cold'),
            notes TEXT NOT NULL DEFAULT '',
            badge_id TEXT,
            duplicate_of TEXT,
            email_key TEXT,
            phone_key TEXT,
            badge_key TEXT,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX leads_email ON leads (event, email_key) WHERE email_key IS NOT NULL;
        CREATE INDEX leads_phone ON leads (event, phone_key) WHERE phone_key IS NOT NULL;
        CREATE INDEX leads_badge ON leads (event, badge_key) WHERE badge_key IS NOT NULL;
        CREATE INDEX leads_captured ON leads (captured_at);

        -- Every superseded revision of a lead, as the JSON Lines record it was.
        CREATE TABLE lead_revisions (
            lead_id TEXT NOT NULL REFERENCES leads (lead_id) ON DELETE CASCADE,
            revision INTEGER NOT NULL,
            record TEXT NOT NULL,
            superseded_at INTEGER NOT NULL,
            PRIMARY KEY (lead_id, revision)
        ) WITHOUT ROWID;

        CREATE TABLE sinks (
            name TEXT PRIMARY KEY,
            added_at INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'ok',      -- ok | backoff | paused
            state_reason TEXT,
            backoff_until INTEGER,
            last_success_at INTEGER,
            last_error TEXT,
            last_error_at INTEGER
        ) WITHOUT ROWID;

        -- Delivery state per lead and per sink: pending -> sending -> synced | rejected | dead.
        CREATE TABLE deliveries (
            lead_seq INTEGER NOT NULL REFERENCES leads (seq) ON DELETE CASCADE,
            sink TEXT NOT NULL REFERENCES sinks (name) ON DELETE CASCADE,
            revision INTEGER NOT NULL,             -- the revision to deliver
            state TEXT NOT NULL CHECK (state = 'pending' OR state = 'sending' OR state = 'synced'
                                       OR state = 'rejected' OR state = 'dead'),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL DEFAULT 0,
            claim_id TEXT,
            lease_until INTEGER,
            last_error TEXT,
            remote_id TEXT,
            synced_at INTEGER,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (lead_seq, sink)
        ) WITHOUT ROWID;
        CREATE INDEX deliveries_queue ON deliveries (sink, state, next_attempt_at, lead_seq);

        CREATE TABLE form_events (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind = 'view' OR kind = 'start' OR kind = 'submit' OR kind = 'abandon'
                                      OR kind = 'idle_reset'),
            kiosk TEXT NOT NULL,
            channel TEXT,
            lead_id TEXT
        );
        CREATE INDEX form_events_at ON form_events (at);

        CREATE TABLE attendees (
            badge_key TEXT PRIMARY KEY,
            badge_id TEXT NOT NULL,
            fields TEXT NOT NULL,
            imported_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,
        // 2: sync batches, frozen when formed (a retry resends the same id and bytes, also after a crash),
        // and what a paused sink's configuration looked like when it was paused.
        """
        CREATE TABLE batches (
            seq INTEGER PRIMARY KEY,
            batch_id TEXT NOT NULL UNIQUE,
            sink TEXT NOT NULL REFERENCES sinks (name) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            body BLOB NOT NULL,                    -- the request body, byte for byte
            lead_ids TEXT NOT NULL,                -- newline-separated, in body order
            failures INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL DEFAULT 0,
            retry_kind TEXT,                       -- backoff | receiver
            holder TEXT,                           -- the process sending it now
            lease_until INTEGER,
            last_error TEXT
        );
        CREATE INDEX batches_sink ON batches (sink, seq);
        ALTER TABLE sinks ADD COLUMN paused_fingerprint TEXT;
        """,
        // 3: badge scanners — each one's connection state and today's dropped records, written by leadd and
        // read by `leadctl status` — and an index for unresolved badge scans (a badge id, no fields yet).
        """
        CREATE TABLE scanners (
            device TEXT PRIMARY KEY,               -- [Serial] Device= as configured
            connected INTEGER NOT NULL,
            changed_at INTEGER NOT NULL,           -- when connected last changed
            last_error TEXT,                       -- why it is not connected
            pid INTEGER,                           -- the leadd process reading it
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE scanner_drops (
            device TEXT NOT NULL,
            day INTEGER NOT NULL,                  -- start of the local day, ms
            reason TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (device, day, reason)
        ) WITHOUT ROWID;
        CREATE INDEX leads_unresolved ON leads (badge_key) WHERE fields = '{}' AND badge_key IS NOT NULL;
        """,
    ]
}
