"""Getting people in and keeping them in: the first start's setup link, invitations and enrolment,
the bulk CSV of people, changing a password, a forgotten one, reset links. Every change is one
write transaction with its link (server.accounts.links), its mail (server.mail.outbox, only queued
here) and its history row, so each happens with all three or not at all. No password or secret is
ever written to the history or a log."""

import csv
import datetime as dt
import io
from typing import Literal

import msgspec
import sqlite_utils

from server.accounts import accounts, links
from server.accounts.accounts import AccountError, User
from server.db import write
from server.errors import ApiProblem
from server.mail import outbox
from server.program import history
from server.settings import Settings
from server.visibility import may_manage

FORGOT_PER_NAME, FORGOT_PER_ADDRESS = 3, 30  # reset mails asked for within accounts.WINDOW (15 minutes)


class Refused(Exception):
    """An onboarding step refused: `problems` name each field (a form shows them beside it)."""

    def __init__(self, message: str, problems: list[ApiProblem] | None = None, status: int = 422):
        super().__init__(message)
        self.message, self.problems, self.status = message, problems or [], status


def _refused(exc: AccountError) -> Refused:
    return Refused(str(exc), [ApiProblem(field=exc.field, message=str(exc).split(": ", 1)[-1] if exc.field else str(exc))])


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """A person as onboarding needs them: who they are, whom they answer to, and whether they enrolled."""

    id: int
    name: str
    role: str
    email: str | None
    regions: frozenset[str]
    location_region: str | None
    invited: bool  # made by an invitation and no password set yet
    disabled: bool


def person(db: sqlite_utils.Database, person_id: int) -> Person | None:
    if not 0 < person_id < 2 ** 63:
        return None  # no SQLite row id is out of that range (and SQLite refuses to compare with one)
    row = db.execute(
        """SELECT u.id, u.name, u.role, u.email, u.password_hash, u.disabled_at, u.forgotten_at, l.region
           FROM users u LEFT JOIN locations l ON l.id = u.location WHERE u.id = ?""", [person_id]).fetchone()
    if row is None or row[2] == "participant":
        return None
    regions = frozenset(r for (r,) in db.execute("SELECT region FROM user_regions WHERE person = ?", [person_id]))
    return Person(id=row[0], name=row[1], role=row[2], email=row[3], regions=regions, location_region=row[7],
                  invited=row[4] == accounts.INVITED, disabled=bool(row[5] or row[6]))


def managed(db: sqlite_utils.Database, by: User, person_id: int) -> Person:
    """The person, when `by` may manage them (visibility.may_manage); else Refused: 404 for nobody,
    403 for a person out of reach (as the people pages answer)."""
    found = person(db, person_id)
    if found is None:
        raise Refused(f"no person {person_id}", status=404)
    if (why := may_manage(by, found.role, found.regions, found.location_region)) is not None:
        raise Refused(f"{found.name} is not someone you manage: {why[1]}", status=403)
    return found


def address(base: str, kind: links.Kind, secret: str) -> str:
    return base + links.PATHS[kind] + secret


def _day(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).strftime("%-d %B %Y, %H:%M UTC")


# --- the first start --------------------------------------------------------------------------

def needs_setup(db: sqlite_utils.Database) -> bool:
    """No admin who may sign in: the server prints a setup link when it starts."""
    return db.execute("SELECT 1 FROM users WHERE role = 'admin' AND disabled_at IS NULL AND password_hash != ?", [accounts.INVITED]).fetchone() is None


def setup_link(db: sqlite_utils.Database) -> str | None:
    """A new setup link's secret (the earlier unused one revoked), or None when an admin exists."""
    with write(db):
        if not needs_setup(db):
            return None
        _, secret = links.make(db, "setup", None, None)
    return secret


def setup_state(db: sqlite_utils.Database, secret: str) -> str:
    """'open', 'done' (an admin exists already), or why the link cannot be used."""
    if not needs_setup(db):
        return "done"
    try:
        links.find(db, secret, "setup")
    except links.Unusable as unusable:
        return unusable.why
    return "open"


