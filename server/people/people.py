"""The program's people: the list (search and filters), one person with their sessions, tokens and
history, editing their role, regions, location and e-mail, disabling and enabling, and forgetting.

Who may see and change whom is visibility.may_manage (and may_see_person); a person's state is
`state` here. Every change is in the history (kind "person", subject the user's id), never with an
e-mail address in it: the history is append-only, and forgetting must leave no address behind, so
an e-mail change is written as {"email": "on file"} -> {"email": "changed"} (or "none")."""

import datetime as dt
import re
from typing import Annotated, Literal

import msgspec
import sqlite_utils
from msgspec import UNSET, Meta, UnsetType

from server import dialect
from server import text
from server.accounts.accounts import User
from server.checklists.format import Strict
from server.db import write
from server.errors import ApiError, ApiProblem, conflict, forbidden, invalid, not_found
from server.program import history
from server.search import search_clause
from server.visibility import in_regions, may_manage, may_see_person, people_scope

State = Literal["active", "invited", "disabled", "forgotten"]
STATES = ("active", "invited", "disabled", "forgotten")
SIGN_INS = ("never", "over30", "within30")  # the last sign-in filter: never, more than 30 days ago, within 30 days
SIGN_IN_DAYS = 30
MAX_EMAIL = 254  # RFC 5321's longest path
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
PAGE = 50


def state(forgotten_at: str | None, disabled_at: str | None, password_hash: str) -> State:
    """A person's state, the one rule: forgotten, else disabled, else invited (an invitation made the
    account and enrolment has not yet set its password: '!'), else active."""
    if forgotten_at:
        return "forgotten"
    if disabled_at:
        return "disabled"
    return "invited" if password_hash == "!" else "active"


# `state` as SQL over users `u`, for the list's filter: the same order of the same tests
STATE_SQL = "CASE WHEN u.forgotten_at IS NOT NULL THEN 'forgotten' WHEN u.disabled_at IS NOT NULL THEN 'disabled' WHEN u.password_hash = '!' THEN 'invited' ELSE 'active' END"


def email_problem(email: str) -> str | None:
    """Why `email` is not an address mail could go to, or None."""
    if (why := text.problem(email, MAX_EMAIL)) is not None:
        return why
    if not EMAIL.fullmatch(email):
        return f"expected an address like name@example.com, got {email!r}"
    return None


class Listed(msgspec.Struct, kw_only=True):
    id: int
    name: str
    code: str
    role: str
    regions: list[str]
    location: str | None
    location_name: str | None
    email: str | None
    state: State
    last_sign_in_at: str | None
    managed: bool  # the viewer may change them (else they see them read-only)


class Listing(msgspec.Struct, kw_only=True):
    people: list[Listed]
    total: int  # how many match the search and filters, past this page
    offset: int
    limit: int


class SessionOut(msgspec.Struct, kw_only=True):
    created_at: str
    expires_at: str
    agent: str  # the browser's User-Agent when it signed in


class TokenOut(msgspec.Struct, kw_only=True):
    id: int
    label: str
    created_at: str
    expires_at: str
    last_used_at: str | None
    state: str  # active, expired or revoked


class Person(Listed, kw_only=True):
    location_region: str | None
    created_at: str
    forgotten_at: str | None
    sessions: list[SessionOut]
    tokens: list[TokenOut]
    history: list[history.Entry]


class PersonEdit(Strict, kw_only=True):
    """A change to a person: only the fields given change. A role other than staff leaves no location;
    staff have no regions. `email`: null or "" removes it."""

    role: Literal["admin", "manager", "auditor", "staff"] | UnsetType = UNSET
    regions: Annotated[list[Annotated[str, Meta(max_length=100)]], Meta(max_length=1000)] | UnsetType = UNSET
    location: Annotated[str, Meta(max_length=100)] | None | UnsetType = UNSET
    email: Annotated[str, Meta(max_length=1000)] | None | UnsetType = UNSET


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _select(db) -> str:
    return f"""SELECT u.id, u.name, u.code, u.role, u.location, l.name, l.region, u.email, {STATE_SQL}, u.last_sign_in_at, u.created_at, u.forgotten_at,
                         (SELECT {dialect.of(db).joined('region')} FROM user_regions WHERE person = u.id)
                  FROM users u LEFT JOIN locations l ON l.id = u.location"""


