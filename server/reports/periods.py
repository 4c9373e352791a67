"""The period a manager looks at, and the one before it: pure.

A period is whole calendar days, both ends included. The presets end today: the last 30, 90 or
365 days, or this calendar quarter so far. A custom period is `from` to `to` (`to` left out:
today). The previous period is the one of the same length that ends the day before it starts,
so a change is always like against like.
"""

import datetime as dt

import msgspec

PRESETS = {"30": "last 30 days", "90": "last 90 days", "365": "last 365 days", "quarter": "this quarter so far"}
DEFAULT = "90"
# The days a period may name: no audit is older than 2000 (Touchpoint was written decades later)
# or more than a day ahead of the clock; a year ahead still lets a manager name a period to come.
EARLIEST = dt.date(2000, 1, 1)
AHEAD = dt.timedelta(days=366)


class PeriodError(ValueError):
    """A period parameter that cannot be read: names the parameter and says what was expected."""

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


class Period(msgspec.Struct, frozen=True, kw_only=True):
    start: dt.date
    end: dt.date
    preset: str  # a key of PRESETS, or "custom"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        return Period(start=self.start - dt.timedelta(days=self.days), end=self.start - dt.timedelta(days=1), preset=self.preset)

    @property
    def label(self) -> str:
        span = f"{_day(self.start)} to {_day(self.end)}, {self.days} day{'s' if self.days != 1 else ''}"
        return f"{PRESETS[self.preset].capitalize()} ({span})" if self.preset in PRESETS else span.capitalize()

    @property
    def query(self) -> str:
        """The query string that gives this period again."""
        if self.preset in PRESETS:
            return f"period={self.preset}"
        return f"from={self.start.isoformat()}&to={self.end.isoformat()}"


def _day(day: dt.date) -> str:
    return f"{day.day} {day.strftime('%b %Y')}"


def day(parameter: str, text: str, today: dt.date | None = None) -> dt.date:
    """A period's first or last day, as YYYY-MM-DD between EARLIEST and a year from today."""
    try:
        found = dt.date.fromisoformat(text)
    except ValueError:
        raise PeriodError(parameter, f"expected a date as YYYY-MM-DD, got {text[:40]!r}") from None
    latest = (today or dt.date.today()) + AHEAD
    if not EARLIEST <= found <= latest:
        raise PeriodError(parameter, f"expected a day from {EARLIEST.isoformat()} to {latest.isoformat()} (audits are of no other days), got {found.isoformat()}")
    return found


def in_order(first: dt.date | None, last: dt.date | None) -> None:
    if first and last and first > last:
        raise PeriodError("from", f"{first.isoformat()} is after to ({last.isoformat()})")


def read_period(preset: str | None, start: str | None, end: str | None, today: dt.date) -> Period:
    """The period the query asks for; PeriodError names the parameter that is wrong."""
    if start or end:
        if preset:
            raise PeriodError("period", "give either period or from/to, not both")
        if not start:
            raise PeriodError("from", "missing: a custom period needs its first day (to alone is not enough)")
        first, last = day("from", start, today), day("to", end, today) if end else today
        in_order(first, last)
        return Period(start=first, end=last, preset="custom")
    preset = preset or DEFAULT
    if preset not in PRESETS:
        raise PeriodError("period", f"expected one of {', '.join(PRESETS)}, got {preset!r}")
    if preset == "quarter":
        return Period(start=dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), end=today, preset=preset)
    return Period(start=today - dt.timedelta(days=int(preset) - 1), end=today, preset=preset)
