"""Users, roles, passwords (argon2id), browser sessions and API tokens."""

import datetime as dt
import hashlib
import os
import re
import secrets
import threading
from pathlib import Path
from typing import Literal

import argon2
import msgspec
import sqlite_utils

from server import dialect
from server import text
from server.db import insert, write

Role = Literal["admin", "manager", "auditor", "staff", "participant"]  # participants are made by joining a campaign, never by hand
ROLES = ("admin", "manager", "auditor", "staff")

ANONYMOUS = "Anonymous"  # a campaign participant who gave no display name, wherever a user is named
MARK = " (participant)"  # after a participant's name wherever the program's people are named: a display name is chosen by whoever joins


def participant_name(display_name: str | None) -> str:
    """How a campaign participant is named beside the program's people: 'Sam (participant)'."""
    return (display_name or ANONYMOUS) + MARK


def user_name(otherwise: str = "u.name", u: str = "u") -> str:
    """SQL naming the user `u`: a campaign participant by their display name or as Anonymous (never
    their account's name), marked as a participant (participant_name); anyone else by `otherwise`."""
    return f"CASE WHEN {u}.role = 'participant' THEN (SELECT coalesce(display_name, '{ANONYMOUS}') || '{MARK}' FROM participants WHERE person = {u}.id) ELSE {otherwise} END"


_hasher = argon2.PasswordHasher()  # argon2id with the library's current recommended parameters
if os.environ.get("TOUCHPOINT_TESTS_CHEAP_PASSWORD_HASH") == "1":
    # the test suite only (tests/conftest.py sets it): its users' passwords are made hundreds of
    # times a run; argon2id still, at its least cost. Any hash verifies whatever its parameters.
    _hasher = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_DUMMY_HASH = _hasher.hash("not a real password")


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    role: Role
    regions: frozenset[str]
    location: str | None = None  # staff: the one location they work at
    campaign: int | None = None  # participants: the one campaign they joined (server.campaigns)

    def sees_region(self, region: str) -> bool:
        """Admins see every region; managers theirs; auditors theirs, or all when given none; staff none."""
        if self.role == "admin" or (self.role == "auditor" and not self.regions):
            return True
        return region in self.regions

    def sees_location(self, location: str, region: str) -> bool:
        """Staff see their one location; everyone else the locations of the regions they see."""
        return location == self.location if self.role == "staff" else self.sees_region(region)


class AccountError(Exception):
    """A user refused: the message names the field (and `field` is the form's field, when known)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _digest(secret: str) -> str:
    """Sessions and tokens are random 256-bit secrets: a fast hash is enough to keep only digests."""
    return hashlib.sha256(secret.encode()).hexdigest()


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")  # a shape check only: whether it arrives, only the mail can tell
MAX_EMAIL = 254


def check_new_user(db: sqlite_utils.Database, name: str, role: str, regions: list[str], location: str | None = None, email: str | None = None) -> None:
    """Everything a new user must be, asked by `add_user` (the CLI) and by invitations alike: a known
    role, a sound unused name, regions for a manager, one known location for staff and only for them,
    known regions, a plausible e-mail. Raises AccountError naming the field."""
    if role not in ROLES:
        raise AccountError(f"role: expected one of {', '.join(ROLES)}, got {role!r}", "role")
    if not name.strip():
        raise AccountError("name: expected a non-empty name", "name")
    if role == "manager" and not regions:
        raise AccountError("a manager needs at least one --region", "regions")
    if (role == "staff") != (location is not None):
        raise AccountError("staff need --location (the one location they work at)" if role == "staff" else "--location: only staff have a location", "location")
    if role == "staff" and regions:
        raise AccountError("--region: staff see one location, given with --location, not regions", "regions")
    if location is not None and not db.execute("SELECT 1 FROM locations WHERE id = ?", [location]).fetchone():
        raise AccountError(f"location: no location {location!r} (import locations first: touchpoint locations import FILE)", "location")
    if (why := text.problem(name, MAX_NAME)) is not None:
        raise AccountError(f"name: {why} (sign-in takes no longer)", "name")
    known = {r["id"] for r in db.query("SELECT id FROM regions")}
    unknown = [r for r in regions if r not in known]
    if unknown:
        raise AccountError(f"region: no region {', '.join(map(repr, unknown))} (known: {', '.join(sorted(known)) or 'none yet; import locations first'})", "regions")
    if email is not None and (len(email) > MAX_EMAIL or not EMAIL.fullmatch(email)):
        raise AccountError(f"email: expected an address such as name@example.com, got {email[:80]!r}", "email")
    if db.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
        raise AccountError(f"name: a user called {name!r} already exists", "name")


def insert_user(db: sqlite_utils.Database, name: str, role: str, regions: list[str], password_hash: str, location: str | None = None, email: str | None = None) -> int:
    """Write a checked new user (check_new_user) in the caller's write transaction; their id.
    `password_hash` INVITED makes an account no password opens until its enrolment sets one."""
    user_id = db.execute("INSERT INTO users (name, role, password_hash, created_at, location, code, email) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                         [name, role, password_hash, _now().isoformat(), location, secrets.token_hex(4).upper(), email]).fetchone()[0]
    db.conn.executemany("INSERT INTO user_regions (person, region) VALUES (?, ?)", [(user_id, r) for r in regions])
    return user_id


INVITED = "!"  # the password hash of an invited person: no password verifies against it


def hashed(password: str) -> str:
    return _hasher.hash(password)


def generated_password() -> str:
    """A password for someone to change: 16 random URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


