"""Checklist + answers -> the audit's score; scored audits -> location and region figures. Pure.

Every rule here is a numbered step of the scoring contract (shared spec `scoring.md`); the
comments name the step. Where the contract is silent, the choice is written next to the code
and in the README ("How scoring works").
"""

import math
from collections.abc import Iterable, Mapping

import msgspec

from server.checklists.decode import INVALID, decode  # the one place that words shape errors
from server.checklists.format import (
    AnyItem,
    Brand,
    ChoiceItem,
    NumberItem,
    ScaleItem,
    Strict,
    TextItem,
    TimerItem,
    YesNoItem,
)
from server.checklists.loader import LoadedChecklist, is_scored

NA = "na"


class Answer(Strict, kw_only=True):
    """One item's answer as the phone sends it. A null or absent value means "not answered"."""

    value: str | int | float | bool | None = None
    comment: str | None = None
    photos: list[str] = []


class ItemPoints(msgspec.Struct, frozen=True):
    f: float | None
    earned: float
    possible: float


class AuditResult(msgspec.Struct, frozen=True, kw_only=True):
    """The scoring result of one audit: the same JSON from the CLI and the API."""

    checklist: str
    version: str
    score: float | None
    raw_score: float | None
    sections: dict[str, float | None]
    pillars: dict[str, float | None]
    critical_failed: list[str]
    promise_kept: bool
    earned: float
    possible: float
    ignored: list[str]
    items: dict[str, ItemPoints]


class Problem(msgspec.Struct, frozen=True):
    """Why an audit was refused, naming the item."""

    item: str
    message: str

    def __str__(self) -> str:
        return f"{self.item}: {self.message}"


class AuditRefused(Exception):
    """The audit breaks a rule of step 2; nothing of it may be stored."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


_UNSCORED = ItemPoints(None, 0.0, 0.0)


def score_audit(brand: Brand, loaded: LoadedChecklist, answers: Mapping[str, Answer]) -> AuditResult:
    """Score one audit (steps 1-9), or raise AuditRefused listing every problem.

    One pass over the items in checklist order: show_if only names earlier items, so each
    item's applicability is known when it is reached.
    """
    checklist = loaded.checklist
    problems: list[Problem] = []
    values: dict[str, object] = {}  # applicable items -> their value ("na" when absent and optional)
    ignored: list[str] = []
    per_item: dict[str, ItemPoints] = {}
    sections: dict[str, float | None] = {}
    pillar_points = {p.id: [0.0, 0.0] for p in brand.pillars}
    failed: list[str] = []
    earned = possible = 0.0
    for section in checklist.sections:
        section_earned = section_possible = 0.0
        for item in section.items:
            item_id = item.id
            answer = answers.get(item_id)
            per_item[item_id] = _UNSCORED
            if item.show_if is not None and not _applicable(item, values):  # step 1
                if answer is not None:
                    ignored.append(item_id)
                continue
            value = _given(answer)
            if value is None:  # step 2: missing
                if item.required:
                    problems.append(Problem(item_id, "missing: this item is required"))
                values[item_id] = NA
                continue
            values[item_id] = value
            wrong = _wrong_value(item, value)
            if wrong is None and item.photo == "required" and value != NA and not answer.photos:
                wrong = "a photo is required as evidence for this answer"
            if wrong is not None:
                problems.append(Problem(item_id, wrong))
                continue
            f = fraction(item, value)  # step 3
            if f is None:  # step 4: na and unscored items add nothing to either side
                continue
            points = per_item[item_id] = ItemPoints(f, item.weight * f, item.weight)
            section_earned += points.earned
            section_possible += points.possible
            for pillar in item.pillars:
                sums = pillar_points[pillar]
                sums[0] += points.earned
                sums[1] += points.possible
            if item.critical and f < 1:  # step 7
                failed.append(item_id)
        sections[section.id] = _ratio(section_earned, section_possible)  # step 5
        earned += section_earned
        possible += section_possible
    unknown = [
        Problem(item_id, f"no such item in checklist {checklist.id!r} (version {loaded.version})")
        for item_id in answers
        if item_id not in per_item
    ]
    if unknown or problems:
        raise AuditRefused(unknown + problems)
    raw = _ratio(earned, possible)  # step 6: a points ratio, not a mean of sections
    cap = checklist.critical_cap if checklist.critical_cap is not None else brand.critical_cap
    score = min(raw, cap) if failed and raw is not None else raw
    return AuditResult(
        checklist=checklist.id,
        version=loaded.version,
        score=score,
        raw_score=raw,
        sections=sections,
        pillars={pid: _ratio(*sums) for pid, sums in pillar_points.items()},  # step 8, never capped
        critical_failed=failed,
        promise_kept=score is not None and score >= brand.threshold and not failed,  # step 9
        earned=earned,
        possible=possible,
        ignored=ignored,
        items=per_item,
    )


def _given(answer: Answer | None) -> object:
    """The answer's value, or None when there is none. Blank text is no answer (a required note left empty)."""
    if answer is None:
        return None
    value = answer.value
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _applicable(item: AnyItem, values: dict[str, object]) -> bool:
    """Step 1: no show_if, or the named item is applicable, answered (not "na") and the condition holds."""
    rule = item.show_if
    if rule is None:
        return True
    value = values.get(rule.item)  # only applicable items are in `values`
    return value is not None and value != NA and rule.holds(value)


