"""Follow-up's JSON routes: flags, actions and webhooks. Thin: each runs one domain function
(inside one write transaction when it writes) and answers."""

import asyncio
import dataclasses
from typing import Annotated, Literal

from server.db import Database
from litestar import Request, delete, get, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from litestar.response import File

from server.visibility import Viewer
from server.audits import audits
from server.auth import roles
from server.db import write
from server.errors import ApiError, ErrorCode
from server.followup import actions, flags, webhooks
from server.followup.actions import ActionOut
from server.followup.flags import AuditorFlags, ExplainIn, Flag
from server.followup.webhooks import Delivery, WebhookIn, WebhookOut
from server.photos import storage
from server.photos.api import image_response
from server.photos.processing import PhotoRefused

Limit = Annotated[int, QueryParameter(ge=1, le=500)]
RowId = Annotated[int, Parameter(ge=1, le=2**53, description="a row id")]  # beyond SQLite's 64-bit integers is a 400, not a 500
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000_000)]
REVIEWERS = roles("manager", "admin")
CLOSERS = roles("manager", "admin", "staff")


@dataclasses.dataclass
class CloseForm:
    """Closing an action: what was done, and optionally a photo of it (multipart: the phone's camera)."""

    note: str = ""
    photo: UploadFile | None = None
    csrf_token: str = ""  # the managers' page's form; the JSON API ignores it


@get("/api/flags", guards=[REVIEWERS], sync_to_thread=True, tags=["flags"])
def flag_list(request: Request, state: State, db: Database, viewer: Viewer, open_: Annotated[bool, QueryParameter(name="open", description="only flags not explained yet")] = False,
              auditor: FromQuery[str | None] = None, limit: Limit = 100, offset: Offset = 0) -> list[Flag]:
    """Integrity flags of audits in your regions, newest first; `auditor` (a name, or an anonymous auditor's code) narrows them to one."""
    return flags.listing(db, request.user, viewer.anonymous, open_, auditor, limit, offset)


@get("/api/flags/auditors", guards=[REVIEWERS], sync_to_thread=True, tags=["flags"])
def flag_auditors(request: Request, state: State, db: Database, viewer: Viewer) -> list[AuditorFlags]:
    """Per auditor: audits, flagged audits, flags not explained and flags by kind; the most flagged first."""
    return flags.by_auditor(db, request.user, viewer.anonymous)


@get("/api/audits/{audit_id:str}/flags", guards=[REVIEWERS], sync_to_thread=True, tags=["flags"])
def audit_flags(request: Request, state: State, audit_id: FromPath[str], db: Database, viewer: Viewer) -> list[Flag]:
    """One audit's flags with their evidence (the audit's rules: its region's managers, admins)."""
    anonymous = viewer.anonymous
    audits.readable(db, request.user, audit_id, anonymous)
    return flags.for_audit(db, audit_id, anonymous, request.user)


@post("/api/flags/{flag_id:int}/explain", guards=[REVIEWERS], sync_to_thread=True, tags=["flags"], status_code=200,
      opt={"errors": {404: "No such flag in your regions", 422: "No note"}})
def flag_explain(data: JSONBody[ExplainIn], request: Request, state: State, flag_id: RowId, db: Database, viewer: Viewer) -> Flag:
    """Mark a flag as explained, with a note saying why it is no cause for concern. Scores never change."""
    with write(db):
        flags.explain(db, request.user, flag_id, data.note)
    audit = flags.audit_of(db, flag_id)
    return next(f for f in flags.for_audit(db, audit, viewer.anonymous, request.user) if f.id == flag_id)


@get("/api/actions", guards=[CLOSERS], sync_to_thread=True, tags=["actions"])
def action_list(request: Request, state: State, db: Database, state_: Annotated[Literal["open", "overdue", "closed", "withdrawn"] | None, QueryParameter(name="state")] = None,
                location: FromQuery[str | None] = None, region: FromQuery[str | None] = None, limit: Limit = 100, offset: Offset = 0) -> list[ActionOut]:
    """Follow-up actions you may see (a manager's regions, a staff member's location, all for admins): open ones first, most overdue first."""
    return actions.listing(db, request.user, state_, location, region, None, limit, offset)


@get("/api/actions/{action_id:int}", guards=[CLOSERS], sync_to_thread=True, tags=["actions"])
def action_get(request: Request, state: State, action_id: RowId, db: Database) -> ActionOut:
    return actions.get(db, request.user, action_id)


