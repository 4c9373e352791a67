"""Follow-up actions: the letdowns an audit found, owned by someone until they are put right.

An audit opens one action for its location when it starts counting (on arrival without review,
on approval with it) and it failed a critical item or scored under the brand's threshold. Its
owner is the region's manager (the first by account), or with `actions.owner: staff` the
location's staff (the manager where the location has none); it is due `actions.due_days` after
it opens and overdue from the day after. If the audit stops counting (returned, rejected), its
open action is withdrawn; approved again, it opens again. A reviewer's correction does not open
or withdraw one.

Who may close one: its owner, the location's staff, the region's managers and admins; anyone
else gets 403. Closing needs a note of what was done; a photo is optional.
"""

import datetime as dt
from typing import Literal

import msgspec
import sqlite_utils

from server import visibility
from server.events import AuditArrived, AuditReviewed
from server.accounts.accounts import User
from server.checklists.format import Actions
from server.errors import conflict, forbidden, not_found
from server.followup import webhooks
from server import text

MAX_NOTE = 4000  # what was done about an action: a few paragraphs

State = Literal["open", "overdue", "closed", "withdrawn"]


class Reasons(msgspec.Struct, kw_only=True):
    score: float | None
    threshold: float
    critical_failed: list[str]  # item ids


class ActionOut(msgspec.Struct, kw_only=True):
    id: int
    audit: str
    location: str
    location_name: str
    region: str
    checklist: str
    owner: str | None
    reasons: Reasons
    opened_at: str
    due: str
    state: State
    closed_at: str | None = None
    closed_by: str | None = None
    note: str | None = None
    photo: bool = False  # GET /api/actions/{id}/photo


class Speed(msgspec.Struct, kw_only=True):
    """How fast a location's actions are closed (those opened in the last 365 days)."""

    opened: int
    closed: int
    open: int
    overdue: int
    median_days: float | None  # opening to closing, of the closed ones
    on_time: float | None  # share of the closed ones closed by their due date


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _owner(db: sqlite_utils.Database, location: str, region: str, rules: Actions) -> int | None:
    if rules.owner == "staff":
        staff = db.execute("SELECT id FROM users WHERE role = 'staff' AND location = ? AND disabled_at IS NULL ORDER BY id LIMIT 1", [location]).fetchone()
        if staff:
            return staff[0]
    manager = db.execute(
        """SELECT u.id FROM users u JOIN user_regions r ON r.person = u.id
           WHERE u.role = 'manager' AND r.region = ? AND u.disabled_at IS NULL ORDER BY u.id LIMIT 1""", [region]).fetchone()
    return manager[0] if manager else None


