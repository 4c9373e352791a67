"""The mail outbox: a mail is a row written in the transaction of its cause (an invitation, a reset
link), so it goes if and only if its cause happened, and a restart loses none. The outbox's
Sender (server/outbox.py, with server/mail/smtp.py's kind) sends what is pending, with the webhooks'
claim, lease and retry; a sent mail's body has its link struck out. Without an SMTP server set, a mail
is *held*: nothing pretends to send it, and admins see it, with its link, at /manage/mail."""

import datetime as dt
import re
import uuid
from typing import Literal

import msgspec
import sqlite_utils

from server.accounts.links import PATHS
from server.db import write
from server.errors import conflict, not_found
from server.settings import Settings


def queue(db: sqlite_utils.Database, settings: Settings, *, to_address: str, subject: str, body: str, kind: str,
          to_user: int | None = None, link: int | None = None) -> str:
    """Put one mail in the outbox, in the caller's write transaction; its id."""
    mail_id = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC).isoformat()
    db.execute(
        """INSERT INTO mail (id, to_user, to_address, subject, body, kind, link, created_at, state, next_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [mail_id, to_user, to_address, subject, body, kind, link, now, "pending" if settings.smtp_url else "held", now],
    )
    return mail_id


# a link's address in a mail's body: the scheme and host if any, a link path, its secret
LINK = re.compile(r"(?:https?://[^\s/]+)?(?:" + "|".join(re.escape(path) for path in PATHS.values()) + r")[A-Za-z0-9_\-]+")
STRUCK = "[link sent]"


class Mail(msgspec.Struct, kw_only=True):
    id: str
    to_address: str
    to_user: int | None
    subject: str
    kind: str
    created_at: str
    state: Literal["held", "pending", "sent", "failed"]
    attempts: int
    limit_attempts: int  # 0: the server's webhook_attempts
    next_at: str | None  # when a pending one is tried next
    sent_at: str | None
    error: str | None  # the last attempt's, while it is not sent
    body: str  # a held mail's with its link; a sent one's with "[link sent]" in its place


def strike_links(body: str) -> str:
    """The body with every one-time link's address replaced by "[link sent]": once mailed, the secret
    lives in the recipient's mailbox only, never in the database (or a backup of it)."""
    return LINK.sub(STRUCK, body)


def listing(db: sqlite_utils.Database, limit: int = 200, mail: str | None = None) -> list[Mail]:
    """The outbox newest first (or the one `mail`)."""
    where, params = ("WHERE id = ?", [mail]) if mail is not None else ("", [])
    rows = db.query(f"""SELECT id, to_address, to_user, subject, kind, created_at, state, attempts, limit_attempts, next_at, sent_at, error, body
                        FROM mail {where} ORDER BY created_at DESC, id DESC LIMIT ?""", [*params, limit])
    return [Mail(**{**row, "next_at": row["next_at"] if row["state"] == "pending" else None}) for row in rows]


def send_again(db: sqlite_utils.Database, mail: str, limit_attempts: int, smtp_set: bool) -> Mail:
    """Queue a failed mail once more, now, with a fresh allowance of attempts. A held mail is never
    sent later (its link may be a week old); a sent or pending one needs nothing; nor can anything
    be sent without an SMTP server: 409."""
    with write(db):
        found = db.execute("SELECT state FROM mail WHERE id = ?", [mail]).fetchone()
        if found is None:
            raise not_found("mail", mail)
        if not smtp_set:
            raise conflict("no SMTP server is set (TOUCHPOINT_SMTP_URL): nothing can be sent")
        if found[0] != "failed":
            raise conflict(f"only a failed mail is sent again; this one is {found[0]}")
        db.execute("UPDATE mail SET state = 'pending', next_at = ?, limit_attempts = attempts + ? WHERE id = ?",
                   [dt.datetime.now(dt.UTC).isoformat(), limit_attempts, mail])
    return listing(db, mail=mail)[0]
