"""A campaign's results, read from its audits: who took part, and per channel the figures a team
looks at together. Every audit of the campaign that arrived takes part (they are never reviewed).

- Calls: the campaign's audits. Participants: those who joined; callers: those who sent one.
- Score: the mean of the audits' (capped) scores; promise kept: the share that kept it.
- Timers and numbers: median, 90th percentile and distribution of the answered values (not the
  unanswered or n/a ones), per channel (see stats for the percentile's definition).
- Yes/no items: the share of "yes" among calls that answered yes or no; the items a checklist
  names with `figure` (first-call resolution, transfers) are the headlines.
- Pillars: as for a location (the scoring contract): the mean of the audits' pillar scores, and
  the gap to the pillar's target (target - score: positive means the promise is not met).
- Items that fail most: the share of calls where an item scored under full marks (f < 1), of
  those where it applied; the most failed first.
- Comments wall: every text answer and comment, newest first, with the participant's display name
  (or "Anonymous").
"""

import datetime as dt
from collections import defaultdict

import msgspec
import sqlite_utils

from server.accounts import ANONYMOUS
from server.campaigns import stats
from server.campaigns.campaigns import Campaign
from server.catalog import Catalog

WALL = 200  # comments shown on the wall; every one is in the export


def kind(item) -> str:
    return item.__struct_config__.tag


class Distribution(msgspec.Struct, kw_only=True):
    item: str
    text: str
    unit: str  # "s" for timers
    n: int
    median: float | None
    p90: float | None
    bins: list[stats.Bin]
    values: list[float] = []  # sorted; for comparisons, not shown


class Rate(msgspec.Struct, kw_only=True):
    item: str
    text: str
    figure: str  # the checklist's headline name, or ""
    yes: int
    n: int

    @property
    def share(self) -> float | None:
        return self.yes / self.n if self.n else None


class Failing(msgspec.Struct, kw_only=True):
    item: str
    text: str
    failed: int
    applicable: int


class PillarFigure(msgspec.Struct, kw_only=True):
    id: str
    name: str
    target: float
    score: float | None
    n: int

    @property
    def gap(self) -> float | None:
        return None if self.score is None else self.target - self.score


class Comment(msgspec.Struct, kw_only=True):
    at: str  # when the call finished, as the phone recorded it
    channel: str
    item: str
    text: str
    who: str


class Figures(msgspec.Struct, kw_only=True):
    """One channel's figures (or the whole campaign's where `channel` is None)."""

    channel: str | None
    name: str
    checklist: str
    calls: int
    callers: int
    score: float | None
    kept: float | None
    pillars: list[PillarFigure]
    timers: list[Distribution]
    rates: list[Rate]
    failing: list[Failing]


