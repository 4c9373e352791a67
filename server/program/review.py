"""Review: approving, returning and rejecting audits, reviewers' corrections, and the queue of
audits waiting for review. Each action is one write transaction that changes the status, moves
the audit into or out of the rollups (never a recomputation) and writes the history."""

import datetime as dt
from typing import Annotated, Literal

import msgspec
import sqlite_utils
from msgspec import Meta

from server import dialect
from server.audits import audits
from server import visibility
from server.accounts.accounts import User
from server.checklists.catalog import Catalog
from server.checklists.format import Strict
from server.errors import ApiError, ApiProblem, ErrorCode, conflict, forbidden, invalid, not_found
from server import reactions
from server.events import AnswerCorrected, AuditReviewed
from server.program.status import CORRECTABLE, MOVES, refusal
from server.checklists.scoring import Answer, AuditRefused, score_audit
from server.limits import LIMITS
from server.text import Line, Prose, required_note

MAX_REASON = 2000
Reason = Prose(MAX_REASON)


class CorrectionIn(Strict, kw_only=True):
    item: Line(100)
    value: Prose(LIMITS["text"].value) | int | float | bool | None
    reason: Reason


class ReviewIn(Strict, kw_only=True):
    action: Annotated[Literal["approve", "return", "reject", "correct"], Meta(
        description="approve: it counts; return: back to its auditor with `note` as comments; reject: never counts, `note` says why; correct: only the corrections")]
    note: Reason = ""
    corrections: Annotated[list[CorrectionIn], Meta(max_length=200)] = []


class BulkIn(Strict, kw_only=True):
    audits: Annotated[list[Line(100)], Meta(min_length=1, max_length=500)]


class BulkOut(msgspec.Struct, kw_only=True):
    approved: list[str]
    refused: list[ApiProblem]  # each names the audit (field) and why


class Waiting(msgspec.Struct, kw_only=True):
    id: str
    location: str
    location_name: str
    region: str
    checklist: str
    auditor: str
    finished_at: dt.datetime
    received_at: dt.datetime
    status: str
    revision: int
    score: float | None
    promise_kept: bool
    critical_failed: int
    flags: int  # integrity flags not explained yet
    clean: bool  # every photo in, no failed critical item, no flag not explained: fit for bulk approval


class Queue(msgspec.Struct, kw_only=True):
    total: int
    items: list[Waiting]
    next_offset: int | None


def act(db: sqlite_utils.Database, catalog: Catalog, user: User, audit_id: str, r: ReviewIn) -> None:
    """Take a reviewer's action on an audit, inside the caller's write transaction."""
    row = next(db.query(
        """SELECT a.seq, a.status, a.counts, a.auditor, a.brand, a.checklist, a.version, a.revision, a.assignment, l.region, a.campaign
           FROM audits a JOIN locations l ON l.id = a.location WHERE a.id = ?""", [audit_id]), None)
    if row is None:
        raise not_found("audit", audit_id)
    if user.role not in visibility.REVIEWERS:
        raise forbidden(f"reviewing needs the role manager or admin; you are {user.role}")
    if not user.sees_region(row["region"]):
        raise forbidden(f"this audit is of a location in region {row['region']!r}, which is not one of yours")
    if row["campaign"] is not None:
        raise conflict(f"this audit belongs to campaign {row['campaign']}: a campaign's audits are the team's own calls and are not reviewed")
    if row["auditor"] == user.id:
        raise forbidden("nobody reviews their own audit")
    if r.action == "correct":
        if not r.corrections:
            raise invalid("nothing to correct", [ApiProblem(field="corrections", message="expected at least one correction")])
        if row["status"] not in CORRECTABLE:
            raise conflict(f"the audit is {row['status']}; corrections apply to an audit that is {' or '.join(CORRECTABLE)}")
    else:
        why = refusal(r.action, row["status"])
        if why:
            raise conflict(why)
        if MOVES[r.action].needs_note:
            required_note(r.note, MAX_REASON, r.action, "expected comments for the auditor" if r.action == "return" else "expected the reason")
        if r.corrections and r.action != "approve":
            raise invalid("corrections go with approve or correct", [ApiProblem(field="corrections", message=f"not with {r.action}: the audit will not count as corrected")])
    counted = bool(row["counts"])
    if r.corrections:
        _correct(db, catalog, user, row, audit_id, r.corrections, counted)
    if r.action == "correct":
        return
    move = MOVES[r.action]
    db.execute("UPDATE audits SET status = ?, counts = ?, review_note = ? WHERE seq = ?", [move.to, move.counts, r.note.strip() or None, row["seq"]])
    if counted and not move.counts:
        audits.count_in(db, row["seq"], -1)
    elif move.counts and not counted:
        audits.count_in(db, row["seq"], +1)
    done = {"approve": "approved", "return": "returned", "reject": "rejected"}[r.action]
    brand = catalog.checklist(db, row["brand"], row["checklist"], row["version"])[0]
    score, result = db.execute("SELECT score, result FROM audits WHERE seq = ?", [row["seq"]]).fetchone()
    reactions.publish(db, AuditReviewed(
        audit=audit_id, done=done, by=user, note=r.note.strip(), before={"status": row["status"], "counts": counted},
        after={"status": move.to, "counts": move.counts}, score=score, critical_failed=msgspec.json.decode(result)["critical_failed"],
        threshold=brand.threshold, actions=brand.actions, assignment=row["assignment"]))


