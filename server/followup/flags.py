"""Integrity flags in the store: raised when an audit arrives (and when each photo does), kept
with their evidence, explained by a reviewer. The rules themselves are in integrity.py.

Every function that writes runs inside the caller's write transaction (the writer's savepoint for
an audit, the photo's own transaction), so a flag and its `flag.raised` delivery commit with the
audit or photo that raised it."""

import datetime as dt
from typing import Annotated

import msgspec
import sqlite_utils
from msgspec import Meta

from server import dialect
from server.events import AuditArrived, PhotoStored
from server.accounts.accounts import User
from server.checklists.format import Integrity, Strict
from server.errors import forbidden, not_found
from server.followup import integrity, webhooks
from server.followup.integrity import CommentCopied, Evidence, PhotoFar, PhotoReused, VisitsRepeated
from server.locations.locations import distance_m
from server.visibility import REVIEWERS, auditor_column, in_regions
from server import text
from server.text import Prose

MAX_NOTE = 2000


class Flag(msgspec.Struct, kw_only=True):
    id: int
    audit: str
    kind: str
    summary: str  # one sentence for the reviewer
    evidence: Evidence
    auditor: str
    location: str
    location_name: str
    raised_at: str
    explained_by: str | None = None
    explained_at: str | None = None
    explanation: str | None = None


class ExplainIn(Strict, kw_only=True):
    note: Prose(MAX_NOTE, "why the flag is no cause for concern (required: left out or blank, a 422)") = ""  # left out is blank: text.required_note's 422


class AuditorFlags(msgspec.Struct, kw_only=True):
    """One auditor's flags, for the per-auditor list."""

    auditor: str
    audits: int  # audits by them (in the reader's regions)
    flagged_audits: int
    open: int  # flags not explained yet
    kinds: dict[str, int]


_decode = msgspec.json.Decoder(Evidence)


def _raise(db: sqlite_utils.Database, audit_id: str, auditor: int, evidence: Evidence, subject: str = "") -> bool:
    """Store a flag once per (audit, kind, subject); True when it is new (and then told to webhooks)."""
    now = dt.datetime.now(dt.UTC).isoformat()
    kind = evidence.__struct_config__.tag
    made = db.execute("""INSERT INTO flags (audit, kind, subject, auditor, evidence, raised_at) VALUES (?, ?, ?, ?, ?, ?)
                         ON CONFLICT (audit, kind, subject) DO NOTHING RETURNING id""",
                      [audit_id, kind, subject, auditor, msgspec.json.encode(evidence).decode(), now]).fetchone()
    if made is None:
        return False
    webhooks.emit(db, "flag.raised", {"flag": made[0], "audit": audit_id, "kind": kind, "summary": integrity.describe(evidence)})
    return True


def index_photo(db: sqlite_utils.Database, photo_id: str, audit_id: str, phash: str) -> None:
    db.conn.executemany("INSERT INTO photo_bands (key, photo, audit, phash) VALUES (?, ?, ?, ?) ON CONFLICT (key, photo) DO NOTHING",
                        [(key, photo_id, audit_id, phash) for key in integrity.band_keys(phash)])


def reused(db: sqlite_utils.Database, photo_id: str, audit_id: str, phash: str, bits: int) -> PhotoReused | None:
    """The closest photo of another stored audit within `bits`, found through the band index."""
    keys = integrity.search_keys(phash, bits)
    candidates = db.execute(
        f"SELECT DISTINCT photo, audit, phash FROM photo_bands WHERE key IN ({','.join('?' * len(keys))}) AND audit != ?", [*keys, audit_id]).fetchall()
    near = sorted((integrity.hash_distance(phash, other_hash), other_audit, other) for other, other_audit, other_hash in candidates)
    for distance, other_audit, other in near:
        if distance > bits:
            break
        if db.execute("SELECT 1 FROM audits WHERE id = ?", [other_audit]).fetchone():  # not a photo of an audit that never came
            return PhotoReused(photo=photo_id, other_photo=other, other_audit=other_audit, bits=distance, limit_bits=bits)
    return None