class Results(msgspec.Struct, kw_only=True):
    participants: int
    anonymous: int
    callers: int
    calls: int
    score: float | None
    kept: float | None
    pillars: list[PillarFigure]
    channels: list[Figures]
    comments: list[Comment]
    comments_total: int
    last_call: str | None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def read(db: sqlite_utils.Database, catalog: Catalog, campaign: Campaign, wall: int = WALL) -> Results:
    """Everything on the results page, in a handful of queries over the campaign's audits."""
    brand = catalog.brands[campaign.brand].brand
    audits = db.execute("SELECT seq, location, auditor, score, promise_kept FROM audits WHERE campaign = ?", [campaign.id]).fetchall()
    by_channel: dict[str, list[tuple]] = defaultdict(list)
    for row in audits:
        by_channel[row[1]].append(row)
    pillar_rows = db.execute(
        """SELECT a.location, p.pillar, p.score FROM audits a JOIN audit_pillars p ON p.audit = a.seq
           WHERE a.campaign = ? AND p.score IS NOT NULL""", [campaign.id]).fetchall()
    answers = db.execute(
        """SELECT a.location, an.item, an.value, an.f FROM audits a JOIN answers an ON an.audit = a.seq
           WHERE a.campaign = ? AND an.value IS NOT NULL""", [campaign.id]).fetchall()
    pillar_scores: dict[str | None, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for location, pillar, score in pillar_rows:
        pillar_scores[location][pillar].append(score)
        pillar_scores[None][pillar].append(score)
    numbers: dict[tuple[str, str], list[float]] = defaultdict(list)
    yes_no: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    failed: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for location, item, value, f in answers:
        if value[0] == '"':
            if value in ('"yes"', '"no"'):
                counts = yes_no[(location, item)]
                counts[0] += value == '"yes"'
                counts[1] += 1
        elif value[0] in "-0123456789":
            numbers[(location, item)].append(float(value))
        if f is not None:
            counts = failed[(location, item)]
            counts[0] += f < 1
            counts[1] += 1

    def pillars(location: str | None) -> list[PillarFigure]:
        found = pillar_scores.get(location, {})
        return [PillarFigure(id=p.id, name=p.name, target=p.target, score=_mean(found.get(p.id, [])), n=len(found.get(p.id, []))) for p in brand.pillars]

    channels = []
    for channel in campaign.channels:
        rows = by_channel.get(channel.location, [])
        checklist = catalog.brands[campaign.brand].checklists[channel.checklist].checklist
        items = checklist.items()
        timers, rates, failing = [], [], []
        for item in items:
            key = (channel.location, item.id)
            if kind(item) in ("timer", "number"):
                values = sorted(numbers.get(key, []))
                timers.append(Distribution(item=item.id, text=item.text, unit="s" if kind(item) == "timer" else item.unit, n=len(values),
                                           median=stats.percentile(values, 0.5), p90=stats.percentile(values, 0.9), bins=stats.bins(values), values=values))
            elif kind(item) == "yes_no":
                yes, n = yes_no.get(key, (0, 0))
                rates.append(Rate(item=item.id, text=item.text, figure=item.figure, yes=yes, n=n))
            bad, applicable = failed.get(key, (0, 0))
            if bad:
                failing.append(Failing(item=item.id, text=item.text, failed=bad, applicable=applicable))
        failing.sort(key=lambda f: (-f.failed / f.applicable, -f.failed, f.item))
        scores = [r[3] for r in rows if r[3] is not None]
        channels.append(Figures(
            channel=channel.location, name=channel.name, checklist=checklist.title, calls=len(rows), callers=len({r[2] for r in rows}),
            score=_mean(scores), kept=_mean([float(r[4]) for r in rows if r[3] is not None]), pillars=pillars(channel.location),
            timers=timers, rates=rates, failing=failing,
        ))
    comments, total, last = _comments(db, catalog, campaign, wall)
    scores = [r[3] for r in audits if r[3] is not None]
    joined = db.execute("SELECT COUNT(*), COUNT(*) - COUNT(display_name) FROM participants WHERE campaign = ?", [campaign.id]).fetchone()
    return Results(
        participants=joined[0], anonymous=joined[1], callers=len({r[2] for r in audits}), calls=len(audits),
        score=_mean(scores), kept=_mean([float(r[4]) for r in audits if r[3] is not None]), pillars=pillars(None),
        channels=channels, comments=comments, comments_total=total, last_call=last,
    )


def _comments(db: sqlite_utils.Database, catalog: Catalog, campaign: Campaign, wall: int) -> tuple[list[Comment], int, str | None]:
    """The newest `wall` verbatims (text answers and comments), their total, and the newest call's time."""
    texts = {}
    for channel in campaign.channels:
        for item in catalog.brands[campaign.brand].checklists[channel.checklist].checklist.items():
            texts[(channel.location, item.id)] = (item.text, kind(item) == "text")
    names = {c.location: c.name for c in campaign.channels}
    rows = db.execute(
        """SELECT a.finished_at, a.location, an.item, an.value, an.comment, p.display_name
           FROM audits a JOIN answers an ON an.audit = a.seq LEFT JOIN participants p ON p.user = a.auditor
           WHERE a.campaign = ? AND (an.comment != '' OR (json_type(an.value) = 'text' AND an.value NOT IN ('"yes"', '"no"', '"na"')))
           ORDER BY a.finished_at DESC, a.seq DESC, an.item""", [campaign.id]).fetchall()
    found = []
    for finished, location, item, value, comment, who in rows:
        text, free = texts.get((location, item), (item, False))
        words = [w for w in ((msgspec.json.decode(value) if free and value else None), comment) if w]
        for said in words:
            found.append(Comment(at=finished, channel=names.get(location, location), item=text, text=said, who=who or ANONYMOUS))
    last = db.execute("SELECT max(finished_at) FROM audits WHERE campaign = ?", [campaign.id]).fetchone()[0]
    return found[:wall], len(found), last


def when(iso: str | None) -> str:
    """'2026-11-30T14:05:00+00:00' -> '2026-11-30 14:05', as the phone recorded it."""
    return "" if not iso else dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
