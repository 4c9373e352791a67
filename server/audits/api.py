"""Audit ingest (idempotent on the phone's id) and reading audits back."""

import datetime as dt
from typing import Annotated, Literal

from server.db import Database
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromQuery, JSONBody, QueryParameter

from server import limits
from server.visibility import Viewer
from server.audits import audits
from server.locations import locations
from server.auth import roles
from server.campaigns import campaigns, participants
from server.photos.api import PhoneId
from server.locations.api import From, To
from server.audits.audits import AuditIn, AuditOut, AuditPage
from server.errors import ApiProblem, ErrorCode, forbidden, invalid
from server.followup.policy import policy
from server.program.status import STATUSES
from server.checklists.scoring import AuditRefused, score_audit


@post(
    "/api/audits", guards=[roles("auditor", "admin", "participant")], tags=["audits"], request_max_body_size=limits.MAX_AUDIT_BYTES,
    opt={"also": {200: "A retry of an audit already stored (the same content): the audit as first stored"}, "errors": {
        409: "The audit id is already used for an audit with other content; or a campaign participant's audit arrived before the campaign's start or after its end (\"campaign ended at …\")",
        422: "The audit is refused (unknown location or checklist, over a limit, times far from now, answers that do not fit their items): `problems` names each; nothing was stored",
        503: "The writer process stopped before the audit was stored: send it again",
    }},
)
async def submit(data: JSONBody[AuditIn], request: Request, db: Database) -> Response[AuditOut]:
    """Store a finished audit and return its scoring result: 201 the first time, 200 with the same
    answer for a retry of the same content, 409 when the id holds other content, 422 when refused."""
    user, state = request.user, request.app.state  # not a `state` parameter: Litestar copies that for each request
    already = audits.existing(db, data, user)  # a retry is answered from a read, no write needed
    if already is not None:
        return Response(already.audit, status_code=200)
    if state.places_changed.stale(db):  # a location changed, in this process or another
        state.places.forget()
    location = state.places.get(data.location, lambda: locations.get(db, data.location))
    if location is None:
        raise invalid("the audit names no known location", [ApiProblem(field="location", message=f"no location {data.location!r}")], code=ErrorCode.AUDIT_REFUSED)
    if user.role == "participant":  # a campaign's channels, with their checklists, while it runs
        participants.admits(campaigns.get(db, user.campaign), location.id, data.checklist, dt.datetime.now(dt.UTC))
    elif not user.sees_region(location.region):
        raise forbidden(f"location {location.id!r} is in region {location.region!r}, which is not one of yours")
    found = state.catalog.checklist(db, location.brand, data.checklist, data.version)
    if found is None:
        raise invalid("the audit names no known checklist version", [_unknown_checklist(state, db, location.brand, data)], code=ErrorCode.AUDIT_REFUSED)
    problems = []
    if data.finished_at < data.started_at:
        problems.append(ApiProblem(field="finished_at", message="is before started_at"))
    problems += [ApiProblem(field=field, message=message) for field, message in limits.problems(data, found[1], dt.datetime.now(dt.UTC), state.settings.audit_max_age_days)]
    if any(p.field == "answers" for p in problems):  # thousands of answers: not worth scoring
        raise invalid("audit refused: it is over a limit; nothing was stored", problems, code=ErrorCode.AUDIT_REFUSED)
    try:
        result = score_audit(*found, data.answers)
    except AuditRefused as refused:
        problems += [ApiProblem(item=p.item, message=p.message) for p in refused.problems]
    if problems:
        raise invalid(f"audit refused: {len(problems)} problem{'s' if len(problems) > 1 else ''}; nothing was stored", problems, code=ErrorCode.AUDIT_REFUSED)
    stored = await state.writer.store(data, result, user, policy(found[0], found[1].checklist))
    return Response(stored.audit, status_code=201 if stored.created else 200)


def _unknown_checklist(state: State, db, brand: str, data: AuditIn) -> ApiProblem:
    """Say whether the checklist itself or only the asked-for version is unknown."""
    if state.catalog.checklist(db, brand, data.checklist, None) is None:
        return ApiProblem(field="checklist", message=f"brand {brand!r} has no checklist {data.checklist!r}")
    return ApiProblem(field="version", message=f"no version {data.version!r} of checklist {data.checklist!r}")


@get("/api/audits/{audit_id:str}", sync_to_thread=True, tags=["audits"])
def audit_get(request: Request, state: State, audit_id: PhoneId, db: Database, viewer: Viewer) -> AuditOut:
    """One audit: its auditor, the managers of its region and admins see it; its location's staff once it counts."""
    audit, _ = audits.readable(db, request.user, audit_id, viewer.anonymous)
    return audit


@get("/api/audits", sync_to_thread=True, tags=["audits"])
def audit_list(
    request: Request,
    state: State,
    db: Database, viewer: Viewer, location: FromQuery[str | None] = None,
    checklist: FromQuery[str | None] = None,
    from_: From = None,
    to: To = None,
    status: Annotated[Literal[STATUSES] | None, QueryParameter(description="only audits in this status")] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=1_000_000_000)] = 0,
) -> AuditPage:
    """Audits newest first, filtered; auditors get their own, managers their regions', staff their
    location's counting ones."""
    user = request.user
    where, params = [], []
    if user.role == "staff":
        where += ["a.location = ?", "a.counts = 1"]
        params.append(user.location)
    if user.role in ("auditor", "participant"):
        where.append("a.auditor = ?")
        params.append(user.id)
    elif user.role == "manager":
        scope, scope_params = viewer.in_regions("l.region")
        where.append(scope)
        params += scope_params
    for clause, value in (("a.location = ?", location), ("a.checklist = ?", checklist), ("a.day >= ?", from_), ("a.day <= ?", to), ("a.status = ?", status)):
        if value is not None:
            where.append(clause)
            params.append(value.isoformat() if isinstance(value, dt.date) else value)
    return audits.listing(db, where, params, limit, offset, viewer.auditor())


HANDLERS = [submit, audit_get, audit_list]
