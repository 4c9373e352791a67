"""Regions and locations: listing what the caller may see, importing (admins), summaries (managers)."""

import datetime as dt
from typing import Annotated

import msgspec
from sqlite_utils import Database
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter

from server.campaigns import campaigns
from server.locations import summaries
from server.locations import locations
from server.accounts.accounts import User
from server.auth import roles
from server.errors import ErrorCode, invalid
from server.locations.locations import ImportRefused, Location, LocationIn


From = Annotated[dt.date | None, QueryParameter(name="from", description="first day, inclusive (YYYY-MM-DD)")]
To = Annotated[dt.date | None, QueryParameter(description="last day, inclusive (YYYY-MM-DD)")]


class Region(msgspec.Struct, kw_only=True):
    id: str
    name: str
    locations: int


class Imported(msgspec.Struct, kw_only=True):
    imported: int


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
    return locations.listing(db, _visible(request.user))


@get("/api/locations/{location_id:str}", sync_to_thread=True, tags=["places"])
def location_get(request: Request, state: State, location_id: FromPath[str], db: Database) -> Location:
    return locations.location_in_scope(db, request.user, location_id)


@post("/api/locations", opt={"errors": {422: "Rows refused (unknown brand, a bad coordinate): `problems` names each by row and field; nothing was imported"}}, guards=[roles("admin")], sync_to_thread=True, tags=["places"])
def location_import(data: JSONBody[list[LocationIn]], state: State, db: Database) -> Response[Imported]:
    """Add or update locations (regions are made as named): all rows or none."""
    try:
        count = locations.import_locations(db, data, list(state.catalog.brands))
    except ImportRefused as refused:
        raise invalid("no location was imported", refused.problems) from None
    state.places.forget()
    return Response(Imported(imported=count), status_code=201)


def _check_period(start: dt.date | None, end: dt.date | None) -> None:
    if start and end and start > end:
        raise invalid("from is after to", code=ErrorCode.BAD_PERIOD)


@get("/api/locations/{location_id:str}/summary", guards=[roles("admin", "manager", "staff")], opt={"errors": {422: "from is after to"}}, sync_to_thread=True, tags=["scores"])
def location_summary(
    request: Request, state: State, location_id: FromPath[str], db: Database, from_: From = None, to: To = None
) -> summaries.LocationSummary:
    """How one location keeps the promise over the period (all time when from/to are left out)."""
    _check_period(from_, to)
    location = locations.location_in_scope(db, request.user, location_id)
    return summaries.location_summary(db, state.catalog, msgspec.structs.asdict(location), from_, to)


@get("/api/regions/{region_id:str}/summary", guards=[roles("admin", "manager")], opt={"errors": {422: "from is after to"}}, sync_to_thread=True, tags=["scores"])
def region_summary(
    request: Request, state: State, region_id: FromPath[str], db: Database, from_: From = None, to: To = None
) -> summaries.RegionSummary:
    """The region's score and consistency, and the fair ranking of its locations."""
    _check_period(from_, to)
    return summaries.region_summary(db, state.catalog, locations.region_in_scope(db, request.user, region_id), from_, to)


HANDLERS = [region_list, location_list, location_get, location_import, location_summary, region_summary]
