"""Benchmark: review at scale, against the real server process over loopback.

A brand with review on; 1,000 locations in 10 regions with 12 months of approved history (48,000
audits counting, their rollups in place) and 10,000 audits waiting for review. Prints p50/p99 of:
approving one audit through the API (its status, its history row and its rollup update in one
transaction, one COMMIT with synchronous=FULL), 1,000 different audits one after another; the
review queue's first page (API and page) over the 10,000 waiting; and the region overview before
and after the approvals (its figures read only the rollups, which hold only counting audits, so
waiting audits cost it nothing). Goals (issue 13): approve p99 < 20 ms, queue p99 < 100 ms.

Run: python tests/bench/bench_review.py   (about two minutes: seeding takes most of it)
"""

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen  # noqa: E402
from bench_ingest import bench_brand, free_port, seed_history, start_server  # noqa: E402

from server.accounts import accounts  # noqa: E402
from server.checklists.catalog import Catalog  # noqa: E402
from server.locations.locations import LocationIn, import_locations  # noqa: E402

SECONDS = 8
APPROVALS = 1000


def closed(port: int, make, seconds: float = SECONDS) -> loadgen.Result:
    return asyncio.run(loadgen.closed_loop("127.0.0.1", port, make, 1, seconds))


async def each(port: int, requests: list[bytes]) -> loadgen.Result:
    """Each request once, one after another on one connection."""
    conn = loadgen.Connection("127.0.0.1", port)
    await conn.open()
    latencies, statuses = [], {}
    began = time.perf_counter()
    for raw in requests:
        start = time.perf_counter()
        status = await conn.request(raw)
        latencies.append(time.perf_counter() - start)
        statuses[status] = statuses.get(status, 0) + 1
    conn.close()
    return loadgen.Result(latencies, statuses, time.perf_counter() - began)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, db, _ = bench_brand(tmp, 50)
        brand = tmp / "checklists" / "bench" / "brand.yaml"
        brand.write_text(brand.read_text() + "review: true\n")
        catalog = Catalog.load(db, tmp / "checklists")
        rows = [LocationIn(id=f"h{i:04d}", name=f"Shop {i}", region=f"r{i % 10}") for i in range(1000)]
        rows += [LocationIn(id=f"w{i:04d}", name=f"Waiting {i}", region=f"r{i % 10}") for i in range(1000)]
        import_locations(db, rows, ["bench"])
        accounts.add_user(db, "loader", "auditor", [], "bench-password")
        accounts.add_user(db, "boss", "admin", [], "bench-password")
        admin = accounts.new_token(db, accounts.user_by_name(db, "boss"))
        seed_history(db, catalog, locations=1000, months=12, per_month=4)  # counted at once: the approved past
        seed_history(db, catalog, locations=1000, months=1, per_month=10, review=True, prefix="w", seed=2)  # 10,000 waiting
        waiting = [i for (i,) in db.execute("SELECT id FROM audits WHERE counts = 0 ORDER BY random() LIMIT ?", [APPROVALS])]
        print(f"{db.execute('SELECT COUNT(*) FROM audits WHERE counts = 0').fetchone()[0]:,} audits waiting for review")
        db.conn.close()

        port = free_port()
        server = start_server(data, tmp / "checklists", port)
        host = f"127.0.0.1:{port}"
        head = {"Authorization": f"Bearer {admin}"}
        try:
            region = loadgen.http_request("GET", "/manage/regions/r3", host, head)
            closed(port, lambda i: region, 1)
            print(closed(port, lambda i: region).line("region overview, before").rstrip())
            for what, path in (("review queue API, first 100", "/api/review?limit=100"), ("review queue page, first 100", "/manage/review"),
                               ("review queue, one region", "/api/review?region=r3&limit=100")):
                request = loadgen.http_request("GET", path, host, head)
                closed(port, lambda i: request, 1)
                print(closed(port, lambda i: request).line(what).rstrip())
            approvals = [loadgen.http_request("POST", f"/api/audits/{a}/review", host, {**head, "Content-Type": "application/json"}, b'{"action":"approve"}')
                         for a in waiting]
            print(asyncio.run(each(port, approvals)).line(f"approve 1 audit ({APPROVALS:,} in turn)").rstrip())
            print(closed(port, lambda i: region).line("region overview, after").rstrip())
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
