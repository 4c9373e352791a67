"""Location and region summaries over a period, added up from the per-day rollups."""

import datetime as dt

import msgspec
import sqlite_utils

from server.catalog import Catalog
from server.scoring import LocationFigures, PillarFigure, RegionMember, Tally, location_figures, region_figures


class LocationSummary(msgspec.Struct, kw_only=True):
    location: str
    name: str
    region: str
    brand: str
    from_: dt.date | None = msgspec.field(name="from")
    to: dt.date | None
    n: int
    score: float | None
    adjusted: float | None
    touchpoints: dict[str, float]
    consistency: float | None
    spread: float | None
    weakest: str | None
    promise_kept_rate: float | None
    pillars: dict[str, PillarFigure]


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


def _period(start: dt.date | None, end: dt.date | None) -> tuple[str, str]:
    return (start.isoformat() if start else "0000-01-01", end.isoformat() if end else "9999-12-31")


def tallies(db: sqlite_utils.Database, region: str, start: dt.date | None, end: dt.date | None) -> dict[str, Tally]:
    """One Tally per location of the region, from the rollups of days in [start, end]."""
    first, last = _period(start, end)
    found: dict[str, Tally] = {}
    for location, touchpoint, n, total, total_sq, kept in db.execute(
        """SELECT r.location, r.touchpoint, SUM(r.n), SUM(r.total), SUM(r.total_sq), SUM(r.kept)
           FROM rollup_touchpoints r JOIN locations l ON l.id = r.location
           WHERE l.region = ? AND r.day BETWEEN ? AND ? GROUP BY r.location, r.touchpoint""",
        [region, first, last],
    ):
        tally = found.setdefault(location, Tally(touchpoints={}, pillars={}))
        tally.n += n
        tally.total += total
        tally.total_sq += total_sq
        tally.kept += kept
        tally.touchpoints[touchpoint] = [n, total]
    for location, pillar, n, total in db.execute(
        """SELECT r.location, r.pillar, SUM(r.n), SUM(r.total)
           FROM rollup_pillars r JOIN locations l ON l.id = r.location
           WHERE l.region = ? AND r.day BETWEEN ? AND ? GROUP BY r.location, r.pillar""",
        [region, first, last],
    ):
        found.setdefault(location, Tally(touchpoints={}, pillars={})).pillars[pillar] = [n, total]
    return found


def _figures(db: sqlite_utils.Database, catalog: Catalog, region: str, start, end):
    locations = list(db.query("SELECT id, name, brand FROM locations WHERE region = ? ORDER BY id", [region]))
    counts = tallies(db, region, start, end)
    figures: dict[str, LocationFigures] = {}
    members = []
    for loc in locations:
        brand = catalog.brands[loc["brand"]].brand
        figures[loc["id"]] = location_figures(brand, counts.get(loc["id"], Tally(touchpoints={}, pillars={})))
        members.append(RegionMember(location=loc["id"], figures=figures[loc["id"]], credibility_k=brand.credibility_k))
    return locations, figures, region_figures(members)


def region_summary(db: sqlite_utils.Database, catalog: Catalog, region: dict, start: dt.date | None, end: dt.date | None) -> RegionSummary:
    locations, _, figures = _figures(db, catalog, region["id"], start, end)
    names = {loc["id"]: loc["name"] for loc in locations}
    ranking = []
    for position, ranked in enumerate(figures.ranking, start=1):
        ranking.append(
            RankedLocation(rank=position if ranked.adjusted is not None else None, location=ranked.location, name=names[ranked.location], score=ranked.score, adjusted=ranked.adjusted, n=ranked.n)
        )
    return RegionSummary(region=region["id"], name=region["name"], from_=start, to=end, score=figures.score, consistency=figures.consistency, locations=len(locations), ranking=ranking)


def location_summary(db: sqlite_utils.Database, catalog: Catalog, location: dict, start: dt.date | None, end: dt.date | None) -> LocationSummary:
    """The location's figures; `adjusted` pulls its score toward its region's over the same period."""
    _, figures, region = _figures(db, catalog, location["region"], start, end)
    own = figures[location["id"]]
    adjusted = next((r.adjusted for r in region.ranking if r.location == location["id"]), None)
    return LocationSummary(
        location=location["id"], name=location["name"], region=location["region"], brand=location["brand"], from_=start, to=end,
        n=own.n, score=own.score, adjusted=adjusted, touchpoints=own.touchpoints, consistency=own.consistency, spread=own.spread,
        weakest=own.weakest, promise_kept_rate=own.promise_kept_rate, pillars=own.pillars,
    )
