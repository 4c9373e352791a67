"""Audits: the payloads the phone sends and the server returns, and how they are stored.

Idempotent on the id made on the phone: the same content again returns the stored answer, other
content under the same id is a conflict. Scores are stored at write time (never recomputed for
reports) and the per-day rollups are updated in the same transaction.
"""

import datetime as dt
import hashlib
import sqlite3
import uuid
from typing import Annotated

import msgspec
import sqlite_utils
from msgspec import Meta

from server.accounts import User
from server.checklists.format import Strict
from server.errors import conflict, forbidden, not_found
from server.locations import Location
from server.locations import get as location_of
from server.scoring import Answer, AuditResult, ItemPoints

Timestamp = Annotated[dt.datetime, Meta(tz=True, description="ISO 8601 with a UTC offset, e.g. 2026-11-20T10:14:30+01:00")]


class AuditIn(Strict, kw_only=True):
    """An audit as the phone sends it."""

    id: Annotated[uuid.UUID, Meta(description="made on the phone; the idempotency key")]
    location: str
    checklist: str
    version: str | None = None
    started_at: Timestamp
    finished_at: Timestamp
    answers: dict[str, Answer]
    visit: Annotated[str | None, Meta(description="groups the audits of one trip (several touchpoints)")] = None


class Evidence(msgspec.Struct, kw_only=True):
    """A photo's own facts beside the audit it proves: for managers and admins."""

    id: str
    taken_at: str | None  # as the camera wrote it: local time, no zone
    lat: float | None
    lng: float | None
    distance_m: float | None  # from the audited location, when both positions are known
    camera: str | None
    phash: str


class AuditOut(msgspec.Struct, kw_only=True):
    id: str
    location: str
    checklist: str
    version: str
    visit: str | None
    started_at: dt.datetime
    finished_at: dt.datetime
    auditor: str
    status: str
    received_at: dt.datetime
    answers: dict[str, Answer]
    result: AuditResult
    missing_photos: list[str] = []  # named in the answers, not received yet (status awaiting_photos)
    photos: list[Evidence] = []  # for managers and admins only


class AuditListed(msgspec.Struct, kw_only=True):
    id: str
    location: str
    checklist: str
    version: str
    finished_at: dt.datetime
    auditor: str
    status: str
    score: float | None
    promise_kept: bool


class AuditPage(msgspec.Struct, kw_only=True):
    items: list[AuditListed]
    next_offset: int | None


class Stored(msgspec.Struct):
    audit: AuditOut
    created: bool


def content_hash(audit: AuditIn) -> str:
    """What the audit means, hashed: the same audit sent again hashes the same, whatever the order
    of its answers, 3 sent as 3.0, or the current version named or left out (checked apart)."""
    answers = {item: (a.value, a.comment, a.photos) for item, a in audit.answers.items()}
    return meaning_hash(audit.location, audit.checklist, audit.visit, audit.started_at.isoformat(), audit.finished_at.isoformat(), answers)


def meaning_hash(location: str, checklist: str, visit: str | None, started_at: str, finished_at: str, answers: dict[str, tuple]) -> str:
    """The hash over an audit's fields as stored (migration 0005 rehashes stored audits with it)."""
    def plain(value):
        return int(value) if type(value) is float and value.is_integer() else value

    canonical = {
        "location": location, "checklist": checklist, "visit": visit, "started_at": started_at, "finished_at": finished_at,
        "answers": {item: [plain(value), comment, list(photos)] for item, (value, comment, photos) in answers.items()},
    }
    return hashlib.sha256(msgspec.json.encode(canonical, order="sorted")).hexdigest()


def existing(db: sqlite_utils.Database, audit: AuditIn, by: User) -> Stored | None:
    """The stored audit when this is a retry of it; a conflict when the id holds something else."""
    audit_id = str(audit.id)
    row = db.execute("SELECT content_hash, auditor, version FROM audits WHERE id = ?", [audit_id]).fetchone()
    if row is None:
        return None
    if row[1] != by.id:
        raise conflict(f"audit id {audit_id} is already used by another auditor's audit; make a new id")
    if row[0] != content_hash(audit) or audit.version not in (None, row[2]):
        raise conflict(f"audit {audit_id} was already received with different content ({_differences(db, audit)}); a retry must send exactly what was sent first")
    return Stored(load(db, audit_id), created=False)


