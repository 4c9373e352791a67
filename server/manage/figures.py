"""What the managers' pages show, built from the same rollups and rules as the summary API.

Every figure here is one of the summary API's for the same period, or pooled from the same
tallies: a region's promise-kept rate is the share of its counting audits that kept the promise,
and its pillar score pools its audits' pillar scores (sum over sum), like a location's.
"""

import msgspec
import sqlite_utils

from server.catalog import Catalog
from server.manage.periods import Period
from server.summaries import RegionDetail, region_detail

PROVISIONAL_UNDER = 3  # fewer audits than this in the period: the figures are shown as provisional


class Headline(msgspec.Struct, frozen=True, kw_only=True):
    score: float | None
    consistency: float | None
    kept_rate: float | None
    n: int


class Change(msgspec.Struct, frozen=True, kw_only=True):
    now: Headline
    before: Headline

    def delta(self, field: str) -> float | None:
        a, b = getattr(self.now, field), getattr(self.before, field)
        return None if a is None or b is None else a - b


class PillarRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    score: float | None
    target: float
    n: int


class RankRow(msgspec.Struct, frozen=True, kw_only=True):
    rank: int | None
    location: str
    name: str
    adjusted: float | None
    score: float | None
    n: int
    consistency: float | None
    kept_rate: float | None
    weakest: str | None  # the touchpoint's title

    @property
    def provisional(self) -> bool:
        return self.n < PROVISIONAL_UNDER


class Cell(msgspec.Struct, frozen=True, kw_only=True):
    score: float | None
    n: int

    @property
    def uncertain(self) -> bool:
        return 0 < self.n < PROVISIONAL_UNDER


class Heatmap(msgspec.Struct, frozen=True, kw_only=True):
    touchpoints: list[tuple[str, str]]  # (id, title), in the brand's order
    rows: list[tuple[RankRow, list[Cell]]]  # in ranking order


class RegionPage(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    period: Period
    change: Change
    locations: int
    pillars: list[PillarRow]
    ranking: list[RankRow]
    heatmap: Heatmap


def headline(detail: RegionDetail) -> Headline:
    n = sum(t.n for t in detail.tallies.values())
    kept = sum(t.kept for t in detail.tallies.values())
    return Headline(score=detail.region.score, consistency=detail.region.consistency, kept_rate=kept / n if n else None, n=n)


def region_change(db: sqlite_utils.Database, catalog: Catalog, region: str, period: Period) -> tuple[RegionDetail, Change]:
    detail = region_detail(db, catalog, region, period.start, period.end)
    before = region_detail(db, catalog, region, period.previous().start, period.previous().end)
    return detail, Change(now=headline(detail), before=headline(before))


def region_page(db: sqlite_utils.Database, catalog: Catalog, region: dict, period: Period) -> RegionPage:
    detail, change = region_change(db, catalog, region["id"], period)
    brands = {loc["brand"] for loc in detail.locations}
    brand = catalog.brands[min(brands)] if brands else None  # a region holds one brand's shops (several: the first's pillars)
    titles = {t: c.checklist.title for t, c in brand.checklists.items()} if brand else {}
    names = {loc["id"]: loc["name"] for loc in detail.locations}
    ranking = []
    for position, ranked in enumerate(detail.region.ranking, start=1):
        own = detail.figures[ranked.location]
        ranking.append(RankRow(
            rank=position if ranked.adjusted is not None else None, location=ranked.location, name=names[ranked.location],
            adjusted=ranked.adjusted, score=ranked.score, n=ranked.n, consistency=own.consistency, kept_rate=own.promise_kept_rate,
            weakest=titles.get(own.weakest, own.weakest),
        ))
    pillars = []
    if brand:
        for pillar in brand.brand.pillars:
            count = sum(t.pillars.get(pillar.id, (0, 0.0))[0] for t in detail.tallies.values())
            total = sum(t.pillars.get(pillar.id, (0, 0.0))[1] for t in detail.tallies.values())
            pillars.append(PillarRow(id=pillar.id, name=pillar.name, score=total / count if count else None, target=pillar.target, n=int(count)))
    touchpoints = list(titles.items())
    rows = []
    for row in ranking:
        tally = detail.tallies.get(row.location)
        cells = []
        for touchpoint, _ in touchpoints:
            count, total = tally.touchpoints.get(touchpoint, (0, 0.0)) if tally else (0, 0.0)
            cells.append(Cell(score=total / count if count else None, n=int(count)))
        rows.append((row, cells))
    return RegionPage(
        id=region["id"], name=region["name"], period=period, change=change, locations=len(detail.locations),
        pillars=pillars, ranking=ranking, heatmap=Heatmap(touchpoints=touchpoints, rows=rows),
    )