def session_digest(token: str) -> str:
    """How a session's token is kept (sessions.token_hash)."""
    return _digest(token)


def add_user(db: sqlite_utils.Database, name: str, role: str, regions: list[str], password: str | None, location: str | None = None) -> str:
    """Create a user; returns the password (generated when none was given). Staff work at exactly
    one location and have no regions; nobody else has a location."""
    password = password if password is not None else secrets.token_urlsafe(12)
    with write(db):
        check_new_user(db, name, role, regions, location)
        weak = password_problem(name, password)
        if weak:
            raise AccountError(f"password: {weak}", "password")
        insert_user(db, name, role, regions, _hasher.hash(password), location)
    return password


def set_password(db: sqlite_utils.Database, name: str, password: str | None) -> str:
    """Give a user a new password (generated when None); their sessions end. Returns it. A campaign
    participant has no password, ever: they are signed in by the session their join made."""
    password = password if password is not None else secrets.token_urlsafe(12)
    with write(db):
        row = db.execute("SELECT id, role FROM users WHERE name = ?", [name]).fetchone()
        if row is None:
            raise AccountError(f"no user called {name!r}")
        if row[1] == "participant":
            raise AccountError(f"{name!r} is a campaign participant: participants have no password")
        db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [_hasher.hash(password), row[0]])
        db.execute("DELETE FROM sessions WHERE person = ?", [row[0]])
    return password


def user_by_name(db: sqlite_utils.Database, name: str) -> User | None:
    row = db.execute("SELECT id FROM users WHERE name = ?", [name]).fetchone()
    return None if row is None else user_by_id(db, row[0])


def user_by_id(db: sqlite_utils.Database, user_id: int) -> User | None:
    row = db.execute("SELECT u.id, u.name, u.role, u.location, p.campaign FROM users u LEFT JOIN participants p ON p.person = u.id WHERE u.id = ?", [user_id]).fetchone()
    if row is None:
        return None
    regions = frozenset(r for (r,) in db.execute("SELECT region FROM user_regions WHERE person = ?", [user_id]))
    return User(id=row[0], name=row[1], role=row[2], regions=regions, location=row[3], campaign=row[4])


MAX_NAME, MAX_PASSWORD = 200, 1000  # what POST /api/login accepts
MIN_PASSWORD = 12
COMMON = frozenset(line.strip() for line in (Path(__file__).parent / "common_passwords.txt").read_text().splitlines() if line.strip() and not line.startswith("#"))
# Sign-in throttling: failures counted over a moving window, per name and per address
WINDOW = dt.timedelta(minutes=15)
PER_NAME, PER_ADDRESS = 5, 30
CHECKS = threading.BoundedSemaphore(2)  # argon2id takes 64 MiB a check: at most two at once


def password_problem(name: str, password: str) -> str | None:
    """Why a password is too weak to keep a brand's audits safe, or None."""
    if len(password) < MIN_PASSWORD:
        return f"at least {MIN_PASSWORD} characters: a shorter one falls to guessing in hours once a password file leaks"
    if len(password) > MAX_PASSWORD:
        return f"at most {MAX_PASSWORD} characters (sign-in takes no longer)"
    if not password.strip() or len(set(password)) < 4:
        return "more than a few different characters"
    if password.lower() in COMMON:
        return "not one of the common passwords (server/accounts/common_passwords.txt): those are tried first"
    return None


class Attempt(msgspec.Struct, frozen=True):
    """A sign-in let through the throttle: its rows in login_failures, counted as a failure until it succeeds."""

    wait: int  # > 0: refused, try again in this many seconds (and nothing was counted)
    rows: tuple[int, ...] = ()


