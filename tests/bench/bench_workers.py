"""Benchmark: `touchpoint serve --workers N` for N = 1, 2, 4, and how N server processes write.

Prints, for each writer design and N: closed-loop ingest (50-answer audits, 16 connections) and the
trivial endpoint (GET /api/health) of the same server, and the ratio of the two (goal: it does not
fall as workers are added). The designs (issue 27): `own`, each server process starts its own
writer process and the writers queue on SQLite's write lock (BEGIN IMMEDIATE, busy timeout); and
`shared`, one writer process for the installation that every server process hands its audits to
over a Unix socket (server.audits.ingest.SharedWriter, chosen by TOUCHPOINT_BENCH_WRITER=shared).
Then, with 2 workers and the design kept in the code, the scorecard and region overview p99 while
audits arrive at 500/s (goals: 50 and 150 ms, ingest p99 25 ms).

The same workload on both engines in one run (issue 28): SQLite, then a PostgreSQL 15 the bench
starts itself (tests/postgres.py, here with fsync, synchronous_commit and full_page_writes ON, so a
201 is as durable as SQLite's synchronous=FULL; the test suite's cluster runs with them off).
BENCH_ENGINES=sqlite or =postgresql for one; on PostgreSQL only the `own` writer design.

Run: python tests/bench/bench_workers.py   (about ten minutes; BENCH_HISTORY_MONTHS=3 by default:
24,000 stored audits over 1,000 locations in 10 regions)
"""

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen  # noqa: E402
from bench_ingest import AUDITORS, audit_requests, bench_brand, free_port, seed_history  # noqa: E402

from server.accounts import accounts  # noqa: E402
from server.locations.locations import LocationIn, import_locations  # noqa: E402

SECONDS = 6


def serve(data: Path, checklists: Path, port: int, workers: int, writer: str, store: str = "") -> subprocess.Popen:
    env = {**os.environ, "TOUCHPOINT_BENCH_WRITER": writer, "TOUCHPOINT_DATABASE_URL": store}
    log = data.parent / "serve.log"  # a file, not a pipe: nobody reads a pipe while the bench runs, and a full one stops the server
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--data", str(data), "--checklists", str(checklists),
                                 "--port", str(port), "--workers", str(workers)], stdout=subprocess.DEVNULL, stderr=out, env=env,
                                start_new_session=True)
    deadline = time.monotonic() + 180  # 4 server processes each opening 24,000 audits' worth of caches on 2 loaded cores
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1)
            time.sleep(2 if workers > 1 else 0)  # every process up, not only the first
            return proc
        except OSError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the supervisor and its server processes, which would outlive it
    raise SystemExit("the server did not start: " + log.read_text()[-3000:])


def stop(proc: subprocess.Popen, data: Path) -> None:
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    lock = data / "touchpoint.db.writer.lock"  # a shared writer outlives the servers; this one is ended with them
    if lock.exists() and (pid := lock.read_text().strip()):
        try:
            os.kill(int(pid), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass
        time.sleep(0.5)


def main() -> None:
    print(f"machine: {os.cpu_count()} cores; client: this process, on the same cores; {SECONDS} s per figure, 16 connections")
    for engine in os.environ.get("BENCH_ENGINES", "sqlite,postgresql").split(","):
        if engine == "postgresql":
            sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
            from tests.postgres import Cluster

            cluster = Cluster(durable=True).start()
            try:
                run(engine, cluster.new_database())
            finally:
                cluster.stop()
        else:
            run(engine, "")


def run(engine: str, store: str) -> None:
    print(f"--- {engine}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, db, catalog = bench_brand(tmp, 50, store)
        import_locations(db, [LocationIn(id=f"h{i:04d}", name=f"History {i}", region=f"r{i // 100}") for i in range(1000)], ["bench"])
        accounts.add_user(db, "loader", "auditor", [], "bench-password")
        accounts.add_user(db, "boss", "admin", [], "bench-password")
        for k in range(AUDITORS):
            accounts.add_user(db, f"shopper{k}", "auditor", [], "bench-password")
        tokens = [accounts.new_token(db, accounts.user_by_name(db, f"shopper{k}")) for k in range(AUDITORS)]
        admin = accounts.new_token(db, accounts.user_by_name(db, "boss"))
        seed_history(db, catalog, locations=1000, months=int(os.environ.get("BENCH_HISTORY_MONTHS", 3)), per_month=8)
        db.conn.close()
        port = free_port()
        host = f"127.0.0.1:{port}"
        health = loadgen.http_request("GET", "/api/health", host, {})
        audit = audit_requests(host, tokens, 50)
        designs = os.environ.get("BENCH_WRITERS", "own,shared").split(",") if not store else ["own"]
        for design in designs:
            for workers in (1, 2, 4):
                server = serve(data, tmp / "checklists", port, workers, design, store)
                try:
                    asyncio.run(loadgen.closed_loop("127.0.0.1", port, lambda i: health, 16, 1))
                    asyncio.run(loadgen.closed_loop("127.0.0.1", port, audit, 16, 2))
                    trivial = asyncio.run(loadgen.closed_loop("127.0.0.1", port, lambda i: health, 16, SECONDS))
                    ingest = asyncio.run(loadgen.closed_loop("127.0.0.1", port, audit, 16, SECONDS))
                    print(f"{engine:10s} {design:6s} writer, {workers} worker{'s' if workers > 1 else ' '}: trivial {trivial.rate:6.0f}/s p99 {trivial.pct(99):6.1f} ms | "
                          f"ingest {ingest.rate:5.0f}/s p50 {ingest.pct(50):6.1f} ms p99 {ingest.pct(99):6.1f} ms {dict(ingest.statuses)} | "
                          f"ratio {100 * ingest.rate / trivial.rate:4.1f} %")
                finally:
                    stop(server, data)
        mixed(data, tmp, port, admin, audit, engine, store)


def mixed(data: Path, tmp: Path, port: int, admin: str, audit, engine: str, store: str) -> None:
    """2 workers, audits at 500/s: the scorecard's and the region overview's p99 (issue 27's goals)."""
    host = f"127.0.0.1:{port}"
    head = {"Authorization": f"Bearer {admin}"}
    server = serve(data, tmp / "checklists", port, 2, os.environ.get("TOUCHPOINT_BENCH_WRITER", "own"), store)
    try:
        for what, path in (("location scorecard (24-month trend)", "/manage/locations/h0042?period=365"), ("region overview (100 locations, 90 days)", "/manage/regions/r0")):
            request = loadgen.http_request("GET", path, host, head)
            asyncio.run(loadgen.closed_loop("127.0.0.1", port, lambda i: request, 1, 1))
            for ingest in (None, audit):
                async def both():
                    tasks = [loadgen.closed_loop("127.0.0.1", port, lambda i: request, 1, SECONDS)]
                    if ingest:
                        tasks.append(loadgen.open_loop("127.0.0.1", port, ingest, rate=500, seconds=SECONDS))
                    return await asyncio.gather(*tasks)

                results = asyncio.run(both())
                line = f"{engine:10s} 2 workers, {'at 500 audits/s' if ingest else 'alone':16s} " + results[0].line(what).rstrip()
                if ingest:
                    line += f" | ingest {results[1].rate:.0f}/s p50 {results[1].pct(50):.1f} ms p99 {results[1].pct(99):.1f} ms {dict(results[1].statuses)}"
                print(line)
    finally:
        stop(server, data)


if __name__ == "__main__":
    main()
