"""Assignments: planned visits (a location, its touchpoints, a window of days, an auditor or open to
any auditor of the region), made one by one, from a CSV, or by a repeating schedule.

An assignment's state follows from its row and today's date, in this order: cancelled; done (every
touchpoint has an audit made for it that was not rejected); overdue (past its last day); due
(inside its window); claimed (an open one an auditor took, before its window); planned.
Days are calendar days of the server's clock, both ends included.
"""

import calendar
import csv
import datetime as dt
import io
import random
import uuid
from typing import Annotated, Literal

import msgspec
import sqlite_utils
from msgspec import Meta

from server import dialect
from server.events import AuditArrived, AuditReviewed
from server.visibility import in_regions
from server.accounts.accounts import User
from server.checklists.format import Strict
from server.errors import ApiProblem, ErrorCode, conflict, forbidden, invalid, not_found
from server.program import history
from server.text import Line, Prose, problem as text_problem

State = Literal["planned", "claimed", "due", "overdue", "done", "cancelled"]
STATES = ("planned", "claimed", "due", "overdue", "done", "cancelled")
MAX_DAYS = 366  # a window longer than a year is a mistake, not a plan
# The days a visit may be planned for: a window that began more than a year ago, or begins more
# than two years ahead, is a typo (2020 for 2026, 2062 for 2026), not a plan.
PAST_DAYS, AHEAD_DAYS = 366, 2 * 366
MAX_PERIODS = 24
CSV_COLUMNS = ("location", "touchpoints", "starts", "ends", "auditor", "announced", "note")
MAX_CSV_ROWS = 10_000
MAX_NOTE = 2000
Note = Prose(MAX_NOTE)
Id = Line(100)
Name = Line(200)


class AssignmentIn(Strict, kw_only=True):
    location: Id
    touchpoints: Annotated[list[Id], Meta(min_length=1, max_length=20)]
    starts: dt.date
    ends: dt.date
    auditor: Annotated[Name | None, Meta(description="an auditor's name; null: open to any auditor of the region, first claim wins")] = None
    announced: Annotated[bool, Meta(description="whether the location may know the visit is coming")] = False
    note: Note = ""


class ScheduleIn(Strict, kw_only=True):
    """A repeating plan: one assignment per location and period, from the period holding `first`."""

    region: Annotated[Id | None, Meta(description="every location of this region; null: every location you manage")] = None
    touchpoints: Annotated[list[Id], Meta(min_length=1, max_length=20)]
    every: Literal["month", "quarter"]
    day: Annotated[Literal["window", "random"], Meta(description="window: the whole period; random: one day drawn inside it")] = "window"
    first: dt.date
    periods: Annotated[int, Meta(ge=1, le=MAX_PERIODS)] = 12
    auditor: Name | None = None
    announced: bool = False


class ClaimIn(Strict, kw_only=True):
    auditor: Annotated[Name | None, Meta(description="managers and admins: the auditor to give an open assignment to")] = None


class AssignmentOut(msgspec.Struct, kw_only=True):
    id: str
    location: str
    location_name: str
    region: str
    brand: str
    touchpoints: list[str]
    starts: dt.date
    ends: dt.date
    auditor: str | None
    announced: bool
    note: str
    state: State
    schedule: str | None
    audits: list[str]  # made for it
    claimed_at: dt.datetime | None = None
    done_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None


class ScheduleOut(msgspec.Struct, kw_only=True):
    id: str
    made: int  # assignments it made


class Imported(msgspec.Struct, kw_only=True):
    made: int
    ids: list[str]


def state_of(starts: str, ends: str, claimed_at: str | None, done_at: str | None, cancelled_at: str | None, today: dt.date) -> State:
    """The state rule (see the module's docstring)."""
    day = today.isoformat()
    if cancelled_at:
        return "cancelled"
    if done_at:
        return "done"
    if day > ends:
        return "overdue"
    if day >= starts:
        return "due"
    return "claimed" if claimed_at else "planned"


