"""The mail outbox: a mail is a row written in the transaction of its cause (an invitation, a reset
link), so it goes if and only if its cause happened, and a restart loses none. The background sender
sends what is pending, with the webhooks' claim, lease and retry. Without an SMTP server set, a mail
is *held*: nothing pretends to send it, and admins see it, with its link, at /manage/mail."""

import datetime as dt
import uuid

import sqlite_utils

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