def _correct(db: sqlite_utils.Database, catalog: Catalog, user: User, row: dict, audit_id: str, corrections: list[CorrectionIn], counted: bool) -> None:
    """Change answers with a reason each; the audit is rescored with its own checklist version and
    the auditor's answers are kept beside the reviewer's. 422 naming the item for a bad one."""
    brand, loaded = catalog.checklist(db, row["brand"], row["checklist"], row["version"])
    known = {i.id for i in loaded.checklist.items()}
    problems, seen = [], set()
    for c in corrections:
        if c.item not in known:
            problems.append(ApiProblem(item=c.item, message=f"no item {c.item!r} in checklist {row['checklist']!r}"))
        elif c.item in seen:
            problems.append(ApiProblem(item=c.item, message="corrected twice in one request"))
        if not c.reason.strip():
            problems.append(ApiProblem(item=c.item, message="a correction needs a written reason"))
        seen.add(c.item)
    if problems:
        raise invalid(f"corrections refused: {len(problems)} problem{'s' if len(problems) > 1 else ''}; nothing was changed", problems, code=ErrorCode.CORRECTION_REFUSED)
    current = {
        item: Answer(value=msgspec.json.decode(value), comment=comment, photos=msgspec.json.decode(photos))
        for item, value, comment, photos in db.execute("SELECT item, value, comment, photos FROM answers WHERE audit = ?", [row["seq"]])
    }
    changed = dict(current)
    for c in corrections:
        was = current.get(c.item, Answer())
        changed[c.item] = Answer(value=c.value, comment=was.comment, photos=was.photos)
    try:
        result = score_audit(brand, loaded, changed)
    except AuditRefused as refused:
        raise invalid("corrections refused: the corrected audit does not fit its checklist; nothing was changed",
                      [ApiProblem(item=p.item, message=p.message) for p in refused.problems], code=ErrorCode.CORRECTION_REFUSED) from None
    before_score = db.execute("SELECT score FROM audits WHERE seq = ?", [row["seq"]]).fetchone()[0]
    if counted:
        audits.count_in(db, row["seq"], -1)
    audits.rescore(db, row["seq"], changed, result)
    if counted:
        audits.count_in(db, row["seq"], +1)
    now = dt.datetime.now(dt.UTC).isoformat()
    for c in corrections:
        original = current.get(c.item, Answer()).value
        db.execute(
            """INSERT INTO corrections (audit, revision, item, original, corrected, reason, by, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (audit, revision, item) DO UPDATE SET corrected = excluded.corrected, reason = excluded.reason, by = excluded.by, at = excluded.at""",
            [row["seq"], row["revision"], c.item, msgspec.json.encode(original).decode(), msgspec.json.encode(c.value).decode(), c.reason.strip(), user.id, now],
        )
        reactions.publish(db, AnswerCorrected(audit=audit_id, by=user, item=c.item, original=original, corrected=c.value, reason=c.reason.strip(),
                                              score_before=before_score, score_after=result.score))