def _select(db) -> str:
    return f"""SELECT s.id, s.location, l.name AS location_name, l.region, l.brand, s.touchpoints, s.starts, s.ends, u.name AS auditor,
                      s.announced, s.note, s.schedule, s.claimed_at, s.done_at, s.cancelled_at,
                      (SELECT {dialect.of(db).json_list('a.id')} FROM audits a WHERE a.assignment = s.id) AS audits
               FROM assignments s JOIN locations l ON l.id = s.location LEFT JOIN users u ON u.id = s.auditor"""


def _out(row: dict, today: dt.date) -> AssignmentOut:
    when = lambda v: dt.datetime.fromisoformat(v) if v else None  # noqa: E731
    return AssignmentOut(
        id=row["id"], location=row["location"], location_name=row["location_name"], region=row["region"], brand=row["brand"],
        touchpoints=msgspec.json.decode(row["touchpoints"]), starts=dt.date.fromisoformat(row["starts"]), ends=dt.date.fromisoformat(row["ends"]),
        auditor=row["auditor"], announced=bool(row["announced"]), note=row["note"], schedule=row["schedule"],
        state=state_of(row["starts"], row["ends"], row["claimed_at"], row["done_at"], row["cancelled_at"], today),
        audits=msgspec.json.decode(row["audits"]), claimed_at=when(row["claimed_at"]), done_at=when(row["done_at"]), cancelled_at=when(row["cancelled_at"]),
    )


def _scope(user: User) -> tuple[list[str], list]:
    """Which assignments a user may see: admins all; managers their regions'; auditors theirs and the
    open ones they could claim; staff none (a planned visit must never reach the shop)."""
    if user.role == "admin":
        return [], []
    if user.role == "manager":
        scope, params = in_regions(user, "l.region")
        return [scope], params
    if user.role == "auditor":
        mine = "s.auditor = ?"
        if user.regions:
            scope, params = in_regions(user, "l.region")
            return [f"({mine} OR (s.auditor IS NULL AND {scope}))"], [user.id, *params]
        return [f"({mine} OR s.auditor IS NULL)"], [user.id]
    raise forbidden("assignments are for auditors, managers and admins")


def listing(db: sqlite_utils.Database, user: User, today: dt.date, states: list[str] | None = None, location: str | None = None,
            region: str | None = None, limit: int = 200) -> list[AssignmentOut]:
    """Assignments the user may see, due soonest first (by last day, then first day). Without
    `states`: those still to do (planned, claimed, due, overdue)."""
    where, params = _scope(user)
    wanted = [s for s in STATES if s in set(states or ("planned", "claimed", "due", "overdue"))]
    day = today.isoformat()
    live = "s.cancelled_at IS NULL AND s.done_at IS NULL"
    rule = {  # state_of() as SQL, so the database picks the rows and the limit is exact
        "cancelled": ("s.cancelled_at IS NOT NULL", []), "done": ("s.cancelled_at IS NULL AND s.done_at IS NOT NULL", []),
        "overdue": (f"{live} AND s.ends < ?", [day]), "due": (f"{live} AND s.starts <= ? AND s.ends >= ?", [day, day]),
        "claimed": (f"{live} AND s.starts > ? AND s.claimed_at IS NOT NULL", [day]), "planned": (f"{live} AND s.starts > ? AND s.claimed_at IS NULL", [day]),
    }
    where.append("(" + " OR ".join(f"({rule[s][0]})" for s in wanted) + ")")
    params += [p for s in wanted for p in rule[s][1]]
    for clause, value in (("s.location = ?", location), ("l.region = ?", region)):
        if value is not None:
            where.append(clause)
            params.append(value)
    sql = f"{_select(db)} {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY s.ends, s.starts, l.name, s.id LIMIT ?"
    return [_out(r, today) for r in db.query(sql, [*params, limit])]


def get(db: sqlite_utils.Database, user: User, assignment_id: str, today: dt.date) -> AssignmentOut:
    """One assignment, if the user may see it (404 otherwise: an auditor must not learn of another's visit)."""
    where, params = _scope(user)
    row = next(db.query(f"{_select(db)} WHERE s.id = ? {'AND ' + ' AND '.join(where) if where else ''}", [assignment_id, *params]), None)
    if row is None:
        raise not_found("assignment", assignment_id)
    return _out(row, today)


