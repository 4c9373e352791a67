"""Benchmark: the WAL's size under a minute of ingest at full speed, with readers at the same time.

Before the bound (issue 12) the WAL grew without end under non-stop ingest (627 MB after 30 s
against a 32 MB database) and only a restart reset it. Prints the WAL's size sampled every 100 ms
(largest, median, at the end), the audits stored and the database's size.

Run: python tests/bench/bench_wal.py [SECONDS]   (default 60; needs nothing beyond the project)
"""

import asyncio
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen  # noqa: E402
from bench_ingest import audit_requests, bench_brand, free_port, start_server  # noqa: E402

from server.accounts import accounts  # noqa: E402
from server.audits.ingest import WAL_LIMIT  # noqa: E402
from server.locations.locations import LocationIn, import_locations  # noqa: E402


def main(seconds: float) -> None:
    items = 50
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, db, _ = bench_brand(tmp, items)
        import_locations(db, [LocationIn(id=f"s{i:03d}", name=f"Shop {i}", region=f"r{i % 4}") for i in range(100)], ["bench"])
        accounts.add_user(db, "loader", "auditor", [], "bench-password")
        accounts.add_user(db, "boss", "admin", [], "bench-password")
        token = accounts.new_token(db, accounts.user_by_name(db, "loader"))
        admin = accounts.new_token(db, accounts.user_by_name(db, "boss"))
        db.conn.close()
        port = free_port()
        server = start_server(data, tmp / "checklists", port)
        try:
            run(port, token, admin, items, data, seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)


def run(port: int, token: str, admin: str, items: int, data: Path, seconds: float) -> None:
    host = f"127.0.0.1:{port}"
    audit = audit_requests(host, token, items)
    summary = loadgen.http_request("GET", "/api/regions/r1/summary", host, {"Authorization": f"Bearer {admin}"})
    listing = loadgen.http_request("GET", "/api/audits?limit=100", host, {"Authorization": f"Bearer {admin}"})
    wal = data / "touchpoint.db-wal"
    sizes: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            sizes.append(wal.stat().st_size if wal.exists() else 0)

    async def load():
        return await asyncio.gather(
            loadgen.closed_loop("127.0.0.1", port, audit, 16, seconds),
            loadgen.closed_loop("127.0.0.1", port, lambda i: summary if i % 2 else listing, 2, seconds),
        )

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    ingest, reads = asyncio.run(load())
    stop.set()
    sampler.join()
    mib = 2**20
    print(f"{seconds:.0f} s at full speed (16 clients sending 50-answer audits, 2 reading summaries and lists), {time.monotonic() - started:.0f} s in all")
    print(ingest.line("POST /api/audits"))
    print(reads.line("GET summaries and lists alongside"))
    ordered = sorted(sizes)
    print(f"WAL size, {len(sizes)} samples every 100 ms: largest {max(sizes) / mib:.1f} MiB, median {ordered[len(ordered) // 2] / mib:.1f} MiB, "
          f"at the end {sizes[-1] / mib:.1f} MiB (the writer starts it over past {WAL_LIMIT // mib} MiB)")
    print(f"database: {os.path.getsize(data / 'touchpoint.db') / mib:.0f} MiB after {ingest.statuses.get(201, 0):,} audits stored")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 60)