def _regions(joined: str | None) -> list[str]:
    return sorted(joined.split("\x1f")) if joined else []


def _listed(viewer: User, row) -> dict:
    regions = _regions(row[12])
    return {"id": row[0], "name": row[1], "code": row[2], "role": row[3], "regions": regions, "location": row[4], "location_name": row[5],
            "email": row[7], "state": row[8], "last_sign_in_at": row[9], "managed": may_manage(viewer, row[3], regions, row[6]) is None and viewer.id != row[0]}


def listing(db: sqlite_utils.Database, viewer: User, search: str = "", role: str | None = None, region: str | None = None, state: str | None = None,
            signed_in: str | None = None, offset: int = 0, limit: int | None = PAGE) -> Listing:
    """The people `viewer` sees (never campaign participants), A to Z, with the search (a part of the
    name, e-mail or code) and the filters; one page of them (`limit` None: all) and how many match in all."""
    scope, params = people_scope(viewer)
    where = ["u.role != 'participant'", scope]
    if search.strip():
        clause, found = search_clause(["u.name", "u.email", "u.code"], search)
        where.append(clause)
        params += found
    if role:
        where.append("u.role = ?")
        params.append(role)
    if region:
        where.append("(EXISTS (SELECT 1 FROM user_regions WHERE person = u.id AND region = ?) OR l.region = ?)")
        params += [region, region]
    if state:
        where.append(f"{STATE_SQL} = ?")
        params.append(state)
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=SIGN_IN_DAYS)).isoformat()
    if signed_in == "never":
        where.append("u.last_sign_in_at IS NULL")
    elif signed_in == "over30":
        where.append("u.last_sign_in_at < ?")
        params.append(since)
    elif signed_in == "within30":
        where.append("u.last_sign_in_at >= ?")
        params.append(since)
    clause = " AND ".join(where)
    total = db.execute(f"SELECT count(*) FROM users u LEFT JOIN locations l ON l.id = u.location WHERE {clause}", params).fetchone()[0]
    page, paging = (" LIMIT ? OFFSET ?", [limit, offset]) if limit is not None else ("", [])  # no LIMIT -1: PostgreSQL refuses it
    rows = db.execute(f"{_select(db)} WHERE {clause} ORDER BY u.name{page}", [*params, *paging]).fetchall()
    return Listing(people=[Listed(**_listed(viewer, r)) for r in rows], total=total, offset=offset, limit=total if limit is None else limit)


def _row(db: sqlite_utils.Database, person_id: int):
    return db.execute(f"{_select(db)} WHERE u.id = ? AND u.role != 'participant'", [person_id]).fetchone()


def _seen(db: sqlite_utils.Database, viewer: User, person_id: int):
    """The person's row, when `viewer` may see them: 404 when there is none, 403 when outside their
    scope (as an audit of another region answers)."""
    row = _row(db, person_id)
    if row is None:
        raise not_found("person", str(person_id))
    if not may_see_person(viewer, row[3], _regions(row[12]), row[6]):
        raise forbidden(f"person {person_id} is outside what you manage: a manager manages the auditors and staff of their own regions")
    return row


def _managed(db: sqlite_utils.Database, viewer: User, person_id: int):
    """The person's row, when `viewer` may change them (else 404 or 403)."""
    row = _seen(db, viewer, person_id)
    if (why := may_manage(viewer, row[3], _regions(row[12]), row[6])) is not None:
        raise forbidden(f"you see person {person_id} but do not manage them: {why[1]}")
    if row[0] == viewer.id:
        raise forbidden("not your own account here: your own is at /account (another admin changes your role)")
    return row


