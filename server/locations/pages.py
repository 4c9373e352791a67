"""The locations pages of the managers' web: the list with search and filters, adding and editing a
location (moving it to another region too), deactivating and activating it, its history; regions
made and renamed, and the CSV upload (admins). Plain HTML forms that work without JavaScript: each
carries the session's CSRF token; a refused form comes back with each field's problem (422)."""

import dataclasses
from typing import Annotated
from urllib.parse import urlencode

from server.db import Database
from litestar import Controller, Request, get, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from server import forms
from server.auth import check_form
from server.db import write
from server.errors import ApiError, ApiProblem, ErrorCode, forbidden, invalid
from server.forms import Refusal, TokenForm, refusal
from server.locations import changes, locations
from server.locations.changes import LocationChange, RegionIn, RegionRename
from server.locations.locations import KINDS, ImportRefused, LocationIn
from server.notices import notice
from server.program import history

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000_000)]
FIELDS = ("id", "name", "region", "brand", "address", "lat", "lng", "kind", "contact")
KIND_NAMES = {"place": "a place (shop, branch)", "phone": "phone line", "website": "website", "chat": "chat", "email": "e-mail address"}


_managers_only = forms.managers_only("locations")


def _admin(request: Request) -> None:
    if request.user.role != "admin":
        raise forbidden("only admins do this")


@dataclasses.dataclass
class LocationForm:
    csrf_token: str = ""
    id: str = ""
    name: str = ""
    region: str = ""
    brand: str = ""
    address: str = ""
    lat: str = ""
    lng: str = ""
    kind: str = "place"
    contact: str = ""


@dataclasses.dataclass
class NoteForm:
    csrf_token: str = ""
    note: str = ""


@dataclasses.dataclass
class RegionForm:
    csrf_token: str = ""
    id: str = ""
    name: str = ""


@dataclasses.dataclass
class ImportForm:
    csrf_token: str = ""
    file: UploadFile | None = None


def _typed(data: LocationForm) -> dict:
    """The form's fields as the API's: lat and lng as numbers (empty: none), each problem named by its field."""
    values = {"name": data.name.strip(), "region": data.region.strip(), "address": data.address.strip(), "kind": data.kind.strip() or "place",
              "contact": data.contact.strip()}
    if data.brand.strip():
        values["brand"] = data.brand.strip()
    problems = []
    for field in ("lat", "lng"):
        text = getattr(data, field).strip()
        if text == "":
            values[field] = None
            continue
        try:
            values[field] = float(text)
        except ValueError:
            problems.append(ApiProblem(field=field, message=f"expected a number of degrees, such as 51.5072, got {text!r}"))
    if problems:
        raise invalid("location refused; nothing was saved", problems)
    return values


def _csrf(request: Request) -> str:
    return request.auth.csrf_token or ""


