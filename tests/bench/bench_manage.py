"""Benchmark: the managers' pages over 1,000 locations x 24 months of audits (rollups seeded as
ingest keeps them), against the real server process over loopback.

Prints p50/p95/p99 of: the region overview (figures now and before, pillars, ranking and heatmap
of 1,000 locations) and a location scorecard with 24 months of trend. Goals (issue 11): region
page p99 < 150 ms, scorecard p99 < 50 ms.

Run: python tests/bench/bench_manage.py   (about a minute)
"""

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen  # noqa: E402
from bench_ingest import bench_brand, free_port, seed_history, start_server  # noqa: E402

from server import accounts  # noqa: E402
from server.locations import LocationIn, import_locations  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, db, catalog = bench_brand(tmp, 50)
        import_locations(db, [LocationIn(id=f"h{i:04d}", name=f"History {i}", region="big") for i in range(1000)], ["bench"])
        accounts.add_user(db, "boss", "admin", [], "bench-password")
        admin = accounts.new_token(db, accounts.user_by_name(db, "boss"))
        seed_history(db, catalog, locations=1000, months=24, per_month=8)
        db.conn.close()
        port = free_port()
        server = start_server(data, tmp / "checklists", port)
        try:
            host, head = f"127.0.0.1:{port}", {"Authorization": f"Bearer {admin}"}
            for what, path, seconds in (("region overview, 1,000 locations, last 90 days", "/manage/regions/big", 15),
                                        ("location scorecard, 24 months of trend", "/manage/locations/h0042?period=365", 15)):
                request = loadgen.http_request("GET", path, host, head)
                asyncio.run(loadgen.closed_loop("127.0.0.1", port, lambda i: request, 1, 2))  # warm up
                result = asyncio.run(loadgen.closed_loop("127.0.0.1", port, lambda i: request, 1, seconds))
                print(result.line(what).rstrip() + f"   p95 {result.pct(95):.1f} ms   ({sum(result.statuses.values())} requests, statuses {dict(result.statuses)})")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