def set_up(db: sqlite_utils.Database, secret: str, name: str, password: str) -> User:
    """The first admin, through the setup link (used by it). Refused: the name or password (422), an
    admin there already (409), the link not usable (links.Unusable)."""
    with write(db):
        if not needs_setup(db):
            raise Refused("an admin exists already: sign in instead", status=409)
        links.find(db, secret, "setup")
        try:
            accounts.check_new_user(db, name, "admin", [])
        except AccountError as exc:
            raise _refused(exc) from None
        if (weak := accounts.password_problem(name, password)) is not None:
            raise Refused(f"password: {weak}", [ApiProblem(field="password", message=weak)])
        link = links.redeem(db, secret, "setup")
        user_id = accounts.insert_user(db, name, "admin", [], accounts.hashed(password))
        history.log(db, user_id, "person", str(user_id), "set up", None, {"name": name, "role": "admin"}, f"the first admin, by setup link {link.id}")
    return accounts.user_by_id(db, user_id)


# --- invitations ------------------------------------------------------------------------------

class Invited(msgspec.Struct, frozen=True, kw_only=True):
    person: int
    name: str
    role: str
    link: str  # the enrolment link: shown once, never stored
    expires_at: str
    mailed: bool  # a mail was queued (an e-mail was given)


def _location_region(db: sqlite_utils.Database, location: str | None) -> str | None:
    if location is None:
        return None
    row = db.execute("SELECT region FROM locations WHERE id = ?", [location]).fetchone()
    return row[0] if row else None


def _check_may_give(db: sqlite_utils.Database, by: User, role: str, regions: list[str], location: str | None) -> None:
    if may_manage(by, role, regions, _location_region(db, location)) is None:
        return
    if by.role == "manager" and role not in ("auditor", "staff"):
        raise Refused(f"role: a manager invites auditors and staff; only an admin gives the role {role}", [ApiProblem(field="role", message=f"a manager invites auditors and staff; only an admin gives the role {role}")])
    if role == "staff":
        raise Refused("location: a location outside your regions", [ApiProblem(field="location", message="a location outside your regions")])
    mine = ", ".join(sorted(by.regions))
    message = f"at least one of your regions ({mine})" if not regions else f"only your regions ({mine})"
    raise Refused(f"regions: {message}", [ApiProblem(field="regions", message=message)])


def _invitation_mail(db, settings: Settings, by: User, who: Person | None, name: str, email: str, link_id: int, url: str, expires: str) -> None:
    body = (f"Hello {name},\n\n{by.name} invited you to Touchpoint, the mystery-shopping program.\n\n"
            f"Open this link to choose your password and sign in:\n{url}\n\n"
            f"The link works once and expires on {_day(expires)}. If you did not expect it, ignore this mail.\n")
    outbox.queue(db, settings, to_address=email, subject=f"{by.name} invited you to Touchpoint", body=body, kind="invitation",
                 to_user=who.id if who else None, link=link_id)


def invite(db: sqlite_utils.Database, settings: Settings, by: User, base: str, name: str, role: str, regions: list[str],
           location: str | None, email: str | None) -> Invited:
    """Make the person (no password yet) and their enrolment link valid 7 days, in one transaction
    with the invitation mail (when an e-mail is given) and the history row."""
    name = name.strip()
    email = (email or "").strip() or None
    with write(db):
        return _invite_in(db, settings, by, base, name, role, regions, location, email)


