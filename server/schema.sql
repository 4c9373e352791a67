-- The schema after the last step of server/migrations.py, as SQLite holds it. Never edited by hand:
-- made by `python -m server.migrations --schema > server/schema.sql`; tests/test_schema.py holds the two equal.

CREATE TABLE actions (
    id INTEGER PRIMARY KEY,
    audit TEXT NOT NULL UNIQUE,          -- audits.id: one action per audit
    location TEXT NOT NULL REFERENCES locations(id),
    region TEXT NOT NULL,
    owner INTEGER REFERENCES users(id),  -- null: nobody to own it yet (admins see it)
    reasons TEXT NOT NULL,               -- JSON: what failed
    opened_at TEXT NOT NULL,
    due TEXT NOT NULL,                   -- date, inclusive
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed', 'withdrawn')),
    closed_at TEXT,
    closed_by INTEGER REFERENCES users(id),
    note TEXT,                           -- what was done; or why it was withdrawn
    photo TEXT                           -- a photo file (content hash) of what was done
);

CREATE INDEX actions_location ON actions(location, state, due);

CREATE INDEX actions_owner ON actions(owner, state, due);

CREATE INDEX actions_region ON actions(region, state, due);

CREATE TABLE answers (
    audit INTEGER NOT NULL REFERENCES audits(seq) ON DELETE CASCADE,
    item TEXT NOT NULL,
    value TEXT,                          -- JSON
    comment TEXT,
    photos TEXT NOT NULL,                -- JSON list of photo ids
    f REAL,
    earned REAL NOT NULL,
    possible REAL NOT NULL,
    PRIMARY KEY (audit, item)
) WITHOUT ROWID;

CREATE TABLE "api_tokens" (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    person INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

CREATE INDEX api_tokens_user ON api_tokens(person);

CREATE TABLE assignments (
    id TEXT PRIMARY KEY,
    location TEXT NOT NULL REFERENCES locations(id),
    touchpoints TEXT NOT NULL,           -- JSON list of checklist ids
    starts TEXT NOT NULL,                -- first day of the window, local date
    ends TEXT NOT NULL,                  -- last day, included
    auditor INTEGER REFERENCES users(id),-- null: open to any auditor of the region
    announced INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    schedule TEXT REFERENCES schedules(id),
    claimed_at TEXT,
    done_at TEXT,
    cancelled_at TEXT,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);

CREATE INDEX assignments_auditor ON assignments(auditor, ends);

CREATE INDEX assignments_ends ON assignments(ends);

CREATE INDEX assignments_location ON assignments(location, ends);

CREATE INDEX assignments_schedule ON assignments(schedule);

CREATE TABLE audit_pillars (
    audit INTEGER NOT NULL REFERENCES audits(seq) ON DELETE CASCADE,
    pillar TEXT NOT NULL,
    score REAL,
    PRIMARY KEY (audit, pillar)
) WITHOUT ROWID;

CREATE TABLE audit_sections (
    audit INTEGER NOT NULL REFERENCES audits(seq) ON DELETE CASCADE,
    section TEXT NOT NULL,
    score REAL,
    PRIMARY KEY (audit, section)
) WITHOUT ROWID;

CREATE TABLE audits (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,             -- made on the phone: the idempotency key
    location TEXT NOT NULL REFERENCES locations(id),
    brand TEXT NOT NULL,
    checklist TEXT NOT NULL,
    version TEXT NOT NULL,
    auditor INTEGER NOT NULL REFERENCES users(id),
    visit TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    day TEXT NOT NULL,                   -- finished_at's calendar date where it was done
    received_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'submitted',
    content_hash TEXT NOT NULL,          -- of the submission, to tell a retry from a change
    score REAL,
    raw_score REAL,
    promise_kept INTEGER NOT NULL,
    earned REAL NOT NULL,
    possible REAL NOT NULL,
    result TEXT NOT NULL, counts INTEGER NOT NULL DEFAULT 1, revision INTEGER NOT NULL DEFAULT 1, assignment TEXT, review_note TEXT, campaign INTEGER REFERENCES campaigns(id),                -- the scoring result JSON as first returned, in checklist order
    FOREIGN KEY (brand, checklist, version) REFERENCES checklist_versions(brand, checklist, version)
);

CREATE INDEX audits_assignment ON audits(assignment) WHERE assignment IS NOT NULL;

CREATE INDEX audits_auditor_day ON audits(auditor, day);

CREATE INDEX audits_campaign ON audits(campaign, received_at) WHERE campaign IS NOT NULL;

CREATE INDEX audits_location_day ON audits(location, day, auditor, status);

CREATE INDEX audits_returned ON audits(auditor) WHERE status = 'returned';

CREATE INDEX audits_waiting ON audits(received_at) WHERE counts = 0 AND status IN ('submitted', 'awaiting_photos');

CREATE TABLE brand_versions (
    brand TEXT NOT NULL REFERENCES brands(id),
    version TEXT NOT NULL,
    source BLOB NOT NULL,
    first_seen TEXT NOT NULL, via TEXT NOT NULL DEFAULT 'folder' CHECK (via IN ('folder', 'import', 'browser', 'workbook')), published_by INTEGER REFERENCES users(id), note TEXT NOT NULL DEFAULT '', published_at TEXT,
    PRIMARY KEY (brand, version)
);

CREATE TABLE brands (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    current_version TEXT NOT NULL
);

CREATE TABLE campaign_channels (
    campaign INTEGER NOT NULL REFERENCES campaigns(id),
    location TEXT NOT NULL REFERENCES locations(id),
    checklist TEXT NOT NULL,
    PRIMARY KEY (campaign, location)
) WITHOUT ROWID;

CREATE INDEX campaign_channels_location ON campaign_channels(location, checklist);

CREATE TABLE campaign_links (
    id INTEGER PRIMARY KEY,
    campaign INTEGER NOT NULL REFERENCES campaigns(id),
    token TEXT NOT NULL UNIQUE,              -- the join link's secret: public by design, revocable
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE INDEX campaign_links_campaign ON campaign_links(campaign, id);

CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    brand TEXT NOT NULL,
    instructions TEXT NOT NULL DEFAULT '',
    zone TEXT NOT NULL DEFAULT 'UTC',            -- the IANA time zone its times are shown and entered in
    starts_at TEXT NOT NULL,                 -- UTC, ISO 8601
    ends_at TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    CHECK (ends_at > starts_at)
);

CREATE TABLE catalog_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL              -- one more at each publish: every process reloads when it differs
);

