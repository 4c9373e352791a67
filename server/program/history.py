"""The append-only history: every status change, correction, claim and assignment change, with
who, when, and what it was before and after. Only ever inserted into; the database's own
triggers refuse an UPDATE or DELETE of it (migration 0010)."""

import datetime as dt
from typing import Any, Literal

import msgspec
import sqlite_utils

from server.events import AnswerCorrected, AuditArrived, AuditReviewed
from server.accounts.accounts import user_name

Kind = Literal["audit", "assignment", "schedule", "person", "location", "region", "brand"]


class Entry(msgspec.Struct, kw_only=True):
    at: dt.datetime
    actor: str | None  # null: the program itself (an assignment done when its audits arrived)
    action: str
    before: Any = None
    after: Any = None
    note: str = ""


def log(db: sqlite_utils.Database, actor: int | None, kind: Kind, subject: str, action: str, before: Any, after: Any, note: str = "") -> None:
    """Record one change, inside the caller's write transaction (so it is logged if and only if it happened)."""
    db.execute(
        "INSERT INTO history (at, actor, kind, subject, action, before, after, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [dt.datetime.now(dt.UTC).isoformat(), actor, kind, subject, action,
         None if before is None else msgspec.json.encode(before).decode(), None if after is None else msgspec.json.encode(after).decode(), note],
    )


def entries(db: sqlite_utils.Database, kind: Kind, subject: str) -> list[Entry]:
    """The subject's history, oldest first."""
    return [
        Entry(at=dt.datetime.fromisoformat(at), actor=actor, action=action, note=note,
              before=None if before is None else msgspec.json.decode(before), after=None if after is None else msgspec.json.decode(after))
        for at, actor, action, before, after, note in db.execute(
            f"""SELECT h.at, {user_name()}, h.action, h.before, h.after, h.note FROM history h LEFT JOIN users u ON u.id = h.actor
               WHERE h.kind = ? AND h.subject = ? ORDER BY h.seq""", [kind, subject])
    ]


def audit_arrived(db: sqlite_utils.Database, e: AuditArrived) -> None:
    """An audit arrived (events.AuditArrived): submitted, or resubmitted after its return."""
    revision = 1 if e.before is None else e.audit.revision
    log(db, e.by.id, "audit", str(e.audit.id), "submitted" if e.before is None else "resubmitted", e.before,
        {"status": e.status, "revision": revision, "score": e.result.score, "counts": e.counts})


def audit_reviewed(db: sqlite_utils.Database, e: AuditReviewed) -> None:
    log(db, e.by.id, "audit", e.audit, e.done, e.before, e.after, e.note)


def answer_corrected(db: sqlite_utils.Database, e: AnswerCorrected) -> None:
    log(db, e.by.id, "audit", e.audit, "corrected", {"item": e.item, "value": e.original, "score": e.score_before},
        {"item": e.item, "value": e.corrected, "score": e.score_after}, e.reason)