class Locations(Controller):
    path = "/manage"
    include_in_schema = False
    before_request = _managers_only

    @get("/locations", sync_to_thread=True)
    def listing(self, request: Request, state: State, db: Database, q: FromQuery[str] = "", region: FromQuery[str] = "", kind: FromQuery[str] = "",
                active: FromQuery[str] = "yes", offset: Offset = 0, said: FromQuery[str | None] = None) -> Template:
        """Locations the caller manages: search by id, name or address; filter by region, kind and whether active; 50 a page."""
        return self._listing(request, state, db, q, region, kind, active, offset, said)

    @staticmethod
    def _listing(request: Request, state: State, db: Database, q: str = "", region: str = "", kind: str = "", active: str = "yes", offset: int = 0,
                 said: str | None = None, refused: Refusal | None = None, status: int = 200) -> Template:
        actives = {"yes": True, "no": False, "all": None}
        if active not in actives:
            raise ApiError(400, ErrorCode.BAD_REQUEST, f"active: expected yes, no or all, got {active!r}")
        if kind and kind not in KINDS:
            raise ApiError(400, ErrorCode.BAD_REQUEST, f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        found = changes.search(db, request.user, q, region or None, kind or None, actives[active], offset)
        regions = locations.regions_seen(db, request.user) if request.user.role != "admin" else locations.regions(db)
        here = {k: v for k, v in (("q", q), ("region", region), ("kind", kind), ("active", active)) if v}
        pages = {
            "previous": urlencode({**here, "offset": max(0, offset - changes.PAGE)}) if offset > 0 else None,
            "next": urlencode({**here, "offset": offset + changes.PAGE}) if offset + changes.PAGE < found.total else None,
        }
        return Template("locations/locations.html", status_code=status, context={
            "user": request.user, "found": found, "regions": regions, "names": {r["id"]: r["name"] for r in locations.regions(db)},
            "chosen": {"q": q, "region": region, "kind": kind, "active": active}, "pages": pages, "page_size": changes.PAGE,
            "kinds": KIND_NAMES, "brands": list(state.catalog.brands), "csrf": _csrf(request), "said": notice("locations", said), "refused": refused,
        })

    @post("/locations", sync_to_thread=True, opt={"form": True, "media": "form"})
    def add(self, request: Request, state: State, data: Annotated[LocationForm, Form], db: Database) -> Redirect | Template:
        check_form(request, data.csrf_token)
        try:
            row = forms.converted(LocationIn, {"id": data.id.strip(), **_typed(data)})
            with write(db):
                made = changes.add(db, request.user, row, list(state.catalog.brands))
        except ApiError as exc:
            if exc.status != 422:
                raise
            return self._listing(request, state, db, refused=refusal(exc, "add", data, FIELDS), status=exc.status)
        state.places.forget()
        return Redirect(f"/manage/locations/{made.id}/edit?said=added", status_code=303)

    @get("/locations/{location_id:str}/edit", sync_to_thread=True)
    def edit_page(self, request: Request, state: State, location_id: FromPath[str], db: Database, said: FromQuery[str | None] = None) -> Template:
        """A location's form (name, address, position, kind and contact, region, brand), its state and its history."""
        return self._edit(request, state, db, location_id, said)

    @staticmethod
    def _edit(request: Request, state: State, db: Database, location_id: str, said: str | None = None, refused: Refusal | None = None, status: int = 200) -> Template:
        found = locations.location_in_scope(db, request.user, location_id)
        if not changes.may_change(request.user, found.region):
            raise forbidden(f"location {location_id!r} is in region {found.region!r}, which is not one of yours")
        regions = locations.regions(db) if request.user.role == "admin" else locations.regions_seen(db, request.user)
        return Template("locations/location.html", status_code=status, context={
            "user": request.user, "location": found, "regions": regions, "names": {r["id"]: r["name"] for r in locations.regions(db)},
            "brands": list(state.catalog.brands), "kinds": KIND_NAMES, "log": history.entries(db, "location", location_id),
            "csrf": _csrf(request), "said": notice("location", said), "refused": refused,
        })

    @post("/locations/{location_id:str}/edit", sync_to_thread=True, opt={"form": True, "media": "form"})
    def edit(self, request: Request, state: State, location_id: FromPath[str], data: Annotated[LocationForm, Form], db: Database) -> Redirect | Template:
        check_form(request, data.csrf_token)
        try:
            change = forms.converted(LocationChange, _typed(data))
            with write(db):
                before = locations.get(db, location_id)
                after = changes.edit(db, request.user, location_id, change, list(state.catalog.brands))
        except ApiError as exc:
            if exc.status != 422:
                raise
            return self._edit(request, state, db, location_id, refused=refusal(exc, "edit", data, FIELDS), status=exc.status)
        state.places.forget()
        moved = before is not None and before.region != after.region
        return Redirect(f"/manage/locations/{location_id}/edit?said={'moved' if moved else 'saved'}", status_code=303)

    @post("/locations/{location_id:str}/deactivate", sync_to_thread=True, opt={"form": True, "media": "form"})
    def deactivate(self, request: Request, state: State, location_id: FromPath[str], data: Annotated[NoteForm, Form], db: Database) -> Redirect | Template:
        check_form(request, data.csrf_token)
        try:
            note = forms.converted(changes.DeactivateIn, {"note": data.note.strip()}).note
            with write(db):
                done = changes.deactivate(db, request.user, location_id, note)
        except ApiError as exc:
            if exc.status != 422:
                raise
            return self._edit(request, state, db, location_id, refused=refusal(exc, "deactivate", data, ("note",)), status=exc.status)
        state.places.forget()
        return Redirect(f"/manage/locations/{location_id}/edit?said=deactivated+{len(done.cancelled)}", status_code=303)

    @post("/locations/{location_id:str}/activate", sync_to_thread=True, opt={"form": True, "media": "form"})
    def activate(self, request: Request, state: State, location_id: FromPath[str], data: Annotated[TokenForm, Form], db: Database) -> Redirect:
        check_form(request, data.csrf_token)
        with write(db):
            changes.activate(db, request.user, location_id)
        state.places.forget()
        return Redirect(f"/manage/locations/{location_id}/edit?said=activated", status_code=303)

    @post("/regions", sync_to_thread=True, opt={"form": True, "media": "form"})
    def region_add(self, request: Request, state: State, data: Annotated[RegionForm, Form], db: Database) -> Redirect | Template:
        _admin(request)
        check_form(request, data.csrf_token)
        try:
            made = forms.converted(RegionIn, {"id": data.id.strip(), "name": data.name.strip()})
            with write(db):
                changes.add_region(db, request.user, made)
        except ApiError as exc:
            if exc.status != 422:
                raise
            return self._listing(request, state, db, refused=refusal(exc, "region", data, ("id", "name")), status=exc.status)
        return Redirect("/manage/locations?said=region_made", status_code=303)

    @post("/regions/{region_id:str}/rename", sync_to_thread=True, opt={"form": True, "media": "form"})
    def region_rename(self, request: Request, state: State, region_id: FromPath[str], data: Annotated[RegionForm, Form], db: Database) -> Redirect | Template:
        _admin(request)
        check_form(request, data.csrf_token)
        try:
            rename = forms.converted(RegionRename, {"name": data.name.strip()})
            with write(db):
                changes.rename_region(db, request.user, region_id, rename)
        except ApiError as exc:
            if exc.status != 422:
                raise
            return self._listing(request, state, db, refused=refusal(exc, f"rename-{region_id}", data, ("name",)), status=exc.status)
        return Redirect("/manage/locations?said=region_renamed", status_code=303)

    @get("/locations/import", sync_to_thread=True)
    def import_page(self, request: Request, state: State) -> Template:
        """The CSV upload: the command line's `touchpoint locations import`, in the browser."""
        _admin(request)
        return self._import(request, state)

    @staticmethod
    def _import(request: Request, state: State, problems: list[ApiProblem] | None = None, done: locations.Imported | None = None, status: int = 200) -> Template:
        return Template("locations/import.html", status_code=status, context={
            "user": request.user, "csrf": _csrf(request), "problems": problems, "done": done, "columns": ",".join(locations.COLUMNS),
        })

    @post("/locations/import", sync_to_thread=True, opt={"form": True, "media": "multipart"})
    def import_csv(self, request: Request, state: State, data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)], db: Database) -> Template:
        """All rows or none: the problems as a table of row, column and problem; else how many were added and updated."""
        _admin(request)
        check_form(request, data.csrf_token)
        if data.file is None or not data.file.filename:
            return self._import(request, state, [ApiProblem(field="file", message="choose a CSV file")], status=422)
        try:
            text = data.file.file.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            return self._import(request, state, [ApiProblem(field="file", message="expected a CSV file saved as UTF-8")], status=422)
        try:
            rows, lines, problems = locations.parse_csv(text)
            done = locations.import_locations(db, rows, list(state.catalog.brands), lines, problems, actor=request.user.id)
        except ImportRefused as refused:
            return self._import(request, state, refused.problems, status=422)
        state.places.forget()
        return self._import(request, state, done=done)


HANDLERS = [Locations]
