"""The app's icons, drawn with Pillow: no image files to keep in step with the brand colours.

Pure: sizes in, PNG bytes out. The mark is a map pin holding a tick, "the promise kept here",
white on the app's teal. A maskable icon keeps the mark inside the central 80% circle that
launchers may crop to, on a full-bleed background.
"""

import io
from functools import cache

from PIL import Image, ImageDraw

TEAL = (11, 85, 99)  # the app's --brand colour: 8.3:1 against white
WHITE = (255, 255, 255)
SIZES = (192, 512)
_SUPERSAMPLE = 4  # drawn large and shrunk: smooth edges without an anti-aliasing library


@cache
def icon_png(size: int, maskable: bool = False) -> bytes:
    """A square PNG icon; `maskable` leaves the safe-zone margin and has no rounded corners."""
    big = size * _SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle((0, 0, big, big), fill=TEAL)
        scale = 0.62  # the mark fits well inside the 80% safe circle
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=TEAL)
        scale = 0.8
    _pin_with_tick(draw, big, scale)
    out = io.BytesIO()
    small = image.resize((size, size), Image.Resampling.LANCZOS)
    small.quantize(32, method=Image.Quantize.FASTOCTREE).save(out, "PNG", optimize=True)  # two colours and their edges
    return out.getvalue()


def _pin_with_tick(draw: ImageDraw.ImageDraw, big: int, scale: float) -> None:
    unit = big * scale
    cx, top = big / 2, (big - unit) / 2
    r = unit * 0.36  # the pin's round head
    cy = top + r + unit * 0.04
    tip = top + unit * 0.96
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=WHITE)
    draw.polygon([(cx - r * 0.82, cy + r * 0.55), (cx + r * 0.82, cy + r * 0.55), (cx, tip)], fill=WHITE)
    w = max(2, round(unit * 0.075))
    tick = [(cx - r * 0.5, cy + r * 0.02), (cx - r * 0.12, cy + r * 0.4), (cx + r * 0.55, cy - r * 0.38)]
    draw.line(tick, fill=TEAL, width=w, joint="curve")
    for x, y in (tick[0], tick[-1]):  # round line ends
        draw.ellipse((x - w / 2, y - w / 2, x + w / 2, y + w / 2), fill=TEAL)
