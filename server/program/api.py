"""The program's JSON routes: review, assignments, schedules and history. Thin: each reads the
request, runs one domain function inside one write transaction, and answers."""

import datetime as dt
from typing import Annotated

from server.db import Database
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter, RawBody

from server.visibility import Viewer
from server.audits import audits
from server.audits.audits import AuditOut
from server.auth import roles
from server.db import write
from server.errors import ApiProblem, ErrorCode, invalid, not_found
from server.program import assignments, history, review
from server.program.assignments import AssignmentIn, AssignmentOut, ClaimIn, Imported, ScheduleIn, ScheduleOut
from server.program.history import Entry
from server.program.review import BulkIn, BulkOut, Queue, ReviewIn

REVIEW_ERRORS = {
    404: "No such audit",
    409: "The audit is in a state the action does not apply to: the message names its state",
    422: "A missing note, or a correction without a reason or with an answer its item does not take: `problems` names the item",
}


def brands_touchpoints(state: State) -> dict[str, list[str]]:
    return {b: list(loaded.checklists) for b, loaded in state.catalog.brands.items()}


@post("/api/audits/{audit_id:str}/review", guards=[roles("manager", "admin")], sync_to_thread=True, tags=["review"], status_code=200,
      opt={"errors": REVIEW_ERRORS})
def audit_review(data: JSONBody[ReviewIn], request: Request, state: State, audit_id: FromPath[str], db: Database, viewer: Viewer) -> AuditOut:
    """Approve, return (with comments for the auditor) or reject (with the reason) an audit, with or
    without corrections; or only correct answers. The figures move in the same transaction."""
    with write(db):
        review.act(db, state.catalog, request.user, audit_id, data)
    return audits.readable(db, request.user, audit_id, viewer.anonymous)[0]


@post("/api/review/approve", guards=[roles("manager", "admin")], sync_to_thread=True, tags=["review"], status_code=200)
def review_approve_many(data: JSONBody[BulkIn], request: Request, state: State, db: Database) -> BulkOut:
    """Approve several audits at once (the clean ones of the queue); each that cannot be is named with why."""
    with write(db):
        return review.approve_many(db, state.catalog, request.user, data.audits)


@get("/api/review", guards=[roles("manager", "admin")], sync_to_thread=True, tags=["review"])
def review_queue(
    request: Request, state: State, db: Database, viewer: Viewer, region: FromQuery[str | None] = None, location: FromQuery[str | None] = None,
    touchpoint: FromQuery[str | None] = None, limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    offset: Annotated[int, QueryParameter(ge=0, le=1_000_000_000)] = 0,
) -> Queue:
    """Audits waiting for review in your regions, the longest waiting first."""
    return review.queue(db, request.user, viewer.anonymous, region, location, touchpoint, limit, offset)


@get("/api/audits/{audit_id:str}/history", guards=[roles("admin")], sync_to_thread=True, tags=["review"])
def audit_history(state: State, audit_id: FromPath[str], db: Database) -> list[Entry]:
    """Every change of the audit: submitted, corrected, approved, returned, resubmitted, rejected."""
    if not audits.exists(db, audit_id):
        raise not_found("audit", audit_id)
    return history.entries(db, "audit", audit_id)


@get("/api/assignments", guards=[roles("auditor", "manager", "admin")], sync_to_thread=True, tags=["assignments"])
def assignment_list(
    request: Request, state: State, db: Database, state_: Annotated[list[assignments.State] | None, QueryParameter(name="state", description="repeat for several")] = None,
    location: FromQuery[str | None] = None, region: FromQuery[str | None] = None, limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
) -> list[AssignmentOut]:
    """Assignments you may see, due soonest first: an auditor's own and the open ones of their regions;
    a manager's regions'; all for admins. By default those still to do."""
    return assignments.listing(db, request.user, dt.date.today(), state_, location, region, limit)


@post("/api/assignments", guards=[roles("manager", "admin")], sync_to_thread=True, tags=["assignments"],
      opt={"errors": {403: "The location is outside your regions", 422: "`problems` names each field that is wrong"}})
def assignment_create(data: JSONBody[AssignmentIn], request: Request, state: State, db: Database) -> Response[AssignmentOut]:
    """Plan a visit: a location, its touchpoints, a window of days, an auditor or open (null)."""
    with write(db):
        made = assignments.create(db, request.user, data, brands_touchpoints(state))
    return Response(assignments.get(db, request.user, made, dt.date.today()), status_code=201)


