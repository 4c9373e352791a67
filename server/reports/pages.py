"""The managers' pages: HTML for managers and admins, scoped exactly like the API.

Readable without JavaScript (sorting is a link), printable, charts as inline SVG. An auditor who
opens one is sent to the app; someone signed out is sent to sign in. Errors come back as pages
(see error_handler.render), never as JSON or a traceback.
"""

import asyncio
import datetime as dt
from typing import Annotated

import msgspec
from server.db import Database
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template

from server.program import review
from server.visibility import Viewer
from server.audits import audits
from server.locations import locations
from server.photos import storage
from server.errors import ApiError, ErrorCode, forbidden
from server import heavy
from server.reports import pdf
from server.forms import Refusal
from server.reports import jobs
from server.reports.figures import Change, location_page, region_change, region_page
from server.reports.report import report
from server.reports.periods import Period, PeriodError, read_period
from server.followup import actions, flags
from server.followup.pages import audit_boxes
from server.notices import notice
from server.program import history
from server.visibility import REVIEWERS
from server.program.status import CORRECTABLE, MOVES, refusal

MANAGERS = ("manager", "admin")
FIGURES = {"standby": True}  # a figures page that only reads: a standby may answer it (server/standby.py)
READERS = ("manager", "admin", "staff")  # staff: their location's page and its counting audits

PeriodParam = Annotated[str | None, QueryParameter(name="period", description="30, 90, 365 or quarter")]
FromParam = Annotated[str | None, QueryParameter(name="from", description="first day, YYYY-MM-DD")]
ToParam = Annotated[str | None, QueryParameter(name="to", description="last day, YYYY-MM-DD")]

# The ranking's columns: (key, heading). Numbers sort highest first when first chosen; rank,
# names and touchpoints A to Z. Locations without a figure always go last.
COLUMNS = [("rank", "Rank"), ("name", "Location"), ("adjusted", "Adjusted"), ("score", "Score"), ("n", "Audits"),
           ("consistency", "Consistency"), ("kept_rate", "Promise kept"), ("weakest", "Weakest touchpoint")]
ASCENDING_FIRST = {"rank", "name", "weakest"}