CREATE TABLE checklist_versions (
    brand TEXT NOT NULL,
    checklist TEXT NOT NULL,
    version TEXT NOT NULL,
    source BLOB NOT NULL,
    brand_version TEXT NOT NULL,
    first_seen TEXT NOT NULL, via TEXT NOT NULL DEFAULT 'folder' CHECK (via IN ('folder', 'import', 'browser', 'workbook')), published_by INTEGER REFERENCES users(id), note TEXT NOT NULL DEFAULT '', published_at TEXT,
    PRIMARY KEY (brand, checklist, version),
    FOREIGN KEY (brand, checklist) REFERENCES checklists(brand, id)
);

CREATE TABLE checklists (
    brand TEXT NOT NULL REFERENCES brands(id),
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    mode TEXT NOT NULL,
    position INTEGER NOT NULL,
    current_version TEXT NOT NULL,
    PRIMARY KEY (brand, id)
);

CREATE TABLE comment_prints (
    print INTEGER NOT NULL,    -- first 8 bytes (big-endian, signed) of the normalised words' BLAKE2b-128
    audit INTEGER NOT NULL,    -- audits.seq
    item TEXT NOT NULL,
    PRIMARY KEY (print, audit, item)
) WITHOUT ROWID;

CREATE INDEX comment_prints_audit ON comment_prints(audit);