def login_attempt(db: sqlite_utils.Database, name: str, address: str) -> Attempt:
    """Count a sign-in before its password is checked, in one write transaction: after PER_NAME
    attempts on the name or PER_ADDRESS from the address within WINDOW, the next waits until the
    oldest leaves it. Counting first (a failure until the password proves right) is what makes the
    limit hold for a parallel burst, across every server process: the write lock orders them."""
    now = _now()
    since = (now - WINDOW).isoformat()
    with write(db):
        wait = 0
        for key, limit in ((f"name:{name}", PER_NAME), (f"addr:{address}", PER_ADDRESS)):
            row = db.execute("SELECT COUNT(*), MIN(at) FROM (SELECT at FROM login_failures WHERE key = ? AND at > ? ORDER BY at DESC LIMIT ?) AS recent", [key, since, limit]).fetchone()
            if row[0] >= limit:
                wait = max(wait, int((dt.datetime.fromisoformat(row[1]) + WINDOW - now).total_seconds()) + 1)
        if wait:
            return Attempt(wait)
        db.execute("DELETE FROM login_failures WHERE at <= ?", [since])
        rows = tuple(db.execute("INSERT INTO login_failures (key, at) VALUES (?, ?) RETURNING id", [key, now.isoformat()]).fetchone()[0]
                     for key in (f"name:{name}", f"addr:{address}"))
    return Attempt(0, rows)


def login_released(db: sqlite_utils.Database, attempt: Attempt) -> None:
    """The attempt was no guess at a password (the check never ran, or the password was right for a disabled account)."""
    with write(db):
        db.conn.executemany("DELETE FROM login_failures WHERE id = ?", [(r,) for r in attempt.rows])


def login_succeeded(db: sqlite_utils.Database, name: str, attempt: Attempt) -> None:
    """The name's failures are forgiven; the address keeps its others."""
    with write(db):
        db.execute("DELETE FROM login_failures WHERE key = ?", [f"name:{name}"])
        db.conn.executemany("DELETE FROM login_failures WHERE id = ?", [(r,) for r in attempt.rows])


class Disabled(Exception):
    """The password was right but the account is disabled (said only to who knows the password)."""


def check_password(db: sqlite_utils.Database, name: str, password: str) -> User | None:
    row = db.execute("SELECT id, password_hash, disabled_at, role FROM users WHERE name = ?", [name]).fetchone()
    if row and row[3] == "participant":
        row = None  # a participant has no password, whatever its row holds: told like an unknown name
    try:
        _hasher.verify(row[1] if row else _DUMMY_HASH, password)  # same work for unknown names
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return None
    if row and row[2]:
        raise Disabled(f"this account was disabled on {row[2][:10]}: ask an admin")
    return user_by_id(db, row[0]) if row else None


TOKEN_DAYS = 90  # a token's default life: `touchpoint token add NAME --days N` chooses another
LAST_USE_STEP = dt.timedelta(minutes=10)  # a token's last use is written at most this often


class Token(msgspec.Struct, frozen=True, kw_only=True):
    """An API token as `touchpoint token list` shows it (never the secret: only its hash is kept)."""

    id: int
    user: str
    label: str
    created_at: str
    expires_at: str
    last_used_at: str | None
    revoked_at: str | None

    def state(self, now: dt.datetime) -> str:
        if self.revoked_at:
            return "revoked"
        return "expired" if self.expires_at <= now.isoformat() else "active"


def new_token(db: sqlite_utils.Database, user: User, days: int = TOKEN_DAYS, label: str = "") -> str:
    """A new secret for `user`, good for `days`; only its hash is stored."""
    if not 1 <= days <= 3660:
        raise AccountError(f"--days: expected 1 to 3660 days, got {days}")
    if (why := text.problem(label, 200)) is not None:
        raise AccountError(f"--label: {why}")
    token = "tp_" + secrets.token_urlsafe(32)
    now = _now()
    with write(db):
        insert(db, "api_tokens", {
            "token_hash": _digest(token), "person": user.id, "label": label,
            "created_at": now.isoformat(), "expires_at": (now + dt.timedelta(days=days)).isoformat(),
        })
    return token


def user_for_token(db: sqlite_utils.Database, token: str) -> User | None:
    """The token's user, while the token is unexpired and unrevoked and its user not disabled.
    Asked on every request, so revoking a token or disabling a user takes effect at once."""
    now = _now()
    row = db.execute(
        f"""SELECT t.id, t.last_used_at, u.id, u.name, u.role, u.location, (SELECT {dialect.of(db).joined('region')} FROM user_regions WHERE person = u.id)
           FROM api_tokens t JOIN users u ON u.id = t.person
           WHERE t.token_hash = ? AND t.revoked_at IS NULL AND t.expires_at > ? AND u.disabled_at IS NULL""",
        [_digest(token), now.isoformat()],
    ).fetchone()
    if row is None:
        return None
    token_id, last_used, user_id, name, role, location, regions = row
    if last_used is None or last_used < (now - LAST_USE_STEP).isoformat():
        db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [now.isoformat(), token_id])
    return User(id=user_id, name=name, role=role, regions=frozenset(regions.split("\x1f")) if regions else frozenset(), location=location)


