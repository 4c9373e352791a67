"""Audits: the payloads the phone sends and the server returns, and how they are stored.

Idempotent on the id made on the phone: the same content again returns the stored answer, other
content under the same id is a conflict. Scores are stored at write time (never recomputed for
reports) and the per-day rollups are updated in the same transaction.
"""

import datetime as dt
import hashlib
import uuid
from typing import Annotated

import msgspec
import sqlite_utils
from msgspec import Meta

from server import dialect
from server import visibility
from server.accounts.accounts import User, participant_name
from server.checklists.format import Strict
from server.errors import conflict, forbidden, not_found
from server import reactions
from server.events import AuditArrived
from server.followup import integrity
from server.followup.policy import Policy
from server.locations.locations import Location
from server.locations.locations import distance_m, get as location_of
from server.checklists.scoring import Answer, AuditResult, ItemPoints

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
    assignment: Annotated[uuid.UUID | None, Meta(description="the assignment this visit was made for")] = None
    revision: Annotated[int, Meta(ge=1, le=1000, description="1 when first sent; a returned audit is sent again, under its id, with the next revision")] = 1

    @property
    def day(self) -> str:
        """The calendar day where the audit was done: finished_at's date in its own offset (what it counts on)."""
        return self.finished_at.date().isoformat()


class Evidence(msgspec.Struct, kw_only=True):
    """A photo's own facts beside the audit it proves: for managers and admins."""

    id: str
    taken_at: str | None  # as the camera wrote it: local time, no zone
    lat: float | None
    lng: float | None
    distance_m: float | None  # from the audited location, when both positions are known
    camera: str | None
    phash: str


class Correction(msgspec.Struct, kw_only=True):
    """A reviewer's change of one answer: both answers are kept, with why."""

    item: str
    revision: int  # of the audit it was made to
    original: str | int | float | bool | None  # the auditor's answer
    corrected: str | int | float | bool | None  # the reviewer's
    reason: str
    by: str
    at: dt.datetime


class AuditOut(msgspec.Struct, kw_only=True):
    id: str
    location: str
    checklist: str
    version: str
    visit: str | None
    started_at: dt.datetime | None  # None to a shop's staff: the time of day and the visit's length would point at the shopper
    finished_at: dt.datetime | None
    auditor: str
    status: str
    received_at: dt.datetime | None
    answers: dict[str, Answer]
    result: AuditResult
    missing_photos: list[str] = []  # named in the answers, not received yet (status awaiting_photos)
    photos: list[Evidence] = []  # for managers and admins only
    revision: int = 1
    counts: bool = True  # in every figure: approved, or submitted where the brand has no review
    assignment: str | None = None
    review_note: str | None = None  # the reviewer's comments (returned) or reason (rejected)
    corrections: list[Correction] = []
    campaign: int | None = None  # sent by a participant of this campaign (server.campaigns)
    day: str = ""  # the calendar day where it was done (finished_at's date in its own offset), what staff see of when


class AuditListed(msgspec.Struct, kw_only=True):
    id: str
    location: str
    checklist: str
    version: str
    finished_at: dt.datetime | None  # None to staff (server.visibility)
    auditor: str
    status: str
    score: float | None
    promise_kept: bool
    revision: int = 1
    review_note: str | None = None
    corrections: int = 0  # answers a reviewer changed
    day: str = ""  # the calendar day where it was done


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
    assignment = str(audit.assignment) if audit.assignment else None
    return meaning_hash(audit.location, audit.checklist, audit.visit, audit.started_at.isoformat(), audit.finished_at.isoformat(), answers, assignment)


class Prepared(msgspec.Struct, array_like=True):
    """What storing an audit needs that is worked out from the audit alone: the server does it
    before handing the audit to the writer, the one step that runs one audit at a time."""

    digest: str  # content_hash
    prints: list[tuple[str, int, str]]  # integrity.comment_prints: (item, fingerprint, text)


def prepare(audit: AuditIn, policy: Policy) -> Prepared:
    return Prepared(content_hash(audit), integrity.comment_prints(audit.answers, policy.integrity.min_comment_chars))