def _invite_in(db, settings, by, base, name, role, regions, location, email) -> Invited:
    problems: list[ApiProblem] = []  # what the account must be, and what `by` may give: both told at once
    try:
        accounts.check_new_user(db, name, role, regions, location, email)
    except AccountError as exc:
        problems += _refused(exc).problems
    try:
        _check_may_give(db, by, role, regions, location)
    except Refused as refused:
        problems += [p for p in refused.problems if p.field not in {q.field for q in problems}]
    if problems:
        raise Refused("; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems), problems)
    user_id = accounts.insert_user(db, name, role, regions, accounts.INVITED, location, email)
    link, secret = links.make(db, "invitation", user_id, by.id)
    url = address(base, "invitation", secret)
    if email:
        _invitation_mail(db, settings, by, person(db, user_id), name, email, link.id, url, link.expires_at)
    history.log(db, by.id, "person", str(user_id), "invited", None,
                {"name": name, "role": role, "regions": sorted(regions), "location": location, "email": email}, "mailed" if email else "")
    return Invited(person=user_id, name=name, role=role, link=url, expires_at=link.expires_at, mailed=bool(email))


def invite_again(db: sqlite_utils.Database, settings: Settings, by: User, base: str, person_id: int) -> Invited:
    """A new enrolment link for a person who has not enrolled yet (the old one revoked), mailed again."""
    with write(db):
        who = managed(db, by, person_id)
        if not who.invited:
            raise Refused(f"{who.name} has set a password already: make a password reset link instead", status=409)
        link, secret = links.make(db, "invitation", who.id, by.id)
        url = address(base, "invitation", secret)
        if who.email:
            _invitation_mail(db, settings, by, who, who.name, who.email, link.id, url, link.expires_at)
        history.log(db, by.id, "person", str(who.id), "invited again", None, None, "mailed" if who.email else "")
    return Invited(person=who.id, name=who.name, role=who.role, link=url, expires_at=link.expires_at, mailed=bool(who.email))


def revoke_invitation(db: sqlite_utils.Database, by: User, person_id: int) -> int:
    """End the person's open invitation; how many links were ended (0: none was open)."""
    with write(db):
        who = managed(db, by, person_id)
        ended = sum(links.revoke(db, link.id) for link in links.of_person(db, who.id) if link.kind == "invitation")
        if ended:
            history.log(db, by.id, "person", str(who.id), "invitation revoked", None, None)
    return ended


# --- enrolment and reset: the links' pages ----------------------------------------------------

LinkState = Literal["open", "used", "expired", "revoked", "unknown"]


def link_state(db: sqlite_utils.Database, secret: str, kind: links.Kind) -> tuple[LinkState, links.Link | None, Person | None]:
    """Whether the link can be used, and the link and its person when it is known."""
    try:
        link = links.find(db, secret, kind)
    except links.Unusable as unusable:
        return unusable.why, unusable.link, None
    who = person(db, link.user) if link.user is not None else None
    if who is None or who.disabled:
        return "revoked", link, None  # the person was disabled or forgotten since: the link opens nothing
    return "open", link, who


def _use(db, secret: str, kind: links.Kind, password: str) -> tuple[links.Link, Person]:
    state, _, who = link_state(db, secret, kind)
    if state != "open":
        raise links.Unusable(state)
    if (weak := accounts.password_problem(who.name, password)) is not None:
        raise Refused(f"password: {weak}", [ApiProblem(field="password", message=weak)])
    link = links.redeem(db, secret, kind)
    db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [accounts.hashed(password), who.id])
    db.execute("DELETE FROM sessions WHERE person = ?", [who.id])  # a reset ends every session: whoever had one is out
    return link, who


def enrol(db: sqlite_utils.Database, secret: str, password: str) -> User:
    """Set the invited person's first password through their link (used by it); raises Refused or links.Unusable."""
    with write(db):
        link, who = _use(db, secret, "invitation", password)
        history.log(db, who.id, "person", str(who.id), "enrolled", None, None, f"invitation link {link.id}")
    return accounts.user_by_id(db, who.id)


def reset(db: sqlite_utils.Database, secret: str, password: str) -> User:
    """A new password through a reset link (used by it); every session of the person ends."""
    with write(db):
        link, who = _use(db, secret, "reset", password)
        history.log(db, who.id, "person", str(who.id), "password reset", None, None, f"reset link {link.id}")
    return accounts.user_by_id(db, who.id)


class ResetLink(msgspec.Struct, frozen=True, kw_only=True):
    person: int
    name: str
    link: str
    expires_at: str