# --- making them ---------------------------------------------------------------------------


def day_problem(day: dt.date, today: dt.date) -> str | None:
    """Why a planned visit may not begin on `day` (see PAST_DAYS), or None."""
    first, last = today - dt.timedelta(days=PAST_DAYS), today + dt.timedelta(days=AHEAD_DAYS)
    if not first <= day <= last:
        return f"{day.isoformat()} is not a day to plan for: expected {first.isoformat()} to {last.isoformat()} (a year back, two ahead)"
    return None


def _check(db: sqlite_utils.Database, user: User, a: AssignmentIn, brands: dict[str, list[str]], field=lambda name: name,
           today: dt.date | None = None) -> tuple[list[ApiProblem], dict | None, int | None]:
    """Problems of one planned visit (each naming its field), its location row and the auditor's id.
    `today`: check the window's first day is one to plan for (a schedule checks its own first day)."""
    problems = []
    if today is not None and (why := day_problem(a.starts, today)) is not None:
        problems.append(ApiProblem(field=field("starts"), message=why))
    location = next(db.query("SELECT id, region, brand, deactivated_at FROM locations WHERE id = ?", [a.location]), None)
    auditor_id = None
    if location is None:
        problems.append(ApiProblem(field=field("location"), message=f"no location {a.location!r}"))
    elif not user.sees_region(location["region"]):
        problems.append(ApiProblem(field=field("location"), message=f"location {a.location!r} is in region {location['region']!r}, which is not one of yours"))
    elif location["deactivated_at"]:
        problems.append(ApiProblem(field=field("location"), message=f"location {a.location!r} was deactivated on {location['deactivated_at'][:10]}: no visits are planned there"))
    else:
        known = brands.get(location["brand"], [])
        unknown = [t for t in a.touchpoints if t not in known]
        if a.touchpoints in ([], [""]):
            problems.append(ApiProblem(field=field("touchpoints"), message=f"choose at least one touchpoint ({', '.join(known)})"))
        elif unknown:
            problems.append(ApiProblem(field=field("touchpoints"), message=f"{', '.join(map(repr, unknown))} is not a touchpoint of this location's brand: choose from {', '.join(known)}"))
        if len(set(a.touchpoints)) != len(a.touchpoints):
            problems.append(ApiProblem(field=field("touchpoints"), message="a touchpoint is named twice"))
    if a.ends < a.starts:
        problems.append(ApiProblem(field=field("ends"), message=f"{a.ends} is before the first day ({a.starts}): the last day comes on or after it"))
    elif (a.ends - a.starts).days >= MAX_DAYS:
        problems.append(ApiProblem(field=field("ends"), message=f"a window of at most {MAX_DAYS} days"))
    if a.auditor is not None:
        row = db.execute("SELECT id, role, disabled_at FROM users WHERE name = ?", [a.auditor]).fetchone()
        if row is None or row[1] != "auditor" or row[2] is not None:
            problems.append(ApiProblem(field=field("auditor"), message=f"no auditor called {a.auditor!r}" if row is None or row[2] else f"{a.auditor!r} is a {row[1]}, not an auditor"))
        else:
            auditor_id = row[0]
            regions = {r for (r,) in db.execute("SELECT region FROM user_regions WHERE person = ?", [auditor_id])}
            if location is not None and regions and location["region"] not in regions:
                problems.append(ApiProblem(field=field("auditor"), message=f"{a.auditor!r} does not work in region {location['region']!r}"))
    return problems, location, auditor_id