def meaning_hash(location: str, checklist: str, visit: str | None, started_at: str, finished_at: str, answers: dict[str, tuple], assignment: str | None = None) -> str:
    """The hash over an audit's fields as stored (migration 0005 keeps a frozen copy: a change here needs a step that rehashes)."""
    canonical = {  # 3.0 hashed as 3 (inline, not a function: this runs for every answer of every audit)
        "location": location, "checklist": checklist, "visit": visit, "started_at": started_at, "finished_at": finished_at,
        "answers": {item: [int(value) if value.__class__ is float and value.is_integer() else value, comment, list(photos)]
                    for item, (value, comment, photos) in answers.items()},
    }
    if assignment is not None:  # absent otherwise, so audits hashed before assignments existed still match
        canonical["assignment"] = assignment
    return hashlib.sha256(msgspec.json.encode(canonical, order="sorted")).hexdigest()


def existing(db: sqlite_utils.Database, audit: AuditIn, by: User, digest: str | None = None) -> Stored | None:
    """The stored audit when this is a retry of it; None when the id is new or this is a returned
    audit sent again with the next revision (store() takes both); a conflict when the id holds
    something else."""
    audit_id = str(audit.id)
    row = db.execute("SELECT content_hash, auditor, version, status, revision, location, checklist FROM audits WHERE id = ?", [audit_id]).fetchone()
    if row is None:
        return None
    stored_hash, auditor, version, status, revision, location, checklist = row
    if auditor != by.id:
        raise conflict(f"audit id {audit_id} is already used by another auditor's audit; make a new id")
    if audit.revision == revision + 1:
        if status != "returned":
            raise conflict(f"audit {audit_id} is {status}: only a returned audit is sent again with a new revision")
        if (audit.location, audit.checklist) != (location, checklist):
            raise conflict(f"audit {audit_id} was made for {checklist} at {location}: sent again, it keeps its location and checklist")
        return None
    if audit.revision != revision:
        raise conflict(f"audit {audit_id} is at revision {revision} ({status}); a retry sends revision {revision}"
                       + (f", sending it again after its return takes revision {revision + 1}" if status == "returned" else ""))
    if stored_hash != (digest or content_hash(audit)) or audit.version not in (None, version):
        raise conflict(f"audit {audit_id} was already received with different content ({_differences(db, audit)}); a retry must send exactly what was sent first")
    return Stored(load(db, audit_id), created=False)


def counts_on_arrival(policy: Policy, by: User) -> bool:
    """Does an audit (new, or resubmitted after its return) count the moment it arrives? Only where its
    brand has no review. A campaign's audit never waits for review: it counts at once where the brand
    counts campaigns, else never. (The one place for the rule: the store and the Writer's answer ask it.)"""
    return policy.count_campaigns if by.campaign is not None else not policy.review


def store(db: sqlite_utils.Database, audit: AuditIn, result: AuditResult, by: User, policy: Policy, prepared: Prepared | None = None) -> Stored:
    """Insert a scored audit inside the caller's write transaction, or return the one already stored,
    or take a returned audit sent again as its next revision. The caller undoes a refusal's writes
    (the Writer runs each audit in a savepoint). With the brand's review on, it does not count yet.
    What follows its arrival (server.reactions: history, assignment, flags, action, webhooks) is
    written in the same transaction. `prepared` is prepare(audit, policy), when worked out already."""
    audit_id = str(audit.id)
    brand = policy.brand
    prepared = prepared or prepare(audit, policy)
    now = dt.datetime.now(dt.UTC)
    day = audit.day
    result_json = msgspec.json.encode(result)
    counts = counts_on_arrival(policy, by)
    seq = _insert_audit(db, audit, result, by, brand, now, day, result_json, counts, prepared.digest)
    if seq is None:
        already = existing(db, audit, by, prepared.digest)  # the id is taken: a retry (200) or a conflict (409)
        if already is None:
            return _resubmit(db, audit, result, by, policy, counts, day, result_json, prepared)
        return already
    _store_children(db, seq, audit.answers, result, result_json)
    if counts:
        _roll_up(db, audit.location, day, audit.checklist, result)
        _roll_up_items(db, seq, brand, audit.checklist, audit.location, day)
    # a photo sent before its audit belongs to whoever sent it: the audit claims only its own auditor's
    db.execute("DELETE FROM photos WHERE audit = ? AND uploader != ?", [audit_id, by.id])
    missing = photos_missing(db, audit_id) if any(answer.photos for answer in audit.answers.values()) else []  # most name none: no query
    status = "awaiting_photos" if missing else "submitted"
    if missing:
        db.execute("UPDATE audits SET status = 'awaiting_photos' WHERE seq = ?", [seq])
    reactions.publish(db, AuditArrived(audit=audit, result=result, by=by, policy=policy, seq=seq, status=status, counts=counts, prints=prepared.prints))
    stored = AuditOut(
        id=audit_id, location=audit.location, checklist=audit.checklist, version=result.version, visit=audit.visit,
        started_at=audit.started_at, finished_at=audit.finished_at, auditor=by.name,
        status=status, received_at=now, answers=audit.answers, result=result,
        missing_photos=missing, assignment=str(audit.assignment) if audit.assignment else None, counts=counts, campaign=by.campaign,
    )
    return Stored(stored, created=True)  # what load() would read back, without reading it


