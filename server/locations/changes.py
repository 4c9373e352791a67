"""Changing locations and regions one at a time (the managers' page and the JSON API): search, add,
edit, move to another region, deactivate and activate; regions made and renamed. Each change is
one history row (kind "location" or "region": who, when, before, after) in the caller's write
transaction.

Who may: admins every location and region; a manager the locations of their regions, never
moving one outside them; regions are made and renamed by admins only (see `may_change`).

Moving a location to another region moves its past audits with it: a region's figures are those
of the locations it holds now (summaries.tallies joins the rollups on the location's current
region), which is what a manager comparing regions today expects. Its follow-up actions move too.
"""

import datetime as dt
from typing import Annotated

import msgspec
import sqlite_utils
from msgspec import Meta

from server.db import insert, update
from server.accounts.accounts import User
from server.checklists.format import Strict
from server.errors import ApiProblem, conflict, forbidden, invalid, not_found
from server.locations.locations import EDITABLE, Location, LocationId, LocationIn, checked, difference, fields, get, log_location, log_region, move_followups
from server.program import history
from server.search import search_clause
from server.text import Line, Prose

PAGE = 50  # locations on one page of the list
Lat = Annotated[float, Meta(ge=-90, le=90)]
Lng = Annotated[float, Meta(ge=-180, le=180)]


class LocationChange(Strict, kw_only=True):
    """The fields to change; those left out stay as they are (null clears lat and lng)."""

    name: Line(200, least=1) | msgspec.UnsetType = msgspec.UNSET
    region: LocationId | msgspec.UnsetType = msgspec.UNSET
    brand: Line(100) | msgspec.UnsetType = msgspec.UNSET
    address: Line(500) | msgspec.UnsetType = msgspec.UNSET
    lat: Lat | None | msgspec.UnsetType = msgspec.UNSET
    lng: Lng | None | msgspec.UnsetType = msgspec.UNSET
    kind: str | msgspec.UnsetType = msgspec.UNSET
    contact: Line(200) | msgspec.UnsetType = msgspec.UNSET


class DeactivateIn(Strict, kw_only=True):
    note: Prose(2000) = ""  # why: it goes with each cancelled assignment's history too


class RegionIn(Strict, kw_only=True):
    id: LocationId
    name: Line(200, least=1)


class RegionRename(Strict, kw_only=True):
    name: Line(200, least=1)


class Region(msgspec.Struct, kw_only=True):
    id: str
    name: str
    locations: int


class Deactivated(msgspec.Struct, kw_only=True):
    location: Location
    cancelled: list[str]  # the open assignments cancelled with it


class Found(msgspec.Struct, kw_only=True):
    locations: list[Location]
    total: int  # matching, over every page
    offset: int


def may_change(user: User, region: str) -> bool:
    """Whether `user` may add, edit, deactivate or activate a location of `region` (or move one into it)."""
    return user.role == "admin" or (user.role == "manager" and region in user.regions)


def _mine(user: User, location: Location) -> None:
    if not may_change(user, location.region):
        raise forbidden(f"location {location.id!r} is in region {location.region!r}, which is not one of yours")


def search(db: sqlite_utils.Database, user: User, q: str = "", region: str | None = None, kind: str | None = None,
           active: bool | None = None, offset: int = 0, limit: int = PAGE) -> Found:
    """The locations `user` manages that match: `q` in the id, name or address (any case), of a
    region, of a kind, active or not; by name, a page at a time."""
    from server.visibility import in_regions

    scope, params = in_regions(user, "region") if user.role != "admin" else ("true", [])
    where, args = [scope], list(params)
    if q.strip():
        clause, found = search_clause(["id", "name", "address"], q)
        where.append(clause)
        args += found
    for clause, value in (("region = ?", region), ("kind = ?", kind)):
        if value:
            where.append(clause)
            args.append(value)
    if active is not None:
        where.append("deactivated_at IS NULL" if active else "deactivated_at IS NOT NULL")
    sql = " AND ".join(where)
    total = db.execute(f"SELECT count(*) FROM locations WHERE {sql}", args).fetchone()[0]
    rows = db.query(f"SELECT * FROM locations WHERE {sql} ORDER BY lower(name), id LIMIT ? OFFSET ?", [*args, limit, offset])
    return Found(locations=[Location(**r) for r in rows], total=total, offset=offset)


def _problems(db: sqlite_utils.Database, user: User, row: LocationIn, brands: list[str]) -> tuple[str | None, list[ApiProblem]]:
    brand, found = checked(row, brands)
    problems = [ApiProblem(field=field, message=message) for field, message in found]
    if not db.execute("SELECT 1 FROM regions WHERE id = ?", [row.region]).fetchone():
        problems.append(ApiProblem(field="region", message=f"no region {row.region!r}: an admin makes it first"))
    elif not may_change(user, row.region):
        problems.append(ApiProblem(field="region", message=f"region {row.region!r} is not one of yours"))
    return brand, problems


def add(db: sqlite_utils.Database, user: User, row: LocationIn, brands: list[str]) -> Location:
    """Add one location, in a region that exists and `user` manages: 422 naming each field, 409 for an id in use."""
    brand, problems = _problems(db, user, row, brands)
    if get(db, row.id) is not None:
        problems.insert(0, ApiProblem(field="id", message=f"{row.id!r} is the id of a location already: choose another"))
    if problems:
        raise invalid(f"location refused: {len(problems)} problem{'s' if len(problems) > 1 else ''}; nothing was saved", problems)
    record = {**msgspec.structs.asdict(row), "brand": brand}
    insert(db, "locations", record)
    log_location(db, user.id, row.id, "added", None, fields(record))
    return get(db, row.id)


