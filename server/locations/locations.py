"""Locations and regions: imported from CSV or JSON, all rows or none, problems named by line."""

import csv
import io
import math
from typing import Annotated, Any

import msgspec
import sqlite_utils
from msgspec import Meta

from server import leases
from server.accounts.accounts import User
from server.checklists.decode import INVALID, decode
from server.checklists.format import Strict
from server.db import insert, write
from server.errors import ApiProblem, forbidden, not_found
from server.program import history
from server.text import Line

LocationId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.-]+$", description="letters, digits, _ . -")]
COLUMNS = ("id", "name", "region", "brand", "address", "lat", "lng", "kind", "contact")
# A location is a place (a shop, with an address and GPS) or a channel customers reach from anywhere:
# a support phone number, a website, a chat, an e-mail address (its `contact`). A channel has no GPS.
KINDS = ("place", "phone", "website", "chat", "email")
EDITABLE = ("name", "region", "brand", "address", "lat", "lng", "kind", "contact")  # what an edit, an import row or a history row holds
RESERVED = ("import",)  # ids a location may not take: /manage/locations/import is the upload's page


class LocationIn(Strict, kw_only=True):
    id: LocationId
    name: Line(200, least=1)
    region: LocationId
    brand: Line(100) | None = None
    address: Line(500) = ""
    lat: Annotated[float, Meta(ge=-90, le=90)] | None = None
    lng: Annotated[float, Meta(ge=-180, le=180)] | None = None
    kind: str = "place"  # one of KINDS: checked with the row's other problems, so the message names the row
    contact: Line(200) = ""  # a channel's number or address: "+44 20 7946 0000", "https://harbor.example"


class Location(msgspec.Struct, kw_only=True):
    id: str
    name: str
    region: str
    brand: str
    address: str
    lat: float | None
    lng: float | None
    kind: str = "place"
    contact: str = ""
    deactivated_at: str | None = None  # no new visits from then on; its audits and history stay

    @property
    def channel(self) -> bool:
        return self.kind != "place"


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine on a sphere of the Earth's mean radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))


class ImportRefused(Exception):
    def __init__(self, problems: list[ApiProblem]):
        super().__init__("; ".join(_line(p) for p in problems))
        self.problems = problems


def _line(p: ApiProblem) -> str:
    where = " ".join(x for x in (f"line {p.line}" if p.line else "", p.field or "") if x)
    return f"{where}: {p.message}" if where else p.message


def parse_csv(text: str) -> tuple[list[LocationIn], list[int], list[ApiProblem]]:
    """CSV rows -> the sound locations, their line numbers, and the problems of the others.

    A bad header is refused at once (ImportRefused); row problems are returned so that
    `import_locations` can add its own and list them all together."""
    reader = csv.DictReader(io.StringIO(text, newline=""))  # a bare CR ends a line, as in a file opened for csv
    header = reader.fieldnames or []
    problems = []
    missing = [c for c in ("id", "name", "region") if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        message = "; ".join(
            part for part in (
                f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}" if missing else "",
                f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}" if unknown else "",
            ) if part
        )
        raise ImportRefused([ApiProblem(line=1, message=f"{message} (expected {','.join(COLUMNS)}; brand, address, lat, lng, kind, contact may be left out)")])
    rows, lines = [], []
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(ApiProblem(line=line, message=f"more values than the {len(header)} columns"))
            continue
        given = {k: v.strip() for k, v in row.items() if v is not None and v.strip() != ""}
        found: list[tuple[str, str]] = []
        location = decode(given, LocationIn, found, strict=False)  # CSV cells are text: "51.5" is a number
        problems += [ApiProblem(line=line, field=place, message=message) for place, message in found]
        if location is not INVALID:
            rows.append(location)
            lines.append(line)
    if not rows and not problems:
        raise ImportRefused([ApiProblem(message="no rows to import")])
    return rows, lines, problems