CREATE TABLE corrections (
    audit INTEGER NOT NULL REFERENCES audits(seq),
    revision INTEGER NOT NULL,
    item TEXT NOT NULL,
    original TEXT,                       -- JSON: the auditor's answer value
    corrected TEXT,                      -- JSON: the reviewer's
    reason TEXT NOT NULL,
    by INTEGER NOT NULL REFERENCES users(id),
    at TEXT NOT NULL,
    PRIMARY KEY (audit, revision, item)
) WITHOUT ROWID;

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,                 -- also in the body: receivers drop a delivery seen before
    webhook INTEGER NOT NULL REFERENCES webhooks(id),
    event TEXT NOT NULL,
    body TEXT NOT NULL,                  -- the exact JSON signed and sent
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    limit_attempts INTEGER NOT NULL,     -- give up after this many (0: the server's setting; "send again" raises it)
    next_at TEXT NOT NULL
);

CREATE INDEX deliveries_due ON deliveries(next_at) WHERE state = 'pending';

CREATE INDEX deliveries_webhook ON deliveries(webhook, created_at);

CREATE TABLE delivery_attempts (
    delivery TEXT NOT NULL REFERENCES deliveries(id),
    n INTEGER NOT NULL,
    at TEXT NOT NULL,
    status INTEGER,                      -- the receiver's HTTP status; null: no answer
    error TEXT,
    ms REAL NOT NULL,
    PRIMARY KEY (delivery, n)
) WITHOUT ROWID;

CREATE TABLE drafts (
    brand TEXT PRIMARY KEY REFERENCES brands(id),
    files TEXT NOT NULL,                     -- JSON {file name: text}: brand.yaml and every checklist, as edited
    revision INTEGER NOT NULL,               -- one more at each save; a save names the one it was made from
    saved_by INTEGER REFERENCES users(id),
    saved_at TEXT NOT NULL
);

CREATE TABLE erasing (person INTEGER PRIMARY KEY);

CREATE TABLE flags (
    id INTEGER PRIMARY KEY,
    audit TEXT NOT NULL,                 -- audits.id
    kind TEXT NOT NULL CHECK (kind IN ('photo_far', 'photo_time', 'photo_reused', 'too_fast', 'comment_copied', 'visits_repeated')),
    subject TEXT NOT NULL DEFAULT '',    -- the photo or item it is about ('' for the visit): one flag per kind and subject
    auditor INTEGER NOT NULL REFERENCES users(id),
    evidence TEXT NOT NULL,              -- JSON, by kind (server.followup.flags)
    raised_at TEXT NOT NULL,
    explained_by INTEGER REFERENCES users(id),
    explained_at TEXT,
    explanation TEXT,
    UNIQUE (audit, kind, subject)
);

CREATE INDEX flags_auditor ON flags(auditor, raised_at);

CREATE INDEX flags_open ON flags(raised_at) WHERE explained_at IS NULL;

CREATE TABLE generations (
    name TEXT PRIMARY KEY,                   -- a cache, e.g. 'places'
    n INTEGER NOT NULL
);

CREATE TABLE "history" (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor INTEGER REFERENCES users(id),  -- null: the program itself
    kind TEXT NOT NULL CHECK (kind IN ('audit', 'assignment', 'schedule', 'person', 'location', 'region', 'brand')),
    subject TEXT NOT NULL,
    action TEXT NOT NULL,
    before TEXT,                          -- JSON
    after TEXT,                           -- JSON
    note TEXT NOT NULL DEFAULT ''
);

CREATE INDEX history_subject ON history(kind, subject, seq);

CREATE TRIGGER history_no_delete BEFORE DELETE ON history BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END;

CREATE TRIGGER history_no_update BEFORE UPDATE ON history WHEN NOT EXISTS (SELECT 1 FROM erasing)
BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END;

CREATE TABLE item_days (
    day TEXT NOT NULL,
    brand TEXT NOT NULL,
    checklist TEXT NOT NULL,
    item TEXT NOT NULL,
    applicable INTEGER NOT NULL,          -- scored answers (f not null)
    failed INTEGER NOT NULL,              -- of them with f < 1
    cost REAL NOT NULL,                   -- points lost: sum of possible - earned
    PRIMARY KEY (day, brand, checklist, item)
) WITHOUT ROWID;

CREATE TABLE "item_failures" (
    day TEXT NOT NULL,
    brand TEXT NOT NULL,
    checklist TEXT NOT NULL,
    item TEXT NOT NULL,
    location TEXT NOT NULL REFERENCES locations(id),
    failed INTEGER NOT NULL,
    PRIMARY KEY (day, brand, checklist, location, item)
) WITHOUT ROWID;