async def close_action(request: Request, state: State, db: Database, action_id: int, form: CloseForm) -> ActionOut:
    """Shared by the API and the managers' page: the photo is made safe in a photo worker (like an
    audit's), then the action is closed in one write."""
    actions.closable(db, request.user, action_id, form.note)  # refused before any photo work
    file = processed = written = None
    if form.photo is not None and form.photo.filename:
        data = await form.photo.read()
        if len(data) > state.settings.max_photo_bytes:
            raise ApiError(413, ErrorCode.PHOTO_REFUSED, f"the photo is over {state.settings.max_photo_bytes // 2**20} MiB")
        try:
            processed = await state.photo_workers.process(data)
        except PhotoRefused as refused:
            raise ApiError(refused.status, ErrorCode.PHOTO_REFUSED, refused.message) from None
        written = await asyncio.to_thread(storage.write_files, state.photos, processed)
        file = processed.sha256

    def close() -> ActionOut:
        with write(db):
            if processed is not None:  # a prune may have taken the files since (see storage.keep_files)
                storage.keep_files(state.photos, processed, written)
            actions.close(db, request.user, action_id, form.note, file)
        return actions.get(db, request.user, action_id)

    return await asyncio.to_thread(close)


@post("/api/actions/{action_id:int}/close", guards=[CLOSERS], tags=["actions"], status_code=200,
      opt={"media": "multipart/form-data: note, and optionally photo (an image)", "errors": {
          403: "The action is someone else's (another location or region)", 404: "No such action",
          409: "The action is closed or withdrawn already", 422: "No note, or a photo that is damaged",
          503: "The photo workers stopped twice, or the photo bucket did not answer: send it again after Retry-After"}})
async def action_close(request: Request, state: State, db: Database, action_id: RowId,
                       data: Annotated[CloseForm, Body(media_type=RequestEncodingType.MULTI_PART)]) -> ActionOut:
    """Close an action with what was done (`note`, required) and optionally a photo of it."""
    return await close_action(request, state, db, action_id, data)


@get("/api/actions/{action_id:int}/photo", guards=[CLOSERS], sync_to_thread=True, tags=["actions"],
     opt={"errors": {404: "No such action, or it was closed without a photo", 410: "The photo's image file is no longer on the server",
                     503: "The photo bucket did not answer: ask again after Retry-After"}})
def action_photo(request: Request, state: State, action_id: RowId, db: Database, size: FromQuery[Literal["display", "thumb"]] = "display") -> File:
    """The photo taken when the action was closed (re-encoded, without metadata)."""
    file = actions.photo_file(db, request.user, action_id)
    if file is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, f"action {action_id} was closed without a photo")
    return image_response(storage.image(state.photos, file, size, f"action {action_id}"))


ADMIN = roles("admin")


@get("/api/webhooks", guards=[ADMIN], sync_to_thread=True, tags=["webhooks"])
def webhook_list(state: State, db: Database) -> list[WebhookOut]:
    """Registered webhooks with their secrets and how many deliveries are pending, delivered, failed."""
    return webhooks.listing(db)


@post("/api/webhooks", guards=[ADMIN], sync_to_thread=True, tags=["webhooks"], status_code=201, opt={"errors": {422: "A URL that is not http(s), or that names or resolves to a loopback, private, link-local or other non-public address (unless TOUCHPOINT_WEBHOOK_ALLOW_NETWORKS allows it)"}})
def webhook_add(data: JSONBody[WebhookIn], request: Request, state: State, db: Database) -> WebhookOut:
    """Register a URL for events; the answer holds the secret its deliveries are signed with."""
    return webhooks.register(db, data, request.user.id, state.sender.kinds["webhook"].allow)


@delete("/api/webhooks/{webhook_id:int}", guards=[ADMIN], sync_to_thread=True, tags=["webhooks"], status_code=204)
def webhook_remove(state: State, webhook_id: RowId, db: Database) -> None:
    """Stop sending to a webhook; its delivery log stays, its pending deliveries are dropped."""
    webhooks.remove(db, webhook_id)


@get("/api/webhooks/{webhook_id:int}/deliveries", guards=[ADMIN], sync_to_thread=True, tags=["webhooks"])
def webhook_deliveries(state: State, webhook_id: RowId, db: Database, limit: Limit = 50) -> list[Delivery]:
    """The webhook's deliveries, newest first, each with every attempt (time, HTTP status, error)."""
    webhooks.get(db, webhook_id)
    return webhooks.deliveries(db, webhook_id, limit)


@post("/api/deliveries/{delivery_id:str}/send", guards=[ADMIN], sync_to_thread=True, tags=["webhooks"], status_code=200)
def delivery_send(state: State, delivery_id: FromPath[str], db: Database) -> Delivery:
    """Send a delivery again now (same id and body), with a fresh allowance of attempts."""
    found = webhooks.send_again(db, delivery_id, state.settings.webhook_attempts)
    state.sender.wake()
    return found


HANDLERS = [flag_list, flag_auditors, audit_flags, flag_explain, action_list, action_get, action_close, action_photo,
            webhook_list, webhook_add, webhook_remove, webhook_deliveries, delivery_send]
