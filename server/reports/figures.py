"""What the managers' pages show, built from the same rollups and rules as the summary API.

Every figure here is one of the summary API's for the same period, or pooled from the same
tallies: a region's promise-kept rate is the share of its counting audits that kept the promise,
and its pillar score pools its audits' pillar scores (sum over sum), like a location's.
"""

import datetime as dt

import msgspec
import sqlite_utils

from server import dialect
from server.audits.audits import AuditListed, listing
from server.checklists import versions
from server.checklists.catalog import Catalog
from server.reports.periods import Period
from server.checklists.scoring import Tally, location_figures
from server.locations.summaries import LocationSummary, RegionDetail, region_detail, summary_of

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


class Month(msgspec.Struct, frozen=True, kw_only=True):
    start: dt.date
    end: dt.date
    score: float | None  # the location's
    consistency: float | None
    n: int
    region: float | None  # the region's score that month
    changed: list[str] = []  # titles of the brand's checklists changed that month in a way that breaks comparison with history


class LocationPage(msgspec.Struct, frozen=True, kw_only=True):
    summary: LocationSummary
    region_name: str
    period: Period
    threshold: float
    touchpoints: list[PillarRow]  # each touchpoint's score against the brand's threshold, in the brand's order
    pillars: list[PillarRow]
    months: list[Month]
    audits: list[AuditListed]

    @property
    def provisional(self) -> bool:
        return self.summary.n < PROVISIONAL_UNDER