def check_photo(db: sqlite_utils.Database, photo: dict, audit: dict, rules: Integrity) -> int:
    """Flag one photo of a stored audit (`photo`: id, phash, taken_at, lat, lng; `audit`: id,
    auditor, started_at, finished_at, lat, lng of its location). Returns how many flags are new."""
    raised = 0
    if None not in (photo["lat"], photo["lng"], audit["lat"], audit["lng"]):
        away = distance_m(photo["lat"], photo["lng"], audit["lat"], audit["lng"])
        if away > rules.max_photo_distance_m:
            raised += _raise(db, audit["id"], audit["auditor"], PhotoFar(photo=photo["id"], distance_m=round(away), limit_m=rules.max_photo_distance_m,
                                                                       lat=photo["lat"], lng=photo["lng"]), photo["id"])
    late = integrity.photo_time(photo["id"], photo["taken_at"], dt.datetime.fromisoformat(audit["started_at"]),
                                dt.datetime.fromisoformat(audit["finished_at"]), rules.photo_time_tolerance_minutes)
    if late is not None:
        raised += _raise(db, audit["id"], audit["auditor"], late, photo["id"])
    same = reused(db, photo["id"], audit["id"], photo["phash"], rules.duplicate_photo_bits)
    if same is not None:
        raised += _raise(db, audit["id"], audit["auditor"], same, photo["id"])
    return raised


def _audit_facts(db: sqlite_utils.Database, audit_id: str) -> dict | None:
    return next(db.query(
        """SELECT a.id, a.seq, a.auditor, a.started_at, a.finished_at, a.location, a.day, l.lat, l.lng, a.campaign
           FROM audits a JOIN locations l ON l.id = a.location WHERE a.id = ?""", [audit_id]), None)


def on_photo(db: sqlite_utils.Database, photo: dict, rules: Integrity) -> int:
    """A photo just stored: index it, and flag it if its audit is here already (else the audit's
    arrival checks it). A campaign's audits are never flagged."""
    index_photo(db, photo["id"], photo["audit"], photo["phash"])
    audit = _audit_facts(db, photo["audit"])
    return 0 if audit is None or audit["campaign"] is not None else check_photo(db, photo, audit, rules)


def on_audit(db: sqlite_utils.Database, audit_id: str, answers: dict, least_minutes: float, items: int, rules: Integrity, again: bool = False,
             facts: dict | None = None, prints: list[tuple[str, int, str]] | None = None) -> int:
    """An audit just stored (or sent `again` after a return): the visit's length, its comments, how
    often its auditor came, and the photos that arrived before it. Returns how many flags are new.
    `facts` (id, seq, auditor, started_at, finished_at, location, day) saves reading the audit back;
    `prints` (integrity.comment_prints of its answers, worked out before the writer) saves that."""
    audit = facts or _audit_facts(db, audit_id)
    started, finished = dt.datetime.fromisoformat(audit["started_at"]), dt.datetime.fromisoformat(audit["finished_at"])
    raised = 0
    fast = integrity.too_fast(started, finished, least_minutes, items)
    if fast is not None:
        raised += _raise(db, audit_id, audit["auditor"], fast)
    seq = audit["seq"]
    if again:  # a resubmission's comments replace its earlier ones
        db.execute("DELETE FROM comment_prints WHERE audit = ?", [seq])
    for item, fingerprint, text in integrity.comment_prints(answers, rules.min_comment_chars) if prints is None else prints:
        other = db.execute("SELECT a.id, c.item FROM comment_prints c JOIN audits a ON a.seq = c.audit WHERE c.print = ? AND c.audit != ? LIMIT 1",
                           [fingerprint, seq]).fetchone()
        db.execute("INSERT INTO comment_prints (print, audit, item) VALUES (?, ?, ?) ON CONFLICT (print, audit, item) DO NOTHING", [fingerprint, seq, item])
        if other is not None:
            raised += _raise(db, audit_id, audit["auditor"], CommentCopied(item=item, text=text[:500], other_audit=other[0], other_item=other[1]), item)
    first_day = (dt.date.fromisoformat(audit["day"]) - dt.timedelta(days=rules.visit_window_days - 1)).isoformat()
    # the location's days in the window (a few dozen), counted in the index alone (it holds auditor and
    # status since migration 0013), this audit included: it is stored and not rejected
    window = f"""FROM audits {dialect.of(db).indexed_by('audits_location_day')} WHERE location = ? AND day BETWEEN ? AND ? AND auditor = ? AND status != 'rejected'"""
    params = [audit["location"], first_day, audit["day"], audit["auditor"]]
    visits = db.execute(f"SELECT count(*) {window}", params).fetchone()[0]
    if visits > rules.max_visits_per_auditor:
        others = [row[0] for row in db.execute(f"SELECT id {window} AND id != ? ORDER BY finished_at DESC LIMIT 20", [*params, audit_id])][::-1]
        raised += _raise(db, audit_id, audit["auditor"], VisitsRepeated(visits=visits, limit=rules.max_visits_per_auditor,
                                                                       window_days=rules.visit_window_days, audits=others))
    if any(answer.photos for answer in answers.values()):  # photos sent before their audit: flagged now that it is here
        if "lat" not in audit:
            audit = _audit_facts(db, audit_id)
        for photo in db.query("SELECT id, phash, taken_at, lat, lng FROM photos WHERE audit = ?", [audit_id]):
            raised += check_photo(db, photo, audit, rules)
    return raised