def store(db: sqlite_utils.Database, audit: AuditIn, result: AuditResult, by: User, brand: str) -> Stored:
    """Insert a scored audit inside the caller's write transaction, or return the one already stored.
    A conflict is raised before anything is written (the Writer relies on it)."""
    audit_id = str(audit.id)
    now = dt.datetime.now(dt.UTC)
    day = audit.finished_at.date().isoformat()  # the calendar date where the audit was done
    result_json = msgspec.json.encode(result)
    try:
        seq = _insert_audit(db, audit, result, by, brand, now, day, result_json)
    except sqlite3.IntegrityError:
        already = existing(db, audit, by)  # the id is taken: a retry (200) or a conflict (409)
        if already is None:
            raise
        return already
    # One statement each, SQLite walking one JSON array: far cheaper than a Python loop of inserts.
    unscored = ItemPoints(None, 0.0, 0.0)
    rows = [
        (item, a.value, a.comment, a.photos, p.f, p.earned, p.possible)
        for item, a in audit.answers.items()
        for p in (result.items.get(item, unscored),)
    ]
    db.execute(
        """INSERT INTO answers (audit, item, value, comment, photos, f, earned, possible)
           SELECT ?1, r.value ->> 0, r.value -> 1, r.value ->> 2, r.value -> 3, r.value ->> 4, r.value ->> 5, r.value ->> 6
           FROM json_each(?2) r""",
        [seq, msgspec.json.encode(rows).decode()],
    )
    db.execute("INSERT INTO audit_sections SELECT ?1, key, value FROM json_each(?2, '$.sections')", [seq, result_json.decode()])
    db.execute("INSERT INTO audit_pillars SELECT ?1, key, value FROM json_each(?2, '$.pillars')", [seq, result_json.decode()])
    _roll_up(db, audit.location, day, audit.checklist, result)
    _roll_up_items(db, seq, brand, audit.checklist, audit.location, day)
    # a photo sent before its audit belongs to whoever sent it: the audit claims only its own auditor's
    db.execute("DELETE FROM photos WHERE audit = ? AND uploader != ?", [audit_id, by.id])
    missing = photos_missing(db, audit_id)
    if missing:
        db.execute("UPDATE audits SET status = 'awaiting_photos' WHERE seq = ?", [seq])
    stored = AuditOut(
        id=audit_id, location=audit.location, checklist=audit.checklist, version=result.version, visit=audit.visit,
        started_at=audit.started_at, finished_at=audit.finished_at, auditor=by.name,
        status="awaiting_photos" if missing else "submitted", received_at=now, answers=audit.answers, result=result,
        missing_photos=missing,
    )
    return Stored(stored, created=True)  # what load() would read back, without reading it


def photos_missing(db: sqlite_utils.Database, audit_id: str) -> list[str]:
    """Photo ids the audit's answers name that have not arrived for this audit (by item id, then position)."""
    return [
        photo
        for (photo,) in db.execute(
            """SELECT p.value FROM audits a JOIN answers an ON an.audit = a.seq, json_each(an.photos) p
               WHERE a.id = ?1 AND p.value NOT IN (SELECT id FROM photos WHERE audit = ?1)
               GROUP BY p.value ORDER BY min(an.item), min(p.key)""",
            [audit_id],
        )
    ]


def _insert_audit(db, audit: AuditIn, result: AuditResult, by: User, brand: str, now: dt.datetime, day: str, result_json: bytes) -> int:
    """The audit's row; its sequential rowid keys its answers, sections and pillars."""
    return db.execute(
        """INSERT INTO audits (id, location, brand, checklist, version, auditor, visit, started_at, finished_at, day,
                               received_at, status, content_hash, score, raw_score, promise_kept, earned, possible, result)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?, ?, ?, ?)""",
        [
            str(audit.id), audit.location, brand, audit.checklist, result.version, by.id, audit.visit,
            audit.started_at.isoformat(), audit.finished_at.isoformat(), day, now.isoformat(), content_hash(audit),
            result.score, result.raw_score, result.promise_kept, result.earned, result.possible, result_json.decode(),
        ],
    ).lastrowid


def _roll_up(db: sqlite_utils.Database, location: str, day: str, touchpoint: str, result: AuditResult) -> None:
    """Add the audit to the cumulative daily rollups and its month's sums. An audit with a null
    score is not in A, pillars included."""
    if result.score is None:
        return
    kept = int(result.promise_kept)
    keys = [("t", touchpoint, result.score)] + [("p", pillar, score) for pillar, score in result.pillars.items() if score is not None]
    # First make sure the day has a row, starting from the running totals before it ...
    made = db.conn.executemany(
        """INSERT INTO rollups SELECT ?1, ?2, ?3, ?4, n, total, total_sq, kept FROM (
               SELECT n, total, total_sq, kept FROM (
                   SELECT n, total, total_sq, kept FROM rollups WHERE location = ?1 AND kind = ?2 AND key = ?3 AND day < ?4 ORDER BY day DESC LIMIT 1)
               UNION ALL SELECT 0, 0.0, 0.0, 0 LIMIT 1)
           WHERE true ON CONFLICT DO NOTHING""",
        [(location, kind, key, day) for kind, key, _ in keys],
    ).rowcount
    # ... then add this audit to that day and to every later day (none, unless the audit came late).
    db.conn.executemany(
        "UPDATE rollups SET n = n + 1, total = total + ?, total_sq = total_sq + ?, kept = kept + ? WHERE location = ? AND kind = ? AND key = ? AND day >= ?",
        [(score, score * score, kept, location, kind, key, day) for kind, key, score in keys],
    )
    if made:  # a new day row; maybe a key never seen at this location
        db.conn.executemany("INSERT OR IGNORE INTO rollup_keys VALUES (?, ?, ?)", [(location, kind, key) for kind, key, _ in keys])
    # and to its month's own sums
    db.conn.executemany(
        """INSERT INTO rollup_months VALUES (?, ?, ?, ?, 1, ?, ?, ?)
           ON CONFLICT DO UPDATE SET n = n + 1, total = total + excluded.total, total_sq = total_sq + excluded.total_sq, kept = kept + excluded.kept""",
        [(location, kind, key, day[:7], score, score * score, kept) for kind, key, score in keys],
    )