class RegionTile(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    locations: int
    change: Change


def _period(period: str | None, start: str | None, end: str | None) -> Period:
    try:
        return read_period(period, start, end, dt.date.today())
    except PeriodError as exc:
        raise ApiError(400, ErrorCode.BAD_PERIOD, str(exc)) from None


def _send_auditors_to_the_app(request: Request) -> Redirect | None:
    return None if request.user.role in READERS else Redirect("/", status_code=303)


def _region_name(db, user, region_id: str) -> dict:
    """The region's row for a page's breadcrumb: scope-checked, except for staff, who see one
    location of it (and are refused the region's own pages)."""
    if user.role == "staff":
        return locations.region_row(db, region_id)
    return locations.region_in_scope(db, user, region_id)


def plain(value) -> str:
    """A history entry's before or after, for reading: `status: approved, counts: true`."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(plain(v) for v in value)
    return "yes" if value is True else "no" if value is False else str(value)


def _review_panel(user, audit, loaded) -> dict | None:
    """What the audit page offers its reviewer: the allowed actions and the items to correct."""
    if user.role not in REVIEWERS or audit.auditor == user.name:
        return None
    actions = [a for a in MOVES if refusal(a, audit.status) is None]
    hints = {"yes_no": "yes / no", "scale": "a number", "number": "a number", "timer": "seconds", "text": "text"}
    kind = lambda i: i.__struct_config__.tag  # noqa: E731
    items = [(i.id, i.text, hints.get(kind(i)) or " / ".join(o.value for o in getattr(i, "options", None) or []) or kind(i)) for i in loaded.checklist.items()
             if i.id in audit.answers or (i.id in audit.result.items and audit.result.items[i.id].possible > 0)]  # the items that apply
    return {"actions": actions, "why": f"The audit is {audit.status.replace('_', ' ')}: nothing to review.", "choices": items,
            "correctable": audit.status in CORRECTABLE, "open_correction": False}


class Manage(Controller):
    path = "/manage"
    include_in_schema = False
    before_request = _send_auditors_to_the_app

    @get("/", sync_to_thread=True, opt=FIGURES)
    def home(self, request: Request, state: State, db: Database, viewer: Viewer, period: PeriodParam = None, from_: FromParam = None, to: ToParam = None) -> Template | Redirect:
        """The manager's regions (an admin's: all), each with its figures and their change; staff go to their location."""
        if request.user.role == "staff":
            return Redirect(f"/manage/locations/{request.user.location}", status_code=303)
        chosen = _period(period, from_, to)
        tiles = []
        for region in sorted(locations.regions(db), key=lambda r: r["name"]):
            if request.user.sees_region(region["id"]):
                _, change = region_change(db, state.catalog, region["id"], chosen)
                tiles.append(RegionTile(id=region["id"], name=region["name"], locations=region["locations"], change=change))
        waiting = review.waiting(db, viewer)
        return Template("reports/home.html", context={"user": request.user, "period": chosen, "regions": tiles, "waiting": waiting,
                                              "actions": actions.counts(db, request.user), "flagged": flags.open_total(db, request.user)})

    @get("/regions/{region_id:str}", sync_to_thread=True, opt=FIGURES)
    def region(
        self, request: Request, state: State, region_id: FromPath[str], db: Database, period: PeriodParam = None, from_: FromParam = None,
        to: ToParam = None, sort: FromQuery[str] = "rank", order: FromQuery[str | None] = None,
    ) -> Template:
        """The region's figures and their change, pillars, the fair ranking and the heatmap."""
        chosen = _period(period, from_, to)
        keys = [key for key, _ in COLUMNS]
        if sort not in keys:
            raise ApiError(400, ErrorCode.BAD_REQUEST, f"sort: expected one of {', '.join(keys)}, got {sort!r}")
        if order not in (None, "asc", "desc"):
            raise ApiError(400, ErrorCode.BAD_REQUEST, f"order: expected asc or desc, got {order!r}")
        page = region_page(db, state.catalog, locations.region_in_scope(db, request.user, region_id), chosen)
        descending = order == "desc" if order else sort not in ASCENDING_FIRST
        known = [r for r in page.ranking if getattr(r, sort) is not None]
        rows = sorted(known, key=lambda r: getattr(r, sort), reverse=descending) + [r for r in page.ranking if getattr(r, sort) is None]
        return Template("reports/region.html", context={
            "user": request.user, "page": page, "rows": rows, "columns": COLUMNS, "sort": sort, "descending": descending,
            "actions": actions.counts(db, request.user, region=region_id),
        })


    @get("/locations/{location_id:str}", sync_to_thread=True, opt=FIGURES)
    def location(self, request: Request, state: State, location_id: FromPath[str], db: Database, viewer: Viewer, period: PeriodParam = None, from_: FromParam = None, to: ToParam = None) -> Template:
        """One location: its figures, touchpoints and pillars against the promise, 24 months of trend, its audits."""
        chosen = _period(period, from_, to)
        location = msgspec.structs.asdict(locations.location_in_scope(db, request.user, location_id))
        region = _region_name(db, request.user, location["region"])
        page = location_page(db, state.catalog, location, region["name"], chosen, auditor=viewer.auditor())
        titles = {t: c.checklist.title for t, c in state.catalog.brands[location["brand"]].checklists.items()}
        waiting = None if request.user.role == "staff" else review.waiting_at(db, location["id"])
        return Template("reports/location.html", context={"user": request.user, "page": page, "titles": titles, "waiting": waiting,
                                                  "speed": actions.speed(db, location["id"])})


    @get("/audits/{audit_id:str}")
    async def audit(self, request: Request, state: State, audit_id: FromPath[str], db: Database, viewer: Viewer, said: FromQuery[str | None] = None) -> Template | Response:
        """One audit as a report: score box, critical failures, pillars, every answer with its photos.
        `/manage/audits/{id}.pdf` is the same report as a PDF (audit ids are UUIDs: never end in .pdf)."""
        if audit_id.endswith(".pdf"):
            return await audit_pdf(request, state, db, viewer, audit_id.removesuffix(".pdf"))
        return await asyncio.to_thread(audit_page, request, state, db, viewer, audit_id, said)

    @get("/regions/{region_id:str}/items")
    async def region_items(self, request: Request, state: State, region_id: FromPath[str], db: Database, period: PeriodParam = None, from_: FromParam = None, to: ToParam = None) -> Template:
        """The region's items that fail most: a Pareto chart and table."""
        chosen = _period(period, from_, to)
        region = await asyncio.to_thread(locations.region_in_scope, db, request.user, region_id)
        page = await _items(request, state, db, [region["id"]], region["name"], chosen)
        return Template("reports/items.html", context={"user": request.user, "page": page, "region_id": region["id"], "action": f"/manage/regions/{region['id']}/items"})

    @get("/items")
    async def brand_items(self, request: Request, state: State, db: Database, period: PeriodParam = None, from_: FromParam = None, to: ToParam = None) -> Template:
        """The same over every region: for admins."""
        if request.user.role != "admin":
            raise forbidden("the whole brand's items are for admins; yours are on each of your regions' pages")
        chosen = _period(period, from_, to)
        page = await _items(request, state, db, None, "the whole brand", chosen)
        return Template("reports/items.html", context={"user": request.user, "page": page, "region_id": None, "action": "/manage/items"})