def _insert(db: sqlite_utils.Database, user: User, a: AssignmentIn, auditor_id: int | None, schedule: str | None = None) -> str:
    made = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC).isoformat()
    db.execute(
        """INSERT INTO assignments (id, location, touchpoints, starts, ends, auditor, announced, note, schedule, created_by, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [made, a.location, msgspec.json.encode(a.touchpoints).decode(), a.starts.isoformat(), a.ends.isoformat(), auditor_id,
         a.announced, a.note, schedule, user.id, now],
    )
    history.log(db, user.id, "assignment", made, "planned", None, msgspec.to_builtins(a))
    return made


def create(db: sqlite_utils.Database, user: User, a: AssignmentIn, brands: dict[str, list[str]]) -> str:
    """Plan one visit, inside the caller's write transaction; 403 outside the user's regions, 422 for the rest."""
    problems, location, auditor_id = _check(db, user, a, brands, today=dt.date.today())
    if location is not None and not user.sees_region(location["region"]):
        raise forbidden(problems[0].message)
    if problems:
        raise invalid(f"assignment refused: {len(problems)} problem{'s' if len(problems) > 1 else ''}", problems, code=ErrorCode.ASSIGNMENT_REFUSED)
    return _insert(db, user, a, auditor_id)


def parse_csv(text: str) -> tuple[list[tuple[int, AssignmentIn]], list[ApiProblem]]:
    """CSV rows into planned visits (with their row numbers; the header is row 1), and the problems
    of the others, each named by row and column."""
    reader = csv.DictReader(io.StringIO(text, newline=""))  # a bare CR ends a line, as in a file opened for csv
    header = reader.fieldnames or []
    missing = [c for c in ("location", "touchpoints", "starts", "ends") if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if missing or unknown:
        message = "; ".join(p for p in (f"missing column(s) {', '.join(missing)}" if missing else "",
                                        f"unknown column(s) {', '.join(unknown)}" if unknown else "") if p)
        return [], [ApiProblem(line=1, message=f"{message} (expected {','.join(CSV_COLUMNS)}; auditor, announced and note may be left out)")]
    rows, problems = [], []
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_CSV_ROWS:
            return [], [ApiProblem(line=number, message=f"at most {MAX_CSV_ROWS:,} rows in one file")]
        if None in row:
            problems.append(ApiProblem(line=number, message=f"{len(row[None])} value(s) more than the {len(header)} columns"))
            continue
        got = {k: (v or "").strip() for k, v in row.items()}
        found = {}
        for column in ("starts", "ends"):
            try:
                found[column] = dt.date.fromisoformat(got[column])
            except ValueError:
                problems.append(ApiProblem(line=number, field=column, message=f"expected a day as YYYY-MM-DD, got {got[column]!r}"))
        announced = got.get("announced", "").lower()
        if announced not in ("", "yes", "no", "true", "false"):
            problems.append(ApiProblem(line=number, field="announced", message=f"expected yes or no, got {got['announced']!r}"))
        touchpoints = [t for t in got["touchpoints"].replace(";", " ").split() if t]
        if not touchpoints:
            problems.append(ApiProblem(line=number, field="touchpoints", message="expected one or more touchpoint ids, separated by spaces or ;"))
        if not got["location"]:
            problems.append(ApiProblem(line=number, field="location", message="expected a location id"))
        for column, most, lines in (("location", 100, False), ("auditor", 200, False), ("note", MAX_NOTE, True)):
            if (why := text_problem(got.get(column, ""), most, lines)) is not None:
                problems.append(ApiProblem(line=number, field=column, message=why))
        if len(found) == 2 and touchpoints and got["location"] and not any(p.line == number for p in problems):
            rows.append((number, AssignmentIn(location=got["location"], touchpoints=touchpoints, starts=found["starts"], ends=found["ends"],
                                              auditor=got.get("auditor") or None, announced=announced in ("yes", "true"), note=got.get("note", ""))))
    return rows, problems


def import_csv(db: sqlite_utils.Database, user: User, text: str, brands: dict[str, list[str]]) -> Imported:
    """Plan every row's visit, or none: a 422 naming every problem by row and column."""
    parsed, problems = parse_csv(text)
    checked = []
    for number, a in parsed:
        found, _, auditor_id = _check(db, user, a, brands, today=dt.date.today())
        problems += [msgspec.structs.replace(p, line=number) for p in found]
        checked.append((a, auditor_id))
    problems.sort(key=lambda p: p.line or 0)
    if not parsed and not problems:
        problems.append(ApiProblem(line=2, message="the file has no rows"))
    if problems:
        raise invalid(f"nothing was imported: {len(problems)} problem{'s' if len(problems) > 1 else ''}", problems, code=ErrorCode.IMPORT_REFUSED)
    return Imported(made=len(checked), ids=[_insert(db, user, a, auditor_id) for a, auditor_id in checked])


def periods(first: dt.date, every: str, count: int) -> list[tuple[dt.date, dt.date]]:
    """`count` calendar months or quarters, from the one holding `first`: (first day, last day)."""
    step = 1 if every == "month" else 3
    month = first.month if every == "month" else 3 * ((first.month - 1) // 3) + 1
    year, found = first.year, []
    for _ in range(count):
        end_month = month + step - 1
        found.append((dt.date(year, month, 1), dt.date(year, end_month, calendar.monthrange(year, end_month)[1])))
        month += step
        if month > 12:
            month, year = month - 12, year + 1
    return found


def schedule(db: sqlite_utils.Database, user: User, s: ScheduleIn, brands: dict[str, list[str]], draw: random.Random | None = None) -> ScheduleOut:
    """Make a repeating schedule's assignments: each location in scope once per period (a random day
    of it when `day` is random), inside the caller's write transaction; all or nothing."""
    draw = draw or random.SystemRandom()
    if (why := day_problem(s.first, dt.date.today())) is not None:
        raise invalid(f"first: {why}", [ApiProblem(field="first", message=why)], code=ErrorCode.SCHEDULE_REFUSED)
    if s.region is not None:
        if not db.execute("SELECT 1 FROM regions WHERE id = ?", [s.region]).fetchone():
            raise not_found("region", s.region)
        if not user.sees_region(s.region):
            raise forbidden(f"region {s.region!r} is not one of yours")
        regions = [s.region]
    else:
        regions = [r for (r,) in db.execute("SELECT id FROM regions ORDER BY id") if user.sees_region(r)]
    places = list(db.query(f"SELECT id, brand FROM locations WHERE region IN ({','.join('?' * len(regions))}) AND deactivated_at IS NULL ORDER BY id", regions)) if regions else []
    if not places:
        raise invalid("no locations to schedule", [ApiProblem(field="region", message="no locations in scope")], code=ErrorCode.SCHEDULE_REFUSED)
    spans = periods(s.first, s.every, s.periods)
    made_id = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC).isoformat()
    db.execute(
        "INSERT INTO schedules (id, brand, region, touchpoints, every, day, announced, first, last, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [made_id, places[0]["brand"], s.region, msgspec.json.encode(s.touchpoints).decode(), s.every, s.day, s.announced,
         spans[0][0].isoformat(), spans[-1][1].isoformat(), user.id, now],
    )
    history.log(db, user.id, "schedule", made_id, "planned", None, msgspec.to_builtins(s))
    problems, made = [], 0
    for place in places:
        for start, end in spans:
            if s.day == "random":
                start = end = start + dt.timedelta(days=draw.randrange((end - start).days + 1))
            a = AssignmentIn(location=place["id"], touchpoints=s.touchpoints, starts=start, ends=end, auditor=s.auditor, announced=s.announced)
            found, _, auditor_id = _check(db, user, a, brands)
            if found:
                problems += [msgspec.structs.replace(p, field=f"{p.field} (location {place['id']})") for p in found]
                break
            _insert(db, user, a, auditor_id, schedule=made_id)
            made += 1
    if problems:
        raise invalid(f"schedule refused: {len(problems)} problem{'s' if len(problems) > 1 else ''}", problems, code=ErrorCode.SCHEDULE_REFUSED)
    return ScheduleOut(id=made_id, made=made)


