"""Numbered schema steps. Never edit one that has shipped: add the next number."""

import argparse
import datetime as dt
import hashlib
import sqlite3
import sys
import tempfile
import textwrap
from pathlib import Path

import msgspec
import sqlite_utils
from sqlite_utils.migrations import Migrations

from server import db as dbmod

migrations = Migrations("touchpoint")


def _run(db: sqlite_utils.Database, script: str) -> None:
    """Run statements one by one: `executescript` would COMMIT first and break the step's atomicity."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""


def _rebuild(db: sqlite_utils.Database, step: str, script: str) -> None:
    """A step that rebuilds a table (SQLite cannot change a CHECK in place): foreign keys off
    (SQLite's documented procedure), one transaction, checked before it commits."""
    db.execute("PRAGMA foreign_keys=OFF")
    try:
        db.execute("BEGIN IMMEDIATE")
        _run(db, script)
        if db.execute("PRAGMA foreign_key_check").fetchone() is not None:
            raise RuntimeError(f"migration {step}: the rebuilt table breaks a foreign key")
        db.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.execute("PRAGMA foreign_keys=ON")


@migrations(name="0001_initial")
def m0001_initial(db: sqlite_utils.Database) -> None:
    _run(
        db,
        """
        CREATE TABLE brands (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            current_version TEXT NOT NULL
        );
        -- The exact bytes of every brand.yaml and checklist file ever loaded, so any audit's
        -- checklist can be shown (and rescored) as it was answered.
        CREATE TABLE brand_versions (
            brand TEXT NOT NULL REFERENCES brands(id),
            version TEXT NOT NULL,
            source BLOB NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (brand, version)
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
        CREATE TABLE checklist_versions (
            brand TEXT NOT NULL,
            checklist TEXT NOT NULL,
            version TEXT NOT NULL,
            source BLOB NOT NULL,
            brand_version TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (brand, checklist, version),
            FOREIGN KEY (brand, checklist) REFERENCES checklists(brand, id)
        );
        CREATE TABLE regions (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL
        );
        CREATE TABLE locations (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            region TEXT NOT NULL REFERENCES regions(id),
            brand TEXT NOT NULL REFERENCES brands(id),
            address TEXT NOT NULL DEFAULT '',
            lat REAL,
            lng REAL
        );
        CREATE INDEX locations_region ON locations(region);
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'auditor')),
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE user_regions (
            user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            region TEXT NOT NULL REFERENCES regions(id),
            PRIMARY KEY (user, region)
        );
        -- Only hashes of secrets are kept: a copy of the database cannot sign anyone in.
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            csrf_token TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        CREATE TABLE api_tokens (
            token_hash TEXT PRIMARY KEY,
            user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL
        );
        -- Child rows are keyed by the audit's sequential rowid, not by its random UUID, so a new
        -- audit's rows go at the end of their B-trees instead of at 57 random places.
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
            result TEXT NOT NULL,                -- the scoring result JSON as first returned, in checklist order
            FOREIGN KEY (brand, checklist, version) REFERENCES checklist_versions(brand, checklist, version)
        );
        CREATE INDEX audits_location_day ON audits(location, day);
        CREATE INDEX audits_auditor_day ON audits(auditor, day);
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
        CREATE TABLE audit_sections (
            audit INTEGER NOT NULL REFERENCES audits(seq) ON DELETE CASCADE,
            section TEXT NOT NULL,
            score REAL,
            PRIMARY KEY (audit, section)
        ) WITHOUT ROWID;
        CREATE TABLE audit_pillars (
            audit INTEGER NOT NULL REFERENCES audits(seq) ON DELETE CASCADE,
            pillar TEXT NOT NULL,
            score REAL,
            PRIMARY KEY (audit, pillar)
        ) WITHOUT ROWID;
        -- Cumulative rollups of counting audits, kept current inside the ingest transaction: each
        -- row holds the running totals of one location's touchpoint (kind 't') or pillar (kind 'p')
        -- up to and including its day. Any period [from, to] is then cum(to) - cum(from - 1):
        -- two index seeks per key instead of a scan over the period's audits.
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
        CREATE TABLE rollup_keys (
            location TEXT NOT NULL REFERENCES locations(id),
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            PRIMARY KEY (location, kind, key)
        ) WITHOUT ROWID;
        """,
    )


@migrations(name="0002_photos")
def m0002_photos(db: sqlite_utils.Database) -> None:
    _run(
        db,
        """
        -- A photo may arrive before its audit (each uploads on its own), so `audit` is not a
        -- foreign key. Files are named by the SHA-256 of the stored display image.
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
        );
        CREATE INDEX photos_audit ON photos(audit);
        CREATE INDEX photos_phash ON photos(phash);
        """,
    )


@migrations(name="0003_rollup_months")
def m0003_rollup_months(db: sqlite_utils.Database) -> None:
    _run(
        db,
        """
        -- Each calendar month's own sums (not cumulative) of one location's touchpoint ('t') or
        -- pillar ('p'), kept by ingest beside the daily rollups: a scorecard's 24-month trend and
        -- its region's line beside it are then one range read, not 24 period sums.
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
        -- Filled from the audits already stored: the same audits the daily rollups hold.
        INSERT INTO rollup_months
            SELECT location, 't', checklist, substr(day, 1, 7), COUNT(*), SUM(score), SUM(score * score), SUM(promise_kept)
            FROM audits WHERE score IS NOT NULL GROUP BY location, checklist, substr(day, 1, 7);
        INSERT INTO rollup_months
            SELECT a.location, 'p', p.pillar, substr(a.day, 1, 7), COUNT(*), SUM(p.score), SUM(p.score * p.score), SUM(a.promise_kept)
            FROM audits a JOIN audit_pillars p ON p.audit = a.seq
            WHERE a.score IS NOT NULL AND p.score IS NOT NULL GROUP BY a.location, p.pillar, substr(a.day, 1, 7);
        """,
    )


@migrations(name="0004_item_rollups")
def m0004_item_rollups(db: sqlite_utils.Database) -> None:
    _run(
        db,
        """
        -- Where it breaks, for the whole brand, without reading every answer of the period: each
        -- day's sums per item over all locations, and which locations failed which item that day
        -- (failures only: a small share of the answers). Kept by ingest from the answers it stores.
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
        CREATE TABLE item_failures (
            day TEXT NOT NULL,
            brand TEXT NOT NULL,
            checklist TEXT NOT NULL,
            item TEXT NOT NULL,
            location TEXT NOT NULL REFERENCES locations(id),
            failed INTEGER NOT NULL,
            PRIMARY KEY (day, brand, checklist, item, location)
        ) WITHOUT ROWID;
        INSERT INTO item_days
            SELECT a.day, a.brand, a.checklist, x.item, COUNT(*), SUM(x.f < 1), SUM(x.possible - x.earned)
            FROM answers x JOIN audits a ON a.seq = x.audit WHERE x.f IS NOT NULL GROUP BY a.day, a.brand, a.checklist, x.item;
        INSERT INTO item_failures
            SELECT a.day, a.brand, a.checklist, x.item, a.location, COUNT(*)
            FROM answers x JOIN audits a ON a.seq = x.audit WHERE x.f < 1 GROUP BY a.day, a.brand, a.checklist, x.item, a.location;
        """,
    )


def _meaning_hash_0005(location: str, checklist: str, visit: str | None, started_at: str, finished_at: str, answers: dict[str, tuple]) -> str:
    """server.audits.meaning_hash as step 0005 shipped it (commit 24f038a), frozen here: a step
    that has shipped must do what it did then, whatever the live function becomes. Editing the
    live hash needs a step of its own that rehashes the stored audits."""
    def plain(value):
        return int(value) if type(value) is float and value.is_integer() else value

    canonical = {
        "location": location, "checklist": checklist, "visit": visit, "started_at": started_at, "finished_at": finished_at,
        "answers": {item: [plain(value), comment, list(photos)] for item, (value, comment, photos) in answers.items()},
    }
    return hashlib.sha256(msgspec.json.encode(canonical, order="sorted")).hexdigest()


@migrations(name="0005_meaning_hash")
def m0005_meaning_hash(db: sqlite_utils.Database) -> None:
    """Audits are told apart from their retries by what they mean (3 and 3.0 alike; the version
    checked apart): rehash the stored ones so a retry of an audit sent before this still matches."""
    audits = db.execute("SELECT seq, location, checklist, visit, started_at, finished_at FROM audits").fetchall()
    for seq, location, checklist, visit, started_at, finished_at in audits:
        answers = {item: (msgspec.json.decode(value) if value is not None else None, comment, msgspec.json.decode(photos))
                   for item, value, comment, photos in db.execute("SELECT item, value, comment, photos FROM answers WHERE audit = ?", [seq])}
        db.execute("UPDATE audits SET content_hash = ? WHERE seq = ?", [_meaning_hash_0005(location, checklist, visit, started_at, finished_at, answers), seq])


@migrations(name="0006_login_failures")
def m0006_login_failures(db: sqlite_utils.Database) -> None:
    _run(
        db,
        """
        -- Failed sign-ins, by name ('name:ann') and by address ('addr:10.0.0.7'): in the database so
        -- every server process throttles alike. Rows older than the window are deleted as it moves.
        CREATE TABLE login_failures (
            key TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX login_failures_key_at ON login_failures(key, at);
        """,
    )


@migrations(name="0007_token_expiry")
def m0007_token_expiry(db: sqlite_utils.Database) -> None:
    """Tokens get an id (to list and revoke them), a label, an expiry and their last use; users can
    be disabled. Tokens made before this expire 90 days after the upgrade rather than at once."""
    _run(
        db,
        """
        CREATE TABLE api_tokens_new (
            id INTEGER PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            label TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        );
        INSERT INTO api_tokens_new (token_hash, user, created_at, expires_at)
            SELECT token_hash, user, created_at, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '+90 days') FROM api_tokens ORDER BY created_at;
        DROP TABLE api_tokens;
        ALTER TABLE api_tokens_new RENAME TO api_tokens;
        CREATE INDEX api_tokens_user ON api_tokens(user);
        ALTER TABLE users ADD COLUMN disabled_at TEXT;
        """,
    )


@migrations(name="0008_photo_pruning")
def m0008_photo_pruning(db: sqlite_utils.Database) -> None:
    """Photos of audits that never arrived are deleted after a while: found by age, their files by name."""
    _run(
        db,
        """
        CREATE INDEX photos_received_at ON photos(received_at);
        CREATE INDEX photos_file ON photos(file);
        """,
    )


@migrations(name="0009_staff", transactional=False)
def m0009_staff(db: sqlite_utils.Database) -> None:
    """Users may be `staff` of one location, and each gets a random auditor code (shown instead of
    the name where a brand keeps its auditors anonymous). SQLite cannot change a CHECK in place:
    the table is rebuilt with foreign keys off (SQLite's documented procedure), in one transaction,
    and checked before it commits. Safe to run again after a crash between its commit and its record."""
    if "'staff'" in db.execute("SELECT sql FROM sqlite_master WHERE name = 'users'").fetchone()[0]:
        return
    _rebuild(db, "0009", """
        CREATE TABLE users_new (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'auditor', 'staff')),
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            disabled_at TEXT,
            location TEXT REFERENCES locations(id),  -- staff: the one location they work at
            code TEXT NOT NULL UNIQUE,               -- shown instead of the name where auditors are anonymous
            CHECK ((role = 'staff') = (location IS NOT NULL))
        );
        INSERT INTO users_new (id, name, role, password_hash, created_at, disabled_at, code)
            SELECT id, name, role, password_hash, created_at, disabled_at, upper(hex(randomblob(4))) FROM users;
        DROP TABLE users;
        ALTER TABLE users_new RENAME TO users;
        """)


@migrations(name="0010_program")
def m0010_program(db: sqlite_utils.Database) -> None:
    _run(
        db,
        """
        -- Review: an audit counts (is in the rollups and every figure) when `counts` is 1. With a
        -- brand's review off it counts on arrival; with it on, from approval until returned or
        -- rejected. `revision` grows each time a returned audit is sent again under its id.
        ALTER TABLE audits ADD COLUMN counts INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE audits ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE audits ADD COLUMN assignment TEXT;
        ALTER TABLE audits ADD COLUMN review_note TEXT;          -- the last reviewer's comment or reason
        CREATE INDEX audits_waiting ON audits(received_at) WHERE counts = 0 AND status IN ('submitted', 'awaiting_photos');
        CREATE INDEX audits_assignment ON audits(assignment) WHERE assignment IS NOT NULL;
        CREATE INDEX audits_returned ON audits(auditor) WHERE status = 'returned';

        -- A reviewer's change of one answer: the auditor's answer and the reviewer's, with why.
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

        -- Repeating schedules make assignments, one per location and period.
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
        -- A planned visit. Its state follows from these columns and today's date (program.assignments).
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
        CREATE INDEX assignments_ends ON assignments(ends);
        CREATE INDEX assignments_location ON assignments(location, ends);
        CREATE INDEX assignments_auditor ON assignments(auditor, ends);
        CREATE INDEX assignments_schedule ON assignments(schedule);

        -- Every status change, correction, claim and assignment change: who, when, before, after.
        -- Append-only: the triggers refuse any UPDATE or DELETE, whoever asks.
        CREATE TABLE history (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor INTEGER REFERENCES users(id),  -- null: the program itself
            kind TEXT NOT NULL CHECK (kind IN ('audit', 'assignment', 'schedule')),
            subject TEXT NOT NULL,
            action TEXT NOT NULL,
            before TEXT,                          -- JSON
            after TEXT,                           -- JSON
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX history_subject ON history(kind, subject, seq);
        CREATE TRIGGER history_no_update BEFORE UPDATE ON history BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END;
        CREATE TRIGGER history_no_delete BEFORE DELETE ON history BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END;
        """,
    )


@migrations(name="0011_followup")
def m0011_followup(db: sqlite_utils.Database) -> None:
    _run(
        db,
        """
        -- Integrity flags: why an audit deserves a reviewer's look, with the evidence. Never in a score.
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

        -- The duplicate-photo index: each photo's 64-bit hash cut in three bands (21, 21, 22 bits), one
        -- row per band keyed (band << 22 | value). Two hashes within d bits agree to within d // 3
        -- bits in at least one band (pigeonhole), so a search looks up a few keys, never every photo.
        CREATE TABLE photo_bands (
            key INTEGER NOT NULL,
            photo TEXT NOT NULL,
            audit TEXT NOT NULL,
            phash TEXT NOT NULL,
            PRIMARY KEY (key, photo)
        ) WITHOUT ROWID;
        CREATE INDEX photo_bands_photo ON photo_bands(photo);
        CREATE TRIGGER photos_unindex AFTER DELETE ON photos BEGIN DELETE FROM photo_bands WHERE photo = old.id; END;

        -- Long comments by a fingerprint of their normalised words, to find one pasted into another audit.
        CREATE TABLE comment_prints (
            print TEXT NOT NULL,
            audit TEXT NOT NULL,
            item TEXT NOT NULL,
            PRIMARY KEY (print, audit, item)
        ) WITHOUT ROWID;
        CREATE INDEX comment_prints_audit ON comment_prints(audit);

        -- Follow-up: a counting audit that failed a critical item or fell under the threshold opens one.
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
        CREATE INDEX actions_region ON actions(region, state, due);
        CREATE INDEX actions_owner ON actions(owner, state, due);

        -- Webhooks: URLs told of events. A delivery row is written in the event's own transaction;
        -- a worker sends it, retrying with back-off, and logs each attempt.
        CREATE TABLE webhooks (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL,
            events TEXT NOT NULL,                -- JSON list
            secret TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL,
            removed_at TEXT
        );
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
        """,
    )
    db.conn.executemany(  # the keys as server.followup.integrity.band_keys makes them (written out: a step never changes)
        "INSERT INTO photo_bands (key, photo, audit, phash) VALUES (?, ?, ?, ?)",
        [(n << 22 | (int(phash, 16) >> shift) & ((1 << width) - 1), photo, audit, phash)
         for photo, audit, phash in db.execute("SELECT id, audit, phash FROM photos").fetchall()
         for n, (shift, width) in enumerate(((43, 21), (22, 21), (0, 22)))],
    )


@migrations(name="0012_campaigns", transactional=False)
def m0012_campaigns(db: sqlite_utils.Database) -> None:
    """Channels (a location that is a phone line, a website, a chat or an e-mail address) and
    "call your own support line" campaigns: their channels, join links, participants (a user of
    role `participant`, which needs the users table rebuilt, as in 0009) and their audits, kept
    apart by `audits.campaign`. One transaction, checked before it commits; safe to run again."""
    if "'participant'" in db.execute("SELECT sql FROM sqlite_master WHERE name = 'users'").fetchone()[0]:
        return
    _rebuild(db, "0012", """
        CREATE TABLE users_new (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'auditor', 'staff', 'participant')),
            password_hash TEXT NOT NULL,             -- a participant's is '!': it never signs in with a password
            created_at TEXT NOT NULL,
            disabled_at TEXT,
            location TEXT REFERENCES locations(id),  -- staff: the one location they work at
            code TEXT NOT NULL UNIQUE,               -- shown instead of the name where auditors are anonymous
            CHECK ((role = 'staff') = (location IS NOT NULL))
        );
        INSERT INTO users_new SELECT id, name, role, password_hash, created_at, disabled_at, location, code FROM users;
        DROP TABLE users;
        ALTER TABLE users_new RENAME TO users;
        ALTER TABLE locations ADD COLUMN kind TEXT NOT NULL DEFAULT 'place' CHECK (kind IN ('place', 'phone', 'website', 'chat', 'email'));
        ALTER TABLE locations ADD COLUMN contact TEXT NOT NULL DEFAULT '';  -- a channel's number or address
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
        CREATE TABLE participants (
            user INTEGER PRIMARY KEY REFERENCES users(id),
            campaign INTEGER NOT NULL REFERENCES campaigns(id),
            link INTEGER NOT NULL REFERENCES campaign_links(id),
            display_name TEXT,                       -- null: anonymous
            joined_at TEXT NOT NULL
        );
        CREATE INDEX participants_campaign ON participants(campaign);
        ALTER TABLE audits ADD COLUMN campaign INTEGER REFERENCES campaigns(id);
        CREATE INDEX audits_campaign ON audits(campaign, received_at) WHERE campaign IS NOT NULL;
        """)


@migrations(name="0013_ingest_speed")
def m0013_ingest_speed(db: sqlite_utils.Database) -> None:
    """Three things the writer does for every audit that arrives, made cheaper. An audit's failed
    items (item_failures) are keyed by location before item, so its ~10 rows land side by side in
    one page instead of one page each (the one reader scans days whatever the order). The repeated-visits
    flag counts one auditor's audits of one location in a window from the location's days index
    alone, now that it holds the auditor and status too (rather than a second index on audits: one
    more page written per audit). Comment fingerprints become 8-byte integers kept by the audit's seq (an
    index that grows at its end) instead of 32 hex characters and a UUID (two B-trees written at
    random places): the first 8 bytes, signed, of the same BLAKE2b-128, so a print made before this
    step still matches the same comment sent after it."""
    rows = db.execute("SELECT c.print, a.seq, c.item FROM comment_prints c JOIN audits a ON a.id = c.audit").fetchall()
    _run(db, """
        DROP TABLE comment_prints;
        CREATE TABLE comment_prints (
            print INTEGER NOT NULL,    -- first 8 bytes (big-endian, signed) of the normalised words' BLAKE2b-128
            audit INTEGER NOT NULL,    -- audits.seq
            item TEXT NOT NULL,
            PRIMARY KEY (print, audit, item)
        ) WITHOUT ROWID;
        CREATE INDEX comment_prints_audit ON comment_prints(audit);
        DROP INDEX audits_location_day;
        CREATE INDEX audits_location_day ON audits(location, day, auditor, status);
        CREATE TABLE item_failures_new (
            day TEXT NOT NULL,
            brand TEXT NOT NULL,
            checklist TEXT NOT NULL,
            item TEXT NOT NULL,
            location TEXT NOT NULL REFERENCES locations(id),
            failed INTEGER NOT NULL,
            PRIMARY KEY (day, brand, checklist, location, item)
        ) WITHOUT ROWID;
        INSERT INTO item_failures_new SELECT day, brand, checklist, item, location, failed FROM item_failures;
        DROP TABLE item_failures;
        ALTER TABLE item_failures_new RENAME TO item_failures;
        """)
    db.conn.executemany("INSERT INTO comment_prints (print, audit, item) VALUES (?, ?, ?)",
                        [(int.from_bytes(bytes.fromhex(hexdigest)[:8], "big", signed=True), seq, item) for hexdigest, seq, item in rows])


@migrations(name="0014_upload_allowance")
def m0014_upload_allowance(db: sqlite_utils.Database) -> None:
    """The hourly upload allowance reads one person's photos of the last hour on every upload for an
    audit not arrived: by uploader, not by scanning everyone's hour (photos_received_at)."""
    db.execute("CREATE INDEX photos_uploader ON photos(uploader, received_at)")

@migrations(name="0015_administration", transactional=False)
def m0015_administration(db: sqlite_utils.Database) -> None:
    """Running a program from the browser: people get an optional e-mail, a last sign-in and a
    forgotten state; sessions say which browser they are; locations can be deactivated; one-time
    links (the first start's setup, invitations, password resets) keep only their secret's hash;
    mail waits in an outbox written with its cause; the history also holds people, locations and
    regions (its CHECK rebuilt, so the table is made again with its append-only triggers).
    All in one transaction (the rebuild's); safe to run again after a crash between its commit and the step's record."""
    if "'person'" not in db.execute("SELECT sql FROM sqlite_master WHERE name = 'history'").fetchone()[0]:
        _rebuild(db, "0015", """
            CREATE TABLE history_new (
                seq INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                actor INTEGER REFERENCES users(id),  -- null: the program itself
                kind TEXT NOT NULL CHECK (kind IN ('audit', 'assignment', 'schedule', 'person', 'location', 'region')),
                subject TEXT NOT NULL,
                action TEXT NOT NULL,
                before TEXT,                          -- JSON
                after TEXT,                           -- JSON
                note TEXT NOT NULL DEFAULT ''
            );
            INSERT INTO history_new SELECT seq, at, actor, kind, subject, action, before, after, note FROM history;
            DROP TABLE history;
            ALTER TABLE history_new RENAME TO history;
            CREATE INDEX history_subject ON history(kind, subject, seq);
            CREATE TRIGGER history_no_update BEFORE UPDATE ON history BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END;
            CREATE TRIGGER history_no_delete BEFORE DELETE ON history BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END;
        ALTER TABLE users ADD COLUMN email TEXT;             -- optional: where invitations and resets are mailed
        ALTER TABLE users ADD COLUMN last_sign_in_at TEXT;
        ALTER TABLE users ADD COLUMN forgotten_at TEXT;      -- the person left: name and e-mail replaced by their code
        ALTER TABLE sessions ADD COLUMN agent TEXT NOT NULL DEFAULT '';  -- the browser's User-Agent, to tell sessions apart
        ALTER TABLE locations ADD COLUMN deactivated_at TEXT;  -- no new visits; its history stays
        CREATE INDEX users_role ON users(role, name);
        -- One-time links: the first start's setup, an invitation, a password reset. Only the hash of
        -- the secret the link carries is kept; a link is used once, then refused with what happened to it.
        CREATE TABLE links (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('setup', 'invitation', 'reset')),
            token_hash TEXT NOT NULL UNIQUE,
            user INTEGER REFERENCES users(id),       -- whom it enrols or resets; null for the setup link
            created_by INTEGER REFERENCES users(id), -- null: the server itself, or the person (a forgotten password)
            created_at TEXT NOT NULL,
            expires_at TEXT,                         -- null: valid until used (the setup link)
            used_at TEXT,
            revoked_at TEXT
        );
        CREATE INDEX links_user ON links(user, kind);
        -- The mail outbox: written in the transaction of its cause, sent by the background sender
        -- (the webhooks' claim, lease and retry). Held: no SMTP server is set, so nothing was sent;
        -- admins see it at /manage/mail.
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
        """)


@migrations(name="0016_forgetting")
def m0016_forgetting(db: sqlite_utils.Database) -> None:
    """Forgetting a person (server/people/people.py) rewrites their name to their code in the history's
    before and after, the one change the append-only history takes: its update trigger lets an UPDATE
    through only while the forget's own transaction holds a row in `erasing` (it empties it before it
    commits), so no other code can change a line of it. (The people list needs no index of its own:
    10,000 people searched and filtered in p99 under 50 ms, tests/bench/bench_people.py.)"""
    _run(db, """
        CREATE TABLE erasing (user INTEGER PRIMARY KEY);  -- filled and emptied inside one forget's transaction
        DROP TRIGGER history_no_update;
        CREATE TRIGGER history_no_update BEFORE UPDATE ON history WHEN NOT EXISTS (SELECT 1 FROM erasing)
            BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END;
    """)

@migrations(name="0017_published")
def m0017_published(db: sqlite_utils.Database) -> None:
    """The database holds what is published (server/checklists/versions.py): each version of a brand
    or checklist says how it came (`via`: the checklists folder at a start, `touchpoint checklists
    import`, the browser's editor or a workbook), by whom, with what note, and when it was last made
    current. Versions recorded before keep their first sighting as that time, and came from the folder."""
    for table in ("brand_versions", "checklist_versions"):
        _run(db, f"""
            ALTER TABLE {table} ADD COLUMN via TEXT NOT NULL DEFAULT 'folder' CHECK (via IN ('folder', 'import', 'browser', 'workbook'));
            ALTER TABLE {table} ADD COLUMN published_by INTEGER REFERENCES users(id);
            ALTER TABLE {table} ADD COLUMN note TEXT NOT NULL DEFAULT '';
            ALTER TABLE {table} ADD COLUMN published_at TEXT;
            UPDATE {table} SET published_at = first_seen;
        """)


@migrations(name="0018_drafts", transactional=False)
def m0018_drafts(db: sqlite_utils.Database) -> None:
    """Editing in the browser (server/checklists/drafts.py): one draft a brand, its whole set of files
    as edited, with the revision a save is made from (two editors: the second is told); the catalog's
    generation, one more at each publish, which every server process compares with its own; and the
    history holds brands too (its CHECK rebuilt with the append-only triggers and the forget's gate).
    All in one transaction (the rebuild's); safe to run again after a crash between its commit and the step's record."""
    if db["drafts"].exists():
        return
    _rebuild(db, "0018", """
        CREATE TABLE history_new (
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
        INSERT INTO history_new SELECT seq, at, actor, kind, subject, action, before, after, note FROM history;
        DROP TABLE history;
        ALTER TABLE history_new RENAME TO history;
        CREATE INDEX history_subject ON history(kind, subject, seq);
        CREATE TRIGGER history_no_update BEFORE UPDATE ON history WHEN NOT EXISTS (SELECT 1 FROM erasing)
            BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END;
        CREATE TRIGGER history_no_delete BEFORE DELETE ON history BEGIN SELECT RAISE(ABORT, 'the history is append-only'); END;
        CREATE TABLE drafts (
            brand TEXT PRIMARY KEY REFERENCES brands(id),
            files TEXT NOT NULL,                     -- JSON {file name: text}: brand.yaml and every checklist, as edited
            revision INTEGER NOT NULL,               -- one more at each save; a save names the one it was made from
            saved_by INTEGER REFERENCES users(id),
            saved_at TEXT NOT NULL
        );
        CREATE TABLE catalog_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            generation INTEGER NOT NULL              -- one more at each publish: every process reloads when it differs
        );
        INSERT INTO catalog_state (id, generation) VALUES (1, 0);
    """)


@migrations(name="0019_test_audits")
def m0019_test_audits(db: sqlite_utils.Database) -> None:
    """A draft's test audits (server/checklists/drafts.py): made on a phone in the app's test mode,
    scored with the draft and shown to its editors, never in the audits table, so never in rollups,
    rankings, exports, flags, actions or webhooks; deleted when the draft is published or discarded."""
    _run(db, """
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
    """)


@migrations(name="0020_processes_and_leases")
def m0020_processes_and_leases(db: sqlite_utils.Database) -> None:
    """What many server processes share (server/leases.py): each process's heartbeat, the leases
    that let one process of the installation run a job (the hourly photo prune) with a log of its
    runs, counts of recent events that a limit reads (the campaign join throttle), and a generation
    per cache that a change bumps so every process forgets what it kept."""
    _run(db, """
        CREATE TABLE processes (
            holder TEXT PRIMARY KEY,                 -- host:pid:start, unique to one process's life
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            seen_at TEXT NOT NULL                    -- refreshed every HEARTBEAT_SECONDS; older than GONE_SECONDS: gone
        );
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,                   -- the job, e.g. 'photo-prune'
            holder TEXT,                             -- the process running it now (processes.holder), NULL when none
            pid INTEGER,
            until TEXT,                              -- held until then; a holder that died lets it pass
            started_at TEXT,                         -- when the holder took it
            last_run_at TEXT,                        -- when the last run that finished had started
            runs INTEGER NOT NULL DEFAULT 0
        );
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
        CREATE TABLE throttle (
            key TEXT NOT NULL,                       -- what is counted, e.g. 'join:203.0.113.7'
            at REAL NOT NULL                         -- unix seconds
        );
        CREATE INDEX throttle_key ON throttle(key, at);
        CREATE TABLE generations (
            name TEXT PRIMARY KEY,                   -- a cache, e.g. 'places'
            n INTEGER NOT NULL
        );
    """)


@migrations(name="0021_running")
def m0021_running(db: sqlite_utils.Database) -> None:
    """Heavy work running now (server/heavy.py: exports, PDFs, long pages), one row each, so a
    per-person limit counts alike in every server process. Each row holds a lease (`until`), renewed
    while its work runs: a process killed mid-export leaves a row that stops counting when it passes."""
    _run(db, """
        CREATE TABLE running (
            id INTEGER PRIMARY KEY,
            person INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,                      -- export, pdf or page
            started_at TEXT NOT NULL,
            until TEXT NOT NULL,                     -- the lease: after this the row no longer counts
            pid INTEGER NOT NULL                     -- the server process doing it, for an operator reading the table
        );
        CREATE INDEX running_person ON running(person, until);
    """)


@migrations(name="0022_one_dialect")
def m0022_one_dialect(db: sqlite_utils.Database) -> None:
    """What the SQL both engines accept needs of the schema (issue 28). The columns named `user`
    become `person`: `user` is a reserved word in PostgreSQL (it means the current role), and a
    name that must be quoted in every statement is one a statement will forget. Sign-in failures
    get a key of their own: a sign-in forgiven or released deletes its own rows by it, where it used
    SQLite's hidden rowid, which PostgreSQL has not. Those rows are a throttle's memory of the last
    minutes: copied over, oldest first. (RENAME COLUMN rewrites the indexes and foreign keys that
    name the column as well.)"""
    for table in ("api_tokens", "erasing", "links", "participants", "sessions", "user_regions"):
        db.execute(f"ALTER TABLE {table} RENAME COLUMN user TO person")
    _run(db, """
        CREATE TABLE login_failures_keyed (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            at TEXT NOT NULL
        );
        INSERT INTO login_failures_keyed (key, at) SELECT key, at FROM login_failures ORDER BY at;
        DROP TABLE login_failures;
        ALTER TABLE login_failures_keyed RENAME TO login_failures;
        CREATE INDEX login_failures_key_at ON login_failures(key, at);
    """)


@migrations(name="0023_photo_bytes")
def m0023_photo_bytes(db: sqlite_utils.Database) -> None:
    """What a photo's two images take (display and thumbnail, in bytes), written with its row: the
    hour's upload allowance sums it from the database instead of asking the photo store for each
    file, which with a bucket was two requests a photo inside the write lock. NULL for photos
    stored before this step: their files are asked, as before."""
    _run(db, "ALTER TABLE photos ADD COLUMN bytes INTEGER;")


def migrate(db: sqlite_utils.Database) -> None:
    """Bring the schema up to date; each step and its record commit together."""
    migrations.apply(db)


def open_database(path) -> sqlite_utils.Database:
    """The database at `path`, made if new and migrated to the last step. Processes that start
    together (`serve --workers`, several servers on one data folder) migrate one at a time under a
    lock on `touchpoint.db.lock` beside it: the first applies the steps, the others find none left.
    A `postgresql://` URL: that PostgreSQL database, made at the head if empty (`_open_postgres`)."""
    if isinstance(path, str) and path.startswith(("postgresql://", "postgres://")):
        return _open_postgres(path)
    path = Path(path)
    lock = path.with_name(path.name + ".lock")
    if not path.exists():  # a new file: even making it WAL takes a lock that six processes at once can miss
        with dbmod.exclusive(lock):
            db = dbmod.connect(path)
            migrate(db)
        return db
    db = dbmod.connect(path)
    if _pending(db):
        with dbmod.exclusive(lock):
            migrate(db)  # what is pending is asked again under the lock: another process may have done it
    return db


STEPS_TABLE = "touchpoint_steps"  # PostgreSQL's record of the steps it stands at (SQLite's is sqlite-utils' _sqlite_migrations)
MIGRATION_LOCK = 0x746F7564  # the advisory lock processes starting together on one PostgreSQL take in turn
# The rows the steps leave in a new database (tests/test_postgres_store.py holds them equal to what an
# empty SQLite holds at the head): a new PostgreSQL installation starts with the same.
HEAD_ROWS = ["INSERT INTO catalog_state (id, generation) VALUES (1, 0)"]


def _open_postgres(url: str):
    """A PostgreSQL database at the last step. There are no old PostgreSQL installations to step up:
    an empty database is given the whole head schema at once (server/pgschema.py, made from the
    same server/schema.sql the SQLite steps are held equal to) and every step is recorded as done;
    a step added later runs on both engines, so its SQL is the house SQL. Processes starting
    together take an advisory lock in turn: the first makes the schema, the others find it made."""
    from server.pgschema import head_ddl

    db = dbmod.connect(url)
    with dbmod.write(db):
        db.execute("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK])
        if db.execute("SELECT to_regclass(?)", [STEPS_TABLE]).fetchone()[0] is None:
            if db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").fetchone()[0]:
                raise RuntimeError(f"{db.url.rsplit('@', 1)[-1]}: this PostgreSQL database holds tables but no Touchpoint "
                                   f"steps table ({STEPS_TABLE}): give Touchpoint an empty database of its own")
            db.script(head_ddl())
            for row in HEAD_ROWS:
                db.execute(row)
            db.execute(f"CREATE TABLE {STEPS_TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            now = dt.datetime.now(dt.UTC).isoformat()
            db.conn.executemany(f"INSERT INTO {STEPS_TABLE} (name, applied_at) VALUES (?, ?)", [(m.name, now) for m in migrations._migrations])
        done = {name for (name,) in db.execute(f"SELECT name FROM {STEPS_TABLE}")}
        for step in migrations._migrations:
            if step.name not in done:
                step.fn(db)
                db.execute(f"INSERT INTO {STEPS_TABLE} (name, applied_at) VALUES (?, ?)", [step.name, dt.datetime.now(dt.UTC).isoformat()])
    return db


def _pending(db: sqlite_utils.Database) -> bool:
    try:
        return bool(migrations.pending(db))
    except sqlite3.OperationalError:  # no record of steps yet, as in a new file
        return True


REGENERATE = "python -m server.migrations --schema > server/schema.sql"
SCHEMA_HEADER = f"""-- The schema after the last step of server/migrations.py, as SQLite holds it. Never edited by hand:
-- made by `{REGENERATE}`; tests/test_schema.py holds the two equal.

"""


def schema(db: sqlite_utils.Database) -> str:
    """The schema as SQLite holds it in sqlite_master, in a stable text: each table followed by its
    indexes and triggers, sorted by name, continuation lines dedented. What server/schema.sql holds.
    Left out: SQLite's own rows (sqlite_*) and sqlite-utils' record of the steps applied."""
    rows = db.execute("""SELECT type, name, tbl_name, sql FROM sqlite_master
                         WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND tbl_name != '_sqlite_migrations'""").fetchall()
    order = {"table": 0, "view": 0, "index": 1, "trigger": 2}
    statements = []
    for kind, name, table, sql in sorted(rows, key=lambda row: (row[2], order[row[0]], row[1])):
        first, _, rest = sql.strip().partition("\n")
        lines = [first.rstrip(), *textwrap.dedent(rest).splitlines()] if rest else [first.rstrip()]
        statements.append("\n".join(line.rstrip() for line in lines) + ";\n")
    return SCHEMA_HEADER + "\n".join(statements)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.migrations", description="The schema the migrations make.")
    parser.add_argument("--schema", action="store_true", required=True,
                        help="print the schema after the last step, as server/schema.sql holds it")
    parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(Path(folder) / "touchpoint.db")
        sys.stdout.write(schema(db))
        db.conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