def _select(auditor: tuple[str, list]) -> str:
    return f"""SELECT f.id, f.audit, f.kind, f.evidence, f.raised_at, f.explained_at, f.explanation, {auditor[0]} AS auditor,
                      a.location, l.name AS location_name, e.name AS explained_by
               FROM flags f JOIN audits a ON a.id = f.audit JOIN locations l ON l.id = a.location
               JOIN users u ON u.id = f.auditor LEFT JOIN users e ON e.id = f.explained_by"""


def _flag(row: dict) -> Flag:
    evidence = _decode.decode(row.pop("evidence"))
    return Flag(**row, evidence=evidence, summary=integrity.describe(evidence))


def _scope(user: User) -> tuple[str, list]:
    if user.role == "admin":
        return "true", []
    return in_regions(user, "l.region")


def for_audit(db: sqlite_utils.Database, audit_id: str, anonymous: frozenset[str], user: User) -> list[Flag]:
    auditor = auditor_column(user, anonymous)
    rows = db.query(_select(auditor) + " WHERE f.audit = ? ORDER BY f.id", [*auditor[1], audit_id])
    return [_flag(row) for row in rows]


def listing(db: sqlite_utils.Database, user: User, anonymous: frozenset[str], open_only: bool = False, auditor_name: str | None = None,
            limit: int = 100, offset: int = 0) -> list[Flag]:
    """Flags of audits in the user's regions, newest first."""
    auditor = auditor_column(user, anonymous)
    where, scope = _scope(user)
    params = [*auditor[1], *scope]
    if open_only:
        where += " AND f.explained_at IS NULL"
    if auditor_name is not None:
        where += f" AND {auditor[0]} = ?"
        params += [*auditor[1], auditor_name]
    rows = db.query(_select(auditor) + f" WHERE {where} ORDER BY f.raised_at DESC, f.id DESC LIMIT ? OFFSET ?", [*params, limit, offset])
    return [_flag(row) for row in rows]