# --- changing them -------------------------------------------------------------------------


def _row(db: sqlite_utils.Database, assignment_id: str) -> dict:
    row = next(db.query(
        "SELECT s.*, l.region, u.name AS holder FROM assignments s JOIN locations l ON l.id = s.location LEFT JOIN users u ON u.id = s.auditor WHERE s.id = ?",
        [assignment_id]), None)
    if row is None:
        raise not_found("assignment", assignment_id)
    return row


def claim(db: sqlite_utils.Database, user: User, assignment_id: str, for_auditor: str | None = None) -> None:
    """An auditor takes an open assignment (first claim wins; claiming one's own again is harmless,
    so a claim sent twice from a phone is fine); a manager or admin gives it to `for_auditor`."""
    row = _row(db, assignment_id)
    if user.role == "auditor":
        if not user.sees_region(row["region"]):
            raise not_found("assignment", assignment_id)
        taker = user.id
    else:
        if not user.sees_region(row["region"]):
            raise forbidden(f"this assignment is in region {row['region']!r}, which is not one of yours")
        if for_auditor is None:
            raise invalid("say who takes it", [ApiProblem(field="auditor", message="expected the name of the auditor who takes this assignment")])
        found = db.execute("SELECT id FROM users WHERE name = ? AND role = 'auditor' AND disabled_at IS NULL", [for_auditor]).fetchone()
        if found is None:
            raise invalid("no such auditor", [ApiProblem(field="auditor", message=f"no auditor called {for_auditor!r}")])
        taker = found[0]
    if row["cancelled_at"]:
        raise conflict(f"assignment {assignment_id} was cancelled on {row['cancelled_at'][:10]}")
    if row["auditor"] == taker:
        return
    if row["auditor"] is not None:
        raise conflict("already claimed" if user.role == "auditor" else f"already claimed by {row['holder']}")
    now = dt.datetime.now(dt.UTC).isoformat()
    db.execute("UPDATE assignments SET auditor = ?, claimed_at = ? WHERE id = ?", [taker, now, assignment_id])
    name = user.name if user.role == "auditor" else for_auditor
    history.log(db, user.id, "assignment", assignment_id, "claimed", {"auditor": None}, {"auditor": name})