def person(db: sqlite_utils.Database, viewer: User, person_id: int) -> Person:
    """One person as `viewer` may see them, with their sessions, tokens and history."""
    row = _seen(db, viewer, person_id)
    now = _now()
    sessions = [SessionOut(created_at=c, expires_at=e, agent=a) for c, e, a in db.execute(
        "SELECT created_at, expires_at, agent FROM sessions WHERE person = ? AND expires_at > ? ORDER BY created_at DESC", [person_id, now])]
    return Person(**_listed(viewer, row), location_region=row[6], created_at=row[10], forgotten_at=row[11], sessions=sessions,
                  tokens=tokens(db, person_id), history=history.entries(db, "person", str(person_id)))


def tokens(db: sqlite_utils.Database, user_id: int) -> list[TokenOut]:
    """A person's API tokens, newest first (never a secret: only hashes are kept)."""
    now = _now()
    return [TokenOut(id=i, label=label, created_at=c, expires_at=e, last_used_at=used,
                     state="revoked" if revoked else "expired" if e <= now else "active")
            for i, label, c, e, used, revoked in db.execute(
                "SELECT id, label, created_at, expires_at, last_used_at, revoked_at FROM api_tokens WHERE person = ? ORDER BY id DESC", [user_id])]


def revoke_own_token(db: sqlite_utils.Database, user: User, token_id: int) -> None:
    """End one of `user`'s own tokens (another person's token is not found for them)."""
    with write(db):
        if db.execute("SELECT 1 FROM api_tokens WHERE id = ? AND person = ?", [token_id, user.id]).fetchone() is None:
            raise not_found("token", str(token_id))
        db.execute("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?", [_now(), token_id])


def _refused(problems: list[ApiProblem]) -> ApiError:
    return invalid("person refused: " + "; ".join(f"{p.field}: {p.message}" for p in problems), problems)


def _email_word(email: str | None) -> str:
    return "on file" if email else "none"


def edit(db: sqlite_utils.Database, viewer: User, person_id: int, change: PersonEdit) -> Person:
    """Change a person's role, regions, location or e-mail, as `viewer` may; all checked before
    anything is written (a 422 naming each field), written with its history line."""
    with write(db):
        row = _managed(db, viewer, person_id)
        was = {"role": row[3], "regions": _regions(row[12]), "location": row[4]}
        role = was["role"] if change.role is UNSET else change.role
        regions = was["regions"] if change.regions is UNSET else sorted(set(change.regions))
        location = was["location"] if change.location is UNSET else (change.location or None)
        if role != "staff" and change.location is UNSET:
            location = None  # a staff person made an auditor or manager leaves their location
        if role == "staff" and change.regions is UNSET:
            regions = []
        email = row[7] if change.email is UNSET else ((change.email or "").strip() or None)
        problems = []
        if role == "staff" and location is None:
            problems.append(ApiProblem(field="location", message="staff need a location (the one they work at)"))
        if role != "staff" and location is not None:
            problems.append(ApiProblem(field="location", message="only staff have a location"))
        if role == "staff" and regions:
            problems.append(ApiProblem(field="regions", message="staff see one location, not regions"))
        if role == "manager" and not regions:
            problems.append(ApiProblem(field="regions", message="a manager needs at least one region"))
        known = {r for (r,) in db.execute("SELECT id FROM regions")}
        if unknown := [r for r in regions if r not in known]:
            problems.append(ApiProblem(field="regions", message=f"no region {', '.join(map(repr, unknown))} (known: {', '.join(sorted(known)) or 'none'})"))
        location_region = None
        if location is not None:
            found = db.execute("SELECT region FROM locations WHERE id = ?", [location]).fetchone()
            if found is None:
                problems.append(ApiProblem(field="location", message=f"no location {location!r}"))
            else:
                location_region = found[0]
        if email is not None and (why := email_problem(email)) is not None:
            problems.append(ApiProblem(field="email", message=why))
        if (why := may_manage(viewer, role, regions, location_region)) is not None and all(p.field != why[0] for p in problems):
            problems.append(ApiProblem(field=why[0], message=why[1]))
        if problems:
            raise _refused(problems)
        now = {"role": role, "regions": regions, "location": location}
        before = {k: v for k, v in was.items() if now[k] != v}
        after = {k: now[k] for k in before}
        if email != row[7]:
            before["email"], after["email"] = _email_word(row[7]), "changed" if email else "none"
        if after:
            db.execute("UPDATE users SET role = ?, location = ?, email = ? WHERE id = ?", [role, location, email, person_id])
            db.execute("DELETE FROM user_regions WHERE person = ?", [person_id])
            db.conn.executemany("INSERT INTO user_regions (person, region) VALUES (?, ?)", [(person_id, r) for r in regions])
            history.log(db, actor_id(viewer), "person", str(person_id), "edited", before, after)
    return person(db, viewer, person_id)


