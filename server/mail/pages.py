"""The outbox page for admins (/manage/mail): every mail newest first with its state, a held mail's
body with its link (a server without SMTP still works: the admin passes the link on), and "Send
again" for a failed one. A plain HTML form with the session's CSRF token."""

from typing import Annotated

from server.db import Database
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from server.auth import check_form
from server.errors import forbidden
from server.forms import TokenForm
from server.mail import outbox
from server.notices import notice

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


def _admins_only(request: Request) -> Redirect | None:
    """Auditors go to their app; anyone else but an admin is refused."""
    if request.user.role in ("auditor", "participant"):
        return Redirect("/", status_code=303)
    if request.user.role != "admin":
        raise forbidden(f"the mail outbox is for admins; you are {request.user.role}")
    return None


class MailPages(Controller):
    path = "/manage/mail"
    include_in_schema = False
    before_request = _admins_only

    @get("/", sync_to_thread=True)
    def outbox_page(self, request: Request, state: State, db: Database, said: FromQuery[str | None] = None) -> Template:
        smtp = state.settings.smtp
        return Template("mail/outbox.html", context={
            "user": request.user, "mails": outbox.listing(db), "csrf": request.auth.csrf_token or "", "said": notice("mail", said),
            "smtp": smtp.shown() if smtp else None, "mail_from": state.settings.mail_from,
            "retry": state.settings.webhook_retry_seconds, "attempts": state.settings.webhook_attempts})

    @post("/{mail_id:str}/send", sync_to_thread=True, opt={"form": True, "media": "form"})
    def send_again(self, request: Request, state: State, mail_id: FromPath[str], data: Annotated[TokenForm, Form], db: Database) -> Redirect:
        check_form(request, data.csrf_token)
        outbox.send_again(db, mail_id, state.settings.webhook_attempts, state.settings.smtp is not None)
        state.sender.wake()
        return Redirect("/manage/mail?said=queued", status_code=303)


HANDLERS = [MailPages]
