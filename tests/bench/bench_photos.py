"""Benchmark: the photo pipeline per 12-megapixel JPEG, beside a plain full decode of the same file.

Prints, per photo: wall time, CPU time (user and system) and page faults for a plain full decode
(`Image.open(...).load()`), for the pipeline's own reduced-scale decode alone (its floor), and for
the whole pipeline (verify, orient, strip, display image, thumbnail, hashes); the ratio; and photos
per second with two worker processes.  Run: python tests/bench/bench_photos.py

Each side runs in its own worker process, like a server worker, and the sides take turns in
batches so both see the same moments of a shared machine. Mixing them in one process measures
the allocator instead: each then pays page faults for the memory the other just gave back.
"""

import io
import multiprocessing
import os
import platform
import random
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import ExifTags, Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from server.photos.processing import decode, process  # noqa: E402

BATCHES, PER_BATCH = 6, 5


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


SIDES = {"plain full decode": full_decode, "pipeline's decode alone": decode, "whole pipeline": process}


def runs(side: str, data: bytes, count: int) -> list[tuple[float, float, float, int]]:
    """In a worker: (wall ms, user ms, system ms, page faults) for each of `count` runs."""
    fn, out = SIDES[side], []
    for _ in range(count):
        before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        fn(data)
        wall, after = (time.perf_counter() - start) * 1000, resource.getrusage(resource.RUSAGE_SELF)
        out.append((wall, (after.ru_utime - before.ru_utime) * 1000, (after.ru_stime - before.ru_stime) * 1000, after.ru_minflt - before.ru_minflt))
    return out


def compare(data: bytes) -> dict[str, list[tuple[float, float, float, int]]]:
    spawn = multiprocessing.get_context("spawn")
    workers = {side: ProcessPoolExecutor(1, mp_context=spawn) for side in SIDES}
    try:
        for side, worker in workers.items():
            worker.submit(runs, side, data, 3).result()  # warm up: imports, first allocations
        results = {side: [] for side in SIDES}
        for _ in range(BATCHES):
            for side, worker in workers.items():
                results[side].append(worker.submit(runs, side, data, PER_BATCH).result())
        return results
    finally:
        for worker in workers.values():
            worker.shutdown()


def main() -> None:
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, CPython {platform.python_version()}; 4032 x 3024 JPEGs, quality 92")
    for label, detail in (("smooth", 0.0), ("moderate detail", 0.15), ("busy, grainy (worst case)", 0.35)):
        data = phone_photo(detail)
        results = compare(data)
        print(f"{label}, {len(data) / 1e6:.1f} MB, medians of {BATCHES * PER_BATCH} runs per side:   wall ms   user ms    sys ms   page faults")
        for side, batches in results.items():
            every = [run for batch in batches for run in batch]
            wall, user, system, faults = (statistics.median(run[i] for run in every) for i in range(4))
            print(f"  {side:26s} {wall:34.1f} {user:9.1f} {system:9.1f} {faults:13,.0f}")
        # The ratio per batch, so each compares like moments of the machine; then their median and range.
        ratios = [statistics.median(r[0] for r in p) / statistics.median(r[0] for r in d) for d, p in zip(results["plain full decode"], results["whole pipeline"])]
        print(f"  whole pipeline / plain full decode, wall: {statistics.median(ratios):.2f} x (batches: {min(ratios):.2f}-{max(ratios):.2f})")
    photos = [phone_photo(0.15, seed) for seed in range(4)] * 10
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(process, photos[:4]))  # start the workers
        start = time.perf_counter()
        list(pool.map(process, photos))
        elapsed = time.perf_counter() - start
    print(f"two worker processes, moderate detail: {len(photos) / elapsed:.1f} photos/s ({len(photos)} photos)")


if __name__ == "__main__":
    main()
