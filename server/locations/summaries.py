"""Location and region summaries over a period, added up from the per-day rollups."""

import datetime as dt

import msgspec
import sqlite_utils

from server import dialect
from server.checklists.catalog import Catalog
from server.checklists.scoring import LocationFigures, RegionFigures, RegionMember, Tally, location_figures, region_figures


class LocationSummary(LocationFigures, kw_only=True):
    """The location's figures (see scoring.LocationFigures), with where, when and its adjusted score."""

    location: str
    name: str
    region: str
    brand: str
    from_: dt.date | None = msgspec.field(name="from")
    to: dt.date | None
    adjusted: float | None


class RankedLocation(msgspec.Struct, kw_only=True):
    rank: int | None
    location: str
    name: str
    score: float | None
    adjusted: float | None
    n: int


class RegionSummary(msgspec.Struct, kw_only=True):
    region: str
    name: str
    from_: dt.date | None = msgspec.field(name="from")
    to: dt.date | None
    score: float | None
    consistency: float | None
    locations: int
    ranking: list[RankedLocation]


def tallies(db: sqlite_utils.Database, region: str, start: dt.date | None, end: dt.date | None) -> dict[str, Tally]:
    """One Tally per audited location of the region over days [start, end]: cum(end) - cum(start - 1)."""
    last = end.isoformat() if end else "9999-12-31"
    before = start.isoformat() if start else "0000-00-00"  # rows with day < `before` are outside
    found: dict[str, Tally] = {}
    for location, kind, key, n, total, total_sq, kept in db.execute(
        f"""WITH bounds AS (
               SELECT k.location, k.kind, k.key,
                      (SELECT max(day) FROM rollups WHERE location = k.location AND kind = k.kind AND key = k.key AND day <= ?) AS hi_day,
                      (SELECT max(day) FROM rollups WHERE location = k.location AND kind = k.kind AND key = k.key AND day < ?) AS lo_day
               FROM locations l {dialect.of(db).ordered_join} rollup_keys k ON k.location = l.id
               WHERE l.region = ?)
           -- SQLite's CROSS JOIN keeps this order: each bound is then one primary-key seek
           SELECT b.location, b.kind, b.key,
                  hi.n - coalesce(lo.n, 0), hi.total - coalesce(lo.total, 0),
                  hi.total_sq - coalesce(lo.total_sq, 0), hi.kept - coalesce(lo.kept, 0)
           FROM bounds b
           {dialect.of(db).ordered_join} rollups hi ON hi.location = b.location AND hi.kind = b.kind AND hi.key = b.key AND hi.day = b.hi_day
           LEFT JOIN rollups lo ON lo.location = b.location AND lo.kind = b.kind AND lo.key = b.key AND lo.day = b.lo_day""",
        [last, before, region],
    ):
        if n <= 0:
            continue
        tally = found.setdefault(location, Tally())
        if kind == "t":  # every counted audit is in exactly one touchpoint
            tally.n += n
            tally.total += total
            tally.total_sq += total_sq
            tally.kept += kept
            tally.touchpoints[key] = [n, total]
        else:
            tally.pillars[key] = [n, total]
    return found


class RegionDetail(msgspec.Struct, kw_only=True):
    """Everything a region's figures over a period come from: its locations (in id order), each
    one's Tally and figures, and the region's figures with the fair ranking."""

    locations: list[dict]
    tallies: dict[str, Tally]
    figures: dict[str, LocationFigures]
    region: RegionFigures


def region_detail(db: sqlite_utils.Database, catalog: Catalog, region: str, start: dt.date | None, end: dt.date | None) -> RegionDetail:
    locations = list(db.query("SELECT id, name, brand FROM locations WHERE region = ? ORDER BY id", [region]))
    counts = tallies(db, region, start, end)
    figures: dict[str, LocationFigures] = {}
    members = []
    for loc in locations:
        brand = catalog.brands[loc["brand"]].brand
        figures[loc["id"]] = location_figures(brand, counts.get(loc["id"], Tally()))
        members.append(RegionMember(location=loc["id"], figures=figures[loc["id"]], credibility_k=brand.credibility_k))
    return RegionDetail(locations=locations, tallies=counts, figures=figures, region=region_figures(members))


def region_summary(db: sqlite_utils.Database, catalog: Catalog, region: dict, start: dt.date | None, end: dt.date | None) -> RegionSummary:
    detail = region_detail(db, catalog, region["id"], start, end)
    names = {loc["id"]: loc["name"] for loc in detail.locations}
    figures = detail.region
    ranking = []
    for position, ranked in enumerate(figures.ranking, start=1):
        ranking.append(
            RankedLocation(rank=position if ranked.adjusted is not None else None, location=ranked.location, name=names[ranked.location], score=ranked.score, adjusted=ranked.adjusted, n=ranked.n)
        )
    return RegionSummary(region=region["id"], name=region["name"], from_=start, to=end, score=figures.score, consistency=figures.consistency, locations=len(detail.locations), ranking=ranking)


def location_summary(db: sqlite_utils.Database, catalog: Catalog, location: dict, start: dt.date | None, end: dt.date | None) -> LocationSummary:
    """The location's figures; `adjusted` pulls its score toward its region's over the same period."""
    return summary_of(region_detail(db, catalog, location["region"], start, end), location, start, end)


def summary_of(detail: RegionDetail, location: dict, start: dt.date | None, end: dt.date | None) -> LocationSummary:
    """The location's summary from its region's detail over the same period (no second tally)."""
    own = detail.figures[location["id"]]
    adjusted = next((r.adjusted for r in detail.region.ranking if r.location == location["id"]), None)
    return LocationSummary(
        **msgspec.structs.asdict(own), location=location["id"], name=location["name"], region=location["region"],
        brand=location["brand"], from_=start, to=end, adjusted=adjusted,
    )
