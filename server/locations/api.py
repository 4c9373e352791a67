"""Regions and locations: listing what the caller may see, importing (admins), summaries (managers)."""

import datetime as dt
from typing import Annotated

import msgspec
from server.db import Database
from litestar import Request, Response, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from server.campaigns import campaigns
from server.db import write
from server.locations import changes, summaries
from server.locations import locations
from server.locations.changes import Deactivated, LocationChange, RegionIn, RegionRename
from server.accounts.accounts import User
from server.auth import roles
from server.errors import ErrorCode, invalid
from server.locations.locations import ImportRefused, Imported, Location, LocationIn


From = Annotated[dt.date | None, QueryParameter(name="from", description="first day, inclusive (YYYY-MM-DD)")]
To = Annotated[dt.date | None, QueryParameter(description="last day, inclusive (YYYY-MM-DD)")]


class Region(msgspec.Struct, kw_only=True):
    id: str
    name: str
    locations: int


def _visible(user: User) -> frozenset[str] | None:
    """The regions a user may see, or None for all (staff: none; they see their location)."""
    return None if user.role == "admin" or (user.role == "auditor" and not user.regions) else user.regions


@get("/api/regions", sync_to_thread=True, tags=["places"])
def region_list(request: Request, state: State, db: Database) -> list[Region]:
    visible = _visible(request.user)
    rows = locations.regions(db)
    return [Region(**r) for r in rows if visible is None or r["id"] in visible]


@get("/api/locations", sync_to_thread=True, tags=["places"])
def location_list(request: Request, state: State, db: Database) -> list[Location]:
    """The locations the caller may see: an auditor's are the ones they may audit; staff their own."""
    if request.user.role == "staff":
        return [locations.get(db, request.user.location)]
    if request.user.role == "participant":  # the channels of their campaign, nothing else
        return [locations.get(db, location) for location in campaigns.channel_locations(db, request.user.campaign)]
    # an auditor's list is where a visit may start: a deactivated location is left out of it
    return locations.listing(db, _visible(request.user), active_only=request.user.role == "auditor")


@get("/api/locations/{location_id:str}", sync_to_thread=True, tags=["places"])
def location_get(request: Request, state: State, location_id: FromPath[str], db: Database) -> Location:
    return locations.location_in_scope(db, request.user, location_id)


@post("/api/locations", opt={"errors": {422: "Rows refused (unknown brand, a bad coordinate): `problems` names each by row and field; nothing was imported"}}, guards=[roles("admin")], sync_to_thread=True, tags=["places"])
def location_import(data: JSONBody[list[LocationIn]], request: Request, state: State, db: Database) -> Response[Imported]:
    """Add or update locations (regions are made as named): all rows or none."""
    try:
        count = locations.import_locations(db, data, list(state.catalog.brands), actor=request.user.id)
    except ImportRefused as refused:
        raise invalid("no location was imported", refused.problems) from None
    state.places.forget()
    return Response(count, status_code=201)


PLACE_ERRORS = {403: "The location is in a region that is not yours (managers), or the change would move it there", 404: "No such location"}


@patch("/api/locations/{location_id:str}", guards=[roles("admin", "manager")], sync_to_thread=True, tags=["places"],
       opt={"errors": {**PLACE_ERRORS, 422: "A field refused (the import's row rules; a brand changed once audited; a region not yours or not made): nothing was saved"}})
def location_edit(data: JSONBody[LocationChange], request: Request, state: State, location_id: FromPath[str], db: Database) -> Location:
    """Change a location's fields (those given; the rest stay). A new `region` moves it, its past audits with it (see the README)."""
    with write(db):
        changed = changes.edit(db, request.user, location_id, data, list(state.catalog.brands))
    state.places.forget()
    return changed


@post("/api/locations/{location_id:str}/deactivate", guards=[roles("admin", "manager")], sync_to_thread=True, tags=["places"], status_code=200,
      opt={"errors": {**PLACE_ERRORS, 409: "Deactivated already"}})
def location_deactivate(request: Request, state: State, location_id: FromPath[str], db: Database) -> Response[Deactivated]:
    """No new visits there: auditors no longer get it, and its open assignments are cancelled (listed in `cancelled`)."""
    with write(db):
        done = changes.deactivate(db, request.user, location_id)
    state.places.forget()
    return Response(done, status_code=200)


@post("/api/locations/{location_id:str}/activate", guards=[roles("admin", "manager")], sync_to_thread=True, tags=["places"], status_code=200,
      opt={"errors": {**PLACE_ERRORS, 409: "Active already"}})
def location_activate(request: Request, state: State, location_id: FromPath[str], db: Database) -> Response[Location]:
    with write(db):
        done = changes.activate(db, request.user, location_id)
    state.places.forget()
    return Response(done, status_code=200)


@post("/api/regions", guards=[roles("admin")], sync_to_thread=True, tags=["places"], opt={"errors": {422: "An id already used, or a field refused"}})
def region_add(data: JSONBody[RegionIn], request: Request, db: Database) -> Response[changes.Region]:
    """Make a region: its id never changes (it is in addresses and exports), its name may."""
    with write(db):
        return Response(changes.add_region(db, request.user, data), status_code=201)


@patch("/api/regions/{region_id:str}", guards=[roles("admin")], sync_to_thread=True, tags=["places"], opt={"errors": {404: "No such region"}})
def region_rename(data: JSONBody[RegionRename], request: Request, region_id: FromPath[str], db: Database) -> changes.Region:
    with write(db):
        return changes.rename_region(db, request.user, region_id, data)


def _check_period(start: dt.date | None, end: dt.date | None) -> None:
    if start and end and start > end:
        raise invalid("from is after to", code=ErrorCode.BAD_PERIOD)


@get("/api/locations/{location_id:str}/summary", guards=[roles("admin", "manager", "staff")], opt={"errors": {422: "from is after to"}, "standby": True}, sync_to_thread=True, tags=["scores"])
def location_summary(
    request: Request, state: State, location_id: FromPath[str], db: Database, from_: From = None, to: To = None
) -> summaries.LocationSummary:
    """How one location keeps the promise over the period (all time when from/to are left out)."""
    _check_period(from_, to)
    location = locations.location_in_scope(db, request.user, location_id)
    return summaries.location_summary(db, state.catalog, msgspec.structs.asdict(location), from_, to)


@get("/api/regions/{region_id:str}/summary", guards=[roles("admin", "manager")], opt={"errors": {422: "from is after to"}, "standby": True}, sync_to_thread=True, tags=["scores"])
def region_summary(
    request: Request, state: State, region_id: FromPath[str], db: Database, from_: From = None, to: To = None
) -> summaries.RegionSummary:
    """The region's score and consistency, and the fair ranking of its locations."""
    _check_period(from_, to)
    return summaries.region_summary(db, state.catalog, locations.region_in_scope(db, request.user, region_id), from_, to)


HANDLERS = [region_list, location_list, location_get, location_import, location_edit, location_deactivate, location_activate, region_add, region_rename,
            location_summary, region_summary]