def approve_many(db: sqlite_utils.Database, catalog: Catalog, user: User, ids: list[str]) -> BulkOut:
    """Approve each audit that may be approved; say why for the others. One transaction (the caller's)."""
    approved, refused = [], []
    for audit_id in dict.fromkeys(ids):
        db.execute("SAVEPOINT one")
        try:
            act(db, catalog, user, audit_id, ReviewIn(action="approve"))
            approved.append(audit_id)
        except ApiError as error:
            db.execute("ROLLBACK TO one")
            refused.append(ApiProblem(field=audit_id, message=error.message))
        db.execute("RELEASE one")
    return BulkOut(approved=approved, refused=refused)


def queue(db: sqlite_utils.Database, user: User, anonymous: frozenset[str], region: str | None = None, location: str | None = None,
          touchpoint: str | None = None, limit: int = 100, offset: int = 0) -> Queue:
    """Audits waiting for review that the user may review, the longest waiting first."""
    if user.role not in visibility.REVIEWERS:
        raise forbidden(f"the review queue is for managers and admins; you are {user.role}")
    where, params = ["a.counts = 0", "a.status IN ('submitted', 'awaiting_photos')", "a.campaign IS NULL"], []
    if user.role == "manager":
        scope, scope_params = visibility.in_regions(user, "l.region")
        where.append(scope)
        params += scope_params
    for clause, value in (("l.region = ?", region), ("a.location = ?", location), ("a.checklist = ?", touchpoint)):
        if value is not None:
            where.append(clause)
            params.append(value)
    condition = " AND ".join(where)
    total = db.execute(f"SELECT COUNT(*) FROM audits a JOIN locations l ON l.id = a.location WHERE {condition}", params).fetchone()[0]
    name, name_params = visibility.auditor_column(user, anonymous)
    rows = db.query(
        f"""SELECT a.id, a.location, l.name AS location_name, l.region, a.checklist, {name} AS auditor, a.finished_at, a.received_at,
                   a.status, a.revision, a.score, a.promise_kept, {dialect.of(db).json_length('a.result', 'critical_failed')} AS critical_failed,
                   (SELECT count(*) FROM flags f WHERE f.audit = a.id AND f.explained_at IS NULL) AS flags
            FROM audits a JOIN locations l ON l.id = a.location JOIN users u ON u.id = a.auditor
            WHERE {condition} ORDER BY a.received_at, a.id LIMIT ? OFFSET ?""",
        [*name_params, *params, limit, offset])
    items = [Waiting(**{**r, "finished_at": dt.datetime.fromisoformat(r["finished_at"]), "received_at": dt.datetime.fromisoformat(r["received_at"]),
                        "promise_kept": bool(r["promise_kept"]), "clean": r["status"] == "submitted" and r["critical_failed"] == 0 and r["flags"] == 0}) for r in rows]
    return Queue(total=total, items=items, next_offset=offset + limit if offset + limit < total else None)


WAITING = "a.counts = 0 AND a.campaign IS NULL AND a.status IN ('submitted', 'awaiting_photos')"  # audits a reviewer has still to see


def waiting(db: sqlite_utils.Database, viewer) -> int:
    """How many audits wait for review in the regions the viewer sees."""
    scope, params = viewer.in_regions("l.region")
    return db.execute(f"SELECT COUNT(*) FROM audits a JOIN locations l ON l.id = a.location WHERE {WAITING} AND {scope}", params).fetchone()[0]


def waiting_at(db: sqlite_utils.Database, location: str) -> int:
    """How many audits of one location wait for review."""
    return db.execute(f"SELECT COUNT(*) FROM audits a WHERE a.location = ? AND {WAITING}", [location]).fetchone()[0]
