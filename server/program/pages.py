"""The program's pages for managers and admins: the review queue, reviewing an audit, planning visits
(one, a repeating schedule, or a CSV) and each assignment with its history.

Plain HTML forms that work without JavaScript: each posts, the change happens in one transaction,
and the browser is sent back (303) to the page that shows the result. A form carries the session's
CSRF token in a hidden field (auth.check_form). A refused form shows every problem on an error page.
"""

import dataclasses
import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from server.db import Database
from litestar import Controller, Request, get, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template

from server.accounts import accounts
from server.audits import audits
from server.locations import locations
from server.visibility import Viewer
from server.notices import notice
from server.auth import check_form
from server.db import write
from server.errors import ApiError, ApiProblem, ErrorCode, forbidden, invalid
from server import forms
from server.forms import WORDS, Refusal, TokenForm, refusal, several
from server.program import assignments, history, review
from server.program.api import brands_touchpoints
from server.program.assignments import AssignmentIn, ScheduleIn
from server.program.review import CorrectionIn, ReviewIn

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000_000)]  # as the API's: past SQLite's integers is a 400, not a 500
Count = Annotated[int | None, QueryParameter(ge=0, le=1_000_000)]


_managers_only = forms.managers_only("review and planned visits")


def answer_from_text(item, text: str):
    """What a reviewer typed, as the item's answer: a number for number, scale and timer items."""
    text = text.strip()
    if text == "":
        return None
    if item.__struct_config__.tag in ("number", "scale", "timer"):
        try:
            number = float(text)
        except ValueError:
            raise invalid("correction refused", [ApiProblem(item=item.id, message=f"expected a number, got {text!r}")], code=ErrorCode.CORRECTION_REFUSED) from None
        return int(number) if number.is_integer() else number
    return text


@dataclasses.dataclass
class ReviewForm:
    csrf_token: str = ""
    action: str = ""
    note: str = ""
    item: str = ""
    value: str = ""
    reason: str = ""


@dataclasses.dataclass
class BulkForm:
    csrf_token: str = ""
    audit: list[str] | str | None = None
    back: str = ""


@dataclasses.dataclass
class PlanForm:
    csrf_token: str = ""
    location: str = ""
    touchpoints: list[str] | str | None = None
    starts: str = ""
    ends: str = ""
    auditor: str = ""
    announced: str = ""
    note: str = ""


@dataclasses.dataclass
class ScheduleForm:
    csrf_token: str = ""
    region: str = ""
    touchpoints: list[str] | str | None = None
    every: str = "month"
    day: str = "window"
    first: str = ""
    periods: str = "12"
    auditor: str = ""
    announced: str = ""


PLAN_FIELDS = ("location", "touchpoints", "starts", "ends", "auditor", "note")
SCHEDULE_FIELDS = ("region", "touchpoints", "every", "day", "first", "periods", "auditor")


@dataclasses.dataclass
class ImportForm:
    csrf_token: str = ""
    file: UploadFile | None = None


