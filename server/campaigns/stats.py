"""The statistics of campaign results, pure: percentiles, distribution bins, and whether a change
between two campaigns is larger than chance would make it.

- Percentiles interpolate linearly between the two nearest ranks (what a spreadsheet's
  PERCENTILE.INC and numpy's default do): with the values sorted x[0..n-1], the p-th percentile is
  x[h] for h = (n - 1) p when h is whole, else the straight line between x[floor h] and x[ceil h].
  The median is the 50th percentile.
- A change in a timer or number (hold time, rings) is tested with the two-sided Mann-Whitney U
  test (scipy.stats.mannwhitneyu) on the two campaigns' values: it asks whether calls in one tend
  to take longer than in the other, without assuming the times are normally distributed (they
  never are: most calls are answered quickly, a few wait for ever).
- A change in a rate (first-call resolution, transfers) is tested with Fisher's exact test
  (scipy.stats.fisher_exact) on the 2 x 2 table of yes and no in the two campaigns: exact for the
  small numbers of calls a team makes.
- A change is called larger than chance when p < 0.05; fewer than 2 values on a side: not tested.
"""

import math

import msgspec

SIGNIFICANT = 0.05


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile (0 <= p <= 1) of `values`, which must be sorted; None when empty."""
    if not values:
        return None
    h = (len(values) - 1) * p
    low = math.floor(h)
    high = min(low + 1, len(values) - 1)
    return values[low] + (h - low) * (values[high] - values[low])


def step(top: float, most: int = 12) -> float:
    """A round bin width (1, 2 or 5 x 10^k, at least 1) so that 0..top takes at most `most` bins."""
    if top <= most:
        return 1.0
    width = 10 ** math.floor(math.log10(top / most))
    for factor in (1, 2, 5, 10):
        if top / (width * factor) <= most:
            return float(width * factor)
    return float(width * 10)


class Bin(msgspec.Struct, array_like=True):
    low: float  # inclusive
    high: float  # exclusive
    count: int


def bins(values: list[float], most: int = 12) -> list[Bin]:
    """How many values fall in each round-width bin from 0 (or the lowest value, if negative) to the highest."""
    if not values:
        return []
    low = min(0.0, math.floor(values[0]))
    width = step(values[-1] - low, most)
    counts = [0] * (int((values[-1] - low) // width) + 1)
    for value in values:
        counts[int((value - low) // width)] += 1
    return [Bin(low + i * width, low + (i + 1) * width, n) for i, n in enumerate(counts)]


class Change(msgspec.Struct, kw_only=True):
    """One figure from the campaign before to this one, and how likely chance alone makes it."""

    before: float | None
    after: float | None
    delta: float | None  # after - before
    p: float | None  # None: not tested (too few values)
    test: str  # "Mann-Whitney U" or "Fisher's exact"

    @property
    def significant(self) -> bool:
        return self.p is not None and self.p < SIGNIFICANT


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def values_change(before: list[float], after: list[float], figure) -> Change:
    """A change in a figure of two value lists (`figure`: sorted values -> the figure, e.g. the
    median), tested with the Mann-Whitney U test on the values themselves."""
    from scipy.stats import mannwhitneyu  # loaded on the first comparison, not with every process

    b, a = figure(before), figure(after)
    p = None
    if len(before) >= 2 and len(after) >= 2:
        p = float(mannwhitneyu(before, after, alternative="two-sided").pvalue)
        p = None if math.isnan(p) else p
    return Change(before=b, after=a, delta=_delta(b, a), p=p, test="Mann-Whitney U")


def rate_change(yes_before: int, n_before: int, yes_after: int, n_after: int) -> Change:
    """A change in a share of yes, tested with Fisher's exact test."""
    from scipy.stats import fisher_exact

    b = yes_before / n_before if n_before else None
    a = yes_after / n_after if n_after else None
    p = None
    if n_before >= 2 and n_after >= 2:
        p = float(fisher_exact([[yes_before, n_before - yes_before], [yes_after, n_after - yes_after]]).pvalue)
    return Change(before=b, after=a, delta=_delta(b, a), p=p, test="Fisher's exact")
