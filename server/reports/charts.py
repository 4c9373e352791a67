"""Colours and geometry for the charts the managers' pages draw as inline SVG: pure.

Scores are coloured on a viridis-like scale: its lightness rises steadily from low to high, so it
reads in greyscale print and for the common kinds of colour blindness (no red against green).
Every cell also prints its figure, so colour is never the only way to read it.
"""

LOW, HIGH = 50.0, 100.0  # the scale's ends: 50 or less is the darkest colour
_STOPS = [(0.0, (68, 1, 84)), (0.25, (59, 82, 139)), (0.5, (33, 145, 140)), (0.75, (94, 201, 98)), (1.0, (253, 231, 37))]


def fraction(score: float) -> float:
    return min(1.0, max(0.0, (score - LOW) / (HIGH - LOW)))


def colour(score: float | None) -> str:
    """The fill for a score; light grey for none."""
    if score is None:
        return "#eeeeee"
    x = fraction(score)
    for (x0, c0), (x1, c1) in zip(_STOPS, _STOPS[1:]):
        if x <= x1:
            t = (x - x0) / (x1 - x0)
            return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(c0, c1))
    return "#fde725"


def luminance(fill: str) -> float:
    """WCAG relative luminance of a "#rrggbb" colour."""
    channels = [int(fill[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two "#rrggbb" colours, 1 to 21."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def ink(score: float | None) -> str:
    """The text class for a cell of that score: white ("on-dark") or black ("on-light"), whichever
    contrasts more with its fill; on this scale the worse cell still reads at 4.6:1. A class, not a
    fill attribute: the stylesheet's `svg text` rule would override an attribute."""
    fill = colour(score)
    return "on-dark" if contrast(fill, "#ffffff") > contrast(fill, "#000000") else "on-light"


LEGEND = [(score, colour(score)) for score in (50, 60, 70, 80, 90, 100)]


class Plot:
    """Where values land in a line chart of `count` points: x by position, y on a 0..100 score axis
    cut below at the lowest tens under the data (never above 50), so a change of a few points shows."""

    def __init__(self, series: list[list[float | None]], count: int, width: float = 640, height: float = 200, left: float = 40, bottom: float = 24):
        values = [v for line in series for v in line if v is not None]
        self.low = min(50.0, (min(values) // 10) * 10 if values else 50.0)
        self.width, self.height, self.left, self.bottom, self.count = width, height, left, bottom, count

    def x(self, index: int) -> float:
        step = (self.width - self.left - 10) / max(1, self.count - 1)
        return round(self.left + index * step, 1)

    def y(self, value: float) -> float:
        span = self.height - self.bottom - 10
        return round(10 + span * (1 - (min(100.0, max(self.low, value)) - self.low) / (100 - self.low)), 1)

    def ticks(self) -> list[float]:
        return [float(t) for t in range(int(self.low), 101, 10)]

    def segments(self, line: list[float | None]) -> list[str]:
        """SVG polyline points for each run of months with a figure (a gap where there is none)."""
        runs, run = [], []
        for i, value in enumerate(line):
            if value is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(f"{self.x(i)},{self.y(value)}")
        if run:
            runs.append(run)
        return [" ".join(r) for r in runs]