def disable(db: sqlite_utils.Database, viewer: User, person_id: int) -> Person:
    """They can no longer sign in: their sessions end and their tokens are revoked at once; their audits stay."""
    with write(db):
        row = _managed(db, viewer, person_id)
        if row[8] == "forgotten":
            raise conflict(f"person {person_id} was forgotten: they stay disabled")
        if row[8] != "disabled":
            ended, revoked = _shut(db, person_id, _now())
            history.log(db, actor_id(viewer), "person", str(person_id), "disabled", {"state": row[8]}, {"state": "disabled"},
                        f"{ended} session{'s' * (ended != 1)} ended, {revoked} token{'s' * (revoked != 1)} revoked")
    return person(db, viewer, person_id)


def _shut(db: sqlite_utils.Database, person_id: int, now: str) -> tuple[int, int]:
    db.execute("UPDATE users SET disabled_at = coalesce(disabled_at, ?) WHERE id = ?", [now, person_id])
    ended = db.execute("DELETE FROM sessions WHERE person = ?", [person_id]).rowcount
    revoked = db.execute("UPDATE api_tokens SET revoked_at = ? WHERE person = ? AND revoked_at IS NULL", [now, person_id]).rowcount
    return ended, revoked


def enable(db: sqlite_utils.Database, viewer: User, person_id: int) -> Person:
    """A disabled person may sign in again (tokens revoked before stay revoked); a forgotten one never."""
    with write(db):
        row = _managed(db, viewer, person_id)
        if row[8] == "forgotten":
            raise conflict(f"person {person_id} was forgotten: a forgotten person is never enabled again (invite them anew)")
        if row[8] == "disabled":
            db.execute("UPDATE users SET disabled_at = NULL WHERE id = ?", [person_id])
            history.log(db, actor_id(viewer), "person", str(person_id), "enabled", {"state": "disabled"}, {"state": state(None, None, _hash(db, person_id))})
    return person(db, viewer, person_id)


def _hash(db: sqlite_utils.Database, person_id: int) -> str:
    return db.execute("SELECT password_hash FROM users WHERE id = ?", [person_id]).fetchone()[0]


def end_sessions(db: sqlite_utils.Database, viewer: User, person_id: int) -> int:
    """End every browser session of the person (they sign in again); how many ended."""
    with write(db):
        _managed(db, viewer, person_id)
        ended = db.execute("DELETE FROM sessions WHERE person = ?", [person_id]).rowcount
        if ended:
            history.log(db, actor_id(viewer), "person", str(person_id), "sessions ended", {"sessions": ended}, {"sessions": 0})
    return ended


FORGOTTEN_MAIL = "(the person this mail was for was forgotten: its text is not kept)"


