"""Benchmark: what a read-only standby (server/standby.py) adds to a request: a figures read asks the
primary for its reader's mark and the standby for its state (one round trip each), and a write
request of a figures reader keeps the primary's WAL position for them (one upsert). Starts a primary
of its own and a standby of it (`pg_basebackup -R`, tests/test_standby.py); prints the median and
p99 of each, over 500 calls.

Run: python tests/bench/bench_standby.py   (needs PostgreSQL's programs, as the tests do)
"""

import statistics
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from server import standby as sb  # noqa: E402
from server.db import connect  # noqa: E402
from tests import postgres  # noqa: E402
from tests.test_standby import Standby  # noqa: E402

CALLS = 500


def timed(label: str, call) -> None:
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    print(f"{label}: median {statistics.median(times):.0f} µs, p99 {times[int(len(times) * 0.99)]:.0f} µs")


def main() -> None:
    primary = postgres.Cluster().start()
    root = Path(tempfile.mkdtemp(prefix="touchpoint-standby-"))
    replica = Standby(primary, root).start()
    try:
        url = primary.new_database(head=True)
        db = connect(url)
        sb.remember(db, 1)
        replica.caught_up()
        reads = sb.Standby(replica.url(url.rsplit("/", 1)[1]), 30)

        def figures_read() -> None:
            with reads.lease(sb.mark(db, 1)) as conn:
                assert conn is not None, reads.last

        timed("a figures read's checks: the mark on the primary, the state on the standby", figures_read)
        timed("a figures reader's write request: the mark kept on the primary", lambda: sb.remember(db, 1))
        reads.close()
        db.conn.close()
    finally:
        replica.stop()
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
