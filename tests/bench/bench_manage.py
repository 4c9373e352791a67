"""Benchmark: the managers' pages of a 1,000-location chain with 24 months of audits, against the
real server process over loopback, alone and while audits are ingested at 500/s.

The chain: 1,000 locations in 10 regions of 100, 8 audits a location a month for 24 months
(192,000 real audits stored as ingest stores them: answers, scores, daily and monthly rollups).
Prints p50/p95/p99 of the region overview (figures now and before, pillars, ranking and heatmap),
a location scorecard with 24 months of trend, the region's Pareto page, the whole brand's Pareto
page and the audit report as PDF; then the same pages while a second client posts audits at 500/s;
then the extreme shape, one region of all 1,000 locations. Goals (issue 11): region p99 < 150 ms,
scorecard p99 < 50 ms, Pareto p99 < 300 ms, PDF < 300 ms.

Run: python tests/bench/bench_manage.py   (about six minutes: seeding takes most of it)
"""

import asyncio
import datetime as dt
import random
import sys
import tempfile
import uuid
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen  # noqa: E402
from bench_ingest import answers_for, bench_brand, free_port, seed_history, start_server  # noqa: E402

from server.accounts import accounts  # noqa: E402
from server.locations.locations import LocationIn, import_locations  # noqa: E402

SECONDS = 10


def pages(db, region: str, location: str) -> list[tuple[str, str]]:
    audit = db.execute("SELECT id FROM audits WHERE location = ? AND checklist = 'visit' ORDER BY day DESC LIMIT 1", [location]).fetchone()[0]
    return [
        ("region overview (100 locations, 90 days)", f"/manage/regions/{region}"),
        ("location scorecard (24-month trend)", f"/manage/locations/{location}?period=365"),
        ("region Pareto (90 days)", f"/manage/regions/{region}/items"),
        ("whole brand Pareto (90 days)", "/manage/items"),
        ("audit report as PDF (50 answers)", f"/manage/audits/{audit}.pdf"),
    ]


def measure(port: int, head: dict, shown: list[tuple[str, str]], ingest=None) -> None:
    host = f"127.0.0.1:{port}"
    for what, path in shown:
        request = loadgen.http_request("GET", path, host, head)
        asyncio.run(loadgen.closed_loop("127.0.0.1", port, lambda i: request, 1, 1))  # warm up

        async def both():
            tasks = [loadgen.closed_loop("127.0.0.1", port, lambda i: request, 1, SECONDS)]
            if ingest:
                tasks.append(loadgen.open_loop("127.0.0.1", port, ingest, rate=500, seconds=SECONDS))
            return await asyncio.gather(*tasks)

        results = asyncio.run(both())
        line = results[0].line(what).rstrip() + f"   p95 {results[0].pct(95):.1f} ms"
        if ingest:
            line += f"   | ingest {results[1].rate:.0f}/s p99 {results[1].pct(99):.0f} ms {dict(results[1].statuses)}"
        print(line)


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def export(port: int, head: dict, pid: int) -> None:
    """Stream answers.csv for the last 200 days of the whole chain (over 1,000,000 answers), sampling
    the server's resident memory every 20 ms: the peak must not grow with the export."""
    import threading
    import time

    import httpx

    start = (dt.date.today() - dt.timedelta(days=200)).isoformat()
    before, peak, done = rss_mb(pid), [0.0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    began, rows, size = time.perf_counter(), 0, 0
    with httpx.stream("GET", f"http://127.0.0.1:{port}/api/export/answers.csv?from={start}", headers=head, timeout=600) as response:
        for chunk in response.iter_bytes():
            size += len(chunk)
            rows += chunk.count(b"\n")
    done.set()
    sampler.join()
    seconds = time.perf_counter() - began
    print(f"answers.csv, last 200 days of the chain: {rows - 1:,} answers, {size / 1e6:.0f} MB in {seconds:.1f} s "
          f"({(rows - 1) / seconds:,.0f} rows/s); server memory {before:.0f} MB before, peak {peak[0]:.0f} MB while streaming")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, db, catalog = bench_brand(tmp, 50)
        import_locations(db, [LocationIn(id=f"h{i:04d}", name=f"History {i}", region=f"r{i // 100}") for i in range(1000)], ["bench"])
        accounts.add_user(db, "loader", "auditor", [], "bench-password")
        accounts.add_user(db, "boss", "admin", [], "bench-password")
        admin = accounts.new_token(db, accounts.user_by_name(db, "boss"))
        token = accounts.new_token(db, accounts.user_by_name(db, "loader"))
        seed_history(db, catalog, locations=1000, months=24, per_month=8)
        shown = pages(db, "r0", "h0042")
        db.conn.close()

        rnd = random.Random(2)
        answer_sets = [msgspec.json.encode(answers_for(rnd, 50)) for _ in range(64)]
        now = dt.datetime.now(dt.UTC)

        def audit(i: int) -> bytes:  # spread over the chain's 1,000 locations, today
            body = (b'{"id":"' + str(uuid.uuid4()).encode() + b'","location":"h' + f"{(i * 7) % 1000:04d}".encode() + b'","checklist":"visit",'
                    b'"started_at":"' + (now - dt.timedelta(minutes=12)).isoformat().encode() + b'","finished_at":"' + now.isoformat().encode() + b'",'
                    b'"answers":' + answer_sets[i % 64] + b"}")
            return loadgen.http_request("POST", "/api/audits", f"127.0.0.1:{port}", {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, body)

        port = free_port()
        server = start_server(data, tmp / "checklists", port)
        head = {"Authorization": f"Bearer {admin}"}
        try:
            print("-- alone")
            measure(port, head, shown)
            export(port, head, server.pid)
            print("-- while audits are ingested at 500/s")
            measure(port, head, shown, ingest=audit)
        finally:
            server.terminate()
            server.wait(timeout=10)

        # the extreme shape: every location in one region (a 1,000-row ranking and heatmap)
        from server.migrations import open_database

        db = open_database(data / "touchpoint.db")
        db.execute("UPDATE locations SET region = 'r0'")
        db.conn.commit()
        db.conn.close()
        server = start_server(data, tmp / "checklists", port)
        try:
            print("-- one region of all 1,000 locations, alone")
            measure(port, head, [(what.replace("100 locations", "1,000 locations"), path) for what, path in shown[:2]])
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