@post("/api/assignments/import", guards=[roles("manager", "admin")], sync_to_thread=True, tags=["assignments"],
      opt={"media": "text/csv", "errors": {422: "Rows refused: `problems` names each by line and column; nothing was imported"}})
def assignment_import(request: Request, state: State, body: RawBody, db: Database) -> Response[Imported]:
    """Plan many visits from a CSV body (Content-Type: text/csv; columns location, touchpoints separated
    by spaces, starts, ends, auditor or blank for open, announced yes/no, note): every row, or none."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise invalid("the file is not UTF-8 text", [ApiProblem(field="body", message=f"byte {exc.start}: expected UTF-8")], code=ErrorCode.IMPORT_REFUSED) from None
    with write(db):
        made = assignments.import_csv(db, request.user, text, brands_touchpoints(state))
    return Response(made, status_code=201)


@get("/api/assignments/{assignment_id:str}", guards=[roles("auditor", "manager", "admin")], sync_to_thread=True, tags=["assignments"])
def assignment_get(request: Request, state: State, assignment_id: FromPath[str], db: Database) -> AssignmentOut:
    return assignments.get(db, request.user, assignment_id, dt.date.today())


@post("/api/assignments/{assignment_id:str}/claim", guards=[roles("auditor", "manager", "admin")], sync_to_thread=True, tags=["assignments"], status_code=200,
      opt={"errors": {409: "Someone already holds it (managers are told who), or it was cancelled", 422: "Managers: no such auditor"}})
def assignment_claim(request: Request, state: State, assignment_id: FromPath[str], db: Database, data: JSONBody[ClaimIn | None] = None) -> AssignmentOut:
    """An auditor takes an open assignment (first claim wins; claiming it again is harmless); a
    manager or admin gives it to the auditor named in the body."""
    with write(db):
        assignments.claim(db, request.user, assignment_id, data.auditor if data else None)
    return assignments.get(db, request.user, assignment_id, dt.date.today())


@post("/api/assignments/{assignment_id:str}/cancel", guards=[roles("manager", "admin")], sync_to_thread=True, tags=["assignments"], status_code=200,
      opt={"errors": {409: "Already cancelled or done"}})
def assignment_cancel(request: Request, state: State, assignment_id: FromPath[str], db: Database) -> AssignmentOut:
    with write(db):
        assignments.cancel(db, request.user, assignment_id)
    return assignments.get(db, request.user, assignment_id, dt.date.today())


@get("/api/assignments/{assignment_id:str}/history", guards=[roles("admin")], sync_to_thread=True, tags=["assignments"])
def assignment_history(state: State, assignment_id: FromPath[str], db: Database) -> list[Entry]:
    if not assignments.exists(db, assignment_id):
        raise not_found("assignment", assignment_id)
    return history.entries(db, "assignment", assignment_id)


@post("/api/schedules", guards=[roles("manager", "admin")], sync_to_thread=True, tags=["assignments"],
      opt={"errors": {403: "The region is not yours", 404: "No such region", 422: "`problems` names what is wrong, and for which location"}})
def schedule_create(data: JSONBody[ScheduleIn], request: Request, state: State, db: Database) -> Response[ScheduleOut]:
    """A repeating schedule: every location of the region (or of all yours) once a month or quarter,
    in the whole period or on one random day of it; its assignments are made at once."""
    with write(db):
        made = assignments.schedule(db, request.user, data, brands_touchpoints(state))
    return Response(made, status_code=201)


@post("/api/schedules/{schedule_id:str}/cancel", guards=[roles("manager", "admin")], sync_to_thread=True, tags=["assignments"], status_code=200,
      opt={"errors": {409: "Already cancelled"}})
def schedule_cancel(request: Request, state: State, schedule_id: FromPath[str], db: Database) -> dict[str, int]:
    """Cancel a schedule and its assignments that are not done and have not begun."""
    with write(db):
        return {"cancelled": assignments.cancel_schedule(db, request.user, schedule_id, dt.date.today())}


HANDLERS = [
    audit_review, review_approve_many, review_queue, audit_history,
    assignment_list, assignment_create, assignment_import, assignment_get, assignment_claim, assignment_cancel, assignment_history,
    schedule_create, schedule_cancel,
]