def months_back(end: dt.date, count: int) -> list[tuple[dt.date, dt.date]]:
    """The `count` calendar months up to and including `end`'s, oldest first; the last ends at `end`."""
    spans = []
    year, month = end.year, end.month
    for _ in range(count):
        first = dt.date(year, month, 1)
        last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1))
        spans.append((first, min(last, end)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return spans[::-1]


def _region_months(db: sqlite_utils.Database, region: str, first: str, last: str) -> dict[str, float]:
    """The region's score in each whole month from `first` to `last` (YYYY-MM): the spec's S_R over
    S_L, the mean of each location's touchpoint means, added up by SQLite over the monthly rollups
    (tests check it equals scoring.region_score over the same month's tallies)."""
    return dict(db.execute(
        f"""SELECT month, AVG(score) FROM (
               SELECT m.month, m.location, AVG(m.total / m.n) AS score
               FROM locations l {dialect.of(db).ordered_join} rollup_months m ON m.location = l.id AND m.kind = 't' AND m.month BETWEEN ? AND ?
               WHERE l.region = ? AND m.n > 0 GROUP BY m.month, m.location) AS per_location
           GROUP BY month""",
        [first, last, region],
    ).fetchall())


def _location_months(db: sqlite_utils.Database, location: str, first: str, last: str) -> dict[str, Tally]:
    """The location's own Tally (touchpoints only) in each whole month from `first` to `last` (YYYY-MM)."""
    found: dict[str, Tally] = {}
    for month, key, n, total, total_sq, kept in db.execute(
        "SELECT month, key, n, total, total_sq, kept FROM rollup_months WHERE location = ? AND kind = 't' AND month BETWEEN ? AND ? AND n > 0",
        [location, first, last],
    ):
        tally = found.setdefault(month, Tally())
        tally.n += n
        tally.total += total
        tally.total_sq += total_sq
        tally.kept += kept
        tally.touchpoints[key] = [n, total]
    return found


def monthly_trend(db: sqlite_utils.Database, catalog: Catalog, location: dict, spans: list[tuple[dt.date, dt.date]]) -> list[Month]:
    """The location's score and consistency and its region's score, month by month: whole months
    from the monthly rollups; a last month cut short by the period's end from the daily ones. Each
    month names the brand's checklists published then with a change that breaks comparison with
    history (server/checklists/diff.py): the charts mark it "checklist changed"."""
    brand = catalog.brands[location["brand"]].brand
    whole = [(first.isoformat()[:7], (first, last)) for first, last in spans if (last + dt.timedelta(days=1)).day == 1]
    own_months, region_months = {}, {}
    if whole:
        own_months = _location_months(db, location["id"], whole[0][0], whole[-1][0])
        region_months = _region_months(db, location["region"], whole[0][0], whole[-1][0])
    marked = versions.marked_changes(db, location["brand"])
    trend = []
    for first, last in spans:
        month = first.isoformat()[:7]
        if (month, (first, last)) in whole:
            own, region = location_figures(brand, own_months.get(month, Tally())), region_months.get(month)
        else:
            detail = region_detail(db, catalog, location["region"], first, last)
            own, region = detail.figures[location["id"]], detail.region.score
        changed = list(dict.fromkeys(m.title for m in marked if first <= m.day <= last))
        trend.append(Month(start=first, end=last, score=own.score, consistency=own.consistency, n=own.n, region=region, changed=changed))
    return trend


def location_page(db: sqlite_utils.Database, catalog: Catalog, location: dict, region_name: str, period: Period, months: int = 24,
                  auditor: tuple[str, list] = ("u.name", [])) -> LocationPage:
    """A location's figures, trend and counting audits; `auditor` names auditors as the reader may see them."""
    detail = region_detail(db, catalog, location["region"], period.start, period.end)
    summary = summary_of(detail, location, period.start, period.end)
    brand = catalog.brands[location["brand"]]
    tally = detail.tallies.get(location["id"], Tally())
    touchpoints = []
    for touchpoint, loaded in brand.checklists.items():
        count, total = tally.touchpoints.get(touchpoint, (0, 0.0))
        touchpoints.append(PillarRow(id=touchpoint, name=loaded.checklist.title, score=total / count if count else None, target=brand.brand.threshold, n=int(count)))
    pillars = [PillarRow(id=p.id, name=p.name, score=summary.pillars[p.id].score, target=p.target, n=int(tally.pillars.get(p.id, (0, 0))[0]))
               for p in brand.brand.pillars]
    trend = monthly_trend(db, catalog, location, months_back(period.end, months))
    listed = listing(db, ["a.location = ?", "a.day >= ?", "a.day <= ?", "a.counts = 1"], [location["id"], period.start.isoformat(), period.end.isoformat()], 200, 0, auditor)
    return LocationPage(summary=summary, region_name=region_name, period=period, threshold=brand.brand.threshold,
                        touchpoints=touchpoints, pillars=pillars, months=trend, audits=listed.items)


class ItemFailure(msgspec.Struct, frozen=True, kw_only=True):
    touchpoint: str  # title
    item: str
    text: str
    pillars: list[str]
    critical: bool
    applicable: int  # scored answers in the period
    failed: int  # of them with f < 1
    locations_failed: int
    cost: float  # points lost: sum of possible - earned
    cumulative: float  # share of all points lost, this item and those above it (0..1)

    @property
    def share(self) -> float:
        return self.failed / self.applicable if self.applicable else 0.0


class ItemsPage(msgspec.Struct, frozen=True, kw_only=True):
    scope: str  # "East" or "the whole brand"
    period: Period
    locations: int  # audited in the period, in scope
    items: list[ItemFailure]


def _item_sums_from_answers(db: sqlite_utils.Database, regions: list[str], period: Period) -> list[tuple]:
    """(brand, checklist, item, applicable, failed, locations failed, cost) over the regions' answers."""
    return list(db.execute(
        f"""SELECT a.brand, a.checklist, x.item, COUNT(*), COUNT(*) FILTER (WHERE x.f < 1), COUNT(DISTINCT CASE WHEN x.f < 1 THEN a.location END),
                   SUM(x.possible - x.earned)
            FROM locations l JOIN audits a ON a.location = l.id JOIN answers x ON x.audit = a.seq
            WHERE l.region IN ({','.join('?' * len(regions))}) AND a.day >= ? AND a.day <= ? AND x.f IS NOT NULL AND a.counts = 1
            GROUP BY a.brand, a.checklist, x.item""",
        [*regions, period.start.isoformat(), period.end.isoformat()]))


def _item_sums_from_rollups(db: sqlite_utils.Database, period: Period) -> list[tuple]:
    """The same over every location, from the daily item rollups ingest keeps (no answer is read)."""
    days = [period.start.isoformat(), period.end.isoformat()]
    where_failed = {(b, c, i): n for b, c, i, n in db.execute(
        "SELECT brand, checklist, item, COUNT(DISTINCT location) FROM item_failures WHERE day >= ? AND day <= ? GROUP BY brand, checklist, item", days)}
    return [(b, c, i, applicable, failed, where_failed.get((b, c, i), 0), cost) for b, c, i, applicable, failed, cost in db.execute(
        "SELECT brand, checklist, item, SUM(applicable), SUM(failed), SUM(cost) FROM item_days WHERE day >= ? AND day <= ? GROUP BY brand, checklist, item", days)]


def items_page(db: sqlite_utils.Database, catalog: Catalog, regions: list[str] | None, scope: str, period: Period, limit: int = 30) -> ItemsPage:
    """The items that cost the most points in scope (None: every region), with how widely they fail.

    A failure is a scored answer with f < 1; the points it cost are weight x (1 - f). A region's
    come from its answers; the whole brand's from the daily item rollups (tests check they agree)."""
    rows = _item_sums_from_rollups(db, period) if regions is None else _item_sums_from_answers(db, regions, period)
    in_scope = "" if regions is None else f"WHERE l.region IN ({','.join('?' * len(regions))})"
    audited = db.execute(
        f"SELECT COUNT(*) FROM locations l {in_scope} {'AND' if in_scope else 'WHERE'} EXISTS (SELECT 1 FROM audits a WHERE a.location = l.id AND a.day >= ? AND a.day <= ? AND a.counts = 1)",
        [*(regions or []), period.start.isoformat(), period.end.isoformat()]).fetchone()[0]
    total = sum(r[6] for r in rows) or 1.0
    found = []
    for brand_id, touchpoint, item_id, applicable, failed, where_failed, cost in sorted(rows, key=lambda r: (-r[6], -r[4], r[2])):
        if not failed:
            continue
        brand = catalog.brands.get(brand_id)
        loaded = brand.checklists.get(touchpoint) if brand else None
        item = next((i for i in loaded.checklist.items() if i.id == item_id), None) if loaded else None
        pillar_names = {p.id: p.name for p in brand.brand.pillars} if brand else {}
        found.append(ItemFailure(
            touchpoint=loaded.checklist.title if loaded else touchpoint, item=item_id, text=item.text if item else item_id,
            pillars=[pillar_names.get(p, p) for p in (item.pillars if item else [])], critical=bool(item and item.critical),
            applicable=applicable, failed=failed, locations_failed=where_failed, cost=cost,
            cumulative=(sum(f.cost for f in found) + cost) / total,
        ))
        if len(found) == limit:
            break
    return ItemsPage(scope=scope, period=period, locations=audited, items=found)