def on_counting(db: sqlite_utils.Database, audit_id: str, score: float | None, critical_failed: list[str], threshold: float, rules: Actions,
                new: bool = False) -> int | None:
    """An audit starts counting: open its action if it let the promise down (in the caller's
    transaction). Returns the action's id, or None when there is nothing to follow up. A `new`
    audit (just stored, in this transaction) has no earlier action to look for."""
    if not critical_failed and (score is None or score >= threshold):
        return None
    location, region = db.execute("SELECT a.location, l.region FROM audits a JOIN locations l ON l.id = a.location WHERE a.id = ?", [audit_id]).fetchone()
    now = dt.datetime.now(dt.UTC)
    reasons = msgspec.json.encode(Reasons(score=score, threshold=threshold, critical_failed=critical_failed)).decode()
    owner = _owner(db, location, region, rules)
    due = (now.date() + dt.timedelta(days=rules.due_days)).isoformat()
    earlier = None if new else db.execute("SELECT id, state FROM actions WHERE audit = ?", [audit_id]).fetchone()
    if earlier is not None and earlier[1] != "withdrawn":
        return None  # open or closed already: an approval after a correction changes nothing here
    if earlier is not None:
        db.execute("UPDATE actions SET state = 'open', reasons = ?, owner = ?, opened_at = ?, due = ?, closed_at = NULL, closed_by = NULL, note = NULL WHERE id = ?",
                   [reasons, owner, now.isoformat(), due, earlier[0]])
        action = earlier[0]
    else:
        action = db.execute("INSERT INTO actions (audit, location, region, owner, reasons, opened_at, due) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                            [audit_id, location, region, owner, reasons, now.isoformat(), due]).fetchone()[0]
    webhooks.emit(db, "action.opened", {"action": action, "audit": audit_id, "location": location, "due": due,
                                        "score": score, "critical_failed": critical_failed})
    return action


def withdraw(db: sqlite_utils.Database, audit_id: str, why: str) -> None:
    """The audit no longer counts: its open action goes too (in the caller's transaction)."""
    db.execute("UPDATE actions SET state = 'withdrawn', closed_at = ?, note = ? WHERE audit = ? AND state = 'open'",
               [dt.datetime.now(dt.UTC).isoformat(), why, audit_id])


def _scope(user: User) -> tuple[str, list]:
    """SQL (actions `x`) for the actions `user` may see."""
    if user.role == "admin":
        return "true", []
    if user.role == "staff":
        return "x.location = ?", [user.location]
    if user.role == "manager":
        return visibility.in_regions(user, "x.region")
    return "false", []


_SELECT = """SELECT x.id, x.audit, x.location, l.name AS location_name, x.region, a.checklist, o.name AS owner, x.reasons, x.opened_at, x.due,
                    x.state, x.closed_at, c.name AS closed_by, x.note, x.photo IS NOT NULL AS photo
             FROM actions x JOIN locations l ON l.id = x.location JOIN audits a ON a.id = x.audit
             LEFT JOIN users o ON o.id = x.owner LEFT JOIN users c ON c.id = x.closed_by"""


def _out(row: dict, day: str) -> ActionOut:
    row["reasons"] = msgspec.json.decode(row["reasons"], type=Reasons)
    if row["state"] == "open" and row["due"] < day:
        row["state"] = "overdue"
    row["photo"] = bool(row["photo"])
    return ActionOut(**row)


def listing(db: sqlite_utils.Database, user: User, state: str | None = None, location: str | None = None, region: str | None = None,
            audit: str | None = None, limit: int = 100, offset: int = 0) -> list[ActionOut]:
    """Open ones first (most overdue first), then the rest newest first."""
    if user.role not in ("admin", "manager", "staff"):
        raise forbidden(f"actions are for managers, admins and staff; you are {user.role}")
    where, params = _scope(user)
    day = today().isoformat()
    for column, value in (("x.location", location), ("x.region", region), ("x.audit", audit)):
        if value is not None:
            where += f" AND {column} = ?"
            params = [*params, value]
    if state == "open":
        where += " AND x.state = 'open'"
    elif state == "overdue":
        where += " AND x.state = 'open' AND x.due < ?"
        params = [*params, day]
    elif state in ("closed", "withdrawn"):
        where += " AND x.state = ?"
        params = [*params, state]
    rows = db.query(_SELECT + f" WHERE {where} ORDER BY x.state != 'open', CASE WHEN x.state = 'open' THEN x.due END, x.opened_at DESC, x.id DESC LIMIT ? OFFSET ?",
                    [*params, limit, offset])
    found = [_out(row, day) for row in rows]
    return [visibility.action_for_staff(x) for x in found] if user.role == "staff" else found


def get(db: sqlite_utils.Database, user: User, action_id: int) -> ActionOut:
    """One action the user may see; to anyone else it does not exist (404)."""
    if user.role not in ("admin", "manager", "staff"):
        raise forbidden(f"actions are for managers, admins and staff; you are {user.role}")
    where, params = _scope(user)
    row = next(db.query(_SELECT + f" WHERE x.id = ? AND {where}", [action_id, *params]), None)
    if row is None:
        raise not_found("action", str(action_id))
    found = _out(row, today().isoformat())
    return visibility.action_for_staff(found) if user.role == "staff" else found


def counts(db: sqlite_utils.Database, user: User, location: str | None = None, region: str | None = None) -> tuple[int, int]:
    """(open, overdue) among the actions the user may see, of one location or region if given."""
    if user.role not in ("admin", "manager", "staff"):
        return 0, 0
    where, params = _scope(user)
    for column, value in (("x.location", location), ("x.region", region)):
        if value is not None:
            where += f" AND {column} = ?"
            params = [*params, value]
    opened, overdue = db.execute(f"SELECT count(*), count(*) FILTER (WHERE x.due < ?) FROM actions x WHERE x.state = 'open' AND {where}",
                                 [today().isoformat(), *params]).fetchone()
    return opened, overdue


def speed(db: sqlite_utils.Database, location: str) -> Speed:
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=365)).isoformat()
    day = today().isoformat()
    rows = db.execute("SELECT state, opened_at, closed_at, due FROM actions WHERE location = ? AND opened_at >= ? AND state != 'withdrawn'",
                      [location, since]).fetchall()
    closed = [(dt.datetime.fromisoformat(c) - dt.datetime.fromisoformat(o)).total_seconds() / 86400 for s, o, c, _ in rows if s == "closed"]
    on_time = [c[:10] <= due for s, _, c, due in rows if s == "closed"]
    closed.sort()
    median = None
    if closed:
        middle = len(closed) // 2
        median = closed[middle] if len(closed) % 2 else (closed[middle - 1] + closed[middle]) / 2
    return Speed(opened=len(rows), closed=len(closed), open=sum(s == "open" for s, *_ in rows), overdue=sum(s == "open" and due < day for s, _, _, due in rows),
                 median_days=None if median is None else round(median, 1), on_time=None if not on_time else round(sum(on_time) / len(on_time), 3))


