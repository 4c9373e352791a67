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

from server import dialect
from server.accounts.accounts import ANONYMOUS
from server.campaigns import stats
from server.campaigns.campaigns import Campaign
from server.checklists.catalog import Catalog

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


def read(db: sqlite_utils.Database, catalog: Catalog, campaign: Campaign, wall: int = WALL) -> Results:
    """Everything on the results page. SQLite does the counting in one pass over the campaign's
    answers (yes/no, failures, and the numbers as one list per item), one over its pillar scores
    and one over its audits; Python only sorts the numbers for the percentiles."""
    brand = catalog.brands[campaign.brand].brand
    per_channel = {location: (calls, callers, total, scored, kept) for location, calls, callers, total, scored, kept in db.execute(
        """SELECT location, COUNT(*), COUNT(DISTINCT auditor), SUM(score), COUNT(score), COUNT(*) FILTER (WHERE promise_kept = 1 AND score IS NOT NULL)
           FROM audits WHERE campaign = ? GROUP BY location""", [campaign.id])}
    pillar_sums: dict[str | None, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
    for location, pillar, total, n in db.execute(
            """SELECT a.location, p.pillar, SUM(p.score), COUNT(p.score) FROM audits a JOIN audit_pillars p ON p.audit = a.seq
               WHERE a.campaign = ? AND p.score IS NOT NULL GROUP BY a.location, p.pillar""", [campaign.id]):
        for key in (location, None):
            pillar_sums[key][pillar][0] += total
            pillar_sums[key][pillar][1] += n
    d = dialect.of(db)
    counted = {(location, item): (yes, answered, bad, applicable, numbers) for location, item, yes, answered, bad, applicable, numbers in db.execute(
        f"""SELECT a.location, an.item, COUNT(*) FILTER (WHERE an.value = '"yes"'), COUNT(*) FILTER (WHERE an.value IN ('"yes"', '"no"')),
                  COUNT(*) FILTER (WHERE an.f < 1), COUNT(an.f),
                  {d.joined(f"CASE WHEN {d.starts_numeric('an.value')} THEN an.value END", comma=True)}
           FROM audits a JOIN answers an ON an.audit = a.seq WHERE a.campaign = ? GROUP BY a.location, an.item""", [campaign.id])}

    def pillars(location: str | None) -> list[PillarFigure]:
        found = pillar_sums.get(location, {})
        return [PillarFigure(id=p.id, name=p.name, target=p.target, n=found[p.id][1] if p.id in found else 0,
                             score=found[p.id][0] / found[p.id][1] if p.id in found and found[p.id][1] else None) for p in brand.pillars]

    channels = []
    for channel in campaign.channels:
        calls, callers, total, scored, kept = per_channel.get(channel.location, (0, 0, None, 0, 0))
        checklist = catalog.brands[campaign.brand].checklists[channel.checklist].checklist
        timers, rates, failing = [], [], []
        for item in checklist.items():
            yes, answered, bad, applicable, numbers = counted.get((channel.location, item.id), (0, 0, 0, 0, None))
            if kind(item) in ("timer", "number"):
                values = sorted(float(v) for v in numbers.split(",")) if numbers else []
                timers.append(Distribution(item=item.id, text=item.text, unit="s" if kind(item) == "timer" else item.unit, n=len(values),
                                           median=stats.percentile(values, 0.5), p90=stats.percentile(values, 0.9), bins=stats.bins(values), values=values))
            elif kind(item) == "yes_no":
                rates.append(Rate(item=item.id, text=item.text, figure=item.figure, yes=yes or 0, n=answered or 0))
            if bad:
                failing.append(Failing(item=item.id, text=item.text, failed=bad, applicable=applicable))
        failing.sort(key=lambda f: (-f.failed / f.applicable, -f.failed, f.item))
        channels.append(Figures(
            channel=channel.location, name=channel.name, checklist=checklist.title, calls=calls, callers=callers,
            score=total / scored if scored else None, kept=kept / scored if scored else None, pillars=pillars(channel.location),
            timers=timers, rates=rates, failing=failing,
        ))
    comments, total_comments, last = _comments(db, catalog, campaign, wall)
    joined = db.execute("SELECT COUNT(*), COUNT(*) - COUNT(display_name) FROM participants WHERE campaign = ?", [campaign.id]).fetchone()
    callers = db.execute("SELECT COUNT(DISTINCT auditor) FROM audits WHERE campaign = ?", [campaign.id]).fetchone()[0]
    scored = sum(v[3] for v in per_channel.values())
    return Results(
        participants=joined[0], anonymous=joined[1], callers=callers, calls=sum(v[0] for v in per_channel.values()),
        score=sum(v[2] or 0 for v in per_channel.values()) / scored if scored else None,
        kept=sum(v[4] for v in per_channel.values()) / scored if scored else None, pillars=pillars(None),
        channels=channels, comments=comments, comments_total=total_comments, last_call=last,
    )


def _comments(db: sqlite_utils.Database, catalog: Catalog, campaign: Campaign, wall: int) -> tuple[list[Comment], int, str | None]:
    """The newest `wall` verbatims (text answers and comments), their total, and the newest call's time."""
    texts = {}
    for channel in campaign.channels:
        for item in catalog.brands[campaign.brand].checklists[channel.checklist].checklist.items():
            texts[(channel.location, item.id)] = (item.text, kind(item) == "text")
    free = sorted({item for (_, item), (_, is_text) in texts.items() if is_text})
    names = {c.location: c.name for c in campaign.channels}
    rows = db.execute(
        f"""SELECT a.finished_at, a.location, an.item, an.value, an.comment, p.display_name
            FROM audits a JOIN answers an ON an.audit = a.seq LEFT JOIN participants p ON p.person = a.auditor
            WHERE a.campaign = ? AND (an.comment != '' OR ({f"an.item IN ({','.join('?' * len(free))})" if free else 'false'} AND an.value NOT IN ('"na"', '""')))
            ORDER BY a.finished_at DESC, a.seq DESC, an.item""", [campaign.id, *free]).fetchall()
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
