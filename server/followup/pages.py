"""Follow-up's pages in the managers' web: flags per auditor, actions and their closing, webhooks
and their delivery log; and the boxes other pages show (open and overdue actions, an audit's
flags). Plain HTML forms with the session's CSRF token; no JavaScript needed."""

import asyncio
import dataclasses
from typing import Annotated

from server.db import Database
from litestar.concurrency import sync_to_thread
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from server.visibility import Viewer
from server.audits import audits
from server.notices import notice
from server.auth import check_form
from server.db import write
from server.errors import ApiError, ApiProblem, ErrorCode, forbidden, invalid
from server.followup import actions, flags, webhooks
from server.followup.api import CloseForm, RowId, close_action
from server.followup.webhooks import EVENTS, WebhookIn
from server import forms
from server.forms import Refusal, refusal, several
from server.reports.report import report
from server.forms import TokenForm
from server.visibility import REVIEWERS

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
KIND_NAMES = {
    "photo_far": "photo far away", "photo_time": "photo outside the visit", "photo_reused": "photo reused",
    "too_fast": "visit too fast", "comment_copied": "comment copied", "visits_repeated": "visits repeated",
}


def _words(catalog) -> dict[str, str]:
    """Checklist titles and item texts by id, as the current checklists say them: what the page
    shows instead of ids (`checkout`, `total_correct`)."""
    words = {}
    for loaded in catalog.brands.values():
        for checklist in loaded.checklists.values():
            words[checklist.checklist.id] = checklist.checklist.title
            words.update({item.id: item.text for item in checklist.checklist.items()})
    return words


@dataclasses.dataclass
class ExplainForm:
    csrf_token: str = ""
    note: str = ""


@dataclasses.dataclass
class WebhookForm:
    csrf_token: str = ""
    url: str = ""
    events: list[str] | str | None = None


def _guard(request: Request) -> Redirect | None:
    """Auditors go to their app."""
    if request.user.role in ("auditor", "participant"):
        return Redirect("/", status_code=303)
    return None


def _csrf(request: Request) -> str:
    return request.auth.csrf_token or ""


def _admin(request: Request) -> None:
    if request.user.role != "admin":
        raise forbidden(f"webhooks are for admins; you are {request.user.role}")


def _reviewer(request: Request) -> None:
    if request.user.role not in REVIEWERS:
        raise forbidden(f"integrity flags are for managers and admins; you are {request.user.role}")


# --- what other pages show ------------------------------------------------------------------


def audit_boxes(db, user, audit_id: str, anonymous: frozenset[str]) -> dict:
    """The audit page's flags (reviewers only: staff never learn an auditor was doubted) and action."""
    found = actions.listing(db, user, audit=audit_id, limit=1) if user.role in ("admin", "manager", "staff") else []
    return {"flags": flags.for_audit(db, audit_id, anonymous, user) if user.role in REVIEWERS else None,
            "action": found[0] if found else None, "kind_names": KIND_NAMES}