def _resubmit(db: sqlite_utils.Database, audit: AuditIn, result: AuditResult, by: User, policy: Policy, counts: bool, day: str, result_json: bytes,
              prepared: Prepared) -> Stored:
    """A returned audit sent again (existing() checked it is returned and this is its next revision):
    its answers are replaced, it is rescored, and it waits for review again (or counts at once
    without review). What it held before stays in the history."""
    audit_id = str(audit.id)
    seq, revision, score, status = db.execute("SELECT seq, revision, score, status FROM audits WHERE id = ?", [audit_id]).fetchone()
    before = {"status": status, "revision": revision, "score": score, "answers": {
        item: msgspec.json.decode(value) if value is not None else None for item, value in db.execute("SELECT item, value FROM answers WHERE audit = ?", [seq])}}
    for table in ("answers", "audit_sections", "audit_pillars"):
        db.execute(f"DELETE FROM {table} WHERE audit = ?", [seq])
    db.execute(
        """UPDATE audits SET version = ?, visit = ?, started_at = ?, finished_at = ?, day = ?, status = 'submitted', content_hash = ?,
                             score = ?, raw_score = ?, promise_kept = ?, earned = ?, possible = ?, result = ?, counts = ?, revision = ?,
                             assignment = ?, review_note = NULL
           WHERE seq = ?""",
        [result.version, audit.visit, audit.started_at.isoformat(), audit.finished_at.isoformat(), day, prepared.digest,
         result.score, result.raw_score, result.promise_kept, result.earned, result.possible, result_json.decode(), counts,
         audit.revision, str(audit.assignment) if audit.assignment else None, seq],
    )
    _store_children(db, seq, audit.answers, result, result_json)
    if counts:
        count_in(db, seq, +1)
    db.execute("DELETE FROM photos WHERE audit = ? AND uploader != ?", [audit_id, by.id])
    if photos_missing(db, audit_id):
        db.execute("UPDATE audits SET status = 'awaiting_photos' WHERE seq = ?", [seq])
    stored = load(db, audit_id)
    reactions.publish(db, AuditArrived(audit=audit, result=result, by=by, policy=policy, seq=seq, status=stored.status, counts=counts,
                                       prints=prepared.prints, before=before))
    return Stored(stored, created=True)


def rescore(db: sqlite_utils.Database, seq: int, answers: dict[str, Answer], result: AuditResult) -> None:
    """Replace a stored audit's answers and scores (a reviewer's correction). The caller takes a
    counting audit out of the rollups before and puts it back after (count_in)."""
    result_json = msgspec.json.encode(result)
    for table in ("answers", "audit_sections", "audit_pillars"):
        db.execute(f"DELETE FROM {table} WHERE audit = ?", [seq])
    db.execute(
        "UPDATE audits SET score = ?, raw_score = ?, promise_kept = ?, earned = ?, possible = ?, result = ? WHERE seq = ?",
        [result.score, result.raw_score, result.promise_kept, result.earned, result.possible, result_json.decode(), seq],
    )
    _store_children(db, seq, answers, result, result_json)