def checked(row: LocationIn, brands: list[str]) -> tuple[str | None, list[tuple[str, str]]]:
    """A location's brand (the only one when it names none) and its problems as (field, message):
    the one set of rules for a row of an import, an added location and an edited one."""
    found = []
    brand = row.brand
    if brand is None and len(brands) == 1:
        brand = brands[0]
    if brand is None:
        found.append(("brand", f"expected one of {', '.join(brands)} (there are several brands)"))
    elif brand not in brands:
        found.append(("brand", f"no brand {brand!r} (known: {', '.join(brands)})"))
    if row.id in RESERVED:
        found.append(("id", f"{row.id!r} is taken by a page's address (/manage/locations/{row.id}): choose another id"))
    if (row.lat is None) != (row.lng is None):
        found.append(("lat" if row.lat is None else "lng", "give both lat and lng, or neither"))
    if row.kind not in KINDS:
        found.append(("kind", f"expected one of {', '.join(KINDS)}, got {row.kind!r}"))
    elif row.kind != "place" and row.lat is not None:
        found.append(("lat", f"a {row.kind} channel has no GPS position: leave lat and lng empty"))
    if row.kind != "place" and not row.contact:
        found.append(("contact", f"a {row.kind} channel needs its {'number' if row.kind == 'phone' else 'address'} in contact"))
    return brand, found


class Imported(msgspec.Struct, kw_only=True):
    imported: int  # added + updated
    added: int = 0
    updated: int = 0


def import_locations(
    db: sqlite_utils.Database, rows: list[LocationIn], brands: list[str], lines: list[int] | None = None, problems: list[ApiProblem] | None = None,
    actor: int | None = None,
) -> Imported:
    """Insert or update every row in one transaction, or none: ImportRefused lists every problem
    (those already found in `problems` too), by CSV line when `lines` is given, else by position
    in the list (`[2].brand`). Each added or changed location gets its history row (by `actor`;
None: the command line)."""
    problems = list(problems or [])
    seen: dict[str, int] = {}
    records = []
    for i, row in enumerate(rows):

        def problem(field: str, message: str) -> ApiProblem:
            return ApiProblem(line=lines[i], field=field, message=message) if lines else ApiProblem(field=f"[{i}].{field}", message=message)

        brand, found = checked(row, brands)
        problems += [problem(field, message) for field, message in found]
        if row.id in seen:
            first = seen[row.id]
            problems.append(problem("id", f"{row.id!r} appears twice (first " + (f"on line {lines[first]})" if lines else f"at [{first}])")))
        seen.setdefault(row.id, i)
        records.append({**msgspec.structs.asdict(row), "brand": brand})
    if problems:
        raise ImportRefused(sorted(problems, key=lambda p: p.line or 0))
    with write(db):
        return _store(db, records, actor)


def _store(db: sqlite_utils.Database, records: list[dict], actor: int | None) -> Imported:
    """Insert or update the checked records, with their regions and a history row each (inside the caller's transaction)."""
    known = {r["id"]: r for r in db.query(f"SELECT * FROM locations WHERE id IN ({','.join('?' * len(records))})", [r["id"] for r in records])}
    new_regions = [r for r in dict.fromkeys(r["region"] for r in records) if not db.execute("SELECT 1 FROM regions WHERE id = ?", [r]).fetchone()]
    insert(db, "regions", [{"id": r, "name": r} for r in new_regions])
    for region in new_regions:
        log_region(db, actor, region, "made", None, {"id": region, "name": region}, "by an import")
    insert(db, "locations", records, key=("id",), then="update")
    added = 0
    for record in records:
        before = known.get(record["id"])
        if before is None:
            added += 1
            log_location(db, actor, record["id"], "added", None, fields(record), "by an import")
        else:
            changed = difference(before, record)
            if changed:
                log_location(db, actor, record["id"], "moved" if "region" in changed[0] else "edited", *changed, "by an import")
                if "region" in changed[0]:
                    move_followups(db, record["id"], record["region"])
    return Imported(imported=len(records), added=added, updated=len(records) - added)


PLACES = "places"  # the generation of what the server processes remember of locations (app state `places`)


def fields(record: dict) -> dict:
    """A location's editable fields, for a history row."""
    return {k: record.get(k) for k in EDITABLE}