def reset_link(db: sqlite_utils.Database, by: User, base: str, person_id: int) -> ResetLink:
    """A reset link valid 1 hour, made by a manager (for their auditors and staff) or an admin, to be
    shown once; the person's earlier open reset link is revoked."""
    with write(db):
        who = managed(db, by, person_id)
        if who.disabled:
            raise Refused(f"{who.name} is disabled: enable them first", status=409)
        if who.invited:
            raise Refused(f"{who.name} has not enrolled yet: send the invitation again instead", status=409)
        link, secret = links.make(db, "reset", who.id, by.id)
        history.log(db, by.id, "person", str(who.id), "reset link made", None, None, f"reset link {link.id}")
    return ResetLink(person=who.id, name=who.name, link=address(base, "reset", secret), expires_at=link.expires_at)


def forgot(db: sqlite_utils.Database, settings: Settings, base: str, name: str, client: str) -> int:
    """A forgotten password: with mail set up and an e-mail on file, a reset link valid 1 hour is
    mailed; otherwise nothing happens. The caller answers the same either way. Counted in the
    database per name and per address (login_failures, as sign-in): past FORGOT_PER_NAME or
    FORGOT_PER_ADDRESS within accounts.WINDOW, the seconds to wait (> 0) and nothing is done."""
    now = dt.datetime.now(dt.UTC)
    since = (now - accounts.WINDOW).isoformat()
    with write(db):
        for key, limit in ((f"forgot:{name}", FORGOT_PER_NAME), (f"forgot-addr:{client}", FORGOT_PER_ADDRESS)):
            count, oldest = db.execute("SELECT COUNT(*), MIN(at) FROM (SELECT at FROM login_failures WHERE key = ? AND at > ? ORDER BY at DESC LIMIT ?) AS recent",
                                       [key, since, limit]).fetchone()
            if count >= limit:
                return int((dt.datetime.fromisoformat(oldest) + accounts.WINDOW - now).total_seconds()) + 1
        for key in (f"forgot:{name}", f"forgot-addr:{client}"):
            db.execute("INSERT INTO login_failures (key, at) VALUES (?, ?)", [key, now.isoformat()])
        row = db.execute("SELECT id FROM users WHERE name = ? AND role != 'participant'", [name]).fetchone()
        who = person(db, row[0]) if row else None
        if who is None or who.disabled or who.invited or not who.email or not settings.smtp_url:
            return 0
        link, secret = links.make(db, "reset", who.id, None)
        body = (f"Hello {who.name},\n\nSomebody (we hope you) asked to reset your Touchpoint password.\n\n"
                f"Open this link to choose a new one:\n{address(base, 'reset', secret)}\n\n"
                f"It works once and expires on {_day(link.expires_at)}. Setting a new password signs you out everywhere. "
                "If you did not ask, ignore this mail: your password stays as it is.\n")
        outbox.queue(db, settings, to_address=who.email, subject="Reset your Touchpoint password", body=body, kind="reset", to_user=who.id, link=link.id)
        history.log(db, None, "person", str(who.id), "reset link made", None, None, f"asked for on the sign-in page; mailed (reset link {link.id})")
    return 0


# --- a password changed by its owner, or set from the shell -----------------------------------

def change_password(db: sqlite_utils.Database, user: User, old: str, new: str, keep_session: str | None) -> int:
    """The signed-in person's own new password (the old one required); their OTHER sessions end (the
    one with the digest `keep_session` stays). How many sessions ended. A wrong old password: Refused."""
    if user.role == "participant":
        raise Refused("a campaign participant has no password", status=403)
    if accounts.check_password(db, user.name, old) is None:
        raise Refused("old_password: not your current password", [ApiProblem(field="old_password", message="not your current password")])
    if (weak := accounts.password_problem(user.name, new)) is not None:
        raise Refused(f"password: {weak}", [ApiProblem(field="password", message=weak)])
    with write(db):
        db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [accounts.hashed(new), user.id])
        kept = "" if keep_session is None else " AND token_hash != ?"  # None: a token's change ends every session
        ended = db.execute(f"DELETE FROM sessions WHERE person = ?{kept}", [user.id, *([keep_session] if keep_session is not None else [])]).rowcount
        history.log(db, user.id, "person", str(user.id), "password changed", None, None, f"{ended} other session{'s' if ended != 1 else ''} ended")
    return ended