def cancel(db: sqlite_utils.Database, user: User, assignment_id: str, note: str = "") -> None:
    row = _row(db, assignment_id)
    if not user.sees_region(row["region"]):
        raise forbidden(f"this assignment is in region {row['region']!r}, which is not one of yours")
    if row["cancelled_at"] or row["done_at"]:
        raise conflict(f"assignment {assignment_id} is {'cancelled' if row['cancelled_at'] else 'done'} already")
    db.execute("UPDATE assignments SET cancelled_at = ? WHERE id = ?", [dt.datetime.now(dt.UTC).isoformat(), assignment_id])
    history.log(db, user.id, "assignment", assignment_id, "cancelled", {"cancelled": False}, {"cancelled": True}, note)


def cancel_schedule(db: sqlite_utils.Database, user: User, schedule_id: str, today: dt.date) -> int:
    """Cancel a schedule and its assignments not done and not yet begun; returns how many."""
    row = next(db.query("SELECT * FROM schedules WHERE id = ?", [schedule_id]), None)
    if row is None:
        raise not_found("schedule", schedule_id)
    if row["region"] is not None and not user.sees_region(row["region"]):
        raise forbidden(f"this schedule is for region {row['region']!r}, which is not one of yours")
    if row["cancelled_at"]:
        raise conflict(f"schedule {schedule_id} was cancelled on {row['cancelled_at'][:10]}")
    now = dt.datetime.now(dt.UTC).isoformat()
    db.execute("UPDATE schedules SET cancelled_at = ? WHERE id = ?", [now, schedule_id])
    history.log(db, user.id, "schedule", schedule_id, "cancelled", {"cancelled": False}, {"cancelled": True})
    ahead = [i for (i,) in db.execute(
        "SELECT id FROM assignments WHERE schedule = ? AND cancelled_at IS NULL AND done_at IS NULL AND starts > ?", [schedule_id, today.isoformat()])]
    for assignment_id in ahead:
        db.execute("UPDATE assignments SET cancelled_at = ? WHERE id = ?", [now, assignment_id])
        history.log(db, user.id, "assignment", assignment_id, "cancelled", {"cancelled": False}, {"cancelled": True}, "its schedule was cancelled")
    return len(ahead)