def _store_children(db: sqlite_utils.Database, seq: int, answers: dict[str, Answer], result: AuditResult, result_json: bytes) -> None:
    """The audit's answers (with their points), section and pillar scores: one statement each over
    its rows (SQLite walking one JSON array of them measured 137 µs for 50 answers, this 108 µs,
    and it is the same SQL on PostgreSQL)."""
    unscored = ItemPoints(None, 0.0, 0.0)
    encode = msgspec.json.encode
    db.conn.executemany(
        "INSERT INTO answers (audit, item, value, comment, photos, f, earned, possible) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(seq, item, encode(a.value).decode(), a.comment, encode(a.photos).decode(), p.f, p.earned, p.possible)
         for item, a in answers.items() for p in (result.items.get(item, unscored),)],
    )
    db.conn.executemany("INSERT INTO audit_sections (audit, section, score) VALUES (?, ?, ?)", [(seq, k, v) for k, v in result.sections.items()])
    db.conn.executemany("INSERT INTO audit_pillars (audit, pillar, score) VALUES (?, ?, ?)", [(seq, k, v) for k, v in result.pillars.items()])


def count_in(db: sqlite_utils.Database, seq: int, sign: int) -> None:
    """Add the stored audit to the rollups (+1) or take it out (-1), as its row and answers hold it
    now: the one way an audit enters or leaves the figures, always inside the write that changes
    its status or answers."""
    location, day, brand, checklist, result = db.execute("SELECT location, day, brand, checklist, result FROM audits WHERE seq = ?", [seq]).fetchone()
    _roll_up(db, location, day, checklist, msgspec.json.decode(result, type=AuditResult), sign)
    _roll_up_items(db, seq, brand, checklist, location, day, sign)


def photos_missing(db: sqlite_utils.Database, audit_id: str) -> list[str]:
    """Photo ids the audit's answers name that have not arrived for this audit (by item id, then position)."""
    return [
        photo
        for (photo,) in db.execute(
            f"""SELECT p.value FROM audits a JOIN answers an ON an.audit = a.seq, {dialect.of(db).json_strings('an.photos', 'p')}
               WHERE a.id = ?1 AND p.value NOT IN (SELECT id FROM photos WHERE audit = ?1)
               GROUP BY p.value ORDER BY min(an.item), min(p.key)""",
            [audit_id],
        )
    ]


def _insert_audit(db, audit: AuditIn, result: AuditResult, by: User, brand: str, now: dt.datetime, day: str, result_json: bytes, counts: bool, digest: str) -> int | None:
    """The audit's row; its sequential `seq` keys its answers, sections and pillars. None when the id
    is taken (a retry or a conflict, the caller's to tell): no error is raised, so the transaction
    goes on on both engines (a caught unique-key error would leave PostgreSQL's aborted)."""
    made = db.execute(
        """INSERT INTO audits (id, location, brand, checklist, version, auditor, visit, started_at, finished_at, day,
                               received_at, status, content_hash, score, raw_score, promise_kept, earned, possible, result,
                               counts, revision, assignment, campaign)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
           ON CONFLICT (id) DO NOTHING RETURNING seq""",
        [
            str(audit.id), audit.location, brand, audit.checklist, result.version, by.id, audit.visit,
            audit.started_at.isoformat(), audit.finished_at.isoformat(), day, now.isoformat(), digest,
            result.score, result.raw_score, result.promise_kept, result.earned, result.possible, result_json.decode(),
            counts, str(audit.assignment) if audit.assignment else None, by.campaign,
        ],
    ).fetchone()
    return None if made is None else made[0]