async def _items(request: Request, state: State, db: Database, regions: list[str] | None, scope: str, chosen: Period):
    """The Pareto's figures, computed in a report worker (their cost grows with the period): a heavy
    page, one of its person's heavy requests while it runs."""
    return await heavy.counted(db, request.user.id, "page", state.settings.heavy_per_person, lambda: state.report_workers.run(
        jobs.items, str(state.settings.store), regions, scope, chosen, failed="the page's figures could not be computed"))


async def audit_pdf(request: Request, state: State, db: Database, viewer: Viewer, audit_id: str) -> Response:
    """The audit report as a PDF, drawn in a report worker from the report and its thumbnails' bytes."""

    def read():
        found, location = audits.readable(db, request.user, audit_id, viewer.anonymous)
        brand, loaded = state.catalog.checklist(db, location.brand, found.checklist, found.version)
        r = report(found, brand, loaded, location.name, _region_name(db, request.user, location.region)["name"])
        return r, storage.thumbnails(db, state.photos, found.id)

    r, thumbs = await asyncio.to_thread(read)
    document = await heavy.counted(db, request.user.id, "pdf", state.settings.heavy_per_person,
                                   lambda: state.report_workers.run(pdf.render, r, thumbs, failed="the PDF could not be drawn"))
    name = f"audit-{r.audit.day}-{r.audit.id[:8]}.pdf"
    return Response(document, media_type="application/pdf", headers={"content-disposition": f'inline; filename="{name}"'})


def audit_page(request: Request, state: State, db: Database, viewer: Viewer, audit_id: str, said: str | None = None, refused: Refusal | None = None, status: int = 200) -> Template | Response:
    """The audit report; after a refused review form, that form again with its problems."""
    found, location = audits.readable(db, request.user, audit_id, viewer.anonymous)
    brand, loaded = state.catalog.checklist(db, location.brand, found.checklist, found.version)
    region = _region_name(db, request.user, location.region)
    r = report(found, brand, loaded, location.name, region["name"])
    return Template("reports/audit.html", status_code=status, context={
        "user": request.user, "r": r, "region_id": location.region, "said": notice("audit", said), "csrf": request.auth.csrf_token or "",
        "review": _review_panel(request.user, found, loaded), "refused": refused,
        "log": history.entries(db, "audit", found.id) if request.user.role == "admin" else None,
        "far_m": brand.integrity.max_photo_distance_m, **audit_boxes(db, request.user, found.id, viewer.anonymous),
    })


HANDLERS = [Manage]
