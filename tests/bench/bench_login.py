"""Benchmark: what 40 concurrent wrong sign-ins cost the server (issue 12's probe: 56 -> 446 MB, argon2id
takes 64 MiB a check, and three times the p99 for everyone else).

Prints the server's resident memory (its process and its children, sampled every 20 ms) before and
at the peak, the statuses the 40 got, and the p99 of other clients' requests before and during.

Run: python tests/bench/bench_login.py   (about 20 s; needs nothing beyond the project)
"""

import asyncio
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import loadgen  # noqa: E402
from bench_ingest import bench_brand, free_port, start_server  # noqa: E402

from server.accounts import accounts  # noqa: E402
from tests.live import children  # noqa: E402


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children, in MiB."""
    total = 0
    for process in [pid, *(child for child, _, _ in children(pid))]:
        try:
            stat = Path(f"/proc/{process}/stat").read_text()
            total += int(stat[stat.rindex(")") + 2:].split()[21]) * 4096
        except (OSError, ValueError):
            continue
    return total / 2**20


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, db, _ = bench_brand(tmp, 10)
        accounts.add_user(db, "boss", "admin", [], "bench-password-1")
        token = accounts.new_token(db, accounts.user_by_name(db, "boss"))
        db.conn.close()
        port = free_port()
        server = start_server(data, tmp / "checklists", port)
        try:
            run(server.pid, port, token)
        finally:
            server.terminate()
            server.wait(timeout=30)


def run(pid: int, port: int, token: str) -> None:
    host = f"127.0.0.1:{port}"
    me = loadgen.http_request("GET", "/api/me", host, {"Authorization": f"Bearer {token}"})
    asyncio.run(loadgen.closed_loop("127.0.0.1", port, lambda i: me, 4, 2))  # warm up
    quiet = asyncio.run(loadgen.closed_loop("127.0.0.1", port, lambda i: me, 4, 5))
    before = rss_mib(pid)
    peak = [before]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.02):
            peak.append(rss_mib(pid))

    sampler = threading.Thread(target=sample)
    sampler.start()

    def wrong(i: int) -> bytes:  # 40 names, so the per-name limit alone would not stop them
        body = f'{{"name": "boss{i % 40}", "password": "wrong-password-{i}"}}'.encode()
        return loadgen.http_request("POST", "/api/login", host, {"Content-Type": "application/json"}, body)

    async def storm():
        return await asyncio.gather(
            loadgen.closed_loop("127.0.0.1", port, wrong, 40, 5),
            loadgen.closed_loop("127.0.0.1", port, lambda i: me, 4, 5),
        )

    logins, busy = asyncio.run(storm())
    stop.set()
    sampler.join()
    print(f"server memory (its process and children): {before:.0f} MiB before, {max(peak):.0f} MiB at the peak of 40 concurrent wrong sign-ins for 5 s")
    print(f"the sign-ins: {len(logins.latencies)} answered, statuses {dict(sorted(logins.statuses.items()))}, p50 {logins.pct(50):.0f} ms, p99 {logins.pct(99):.0f} ms")
    print(quiet.line("GET /api/me, quiet"))
    print(busy.line("GET /api/me, during the storm"))


if __name__ == "__main__":
    main()