def set_password(db: sqlite_utils.Database, name: str, password: str | None) -> tuple[str, int]:
    """The command line's last resort: a new password (generated when None, the CLI's rules when
    given), every session ended, any open reset or invitation link revoked. The password and how
    many sessions ended."""
    password = password if password is not None else accounts.generated_password()
    with write(db):
        row = db.execute("SELECT id, role FROM users WHERE name = ?", [name]).fetchone()
        if row is None:
            raise AccountError(f"no user called {name!r}", "name")
        if row[1] == "participant":
            raise AccountError(f"{name!r} is a campaign participant: participants have no password", "name")
        if (weak := accounts.password_problem(name, password)) is not None:
            raise AccountError(f"password: {weak}", "password")
        db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [accounts.hashed(password), row[0]])
        ended = db.execute("DELETE FROM sessions WHERE person = ?", [row[0]]).rowcount
        for link in links.of_person(db, row[0]):
            links.revoke(db, link.id)
        history.log(db, None, "person", str(row[0]), "password reset", None, None, "touchpoint user set-password")
    return password, ended


# --- the bulk CSV of people -------------------------------------------------------------------

COLUMNS = ("name", "role", "regions", "location", "email")
MAX_ROWS = 1000


def import_people(db: sqlite_utils.Database, settings: Settings, by: User, base: str, text: str) -> list[Invited]:
    """Invite every person of the CSV (columns name, role, regions (separated by ';'), location,
    email), all in one transaction, or none: Refused lists every problem by line and column, as
    the location import does (server.locations.locations.parse_csv)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("name", "role") if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        message = "; ".join(part for part in (
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}" if missing else "",
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}" if unknown else "") if part)
        raise Refused(message, [ApiProblem(line=1, message=f"{message} (expected {','.join(COLUMNS)}; regions, location, email may be left out)")])
    reader.fieldnames = header
    rows, problems = [], []
    for row in reader:
        if None in row:
            problems.append(ApiProblem(line=reader.line_num, message=f"more values than the {len(header)} columns"))
            continue
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items()}))
    if not rows and not problems:
        raise Refused("no rows to import", [ApiProblem(message="no rows to import")])
    if len(rows) > MAX_ROWS:
        raise Refused(f"at most {MAX_ROWS} people a file", [ApiProblem(message=f"at most {MAX_ROWS} people a file, got {len(rows)}")])
    made: list[Invited] = []
    with write(db):
        for line, row in rows:
            regions = [r.strip() for r in row.get("regions", "").split(";") if r.strip()]
            try:
                made.append(_invite_in(db, settings, by, base, row.get("name", ""), row.get("role", ""), regions,
                                       row.get("location") or None, row.get("email") or None))
            except Refused as refused:
                problems += [ApiProblem(line=line, field=p.field, message=p.message) for p in refused.problems] or [ApiProblem(line=line, message=refused.message)]
        if problems:
            raise Refused(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}: nothing was imported", problems)
    return made


def regions_for(db: sqlite_utils.Database, user: User) -> list[tuple[str, str]]:
    """The regions `user` may give a person: every one for an admin, a manager's own. (id, name), by name."""
    rows = db.execute("SELECT id, name FROM regions ORDER BY name, id").fetchall()
    return [(r[0], r[1]) for r in rows if user.role == "admin" or r[0] in user.regions]


def locations_for(db: sqlite_utils.Database, user: User) -> list[tuple[str, str]]:
    """The locations a staff person `user` invites may work at: (id, name), by name."""
    rows = db.execute("SELECT id, name, region FROM locations WHERE deactivated_at IS NULL ORDER BY name, id").fetchall()
    return [(r[0], r[1]) for r in rows if user.role == "admin" or r[2] in user.regions]