def _roll_up(db: sqlite_utils.Database, location: str, day: str, touchpoint: str, result: AuditResult, sign: int = 1) -> None:
    """Add the audit to the cumulative daily rollups and its month's sums (sign -1: take it out).
    An audit with a null score is not in A, pillars included."""
    if result.score is None:
        return
    kept = int(result.promise_kept) * sign
    keys = [("t", touchpoint, result.score)] + [("p", pillar, score) for pillar, score in result.pillars.items() if score is not None]
    # First make sure the day has a row, starting from the running totals before it ...
    made = db.conn.executemany(
        """INSERT INTO rollups (location, kind, key, day, n, total, total_sq, kept)
           SELECT ?1, ?2, ?3, ?4, coalesce(p.n, 0), coalesce(p.total, 0.0), coalesce(p.total_sq, 0.0), coalesce(p.kept, 0)
           FROM (SELECT 1) AS one LEFT JOIN (
               SELECT n, total, total_sq, kept FROM rollups WHERE location = ?1 AND kind = ?2 AND key = ?3 AND day < ?4 ORDER BY day DESC LIMIT 1) AS p ON true
           WHERE true ON CONFLICT (location, kind, key, day) DO NOTHING""",
        [(location, kind, key, day) for kind, key, _ in keys],
    ).rowcount
    # ... then add this audit to that day and to every later day (none, unless the audit came late).
    db.conn.executemany(
        "UPDATE rollups SET n = n + ?, total = total + ?, total_sq = total_sq + ?, kept = kept + ? WHERE location = ? AND kind = ? AND key = ? AND day >= ?",
        [(sign, sign * score, sign * score * score, kept, location, kind, key, day) for kind, key, score in keys],
    )
    if made:  # a new day row; maybe a key never seen at this location
        db.conn.executemany("INSERT INTO rollup_keys (location, kind, key) VALUES (?, ?, ?) ON CONFLICT (location, kind, key) DO NOTHING", [(location, kind, key) for kind, key, _ in keys])
    # and to its month's own sums
    db.conn.executemany(
        """INSERT INTO rollup_months (location, kind, key, month, n, total, total_sq, kept) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (location, kind, key, month) DO UPDATE SET n = rollup_months.n + excluded.n, total = rollup_months.total + excluded.total,
               total_sq = rollup_months.total_sq + excluded.total_sq, kept = rollup_months.kept + excluded.kept""",
        [(location, kind, key, day[:7], sign, sign * score, sign * score * score, kept) for kind, key, score in keys],
    )


def _roll_up_items(db: sqlite_utils.Database, seq: int, brand: str, checklist: str, location: str, day: str, sign: int = 1) -> None:
    """Add the audit's scored answers, as stored, to the day's item sums and failures (sign -1: take
    them out; a location left with no failure of an item that day loses its row)."""
    db.execute(
        """INSERT INTO item_days (day, brand, checklist, item, applicable, failed, cost)
           SELECT ?2, ?3, ?4, item, ?5, CASE WHEN f < 1 THEN ?5 ELSE 0 END, ?5 * (possible - earned) FROM answers WHERE audit = ?1 AND f IS NOT NULL AND true
           ON CONFLICT (day, brand, checklist, item) DO UPDATE SET applicable = item_days.applicable + excluded.applicable,
               failed = item_days.failed + excluded.failed, cost = item_days.cost + excluded.cost""",
        [seq, day, brand, checklist, sign],
    )
    db.execute(
        """INSERT INTO item_failures (day, brand, checklist, item, location, failed) SELECT ?2, ?3, ?4, item, ?5, ?6 FROM answers WHERE audit = ?1 AND f < 1 AND true
           ON CONFLICT (day, brand, checklist, location, item) DO UPDATE SET failed = item_failures.failed + excluded.failed""",
        [seq, day, brand, checklist, location, sign],
    )
    if sign < 0:
        db.execute("DELETE FROM item_failures WHERE day = ? AND brand = ? AND checklist = ? AND location = ? AND failed <= 0", [day, brand, checklist, location])


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
    corrections = [
        Correction(item=item, revision=revision, original=msgspec.json.decode(original) if original is not None else None,
                   corrected=msgspec.json.decode(corrected) if corrected is not None else None, reason=reason, by=by, at=dt.datetime.fromisoformat(at))
        for item, revision, original, corrected, reason, by, at in db.execute(
            """SELECT c.item, c.revision, c.original, c.corrected, c.reason, u.name, c.at FROM corrections c JOIN users u ON u.id = c.by
               WHERE c.audit = ? ORDER BY c.revision, c.at, c.item""", [a["seq"]])
    ]
    answers = {
        item: Answer(value=msgspec.json.decode(value), comment=comment, photos=msgspec.json.decode(photos))
        for item, value, comment, photos in db.execute("SELECT item, value, comment, photos FROM answers WHERE audit = ?", [a["seq"]])
    }
    return AuditOut(
        id=a["id"], location=a["location"], checklist=a["checklist"], version=a["version"], visit=a["visit"],
        started_at=dt.datetime.fromisoformat(a["started_at"]), finished_at=dt.datetime.fromisoformat(a["finished_at"]),
        auditor=a["auditor_name"], status=a["status"], received_at=dt.datetime.fromisoformat(a["received_at"]),
        answers=answers, result=msgspec.json.decode(a["result"], type=AuditResult), missing_photos=photos_missing(db, audit_id),
        revision=a["revision"], counts=bool(a["counts"]), assignment=a["assignment"], review_note=a["review_note"], corrections=corrections,
        campaign=a["campaign"], day=a["day"],
    )


