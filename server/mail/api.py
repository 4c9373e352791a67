"""The outbox's JSON routes, for admins: the mail sent, pending, failed or held, and sending a failed
one again. Thin: each runs one function of server/mail/outbox.py."""

from server.db import Database
from litestar import get, post
from litestar.datastructures import State
from litestar.params import FromPath

from server.auth import roles
from server.mail import outbox
from server.mail.outbox import Mail

ADMIN = roles("admin")


@get("/api/mail", guards=[ADMIN], sync_to_thread=True, tags=["mail"])
def mail_list(db: Database) -> list[Mail]:
    """The outbox, newest first: each mail's address, subject, state (held, pending, sent, failed), attempts and last
    error. A held mail (no SMTP server was set when it was written) keeps its link in its body, for an admin to pass
    on; a sent one has "[link sent]" in its place."""
    return outbox.listing(db)


@post("/api/mail/{mail_id:str}/send", guards=[ADMIN], sync_to_thread=True, tags=["mail"], status_code=200,
      opt={"errors": {409: "The mail is not failed (a held mail is never sent later: its link may be old), or no SMTP server is set"}})
def mail_send(state: State, mail_id: FromPath[str], db: Database) -> Mail:
    """Send a failed mail again now, with a fresh allowance of attempts."""
    found = outbox.send_again(db, mail_id, state.settings.webhook_attempts, state.settings.smtp is not None)
    state.sender.wake()
    return found


HANDLERS = [mail_list, mail_send]
