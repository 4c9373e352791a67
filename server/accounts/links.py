"""One-time links: the first start's setup link, an invitation (enrolment), a password reset.

A link carries a random 256-bit secret; only its SHA-256 is stored, so a copy of the database
opens nothing. A link is used once (`redeem`, inside the transaction that acts on it), and a link
that cannot be used says why: used, expired, revoked or unknown. Making a new link of a kind for a
person revokes their earlier unused one, so only the newest invitation or reset works.
"""

import datetime as dt
import hashlib
import secrets
from typing import Literal

import msgspec
import sqlite_utils

Kind = Literal["setup", "invitation", "reset"]
LIFE = {"setup": None, "invitation": dt.timedelta(days=7), "reset": dt.timedelta(hours=1)}
PATHS = {"setup": "/setup/", "invitation": "/enrol/", "reset": "/reset/"}  # + the secret: the link's address on this server


class Link(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: Kind
    user: int | None
    created_by: int | None
    created_at: str
    expires_at: str | None
    used_at: str | None
    revoked_at: str | None

    def state(self, now: dt.datetime) -> Literal["open", "used", "revoked", "expired"]:
        if self.used_at:
            return "used"
        if self.revoked_at:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now.isoformat():
            return "expired"
        return "open"


class Unusable(Exception):
    """The link cannot be used: `why` is used, expired, revoked or unknown (with the link, if known)."""

    def __init__(self, why: str, link: Link | None = None):
        super().__init__(why)
        self.why, self.link = why, link


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def make(db: sqlite_utils.Database, kind: Kind, user: int | None, by: int | None, life: dt.timedelta | None = None) -> tuple[Link, str]:
    """A new link and its secret, in the caller's write transaction; the person's earlier open link
    of the same kind (or, for setup, any earlier setup link) is revoked."""
    now = _now()
    life = LIFE[kind] if life is None else life
    same = "person = ?" if user is not None else "person IS NULL"
    db.execute(f"UPDATE links SET revoked_at = ? WHERE kind = ? AND {same} AND used_at IS NULL AND revoked_at IS NULL",
               [now.isoformat(), kind, *([user] if user is not None else [])])
    secret = secrets.token_urlsafe(32)
    link_id = db.execute(
        'INSERT INTO links (kind, token_hash, person, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id',
        [kind, digest(secret), user, by, now.isoformat(), None if life is None else (now + life).isoformat()],
    ).fetchone()[0]
    return get(db, link_id), secret


def get(db: sqlite_utils.Database, link_id: int) -> Link:
    row = db.execute("SELECT id, kind, person, created_by, created_at, expires_at, used_at, revoked_at FROM links WHERE id = ?", [link_id]).fetchone()
    return Link(id=row[0], kind=row[1], user=row[2], created_by=row[3], created_at=row[4], expires_at=row[5], used_at=row[6], revoked_at=row[7])


def find(db: sqlite_utils.Database, secret: str, kind: Kind) -> Link:
    """The open link of this kind with this secret; raises Unusable saying why it cannot be used."""
    row = db.execute("SELECT id FROM links WHERE token_hash = ? AND kind = ?", [digest(secret), kind]).fetchone()
    if row is None:
        raise Unusable("unknown")
    link = get(db, row[0])
    if (state := link.state(_now())) != "open":
        raise Unusable(state, link)
    return link


def redeem(db: sqlite_utils.Database, secret: str, kind: Kind) -> Link:
    """Use the link, in the caller's write transaction (so it is used if and only if what it allows
    happened); raises Unusable. Two uses at once: the write lock orders them, the second is refused."""
    link = find(db, secret, kind)
    db.execute("UPDATE links SET used_at = ? WHERE id = ?", [_now().isoformat(), link.id])
    return get(db, link.id)


def revoke(db: sqlite_utils.Database, link_id: int) -> bool:
    """End an open link now, in the caller's write transaction; False when it was not open."""
    return db.execute("UPDATE links SET revoked_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL",
                      [_now().isoformat(), link_id]).rowcount == 1


def of_person(db: sqlite_utils.Database, user: int) -> list[Link]:
    """A person's invitations and resets, newest first."""
    return [get(db, link_id) for (link_id,) in db.execute("SELECT id FROM links WHERE person = ? ORDER BY id DESC", [user])]