def by_auditor(db: sqlite_utils.Database, user: User, anonymous: frozenset[str]) -> list[AuditorFlags]:
    """Per auditor with audits in the user's regions: how many of their audits were flagged, most first."""
    auditor = auditor_column(user, anonymous)
    where, params = _scope(user)
    found: dict[str, AuditorFlags] = {}
    for row in db.query(
        f"""SELECT {auditor[0]} AS auditor, f.kind, count(*) AS n, count(DISTINCT f.audit) AS audits, count(*) FILTER (WHERE f.explained_at IS NULL) AS open
            FROM flags f JOIN audits a ON a.id = f.audit JOIN locations l ON l.id = a.location JOIN users u ON u.id = f.auditor
            WHERE {where} GROUP BY 1, 2""", [*auditor[1], *params]):
        entry = found.setdefault(row["auditor"], AuditorFlags(auditor=row["auditor"], audits=0, flagged_audits=0, open=0, kinds={}))
        entry.kinds[row["kind"]] = row["n"]
        entry.open += row["open"]
    for row in db.query(
        f"""SELECT {auditor[0]} AS auditor, count(*) AS audits, count(DISTINCT f.audit) AS flagged
            FROM audits a JOIN locations l ON l.id = a.location JOIN users u ON u.id = a.auditor
            LEFT JOIN (SELECT DISTINCT audit FROM flags) f ON f.audit = a.id
            WHERE {where} AND u.id IN (SELECT DISTINCT auditor FROM flags) GROUP BY 1""", [*auditor[1], *params]):
        if row["auditor"] in found:
            found[row["auditor"]].audits, found[row["auditor"]].flagged_audits = row["audits"], row["flagged"]
    return sorted(found.values(), key=lambda e: (-e.flagged_audits, -e.open, e.auditor))


def explain(db: sqlite_utils.Database, user: User, flag_id: int, note: str) -> None:
    """A reviewer's note that the flag is no cause for concern, inside the caller's write transaction."""
    row = db.execute("SELECT f.auditor, l.region, f.explained_at FROM flags f JOIN audits a ON a.id = f.audit JOIN locations l ON l.id = a.location WHERE f.id = ?",
                     [flag_id]).fetchone()
    if row is None or (user.role in REVIEWERS and not user.sees_region(row[1])):
        raise not_found("flag", str(flag_id))
    if user.role not in REVIEWERS:
        raise forbidden(f"explaining a flag needs the role manager or admin; you are {user.role}")
    if row[0] == user.id:
        raise forbidden("nobody explains the flags of their own audit")
    note = text.required_note(note, MAX_NOTE, "explaining a flag", "expected why the flag is no cause for concern")
    db.execute("UPDATE flags SET explained_by = ?, explained_at = ?, explanation = ? WHERE id = ?",
               [user.id, dt.datetime.now(dt.UTC).isoformat(), note, flag_id])


def open_total(db: sqlite_utils.Database, user: User) -> int:
    """Flags not explained yet in the reviewer's regions (0 for anyone else)."""
    if user.role not in REVIEWERS:
        return 0
    where, params = _scope(user)
    return db.execute(f"SELECT count(*) FROM flags f JOIN audits a ON a.id = f.audit JOIN locations l ON l.id = a.location WHERE f.explained_at IS NULL AND {where}",
                      params).fetchone()[0]


def open_counts(db: sqlite_utils.Database, audit_ids: list[str]) -> dict[str, int]:
    """Unexplained flags per audit, for the review queue."""
    if not audit_ids:
        return {}
    return dict(db.execute(f"SELECT audit, count(*) FROM flags WHERE explained_at IS NULL AND audit IN ({','.join('?' * len(audit_ids))}) GROUP BY audit",
                           audit_ids).fetchall())


def audit_arrived(db: sqlite_utils.Database, e: AuditArrived) -> None:
    """An audit arrived (events.AuditArrived). A campaign's audit is the team testing its own
    channel, not a paid visit: it is never flagged."""
    if e.by.campaign is not None:
        return
    audit = e.audit
    facts = {"id": str(audit.id), "seq": e.seq, "auditor": e.by.id, "started_at": audit.started_at.isoformat(),
             "finished_at": audit.finished_at.isoformat(), "location": audit.location, "day": audit.day}
    on_audit(db, str(audit.id), audit.answers, e.policy.min_minutes, e.policy.items, e.policy.integrity, again=audit.revision > 1,
             facts=facts, prints=e.prints)


def photo_stored(db: sqlite_utils.Database, e: PhotoStored) -> None:
    """A photo was stored (events.PhotoStored)."""
    on_photo(db, {"id": e.photo, "audit": e.audit, "phash": e.phash, "taken_at": e.taken_at, "lat": e.lat, "lng": e.lng}, e.integrity)


def audit_of(db: sqlite_utils.Database, flag_id: int) -> str:
    """The id of the audit a flag is about."""
    return db.execute("SELECT audit FROM flags WHERE id = ?", [flag_id]).fetchone()[0]