CREATE TABLE job_runs (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    holder TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    result TEXT NOT NULL
);

CREATE INDEX job_runs_job ON job_runs(job, started_at);

CREATE TABLE leases (
    name TEXT PRIMARY KEY,                   -- the job, e.g. 'photo-prune'
    holder TEXT,                             -- the process running it now (processes.holder), NULL when none
    pid INTEGER,
    until TEXT,                              -- held until then; a holder that died lets it pass
    started_at TEXT,                         -- when the holder took it
    last_run_at TEXT,                        -- when the last run that finished had started
    runs INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE links (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('setup', 'invitation', 'reset')),
    token_hash TEXT NOT NULL UNIQUE,
    person INTEGER REFERENCES users(id),       -- whom it enrols or resets; null for the setup link
    created_by INTEGER REFERENCES users(id), -- null: the server itself, or the person (a forgotten password)
    created_at TEXT NOT NULL,
    expires_at TEXT,                         -- null: valid until used (the setup link)
    used_at TEXT,
    revoked_at TEXT
);

CREATE INDEX links_user ON links(person, kind);

CREATE TABLE locations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL REFERENCES regions(id),
    brand TEXT NOT NULL REFERENCES brands(id),
    address TEXT NOT NULL DEFAULT '',
    lat REAL,
    lng REAL
, kind TEXT NOT NULL DEFAULT 'place' CHECK (kind IN ('place', 'phone', 'website', 'chat', 'email')), contact TEXT NOT NULL DEFAULT '', deactivated_at TEXT);

CREATE INDEX locations_region ON locations(region);

CREATE TABLE "login_failures" (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    at TEXT NOT NULL
);

CREATE INDEX login_failures_key_at ON login_failures(key, at);

CREATE TABLE mail (
    id TEXT PRIMARY KEY,
    to_user INTEGER REFERENCES users(id),
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,                      -- plain text
    kind TEXT NOT NULL,                      -- invitation, reset, ...
    link INTEGER REFERENCES links(id),
    created_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'held')),
    attempts INTEGER NOT NULL DEFAULT 0,
    limit_attempts INTEGER NOT NULL DEFAULT 0,  -- 0: the server's setting
    next_at TEXT NOT NULL,
    sent_at TEXT,
    error TEXT
);

CREATE INDEX mail_due ON mail(state, next_at);

CREATE TABLE participants (
    person INTEGER PRIMARY KEY REFERENCES users(id),
    campaign INTEGER NOT NULL REFERENCES campaigns(id),
    link INTEGER NOT NULL REFERENCES campaign_links(id),
    display_name TEXT,                       -- null: anonymous
    joined_at TEXT NOT NULL
);

CREATE INDEX participants_campaign ON participants(campaign);

CREATE TABLE photo_bands (
    key INTEGER NOT NULL,
    photo TEXT NOT NULL,
    audit TEXT NOT NULL,
    phash TEXT NOT NULL,
    PRIMARY KEY (key, photo)
) WITHOUT ROWID;

CREATE INDEX photo_bands_photo ON photo_bands(photo);

CREATE TABLE photos (
    id TEXT PRIMARY KEY,                 -- made on the phone: the idempotency key
    audit TEXT NOT NULL,
    uploader INTEGER NOT NULL REFERENCES users(id),
    upload_hash TEXT NOT NULL,           -- of the bytes received: tells a retry from a change
    file TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    phash TEXT NOT NULL,
    taken_at TEXT,
    lat REAL,
    lng REAL,
    camera TEXT,
    received_at TEXT NOT NULL
, bytes INTEGER);

CREATE INDEX photos_audit ON photos(audit);

CREATE INDEX photos_file ON photos(file);

CREATE INDEX photos_phash ON photos(phash);

CREATE INDEX photos_received_at ON photos(received_at);

CREATE INDEX photos_uploader ON photos(uploader, received_at);

CREATE TRIGGER photos_unindex AFTER DELETE ON photos BEGIN DELETE FROM photo_bands WHERE photo = old.id; END;