def difference(before: dict, after: dict) -> tuple[dict, dict] | tuple[()]:
    """(before, after) of the editable fields that changed, or () when none did."""
    changed = [k for k in EDITABLE if before.get(k) != after.get(k)]
    return ({k: before.get(k) for k in changed}, {k: after.get(k) for k in changed}) if changed else ()


def log_location(db: sqlite_utils.Database, actor: int | None, location: str, action: str, before: Any, after: Any, note: str = "") -> None:
    """Every change of a location is logged here, in its transaction: and every server process's
    memory of where locations are (PLACES) is told to forget."""
    history.log(db, actor, "location", location, action, before, after, note)
    leases.bump(db, PLACES)


def log_region(db: sqlite_utils.Database, actor: int | None, region: str, action: str, before: Any, after: Any, note: str = "") -> None:
    history.log(db, actor, "region", region, action, before, after, note)


def move_followups(db: sqlite_utils.Database, location: str, region: str) -> None:
    """A moved location's follow-up actions go with it: the new region's managers see them."""
    db.execute("UPDATE actions SET region = ? WHERE location = ?", [region, location])


def get(db: sqlite_utils.Database, location_id: str) -> Location | None:
    row = next(db.query("SELECT * FROM locations WHERE id = ?", [location_id]), None)
    return None if row is None else Location(**row)



def listing(db: sqlite_utils.Database, regions: frozenset[str] | None, active_only: bool = False) -> list[Location]:
    """All locations, or those in `regions`; `active_only`: leaving out the deactivated (where no new visit starts)."""
    active = " AND deactivated_at IS NULL" if active_only else ""
    if regions is None:
        rows = db.query(f"SELECT * FROM locations WHERE true{active} ORDER BY region, id")
    else:
        marks = ",".join("?" * len(regions))
        rows = db.query(f"SELECT * FROM locations WHERE region IN ({marks}){active} ORDER BY region, id", sorted(regions))
    return [Location(**r) for r in rows]


def region_in_scope(db: sqlite_utils.Database, user: User, region_id: str) -> dict:
    """The region's row, if the user may see it: 404 when there is none, 403 when it is not theirs."""
    row = next(db.query("SELECT * FROM regions WHERE id = ?", [region_id]), None)
    if row is None:
        raise not_found("region", region_id)
    if not user.sees_region(region_id):
        raise forbidden(f"region {region_id!r} is not one of yours")
    return row


def location_in_scope(db: sqlite_utils.Database, user: User, location_id: str) -> Location:
    """The location, if the user may see its region: 404 when there is none, 403 when it is not theirs."""
    location = get(db, location_id)
    if location is None:
        raise not_found("location", location_id)
    if not user.sees_location(location.id, location.region):
        raise forbidden(f"location {location_id!r} is not yours" if user.role == "staff" else f"location {location_id!r} is in region {location.region!r}, which is not one of yours")
    return location


def regions(db: sqlite_utils.Database) -> list[dict]:
    """Every region: id, name and how many locations it holds."""
    return list(db.query("SELECT r.id, r.name, COUNT(l.id) AS locations FROM regions r LEFT JOIN locations l ON l.region = r.id GROUP BY r.id ORDER BY r.id"))


def regions_seen(db: sqlite_utils.Database, user: User) -> list[dict]:
    """The regions `user` sees (id, name), by name: for a form's choices."""
    return [r for r in db.query("SELECT id, name FROM regions ORDER BY name") if user.sees_region(r["id"])]


def places_seen(db: sqlite_utils.Database, user: User) -> list[dict]:
    """The locations in the regions `user` sees (id, name, region, brand), by name: for a form's choices."""
    return [r for r in db.query("SELECT id, name, region, brand FROM locations ORDER BY name") if user.sees_region(r["region"])]


def region_row(db: sqlite_utils.Database, region_id: str) -> dict:
    """A region's row (id, name), unchecked: for a page that checked its reader's scope otherwise."""
    return next(db.query("SELECT * FROM regions WHERE id = ?", [region_id]))