def _wrong_value(item: AnyItem, value: object) -> str | None:
    """Step 2: what is wrong with this value for this item, or None."""
    if value == NA and type(item) is not TextItem:
        return None if item.na else '"na" is not allowed for this item (the checklist does not set na: true)'
    return _CHECKS[type(item)](item, value, ' or "na"' if item.na else "")


def _check_yes_no(item: YesNoItem, value: object, na: str) -> str | None:
    return None if value in ("yes", "no") else f'expected "yes" or "no"{na}, got {_shown(value)}'


def _check_scale(item: ScaleItem, value: object, na: str) -> str | None:
    if type(value) is int and item.min <= value <= item.max:
        return None
    return f"expected a whole number from {item.min} to {item.max}{na}, got {_shown(value)}"


def _check_number(item: NumberItem | TimerItem, value: object, na: str) -> str | None:
    if type(value) in (int, float) and value >= 0:
        return None
    what = "seconds, a number >= 0" if type(item) is TimerItem else "a number >= 0"
    return f"expected {what}{na}, got {_shown(value)}"


def _check_choice(item: ChoiceItem, value: object, na: str) -> str | None:
    for option in item.options:
        if option.value == value:
            return None
    return f"expected one of {', '.join(o.value for o in item.options)}{na}, got {_shown(value)}"


def _check_text(item: TextItem, value: object, na: str) -> str | None:
    return None if isinstance(value, str) else f"expected a text, got {_shown(value)}"


def _shown(value: object) -> str:
    return msgspec.json.encode(value).decode()


def fraction(item: AnyItem, value: object) -> float | None:
    """Step 3: the item's fraction f in [0, 1], or None when the item is not scored or "na"."""
    if value == NA:
        return None
    return _FRACTIONS[type(item)](item, value)


def _yes_no_fraction(item: YesNoItem, value) -> float:
    return 1.0 if value == item.pass_ else 0.0


def _scale_fraction(item: ScaleItem, value) -> float:
    return (value - item.min) / (item.max - item.min)


def _band_fraction(item: NumberItem | TimerItem, value) -> float:
    for band in item.bands:  # the first band that holds gives the fraction; none holds -> 0
        if band.holds(value):
            return band.score
    return 0.0


def _choice_fraction(item: ChoiceItem, value) -> float | None:
    """The chosen option's score (an option without one scores 0); None when the item is not scored."""
    if not is_scored(item):
        return None
    for option in item.options:
        if option.value == value:
            return option.score or 0.0
    return 0.0


def _text_fraction(item: TextItem, value) -> None:
    return None


_CHECKS = {YesNoItem: _check_yes_no, ScaleItem: _check_scale, NumberItem: _check_number, TimerItem: _check_number, ChoiceItem: _check_choice, TextItem: _check_text}
_FRACTIONS = {YesNoItem: _yes_no_fraction, ScaleItem: _scale_fraction, NumberItem: _band_fraction, TimerItem: _band_fraction, ChoiceItem: _choice_fraction, TextItem: _text_fraction}


def _ratio(earned: float, possible: float) -> float | None:
    return 100.0 * earned / possible if possible > 0 else None


# --- Locations and regions over a period -------------------------------------------------


class ScoredAudit(msgspec.Struct, frozen=True, kw_only=True):
    """What the location figures need of one counting audit in the period."""

    touchpoint: str
    score: float | None
    promise_kept: bool
    pillars: Mapping[str, float | None]


class Tally(msgspec.Struct, kw_only=True):
    """Sums over a set of audits from which every location figure follows.

    Mergeable, so stored per-period rollups can be added up instead of rescanning audits.
    Audits whose score is null are left out (they are not in A).
    """

    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    kept: int = 0
    touchpoints: dict[str, list[float]] = {}  # id -> [count, sum of scores]
    pillars: dict[str, list[float]] = {}  # id -> [count, sum of pillar scores]

    @classmethod
    def of(cls, audits: Iterable[ScoredAudit]) -> "Tally":
        tally = cls()
        for audit in audits:
            tally.add(audit)
        return tally

    def add(self, audit: ScoredAudit) -> None:
        if audit.score is None:
            return
        self.n += 1
        self.total += audit.score
        self.total_sq += audit.score * audit.score
        self.kept += audit.promise_kept
        _bump(self.touchpoints, audit.touchpoint, 1, audit.score)
        for pillar, score in audit.pillars.items():
            if score is not None:
                _bump(self.pillars, pillar, 1, score)

    def merge(self, other: "Tally") -> None:
        self.n += other.n
        self.total += other.total
        self.total_sq += other.total_sq
        self.kept += other.kept
        for key, (count, total) in other.touchpoints.items():
            _bump(self.touchpoints, key, count, total)
        for key, (count, total) in other.pillars.items():
            _bump(self.pillars, key, count, total)


