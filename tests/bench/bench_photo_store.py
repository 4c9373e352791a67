"""Benchmark: what the photo store costs per request, the folder beside a bucket on loopback.

Prints, for each store, the median and 90th percentile of: writing a new picture's two images
(outside the write lock), what the upload then does under the write lock (storage.keep_files: for
images it wrote itself, nothing), the check under the lock when the picture was there already
(two stat calls, or two HEAD requests), and reading a display image to serve it.
The bucket is moto in server mode on 127.0.0.1 (tests/stores.py): this measures boto3 and one
HTTP round trip on loopback, not AWS, MinIO or Garage over a network, which add their latency
to every request. Rounds alternate between the stores, so both see the same moments of a
shared machine.  Run: python tests/bench/bench_photo_store.py
"""

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from server.photos import storage  # noqa: E402
from server.photos.processing import process  # noqa: E402
from server.photos.store import Bucket, Folder  # noqa: E402
from tests.stores import CREDENTIALS, S3  # noqa: E402
from tests.test_photo_processing import phone_jpeg  # noqa: E402

ROUNDS = 200


def main() -> None:
    import boto3

    os.environ.update(CREDENTIALS)
    endpoint = S3.start()
    bucket = f"touchpoint-bench-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    pictures = [process(phone_jpeg(1600, 1200, seed=n)) for n in range(ROUNDS)]
    with tempfile.TemporaryDirectory() as folder:
        stores = {"folder": Folder(Path(folder) / "photos"), "bucket": Bucket(f"s3://{bucket}/photos", endpoint)}
        times = {name: {"new": [], "locked": [], "there": [], "read": []} for name in stores}
        for picture in pictures:
            for name, store in stores.items():  # one round: each store in turn
                started = time.perf_counter()
                written = storage.write_files(store, picture)
                times[name]["new"].append(time.perf_counter() - started)
                started = time.perf_counter()
                storage.keep_files(store, picture, written)
                times[name]["locked"].append(time.perf_counter() - started)
                started = time.perf_counter()
                storage.keep_files(store, picture, None)
                times[name]["there"].append(time.perf_counter() - started)
                started = time.perf_counter()
                store.served(storage.name(picture.sha256, "display"))
                times[name]["read"].append(time.perf_counter() - started)
    size = statistics.median(len(p.display) for p in pictures) / 1024
    print(f"{ROUNDS} pictures (display images {size:,.0f} KB median), rounds alternating; bucket: moto on {endpoint}")
    for what, said in (("new", "write a new picture's two images"), ("locked", "then under the write lock"),
                       ("there", "under the write lock, a picture there already"), ("read", "read a display image to serve")):
        cells = []
        for name in stores:
            values = sorted(times[name][what])
            cells.append(f"{name} {statistics.median(values) * 1000:.3f} ms (p90 {values[int(len(values) * 0.9)] * 1000:.3f})")
        print(f"  {said}: " + ", ".join(cells))
    S3.stop()


if __name__ == "__main__":
    main()