class Followup(Controller):
    path = "/manage"
    include_in_schema = False
    before_request = _guard

    @get("/flags")
    async def flag_list(self, request: Request, state: State, db: Database, viewer: Viewer, auditor: FromQuery[str | None] = None, show: FromQuery[str] = "open") -> Template:
        """Per auditor: how many of their audits were flagged; then the flags, not yet explained first."""
        _reviewer(request)
        if show not in ("open", "all"):
            raise ApiError(400, ErrorCode.BAD_REQUEST, f"show: expected open or all, got {show!r}")
        anonymous = viewer.anonymous
        # by_auditor reads every audit of each flagged auditor (80 ms of CPU over 28,800 audits): in a report worker
        auditors = await state.report_workers.read(state.settings.store, flags.by_auditor, request.user, anonymous)
        items = await asyncio.to_thread(flags.listing, db, request.user, anonymous, show == "open", auditor or None, 200)
        return Template("followup/flags.html", context={
            "user": request.user, "auditors": auditors, "auditor": auditor, "show": show, "items": items, "kind_names": KIND_NAMES,
        })

    @post("/flags/{flag_id:int}/explain", sync_to_thread=True, opt={"form": True, "media": "form"})
    def explain(self, request: Request, state: State, flag_id: RowId, data: Annotated[ExplainForm, Form], db: Database) -> Redirect:
        check_form(request, data.csrf_token)
        with write(db):
            flags.explain(db, request.user, flag_id, data.note)
        audit = flags.audit_of(db, flag_id)
        return Redirect(f"/manage/audits/{audit}?said=explained#flags", status_code=303)

    @get("/actions")
    async def action_list(self, request: Request, state: State, db: Database, show: FromQuery[str] = "open", location: FromQuery[str | None] = None,
                          region: FromQuery[str | None] = None) -> Template:
        """Follow-up actions: open ones, most overdue first (or overdue, closed, all)."""
        if show not in ("open", "overdue", "closed", "all"):
            raise ApiError(400, ErrorCode.BAD_REQUEST, f"show: expected open, overdue, closed or all, got {show!r}")
        # 500 actions sorted from every open one (100 ms of CPU over 28,800 audits' actions): in a report worker
        found = await state.report_workers.read(state.settings.store, actions.listing, request.user, None if show == "all" else show,
                                                location or None, region or None, None, 500)
        opened, overdue = await asyncio.to_thread(actions.counts, db, request.user, location or None, region or None)
        return Template("followup/actions.html", context={"user": request.user, "items": found, "show": show, "location": location, "region": region,
                                                 "opened": opened, "overdue": overdue, "words": _words(state.catalog)})

    @get("/actions/{action_id:int}", sync_to_thread=True)
    def action_page(self, request: Request, state: State, action_id: RowId, db: Database, viewer: Viewer, said: FromQuery[str | None] = None) -> Template:
        """One action: what failed, the evidence (answers, comments, photos), and the form to close it."""
        return self._action(request, state, db, viewer, action_id, said)

    @staticmethod
    def _action(request: Request, state: State, db: Database, viewer: Viewer, action_id: int, said: str | None = None, refused: Refusal | None = None, status: int = 200) -> Template:
        action = actions.get(db, request.user, action_id)
        found, location = audits.readable(db, request.user, action.audit, viewer.anonymous)
        brand, loaded = state.catalog.checklist(db, location.brand, found.checklist, found.version)
        r = report(found, brand, loaded, location.name, "")
        letdowns = [row for section in r.sections for row in section.answers if row.failed or (row.possible and row.f is not None and row.f < 1)]
        return Template("followup/action.html", status_code=status, context={"user": request.user, "x": action, "r": r, "letdowns": letdowns, "csrf": _csrf(request),
                                                                    "said": notice("action", said), "refused": refused})

    @post("/actions/{action_id:int}/close", opt={"form": True, "media": "multipart"})
    async def close(self, request: Request, state: State, db: Database, viewer: Viewer, action_id: RowId,
                    data: Annotated[CloseForm, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Redirect | Template:
        check_form(request, data.csrf_token)
        try:
            await close_action(request, state, db, action_id, data)
        except ApiError as exc:
            if exc.status not in (413, 415, 422):
                raise
            typed = {"note": data.note if isinstance(data.note, str) else ""}
            return await sync_to_thread(self._action, request, state, db, viewer, action_id, None, refusal(exc, "close", typed, ("note", "photo")), exc.status)
        return Redirect(f"/manage/actions/{action_id}?said=closed", status_code=303)

    @get("/webhooks", sync_to_thread=True)
    def webhook_page(self, request: Request, state: State, db: Database, said: FromQuery[str | None] = None) -> Template:
        """Registered webhooks, the form to add one, and the last deliveries with every attempt."""
        _admin(request)
        return self._webhooks(request, state, db, said)

    @staticmethod
    def _webhooks(request: Request, state: State, db: Database, said: str | None = None, refused: Refusal | None = None, status: int = 200) -> Template:
        return Template("followup/webhooks.html", status_code=status, context={
            "user": request.user, "hooks": webhooks.listing(db), "deliveries": webhooks.deliveries(db, None, 100), "events": EVENTS,
            "csrf": _csrf(request), "said": notice("webhooks", said), "refused": refused,
            "retry": state.settings.webhook_retry_seconds, "attempts": state.settings.webhook_attempts})

    @post("/webhooks", sync_to_thread=True, opt={"form": True, "media": "form"})
    def webhook_add(self, request: Request, state: State, data: Annotated[WebhookForm, Form], db: Database) -> Redirect | Template:
        _admin(request)
        check_form(request, data.csrf_token)
        chosen = several(data.events)
        unknown = [e for e in chosen if e not in EVENTS]
        try:
            if not chosen or unknown:
                raise invalid("webhook refused", [ApiProblem(field="events", message="choose at least one event" if not chosen else f"unknown events: {', '.join(unknown)}")])
            webhooks.register(db, forms.converted(WebhookIn, {"url": data.url.strip(), "events": chosen}), request.user.id, state.sender.kinds["webhook"].allow)
        except ApiError as exc:
            return self._webhooks(request, state, db, refused=refusal(exc, "webhook", data, ("url", "events")), status=exc.status)
        return Redirect("/manage/webhooks?said=added", status_code=303)

    @post("/webhooks/{webhook_id:int}/remove", sync_to_thread=True, opt={"form": True, "media": "form"})
    def webhook_remove(self, request: Request, state: State, webhook_id: RowId, data: Annotated[TokenForm, Form], db: Database) -> Redirect:
        _admin(request)
        check_form(request, data.csrf_token)
        webhooks.remove(db, webhook_id)
        return Redirect("/manage/webhooks?said=removed", status_code=303)

    @post("/deliveries/{delivery_id:str}/send", sync_to_thread=True, opt={"form": True, "media": "form"})
    def send_again(self, request: Request, state: State, delivery_id: FromPath[str], data: Annotated[TokenForm, Form], db: Database) -> Redirect:
        _admin(request)
        check_form(request, data.csrf_token)
        webhooks.send_again(db, delivery_id, state.settings.webhook_attempts)
        state.sender.wake()
        return Redirect("/manage/webhooks?said=queued", status_code=303)


HANDLERS = [Followup]