def tokens(db: sqlite_utils.Database, name: str | None = None) -> list[Token]:
    """Every token (of one user, when named), newest first."""
    where, params = ("WHERE u.name = ?", [name]) if name is not None else ("", [])
    rows = db.execute(
        f"""SELECT t.id, u.name, t.label, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
            FROM api_tokens t JOIN users u ON u.id = t.person {where} ORDER BY t.id DESC""",
        params,
    ).fetchall()
    return [Token(id=r[0], user=r[1], label=r[2], created_at=r[3], expires_at=r[4], last_used_at=r[5], revoked_at=r[6]) for r in rows]


def revoke_token(db: sqlite_utils.Database, token_id: int) -> Token:
    """End one token now; the row stays so the list shows when it was revoked."""
    with write(db):
        if db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [_now().isoformat(), token_id]).rowcount == 0:
            if db.execute("SELECT 1 FROM api_tokens WHERE id = ?", [token_id]).fetchone() is None:
                raise AccountError(f"no token {token_id} (touchpoint token list shows them)")
    return next(t for t in tokens(db) if t.id == token_id)


def disable_user(db: sqlite_utils.Database, name: str) -> tuple[int, int]:
    """The user can no longer sign in; their sessions end and their tokens are revoked, at once.
    Their audits stay. Returns (sessions ended, tokens revoked)."""
    now = _now().isoformat()
    with write(db):
        row = db.execute("SELECT id FROM users WHERE name = ?", [name]).fetchone()
        if row is None:
            raise AccountError(f"no user called {name!r}")
        db.execute("UPDATE users SET disabled_at = coalesce(disabled_at, ?) WHERE id = ?", [now, row[0]])
        ended = db.execute("DELETE FROM sessions WHERE person = ?", [row[0]]).rowcount
        revoked = db.execute("UPDATE api_tokens SET revoked_at = ? WHERE person = ? AND revoked_at IS NULL", [now, row[0]]).rowcount
    return ended, revoked


def enable_user(db: sqlite_utils.Database, name: str) -> None:
    """Let a disabled user sign in again (their old tokens stay revoked)."""
    with write(db):
        if db.execute("UPDATE users SET disabled_at = NULL WHERE name = ?", [name]).rowcount == 0:
            raise AccountError(f"no user called {name!r}")


class Session(msgspec.Struct, frozen=True):
    token: str
    csrf_token: str
    expires_at: dt.datetime


def new_session(db: sqlite_utils.Database, user: User, hours: int, agent: str = "") -> Session:
    """A browser session for `user`; the sign-in is recorded (users.last_sign_in_at), and the
    session keeps the browser's User-Agent (`agent`, cut to 300 characters) to tell sessions apart."""
    session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(24), _now() + dt.timedelta(hours=hours))
    now = _now().isoformat()
    with write(db):
        db.execute("DELETE FROM sessions WHERE expires_at < ?", [now])
        insert(
            db, "sessions",
            {"token_hash": _digest(session.token), "person": user.id, "csrf_token": session.csrf_token, "created_at": now, "expires_at": session.expires_at.isoformat(),
             "agent": agent[:300]}
        )
        db.execute("UPDATE users SET last_sign_in_at = ? WHERE id = ?", [now, user.id])
    return session


def user_for_session(db: sqlite_utils.Database, token: str) -> tuple[User, str] | None:
    """The session's user and CSRF token, or None when unknown or expired."""
    row = db.execute(
        "SELECT s.person, s.csrf_token FROM sessions s JOIN users u ON u.id = s.person WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL",
        [_digest(token), _now().isoformat()],
    ).fetchone()
    if row is None:
        return None
    user = user_by_id(db, row[0])
    return None if user is None else (user, row[1])


def end_session(db: sqlite_utils.Database, token: str) -> None:
    with write(db):
        db.execute("DELETE FROM sessions WHERE token_hash = ?", [_digest(token)])


def auditor_names(db: sqlite_utils.Database) -> list[str]:
    """The names of the auditors who may sign in, A to Z: for a form's choices."""
    return [name for (name,) in db.execute("SELECT name FROM users WHERE role = 'auditor' AND disabled_at IS NULL ORDER BY name")]
