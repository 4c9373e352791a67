"""Benchmark: the photo pipeline per 12-megapixel JPEG, beside a plain full decode of the same file.

Prints ms per photo for the whole pipeline (verify, orient, strip, display image, thumbnail,
hash) and for Image.open(...).load() of the same bytes, their ratio, and photos per second with
two worker processes.  Run: python tests/bench/bench_photos.py
"""

import io
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import ExifTags, Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from server.photos.processing import process  # noqa: E402


def phone_photo(seed: int = 0) -> bytes:
    """4032 x 3024 with fine detail (a phone JPEG of a real scene is 3-5 MB), orientation 6, GPS."""
    base = Image.effect_noise((1008, 756), 64).convert("RGB").resize((4032, 3024), Image.Resampling.BICUBIC)
    detail = Image.effect_noise((4032, 3024), 24 + seed).convert("RGB")
    image = Image.blend(base.filter(ImageFilter.GaussianBlur(3)), detail, 0.35)
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
    data = phone_photo()
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, CPython {platform.python_version()}; one 4032 x 3024 JPEG of {len(data) / 1e6:.1f} MB")
    timed(process, data, 2)
    timed(full_decode, data, 2)
    decode = statistics.median(timed(full_decode, data, 15))
    pipeline = statistics.median(timed(process, data, 15))
    print(f"plain full decode (Image.open().load()):  {decode:6.1f} ms")
    print(f"whole pipeline (process()):                {pipeline:6.1f} ms   = {pipeline / decode:.2f} x a full decode")
    photos = [data] * 40
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(process, photos[:4]))  # start the workers
        start = time.perf_counter()
        list(pool.map(process, photos))
        elapsed = time.perf_counter() - start
    print(f"two worker processes:                      {len(photos) / elapsed:6.1f} photos/s ({len(photos)} photos)")


if __name__ == "__main__":
    main()