def _bump(sums: dict[str, list[float]], key: str, count: float, total: float) -> None:
    entry = sums.setdefault(key, [0, 0.0])
    entry[0] += count
    entry[1] += total


class PillarFigure(msgspec.Struct, frozen=True, kw_only=True):
    score: float | None
    target: float
    gap: float | None  # target - score: positive means the promise is not met


class LocationFigures(msgspec.Struct, frozen=True, kw_only=True):
    n: int
    score: float | None
    touchpoints: dict[str, float]
    consistency: float | None
    spread: float | None
    weakest: str | None
    promise_kept_rate: float | None
    pillars: dict[str, PillarFigure]


def location_figures(brand: Brand, audits: Tally | Iterable[ScoredAudit]) -> LocationFigures:
    """The figures of one location over the audits that count in a period."""
    tally = audits if isinstance(audits, Tally) else Tally.of(audits)
    n = tally.n
    order = {t: i for i, t in enumerate(brand.touchpoints)}
    touchpoints = {
        t: total / count
        for t, (count, total) in sorted(tally.touchpoints.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        if count
    }
    pillars = {}
    for pillar in brand.pillars:
        count, total = tally.pillars.get(pillar.id, (0, 0.0))
        score = total / count if count else None
        pillars[pillar.id] = PillarFigure(score=score, target=pillar.target, gap=None if score is None else pillar.target - score)
    weakest = min(touchpoints, key=touchpoints.get) if touchpoints else None  # min keeps the first of ties: brand order
    return LocationFigures(
        n=n,
        score=location_score(tally.touchpoints),
        touchpoints=touchpoints,
        consistency=_consistency(n, tally.total, tally.total_sq),
        spread=max(touchpoints.values()) - min(touchpoints.values()) if touchpoints else None,
        weakest=weakest,
        promise_kept_rate=tally.kept / n if n else None,
        pillars=pillars,
    )


def location_score(touchpoints: dict[str, list[float]]) -> float | None:
    """S_L: the mean of the location's touchpoint scores, each touchpoint once however often audited
    (touchpoints: id -> [count, sum of scores], as a Tally holds them)."""
    return _mean(total / count for count, total in touchpoints.values() if count)


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def _consistency(n: int, total: float, total_sq: float) -> float | None:
    """100 - 2 x population standard deviation; null under two values."""
    if n < 2:
        return None
    mean = total / n
    variance = max(total_sq / n - mean * mean, 0.0)  # rounding can dip a hair below zero
    return 100.0 - 2.0 * math.sqrt(variance)


class RegionMember(msgspec.Struct, frozen=True, kw_only=True):
    location: str
    figures: LocationFigures
    credibility_k: float  # the location's brand's


class Ranked(msgspec.Struct, frozen=True, kw_only=True):
    location: str
    score: float | None
    adjusted: float | None
    n: int


class RegionFigures(msgspec.Struct, frozen=True, kw_only=True):
    score: float | None
    consistency: float | None
    ranking: list[Ranked]


def region_figures(members: Iterable[RegionMember]) -> RegionFigures:
    """Region score and consistency over its audited locations, and the credibility-adjusted ranking.

    Locations with no audits in the period have no score to adjust; they are listed last,
    with score and adjusted null, so a manager sees who was never visited.
    """
    members = list(members)
    scored = [m for m in members if m.figures.n >= 1 and m.figures.score is not None]
    scores = [m.figures.score for m in scored]
    region = _mean(scores)
    consistency = _consistency(len(scores), sum(scores), sum(s * s for s in scores))
    ranking = []
    for m in scored:
        z = m.figures.n / (m.figures.n + m.credibility_k)
        ranking.append(Ranked(location=m.location, score=m.figures.score, adjusted=z * m.figures.score + (1 - z) * region, n=m.figures.n))
    ranking.sort(key=lambda r: (-r.adjusted, -r.n, r.location))
    ranked = {m.location for m in scored}
    ranking += sorted(
        (Ranked(location=m.location, score=None, adjusted=None, n=m.figures.n) for m in members if m.location not in ranked),
        key=lambda r: r.location,
    )
    return RegionFigures(score=region, consistency=consistency, ranking=ranking)


def parse_answers(raw: object) -> dict[str, Answer]:
    """Answers as decoded JSON -> Answers, or AuditRefused naming the item of every malformed one."""
    if not isinstance(raw, dict):
        raise AuditRefused([Problem("answers", "expected an object mapping item ids to answers")])
    answers: dict[str, Answer] = {}
    problems: list[Problem] = []
    for item_id, given in raw.items():
        found: list[tuple[str, str]] = []
        answer = decode(given, Answer, found)
        problems += [Problem(item_id, f"{place}: {message}" if place else message) for place, message in found]
        if answer is not INVALID:
            answers[item_id] = answer
    if problems:
        raise AuditRefused(problems)
    return answers