CREATE TABLE processes (
    holder TEXT PRIMARY KEY,                 -- host:pid:start, unique to one process's life
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    seen_at TEXT NOT NULL                    -- refreshed every HEARTBEAT_SECONDS; older than GONE_SECONDS: gone
);

CREATE TABLE regions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE rollup_keys (
    location TEXT NOT NULL REFERENCES locations(id),
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (location, kind, key)
) WITHOUT ROWID;

CREATE TABLE rollup_months (
    location TEXT NOT NULL REFERENCES locations(id),
    kind TEXT NOT NULL CHECK (kind IN ('t', 'p')),
    key TEXT NOT NULL,
    month TEXT NOT NULL,                 -- YYYY-MM of the audit's local day
    n INTEGER NOT NULL,
    total REAL NOT NULL,
    total_sq REAL NOT NULL,
    kept INTEGER NOT NULL,
    PRIMARY KEY (location, kind, key, month)
) WITHOUT ROWID;

CREATE TABLE rollups (
    location TEXT NOT NULL REFERENCES locations(id),
    kind TEXT NOT NULL CHECK (kind IN ('t', 'p')),
    key TEXT NOT NULL,
    day TEXT NOT NULL,
    n INTEGER NOT NULL,
    total REAL NOT NULL,
    total_sq REAL NOT NULL,
    kept INTEGER NOT NULL,
    PRIMARY KEY (location, kind, key, day)
) WITHOUT ROWID;

CREATE TABLE running (
    id INTEGER PRIMARY KEY,
    person INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,                      -- export, pdf or page
    started_at TEXT NOT NULL,
    until TEXT NOT NULL,                     -- the lease: after this the row no longer counts
    pid INTEGER NOT NULL                     -- the server process doing it, for an operator reading the table
);

CREATE INDEX running_person ON running(person, until);

CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    brand TEXT NOT NULL REFERENCES brands(id),
    region TEXT REFERENCES regions(id),  -- null: every region
    touchpoints TEXT NOT NULL,           -- JSON list
    every TEXT NOT NULL CHECK (every IN ('month', 'quarter')),
    day TEXT NOT NULL CHECK (day IN ('window', 'random')),
    announced INTEGER NOT NULL,
    first TEXT NOT NULL,                 -- first day of the first period
    last TEXT NOT NULL,                  -- last day of the last period
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    cancelled_at TEXT
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    person INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
, agent TEXT NOT NULL DEFAULT '');

CREATE TABLE test_audits (
    id TEXT PRIMARY KEY,                     -- made on the phone, as an audit's
    brand TEXT NOT NULL REFERENCES brands(id),
    checklist TEXT NOT NULL,
    version TEXT NOT NULL,                   -- the draft file's version it was made with
    by INTEGER NOT NULL REFERENCES users(id),
    received_at TEXT NOT NULL,
    body TEXT NOT NULL,                      -- the audit as sent (JSON)
    score REAL,
    result TEXT NOT NULL                     -- its scoring (JSON)
);

CREATE INDEX test_audits_brand ON test_audits(brand, received_at);

CREATE TABLE throttle (
    key TEXT NOT NULL,                       -- what is counted, e.g. 'join:203.0.113.7'
    at REAL NOT NULL                         -- unix seconds
);

CREATE INDEX throttle_key ON throttle(key, at);

CREATE TABLE user_regions (
    person INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    region TEXT NOT NULL REFERENCES regions(id),
    PRIMARY KEY (person, region)
);

CREATE TABLE "users" (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'auditor', 'staff', 'participant')),
    password_hash TEXT NOT NULL,             -- a participant's is '!': it never signs in with a password
    created_at TEXT NOT NULL,
    disabled_at TEXT,
    location TEXT REFERENCES locations(id),  -- staff: the one location they work at
    code TEXT NOT NULL UNIQUE, email TEXT, last_sign_in_at TEXT, forgotten_at TEXT,               -- shown instead of the name where auditors are anonymous
    CHECK ((role = 'staff') = (location IS NOT NULL))
);

CREATE INDEX users_role ON users(role, name);

CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,                -- JSON list
    secret TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    removed_at TEXT
);