def _roll_up_items(db: sqlite_utils.Database, seq: int, brand: str, checklist: str, location: str, day: str) -> None:
    """Add the audit's scored answers, just stored, to the day's item sums and failures."""
    db.execute(
        """INSERT INTO item_days SELECT ?2, ?3, ?4, item, 1, f < 1, possible - earned FROM answers WHERE audit = ?1 AND f IS NOT NULL AND true
           ON CONFLICT DO UPDATE SET applicable = applicable + 1, failed = failed + excluded.failed, cost = cost + excluded.cost""",
        [seq, day, brand, checklist],
    )
    db.execute(
        """INSERT INTO item_failures SELECT ?2, ?3, ?4, item, ?5, 1 FROM answers WHERE audit = ?1 AND f < 1 AND true
           ON CONFLICT DO UPDATE SET failed = failed + 1""",
        [seq, day, brand, checklist, location],
    )


def _differences(db: sqlite_utils.Database, audit: AuditIn) -> str:
    """Which fields of a resent audit differ from the stored one, to say why it conflicts."""
    stored = load(db, str(audit.id))
    fields = [f for f in ("location", "checklist", "visit", "started_at", "finished_at") if getattr(stored, f) != getattr(audit, f)]
    if audit.version is not None and audit.version != stored.version:
        fields.append("version")
    items = sorted(set(stored.answers) | set(audit.answers))
    fields += [f"answers.{i}" for i in items if stored.answers.get(i) != audit.answers.get(i)]
    return "differs in " + ", ".join(fields) if fields else "differs in how it was sent"


def load(db: sqlite_utils.Database, audit_id: str) -> AuditOut | None:
    a = next(db.query("SELECT a.*, u.name AS auditor_name FROM audits a JOIN users u ON u.id = a.auditor WHERE a.id = ?", [audit_id]), None)
    if a is None:
        return None
    answers = {
        item: Answer(value=msgspec.json.decode(value), comment=comment, photos=msgspec.json.decode(photos))
        for item, value, comment, photos in db.execute("SELECT item, value, comment, photos FROM answers WHERE audit = ?", [a["seq"]])
    }
    return AuditOut(
        id=a["id"], location=a["location"], checklist=a["checklist"], version=a["version"], visit=a["visit"],
        started_at=dt.datetime.fromisoformat(a["started_at"]), finished_at=dt.datetime.fromisoformat(a["finished_at"]),
        auditor=a["auditor_name"], status=a["status"], received_at=dt.datetime.fromisoformat(a["received_at"]),
        answers=answers, result=msgspec.json.decode(a["result"], type=AuditResult), missing_photos=photos_missing(db, audit_id),
    )


def listing(db: sqlite_utils.Database, where: list[str], params: list, limit: int, offset: int) -> AuditPage:
    """A page of audits, newest first; `where` holds the caller's filters, access rules included."""
    sql = f"""SELECT a.id, a.location, a.checklist, a.version, a.finished_at, u.name AS auditor, a.status, a.score, a.promise_kept
              FROM audits a JOIN users u ON u.id = a.auditor JOIN locations l ON l.id = a.location
              {"WHERE " + " AND ".join(where) if where else ""}
              ORDER BY a.finished_at DESC, a.id LIMIT ? OFFSET ?"""
    rows = list(db.query(sql, [*params, limit + 1, offset]))
    items = [
        AuditListed(**{**r, "finished_at": dt.datetime.fromisoformat(r["finished_at"]), "promise_kept": bool(r["promise_kept"])})
        for r in rows[:limit]
    ]
    return AuditPage(items=items, next_offset=offset + limit if len(rows) > limit else None)


def readable(db: sqlite_utils.Database, user: User, audit_id: str) -> tuple[AuditOut, Location]:
    """The audit and its location, if the user may read it: its auditor, its region's manager, an
    admin. Managers and admins also get each photo's evidence (where and when it was taken)."""
    from server.photos.storage import evidence  # storage builds on this module's Evidence

    audit = load(db, audit_id)
    if audit is None:
        raise not_found("audit", audit_id)
    if user.role == "auditor" and audit.auditor != user.name:
        raise forbidden("auditors see only their own audits")
    location = location_of(db, audit.location)
    if user.role == "manager" and not user.sees_region(location.region):
        raise forbidden("this audit is of a location outside your regions")
    if user.role in ("manager", "admin"):
        audit.photos = evidence(db, audit.id, location.lat, location.lng)
    return audit, location