def forget(db: sqlite_utils.Database, viewer: User, person_id: int) -> Person:
    """The right to erasure without losing the program's history: the person's name and e-mail are
    replaced by their code everywhere they are stored (the account, their mails, the webhook
    deliveries and the history's before and after that named them, the sign-in throttle's counts),
    they are disabled for good, their sessions end, their tokens and open links are revoked. Their
    audits, corrections and actions stay, under the code, and count as before."""
    with write(db):
        row = _managed(db, viewer, person_id)
        if row[8] == "forgotten":
            raise conflict(f"person {person_id} was forgotten already")
        name, code, now = row[1], row[2], _now()
        if db.execute("SELECT 1 FROM users WHERE name = ? AND id != ?", [code, person_id]).fetchone():
            raise conflict(f"another person is called {code!r}, this person's code: rename them first")
        _shut(db, person_id, now)
        db.execute("UPDATE users SET name = ?, email = NULL, forgotten_at = ? WHERE id = ?", [code, now, person_id])
        db.execute("UPDATE links SET revoked_at = ? WHERE person = ? AND used_at IS NULL AND revoked_at IS NULL", [now, person_id])
        db.execute("UPDATE mail SET to_address = ?, subject = replace(subject, ?, ?), body = ? WHERE to_user = ?", [code, name, code, FORGOTTEN_MAIL, person_id])
        quoted, replaced = msgspec.json.encode(name).decode(), msgspec.json.encode(code).decode()
        d = dialect.of(db)
        db.execute(f"UPDATE deliveries SET body = replace(body, ?, ?) WHERE {d.contains('body', '?')}", [quoted, replaced, quoted])
        db.execute("DELETE FROM login_failures WHERE key = ?", [f"name:{name}"])
        db.execute("INSERT INTO erasing (person) VALUES (?)", [person_id])  # lets the history take this one rewrite (migration 0016)
        db.execute(f"UPDATE history SET before = replace(before, ?, ?), after = replace(after, ?, ?) WHERE {d.contains('before', '?')} OR {d.contains('after', '?')}",
                   [quoted, replaced, quoted, replaced, quoted, quoted])
        db.execute("DELETE FROM erasing")
        history.log(db, actor_id(viewer), "person", str(person_id), "forgotten", {"state": row[8]}, {"state": "forgotten"},
                    "name and e-mail replaced by the code; audits kept")
    return person(db, viewer, person_id)


def choices(db: sqlite_utils.Database, viewer: User) -> dict:
    """What the edit form offers `viewer` to give: roles, regions and locations (an admin: all; a manager: theirs)."""
    where, params = in_regions(viewer, "id")
    regions = [dict(id=i, name=n) for i, n in db.execute(f"SELECT id, name FROM regions WHERE {where} ORDER BY name", params)]
    where, params = in_regions(viewer, "region")
    locations = [dict(id=i, name=n, region=r) for i, n, r in db.execute(f"SELECT id, name, region FROM locations WHERE {where} ORDER BY name", params)]
    return {"regions": regions, "locations": locations, "roles": ["admin", "manager", "auditor", "staff"] if viewer.role == "admin" else ["auditor", "staff"]}


def audit_count(db: sqlite_utils.Database, person_id: int) -> int:
    """How many audits the person sent (they stay when the person is forgotten)."""
    return db.execute("SELECT count(*) FROM audits WHERE auditor = ?", [person_id]).fetchone()[0]


def own(db: sqlite_utils.Database, user: User) -> tuple[str | None, str | None]:
    """The signed-in person's e-mail and (staff) their location's name, for their account page."""
    email = db.execute("SELECT email FROM users WHERE id = ?", [user.id]).fetchone()[0]
    location = db.execute("SELECT name FROM locations WHERE id = ?", [user.location]).fetchone()[0] if user.location else None
    return email, location


def by_name(db: sqlite_utils.Database, name: str) -> int | None:
    """A person's id by their name (for the command line)."""
    found = db.execute("SELECT id FROM users WHERE name = ? AND role != 'participant'", [name]).fetchone()
    return None if found is None else found[0]


COMMAND_LINE = User(id=0, name="the command line", role="admin", regions=frozenset())  # whoever has a shell on the server manages everyone


def actor_id(user: User) -> int | None:
    """The history's actor: null for the command line (the program itself, as the history says it)."""
    return user.id or None