def edit(db: sqlite_utils.Database, user: User, location_id: str, change: LocationChange, brands: list[str]) -> Location:
    """Change a location's fields (those given): the same checks as an import's row, its region one
    `user` manages, and its brand kept once it has audits (its figures are of that brand's promise)."""
    now = _location(db, location_id)
    _mine(user, now)
    given = {k: v for k, v in msgspec.structs.asdict(change).items() if v is not msgspec.UNSET}
    if "lat" in given and "lng" not in given and given["lat"] is None:
        given["lng"] = None  # clearing one clears the position
    record = {**{k: getattr(now, k) for k in EDITABLE}, **given}
    row = LocationIn(id=now.id, **record)
    if record["region"] != now.region:  # a move: into a region that exists and is the user's too
        brand, problems = _problems(db, user, row, brands)
    else:
        brand, found = checked(row, brands)
        problems = [ApiProblem(field=field, message=message) for field, message in found]
    if brand != now.brand and not any(p.field == "brand" for p in problems):
        audited = db.execute("SELECT count(*) FROM audits WHERE location = ?", [now.id]).fetchone()[0]
        if audited:
            problems.append(ApiProblem(field="brand", message=f"it has {audited} audit{'s' if audited > 1 else ''} against brand {now.brand!r}: a location keeps its brand once audited"))
    if problems:
        raise invalid(f"location refused: {len(problems)} problem{'s' if len(problems) > 1 else ''}; nothing was saved", problems)
    record["brand"] = brand
    changed = difference(fields(msgspec.structs.asdict(now)), record)
    if not changed:
        return now
    update(db, "locations", {"id": now.id}, record)
    moved = "region" in changed[0]
    log_location(db, user.id, now.id, "moved" if moved else "edited", *changed)
    if moved:
        move_followups(db, now.id, record["region"])
    return get(db, now.id)


def deactivate(db: sqlite_utils.Database, user: User, location_id: str, note: str = "") -> Deactivated:
    """No new visits there from now on: auditors no longer get it, no visit is planned there, and its
    open assignments are cancelled with a note (through assignments.cancel, history and all). Its
    audits, actions and history stay, and audits done there before still arrive and count."""
    from server.program import assignments

    now = _location(db, location_id)
    _mine(user, now)
    if now.deactivated_at:
        raise conflict(f"location {location_id!r} was deactivated on {now.deactivated_at[:10]} already")
    at = dt.datetime.now(dt.UTC).isoformat()
    db.execute("UPDATE locations SET deactivated_at = ? WHERE id = ?", [at, now.id])
    log_location(db, user.id, now.id, "deactivated", {"active": True}, {"active": False}, note)
    open_ones = [i for (i,) in db.execute("SELECT id FROM assignments WHERE location = ? AND cancelled_at IS NULL AND done_at IS NULL ORDER BY id", [now.id])]
    for assignment in open_ones:
        assignments.cancel(db, user, assignment, f"its location {now.id} was deactivated" + (f": {note}" if note else ""))
    return Deactivated(location=get(db, now.id), cancelled=open_ones)


def activate(db: sqlite_utils.Database, user: User, location_id: str) -> Location:
    """Open it for visits again (the assignments cancelled with its deactivation stay cancelled)."""
    now = _location(db, location_id)
    _mine(user, now)
    if not now.deactivated_at:
        raise conflict(f"location {location_id!r} is active already")
    db.execute("UPDATE locations SET deactivated_at = NULL WHERE id = ?", [now.id])
    log_location(db, user.id, now.id, "activated", {"active": False}, {"active": True})
    return get(db, now.id)


def _location(db: sqlite_utils.Database, location_id: str) -> Location:
    found = get(db, location_id)
    if found is None:
        raise not_found("location", location_id)
    return found


def _admin(user: User) -> None:
    if user.role != "admin":
        raise forbidden("regions are made and renamed by admins")


def region(db: sqlite_utils.Database, region_id: str) -> Region:
    row = next(db.query("SELECT r.id, r.name, (SELECT count(*) FROM locations WHERE region = r.id) AS locations FROM regions r WHERE r.id = ?", [region_id]), None)
    if row is None:
        raise not_found("region", region_id)
    return Region(**row)


def add_region(db: sqlite_utils.Database, user: User, made: RegionIn) -> Region:
    """A new region (admins): its id never changes, since it is in addresses and exports; its name may."""
    _admin(user)
    if db.execute("SELECT 1 FROM regions WHERE id = ?", [made.id]).fetchone():
        raise invalid("region refused; nothing was saved", [ApiProblem(field="id", message=f"{made.id!r} is the id of a region already: choose another")])
    insert(db, "regions", {"id": made.id, "name": made.name})
    log_region(db, user.id, made.id, "made", None, {"id": made.id, "name": made.name})
    return region(db, made.id)


def rename_region(db: sqlite_utils.Database, user: User, region_id: str, rename: RegionRename) -> Region:
    _admin(user)
    now = region(db, region_id)
    if rename.name != now.name:
        db.execute("UPDATE regions SET name = ? WHERE id = ?", [rename.name, region_id])
        log_region(db, user.id, region_id, "renamed", {"name": now.name}, {"name": rename.name})
    return region(db, region_id)
