"""Campaigns on the same channel, lined up: this one against the ones before it that audited the
channel with the same checklist, oldest first. Each figure shows its value in every campaign, and
its change from the campaign just before this one with the test's p-value (see stats)."""

import msgspec
import sqlite_utils

from server.campaigns import campaigns as campaigns_mod
from server.campaigns import results as results_mod
from server.campaigns import stats
from server.campaigns.campaigns import Campaign
from server.checklists.catalog import Catalog

HISTORY = 6  # campaigns shown on a line, this one included


class Column(msgspec.Struct, kw_only=True):
    id: int
    name: str
    starts: str
    calls: int


class Line(msgspec.Struct, kw_only=True):
    label: str
    unit: str  # "s", "%", "points", a number item's unit
    values: list[float | None]  # one per column
    change: stats.Change | None  # from the column before the last to the last


class Comparison(msgspec.Struct, kw_only=True):
    channel: str
    name: str
    columns: list[Column]
    lines: list[Line]


def _median(values: list[float]) -> float | None:
    return stats.percentile(values, 0.5)


def _p90(values: list[float]) -> float | None:
    return stats.percentile(values, 0.9)


def _scores(db: sqlite_utils.Database, campaign: int, location: str) -> list[float]:
    return sorted(s for (s,) in db.execute("SELECT score FROM audits WHERE campaign = ? AND location = ? AND score IS NOT NULL", [campaign, location]))


def lines(db: sqlite_utils.Database, catalog: Catalog, campaign: Campaign, results: results_mod.Results) -> list[Comparison]:
    """One comparison per channel that an earlier campaign audited with the same checklist."""
    found = []
    before = campaigns_mod.earlier(db, campaign)
    for figures in results.channels:
        channel = campaign.channel(figures.channel)
        line = [c for c in before if (c.channel(channel.location) or figures).checklist == channel.checklist][-(HISTORY - 1):]
        if not line:
            continue
        past = [(c, next(f for f in results_mod.read(db, catalog, c, wall=0).channels if f.channel == channel.location)) for c in line]
        every = [*past, (campaign, figures)]
        columns = [Column(id=c.id, name=c.name, starts=c.local(c.starts_at)[:10], calls=f.calls) for c, f in every]
        rows = []
        scores = [_scores(db, c.id, channel.location) for c, _ in every]
        rows.append(Line(label="Mean score", unit="points", values=[f.score for _, f in every],
                         change=stats.values_change(scores[-2], scores[-1], lambda v: sum(v) / len(v) if v else None)))
        for i, timer in enumerate(figures.timers):
            series = [next((t for t in f.timers if t.item == timer.item), None) for _, f in every]
            values = [t.values if t else [] for t in series]
            short = timer.text.rstrip("?")
            rows.append(Line(label=f"{short}: median", unit=timer.unit, values=[_median(v) for v in values], change=stats.values_change(values[-2], values[-1], _median)))
            rows.append(Line(label=f"{short}: 90th percentile", unit=timer.unit, values=[_p90(v) for v in values], change=None))
        for rate in figures.rates:
            if not rate.figure:
                continue
            series = [next((r for r in f.rates if r.item == rate.item), None) for _, f in every]
            shares = [r.share if r else None for r in series]
            prev = series[-2] or results_mod.Rate(item=rate.item, text=rate.text, figure=rate.figure, yes=0, n=0)
            rows.append(Line(label=rate.figure, unit="%", values=[None if s is None else 100 * s for s in shares],
                             change=_percent(stats.rate_change(prev.yes, prev.n, rate.yes, rate.n))))
        found.append(Comparison(channel=channel.location, name=channel.name, columns=columns, lines=rows))
    return found


def _percent(change: stats.Change) -> stats.Change:
    scale = lambda v: None if v is None else 100 * v  # noqa: E731
    return stats.Change(before=scale(change.before), after=scale(change.after), delta=scale(change.delta), p=change.p, test=change.test)