def listing(db: sqlite_utils.Database, where: list[str], params: list, limit: int, offset: int, auditor: tuple[str, list] = ("u.name", [])) -> AuditPage:
    """A page of audits, newest first; `where` holds the caller's filters, access rules included;
    `auditor` the SQL (and its parameters) naming the auditor as the reader may see them."""
    sql = f"""SELECT a.id, a.location, a.checklist, a.version, a.finished_at, {auditor[0]} AS auditor, a.status, a.score, a.promise_kept,
                     a.revision, a.review_note, (SELECT COUNT(*) FROM corrections c WHERE c.audit = a.seq) AS corrections, a.day
              FROM audits a JOIN users u ON u.id = a.auditor JOIN locations l ON l.id = a.location
              {"WHERE " + " AND ".join(where) if where else ""}
              ORDER BY a.finished_at DESC, a.id LIMIT ? OFFSET ?"""
    rows = list(db.query(sql, [*auditor[1], *params, limit + 1, offset]))
    items = [
        AuditListed(**{**r, "finished_at": dt.datetime.fromisoformat(r["finished_at"]), "promise_kept": bool(r["promise_kept"])})
        for r in rows[:limit]
    ]
    if auditor[0] == visibility.STAFF_COLUMN:
        items = [visibility.listed_for_staff(item) for item in items]
    return AuditPage(items=items, next_offset=offset + limit if len(rows) > limit else None)


def evidence(db: sqlite_utils.Database, audit_id: str, lat: float | None, lng: float | None) -> list[Evidence]:
    found = []
    for row in db.query("SELECT id, taken_at, lat, lng, camera, phash FROM photos WHERE audit = ? ORDER BY received_at", [audit_id]):
        away = None
        if None not in (row["lat"], row["lng"], lat, lng):
            away = distance_m(row["lat"], row["lng"], lat, lng)
        found.append(Evidence(**row, distance_m=away))
    return found



def readable(db: sqlite_utils.Database, user: User, audit_id: str, anonymous: frozenset[str] = frozenset()) -> tuple[AuditOut, Location]:
    """The audit and its location, if the user may read it: its auditor, its region's manager, an
    admin, and its location's staff once it counts (to staff, any other audit does not exist).
    Managers and admins also get each photo's evidence (where and when it was taken). Where the
    brand keeps auditors anonymous (`anonymous` holds its id), managers see a code; staff never see
    who audited them, nor when to the minute (server.visibility)."""
    audit = load(db, audit_id)
    if audit is None or (user.role == "staff" and not (audit.location == user.location and audit.counts)):
        raise not_found("audit", audit_id)
    if user.role in ("auditor", "participant") and audit.auditor != user.name:
        raise forbidden("auditors see only their own audits" if user.role == "auditor" else "a campaign's participants see only their own audits")
    location = location_of(db, audit.location)
    if user.role == "manager" and not user.sees_region(location.region):
        raise forbidden("this audit is of a location outside your regions")
    if user.role in ("manager", "admin"):
        audit.photos = evidence(db, audit.id, location.lat, location.lng)
    if user.role != "participant":  # a participant is named by their display name, or not at all
        said = db.execute("SELECT p.display_name FROM participants p JOIN audits a ON a.auditor = p.person WHERE a.id = ?", [audit_id]).fetchone()
        if said is not None:
            audit.auditor = participant_name(said[0])
    if user.role == "staff":
        return visibility.for_staff(audit), location
    if location.brand in anonymous and user.role == "manager" and audit.campaign is None:
        code = db.execute("SELECT u.code FROM audits a JOIN users u ON u.id = a.auditor WHERE a.id = ?", [audit_id]).fetchone()[0]
        audit.auditor = visibility.auditor_code(code)
    return audit, location


def exists(db: sqlite_utils.Database, audit_id: str) -> bool:
    return db.execute("SELECT 1 FROM audits WHERE id = ?", [audit_id]).fetchone() is not None


def checklist_of(db: sqlite_utils.Database, audit_id: str) -> tuple[str, str, str] | None:
    """(brand, checklist, version) of a stored audit, or None."""
    return db.execute("SELECT brand, checklist, version FROM audits WHERE id = ?", [audit_id]).fetchone()