def _day(name: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise invalid(f"{name}: expected a day", [ApiProblem(field=name, message=f"expected a day as YYYY-MM-DD, got {text!r}")]) from None


def _csrf(request: Request) -> str:
    return request.auth.csrf_token or ""


class Program(Controller):
    path = "/manage"
    include_in_schema = False
    before_request = _managers_only

    @get("/review", sync_to_thread=True)
    def queue(self, request: Request, state: State, db: Database, viewer: Viewer, region: FromQuery[str | None] = None, location: FromQuery[str | None] = None,
              touchpoint: FromQuery[str | None] = None, offset: Offset = 0, approved: Count = None, refused: Count = None) -> Template:
        """Audits waiting for review, the longest waiting first; the clean ones ticked for bulk approval."""
        page = review.queue(db, request.user, viewer.anonymous, region or None, location or None, touchpoint or None, 100, offset)
        regions = locations.regions_seen(db, request.user)
        places = {r["id"]: r["name"] for r in locations.places_seen(db, request.user)}
        titles = {t: c.checklist.title for b in state.catalog.brands.values() for t, c in b.checklists.items()}
        here = urlencode({k: v for k, v in (("region", region), ("location", location), ("touchpoint", touchpoint)) if v})
        return Template("program/review.html", context={
            "user": request.user, "page": page, "regions": regions, "places": places, "titles": titles, "csrf": _csrf(request),
            "chosen": {"region": region, "location": location, "touchpoint": touchpoint}, "here": here, "offset": offset,
            "approved": approved, "refused": refused,
        })

    @post("/review/approve", sync_to_thread=True, opt={"form": True, "media": "form"})
    def approve_many(self, request: Request, state: State, data: Annotated[BulkForm, Form], db: Database) -> Redirect:
        check_form(request, data.csrf_token)
        chosen = several(data.audit)
        if not chosen:
            raise invalid("nothing chosen", [ApiProblem(field="audit", message="tick at least one audit to approve")])
        with write(db):
            done = review.approve_many(db, state.catalog, request.user, chosen)
        back = data.back if data.back.startswith("region=") or data.back.startswith("location=") or data.back.startswith("touchpoint=") else ""
        return Redirect(f"/manage/review?{back + '&' if back else ''}approved={len(done.approved)}&refused={len(done.refused)}", status_code=303)

    @post("/audits/{audit_id:str}/review", sync_to_thread=True, opt={"form": True, "media": "form"})
    def review_audit(self, request: Request, state: State, audit_id: FromPath[str], data: Annotated[ReviewForm, Form], db: Database, viewer: Viewer) -> Redirect | Template | Response:
        """The audit report's review form: approve, return, reject, or correct one answer (with its reason).
        Refused, the report again with the form, what was typed and each field's problem."""
        check_form(request, data.csrf_token)
        corrections = []
        action = data.action if data.action in ("approve", "return", "reject", "correct") else None
        try:
            if data.item:
                row = audits.checklist_of(db, audit_id)
                found = state.catalog.checklist(db, *row) if row else None
                item = next((i for i in found[1].checklist.items() if i.id == data.item), None) if found else None
                if item is None:
                    raise invalid("correction refused", [ApiProblem(field="item", message="no such item in this audit's checklist")], code=ErrorCode.CORRECTION_REFUSED)
                try:
                    value = answer_from_text(item, data.value)
                except ApiError as exc:  # named by its item: here it is the corrected answer's field
                    raise invalid(exc.message, [ApiProblem(field="value", message=p.message) for p in exc.problems], code=exc.code) from None
                corrections.append(forms.converted(CorrectionIn, {"item": data.item, "value": value, "reason": data.reason}))
            if action is None:
                raise invalid("no action", [ApiProblem(field="action", message="expected approve, return, reject or correct")])
            with write(db):
                review.act(db, state.catalog, request.user, audit_id, forms.converted(ReviewIn, {"action": action, "note": data.note, "corrections": corrections}))
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            from server.reports.pages import audit_page

            form = "correct" if data.item else "review"
            return audit_page(request, state, db, viewer, audit_id, refused=refusal(exc, form, data, ("note", "item", "value", "reason")), status=exc.status)
        said = {"approve": "approved", "return": "returned", "reject": "rejected", "correct": "corrected"}[action]
        return Redirect(f"/manage/audits/{audit_id}?said={said}", status_code=303)

    @get("/assignments", sync_to_thread=True)
    def plans(self, request: Request, state: State, db: Database, show: FromQuery[str] = "open", region: FromQuery[str | None] = None,
              said: FromQuery[str | None] = None) -> Template:
        """Planned visits, due soonest first, with the forms to plan more."""
        return self._plans(request, state, db, show, region, said)

    @staticmethod
    def _plans(request: Request, state: State, db: Database, show: str = "open", region: str | None = None, said: str | None = None,
               refused: Refusal | None = None, status: int = 200) -> Template:
        """The assignments page; after a refused form, that form again with what was typed and each field's problem."""
        shows = {"open": None, "done": ["done"], "cancelled": ["cancelled"], "all": list(assignments.STATES)}
        if show not in shows:
            raise ApiError(400, ErrorCode.BAD_REQUEST, f"show: expected one of {', '.join(shows)}, got {show!r}")
        today = dt.date.today()
        found = assignments.listing(db, request.user, today, shows[show], None, region or None, 500)
        regions = locations.regions_seen(db, request.user)
        places = locations.places_seen(db, request.user)
        auditors = accounts.auditor_names(db)
        touchpoints = [(t, c.checklist.title) for b in state.catalog.brands.values() for t, c in b.checklists.items()]
        counts = {}
        for a in found:
            counts[a.state] = counts.get(a.state, 0) + 1
        return Template("program/assignments.html", status_code=status, context={
            "user": request.user, "items": found, "show": show, "region": region, "regions": regions, "places": places,
            "auditors": auditors, "touchpoints": touchpoints, "csrf": _csrf(request), "today": today, "said": notice("assignments", said), "counts": counts,
            "columns": ",".join(assignments.CSV_COLUMNS), "refused": refused,
        })

    @post("/assignments", sync_to_thread=True, opt={"form": True, "media": "form"})
    def plan(self, request: Request, state: State, data: Annotated[PlanForm, Form], db: Database) -> Redirect | Template:
        check_form(request, data.csrf_token)
        try:
            planned = forms.converted(AssignmentIn, {"location": data.location, "touchpoints": several(data.touchpoints) or [""], "starts": _day("starts", data.starts),
                                                    "ends": _day("ends", data.ends), "auditor": data.auditor or None, "announced": data.announced == "yes", "note": data.note})
            with write(db):
                made = assignments.create(db, request.user, planned, brands_touchpoints(state))
        except ApiError as exc:
            return self._plans(request, state, db, refused=refusal(exc, "plan", data, PLAN_FIELDS), status=exc.status)
        return Redirect(f"/manage/assignments/{made}?said=planned", status_code=303)

    @post("/schedules", sync_to_thread=True, opt={"form": True, "media": "form"})
    def schedule(self, request: Request, state: State, data: Annotated[ScheduleForm, Form], db: Database) -> Redirect | Template:
        check_form(request, data.csrf_token)
        try:
            problems = [ApiProblem(field=field, message=message) for field, message, bad in (
                ("every", "expected month or quarter", data.every not in ("month", "quarter")),
                ("day", "expected any day of the period or one random day", data.day not in ("window", "random")),
                ("periods", f"expected a whole number from 1 to {assignments.MAX_PERIODS}",
                 not data.periods.isdigit() or not 1 <= int(data.periods) <= assignments.MAX_PERIODS)) if bad]
            if problems:
                raise invalid("schedule refused", problems)
            planned = forms.converted(ScheduleIn, {"region": data.region or None, "touchpoints": several(data.touchpoints) or [""], "every": data.every, "day": data.day,
                                                  "first": _day("first", data.first), "periods": int(data.periods), "auditor": data.auditor or None,
                                                  "announced": data.announced == "yes"})
            with write(db):
                made = assignments.schedule(db, request.user, planned, brands_touchpoints(state))
        except ApiError as exc:
            return self._plans(request, state, db, refused=refusal(exc, "schedule", data, SCHEDULE_FIELDS), status=exc.status)
        return Redirect(f"/manage/assignments?said=scheduled+{made.made}", status_code=303)

    @post("/assignments/import", sync_to_thread=True, opt={"form": True, "media": "multipart"})
    def import_plans(self, request: Request, state: State, data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)], db: Database) -> Redirect | Template:
        check_form(request, data.csrf_token)
        try:
            if data.file is None:
                raise invalid("no file", [ApiProblem(field="file", message="choose a CSV file")])
            try:
                text = data.file.file.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise invalid("the file is not UTF-8 text", [ApiProblem(field="file", message="expected a CSV file saved as UTF-8")], code=ErrorCode.IMPORT_REFUSED) from None
            with write(db):
                made = assignments.import_csv(db, request.user, text, brands_touchpoints(state))
        except ApiError as exc:
            rows = [f"row {p.line}: {WORDS.get(p.field or '', p.field or '')}: {p.message}" if p.line else p.message for p in exc.problems]
            flat = ApiError(exc.status, exc.code, exc.message, [ApiProblem(message=r) for r in rows])  # the rows of a file: told as a list
            return self._plans(request, state, db, refused=refusal(flat, "import", {}, ()), status=exc.status)
        return Redirect(f"/manage/assignments?said=imported+{made.made}", status_code=303)

    @get("/assignments/{assignment_id:str}", sync_to_thread=True)
    def plan_page(self, request: Request, state: State, assignment_id: FromPath[str], db: Database, said: FromQuery[str | None] = None) -> Template:
        found = assignments.get(db, request.user, assignment_id, dt.date.today())
        log = history.entries(db, "assignment", assignment_id) if request.user.role == "admin" else None
        titles = {t: c.checklist.title for b in state.catalog.brands.values() for t, c in b.checklists.items()}
        return Template("program/assignment.html", context={"user": request.user, "a": found, "log": log, "csrf": _csrf(request), "said": notice("assignment", said), "titles": titles})

    @post("/assignments/{assignment_id:str}/cancel", sync_to_thread=True, opt={"form": True, "media": "form"})
    def cancel(self, request: Request, state: State, assignment_id: FromPath[str], data: Annotated[TokenForm, Form], db: Database) -> Redirect:
        check_form(request, data.csrf_token)
        with write(db):
            assignments.cancel(db, request.user, assignment_id)
        return Redirect(f"/manage/assignments/{assignment_id}?said=cancelled", status_code=303)



HANDLERS = [Program]