# --- audits made for them ------------------------------------------------------------------


def attach(db: sqlite_utils.Database, assignment_id: str, audit, by: User) -> None:
    """An audit arrives carrying this assignment's id (inside the ingest transaction): check it fits,
    take the assignment if it was open, and mark it done once every touchpoint has its audit.
    Raises before the caller commits; the Writer's savepoint undoes the audit with it."""
    row = next(db.query("SELECT s.*, u.name AS holder FROM assignments s LEFT JOIN users u ON u.id = s.auditor WHERE s.id = ?", [assignment_id]), None)
    if row is None:
        raise invalid("the audit names no known assignment", [ApiProblem(field="assignment", message=f"no assignment {assignment_id}")], code=ErrorCode.AUDIT_REFUSED)
    if row["location"] != audit.location or audit.checklist not in msgspec.json.decode(row["touchpoints"]):
        raise invalid("the audit does not fit its assignment", [ApiProblem(
            field="assignment", message=f"assignment {assignment_id} is for {', '.join(msgspec.json.decode(row['touchpoints']))} at {row['location']}")], code=ErrorCode.AUDIT_REFUSED)
    if row["auditor"] is not None and row["auditor"] != by.id:
        raise conflict("the assignment is already claimed by another auditor")
    if row["cancelled_at"]:
        if audit.finished_at < dt.datetime.fromisoformat(row["cancelled_at"]):
            return  # done before it was cancelled (offline, say, before its location was deactivated): kept, and it stays cancelled
        raise conflict(f"assignment {assignment_id} was cancelled on {row['cancelled_at'][:10]}")
    if row["auditor"] is None:
        db.execute("UPDATE assignments SET auditor = ?, claimed_at = ? WHERE id = ?", [by.id, dt.datetime.now(dt.UTC).isoformat(), assignment_id])
        history.log(db, by.id, "assignment", assignment_id, "claimed", {"auditor": None}, {"auditor": by.name}, "by sending an audit for it")
    refresh_done(db, assignment_id)


def refresh_done(db: sqlite_utils.Database, assignment_id: str) -> None:
    """Done when every touchpoint has an audit made for it that was not rejected (a rejection reopens it)."""
    touchpoints, done_at = db.execute("SELECT touchpoints, done_at FROM assignments WHERE id = ?", [assignment_id]).fetchone()
    covered = {c for (c,) in db.execute("SELECT checklist FROM audits WHERE assignment = ? AND status != 'rejected'", [assignment_id])}
    done = set(msgspec.json.decode(touchpoints)) <= covered
    if done and not done_at:
        db.execute("UPDATE assignments SET done_at = ? WHERE id = ?", [dt.datetime.now(dt.UTC).isoformat(), assignment_id])
        history.log(db, None, "assignment", assignment_id, "done", {"done": False}, {"done": True}, "every touchpoint has its audit")
    elif done_at and not done:
        db.execute("UPDATE assignments SET done_at = NULL WHERE id = ?", [assignment_id])
        history.log(db, None, "assignment", assignment_id, "reopened", {"done": True}, {"done": False}, "an audit made for it was rejected")


def audit_arrived(db: sqlite_utils.Database, e: AuditArrived) -> None:
    """An audit arrived (events.AuditArrived) carrying an assignment's id: it takes and fulfils it."""
    if e.audit.assignment is not None:
        attach(db, str(e.audit.assignment), e.audit, e.by)


def audit_reviewed(db: sqlite_utils.Database, e: AuditReviewed) -> None:
    """A rejected audit no longer fulfils its assignment."""
    if e.assignment and e.done == "rejected":
        refresh_done(db, e.assignment)


def exists(db: sqlite_utils.Database, assignment_id: str) -> bool:
    return db.execute("SELECT 1 FROM assignments WHERE id = ?", [assignment_id]).fetchone() is not None
