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


def ink(score: float | None) -> str:
    """Text that stays readable on that fill: white on the dark half of the scale, black on the light."""
    return "#000000" if score is None or fraction(score) >= 0.55 else "#ffffff"


LEGEND = [(score, colour(score)) for score in (50, 60, 70, 80, 90, 100)]