def closable(db: sqlite_utils.Database, user: User, action_id: int, note: str) -> ActionOut:
    """The action, if `user` may close it with `note` now; else 404, 403, 409 or 422 saying why."""
    row = db.execute("SELECT location, region FROM actions WHERE id = ?", [action_id]).fetchone()
    if row is None:
        raise not_found("action", str(action_id))
    allowed = user.role == "admin" or (user.role == "manager" and user.sees_region(row[1])) or (user.role == "staff" and user.location == row[0])
    if not allowed:
        raise forbidden("this action is someone else's: it is closed by its location's staff, its region's managers or an admin")
    action = get(db, user, action_id)
    if action.state in ("closed", "withdrawn"):
        raise conflict(f"the action is {action.state} already")
    text.required_note(note, MAX_NOTE, "closing an action", "expected what was done")
    return action


def close(db: sqlite_utils.Database, user: User, action_id: int, note: str, photo_file: str | None) -> None:
    """Close an action with what was done, inside the caller's write transaction."""
    action = closable(db, user, action_id, note)
    now = dt.datetime.now(dt.UTC).isoformat()
    db.execute("UPDATE actions SET state = 'closed', closed_at = ?, closed_by = ?, note = ?, photo = ? WHERE id = ?",
               [now, user.id, note.strip(), photo_file, action_id])
    webhooks.emit(db, "action.closed", {"action": action_id, "audit": action.audit, "location": action.location, "note": note.strip(),
                                        "closed_by": user.name, "closed_at": now})


def photo_file(db: sqlite_utils.Database, user: User, action_id: int) -> str | None:
    get(db, user, action_id)
    return db.execute("SELECT photo FROM actions WHERE id = ?", [action_id]).fetchone()[0]


def audit_arrived(db: sqlite_utils.Database, e: AuditArrived) -> None:
    """An audit arrived (events.AuditArrived) and counts at once: its action, if it let the promise
    down. A campaign's audit opens none."""
    if e.counts and e.by.campaign is None:
        on_counting(db, str(e.audit.id), e.result.score, e.result.critical_failed, e.policy.threshold, e.policy.actions, new=e.audit.revision == 1)


def audit_reviewed(db: sqlite_utils.Database, e: AuditReviewed) -> None:
    """A review made the audit count (its action opens) or stop counting (its open action goes)."""
    if e.after["counts"] and not e.before["counts"]:
        on_counting(db, e.audit, e.score, e.critical_failed, e.threshold, e.actions)
    elif e.before["counts"] and not e.after["counts"]:
        withdraw(db, e.audit, f"the audit was {e.done}")
