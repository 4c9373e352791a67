"""Benchmark: the photo pipeline per 12-megapixel JPEG, beside a plain full decode of the same file.

Prints ms per photo for the whole pipeline (verify, orient, strip, display image, thumbnail,
hash) and for Image.open(...).load() of the same bytes, their ratio, and photos per second with
two worker processes.  Run: python tests/bench/bench_photos.py
"""

import io
import os
import platform
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import ExifTags, Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from server.photos.processing import process  # noqa: E402


def phone_photo(detail: float = 0.35, seed: int = 0) -> bytes:
    """4032 x 3024, orientation 6, GPS: shapes and light under sensor-like noise. `detail` is how much
    fine noise is blended in: 0.35 makes a 4.9 MB file, the worst case of a busy, grainy scene."""
    rnd = random.Random(seed)
    base = Image.linear_gradient("L").resize((4032, 3024)).convert("RGB")
    draw = ImageDraw.Draw(base)
    for _ in range(400):
        x, y, r = rnd.randrange(4032), rnd.randrange(3024), rnd.randrange(20, 300)
        draw.ellipse((x, y, x + r, y + r), fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    base = base.filter(ImageFilter.GaussianBlur(2))
    image = Image.blend(base, Image.effect_noise((4032, 3024), 40).convert("RGB"), detail)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Model] = "Bench Phone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (51.0, 30.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "W", (0.0, 7.0, 0.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def full_decode(data: bytes) -> None:
    Image.open(io.BytesIO(data)).load()


def timed(fn, data: bytes, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn(data)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, CPython {platform.python_version()}; 4032 x 3024 JPEGs, quality 92")
    for label, detail in (("moderate detail", 0.15), ("busy, grainy (worst case)", 0.35)):
        data = phone_photo(detail)
        timed(process, data, 2)
        timed(full_decode, data, 2)
        # Interleaved, so both see the same moment of a shared machine; the ratio is taken per round.
        decodes, pipelines = [], []
        for _ in range(25):
            decodes += timed(full_decode, data, 1)
            pipelines += timed(process, data, 1)
        ratio = statistics.median(p / d for p, d in zip(pipelines, decodes))
        print(f"{label}, {len(data) / 1e6:.1f} MB (median of 25 interleaved rounds):")
        print(f"  plain full decode (Image.open().load()):  {statistics.median(decodes):6.1f} ms")
        print(f"  whole pipeline (process()):                {statistics.median(pipelines):6.1f} ms   = {ratio:.2f} x a full decode")
    photos = [phone_photo(0.15, seed) for seed in range(4)] * 10
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(process, photos[:4]))  # start the workers
        start = time.perf_counter()
        list(pool.map(process, photos))
        elapsed = time.perf_counter() - start
    print(f"two worker processes, moderate detail:      {len(photos) / elapsed:6.1f} photos/s ({len(photos)} photos)")


if __name__ == "__main__":
    main()
