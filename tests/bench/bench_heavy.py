"""Benchmark: one person's heavy work against everyone else's requests, on the real server.

A chain of 10 regions (LOCATIONS locations, 24 months of 4 audits a month: half visits of 50
answers, half calls of 10), served by `touchpoint serve` on loopback. First the CPU each managers'
page and API figure route costs, in the server process and in its worker processes, over 90 days
and over the longest period the pages take (from=2000-01-01 to a year from today). Then, while other users call
GET /api/me at 50/s and phones submit audits (50 answers) at 50/s, open loop: p99 of both alone,
then with 8 parallel whole-chain answers.csv exports by one manager, 8 parallel PDFs, and 8 whole-brand
Pareto pages over 2000 on (one admin; TOUCHPOINT_HEAVY_PER_PERSON raised to 8 for the bench),
each phase with the server's memory (the sum of its process tree, from /proc) and the WAL's
largest size; BENCH_HEAVY_ROUNDS rounds (2) of the phases taking turns; one server process
(BENCH_HEAVY_WORKERS=N: `serve --workers N`). The heavy clients run in a
process of their own at nice 10: they stand for people on other machines. Goals (issue 27):
/api/me p99 <= 50 ms and audit submissions p99 <= 100 ms with the exports running.

Run: python tests/bench/bench_heavy.py   (seeding takes a minute or two; BENCH_HEAVY_KEEP=folder
keeps the seeded data there and reuses it on the next run)
"""

import asyncio
import multiprocessing
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen  # noqa: E402
from bench_ingest import answers_for, bench_brand, free_port, seed_history  # noqa: E402

from server.accounts import accounts  # noqa: E402
from server.locations.locations import LocationIn, import_locations  # noqa: E402

LOCATIONS = int(os.environ.get("BENCH_HEAVY_LOCATIONS", "300"))
RATE = 50  # /api/me a second, and audits a second
SECONDS = 10
WORKERS = os.environ.get("BENCH_HEAVY_WORKERS", "1")  # server processes: one, as the figures in the README
ROUNDS = int(os.environ.get("BENCH_HEAVY_ROUNDS", "2"))
ALWAYS = f"from=2000-01-01&to={dt.date.today() + dt.timedelta(days=365)}"  # the longest period a page takes


def seed(tmp: Path) -> Path:
    """The chain's data folder (and its checklists beside it): seeded, or reused from BENCH_HEAVY_KEEP."""
    keep = os.environ.get("BENCH_HEAVY_KEEP")
    if keep and (Path(keep) / "data" / "touchpoint.db").exists():
        shutil.copytree(keep, tmp, dirs_exist_ok=True)
        return tmp / "data"
    data, db, catalog = bench_brand(tmp, 50)
    import_locations(db, [LocationIn(id=f"h{i:04d}", name=f"History {i}", region=f"r{i % 10}") for i in range(LOCATIONS)], ["bench"])
    accounts.add_user(db, "loader", "auditor", [], "bench-password")
    accounts.add_user(db, "boss", "admin", [], "bench-password")
    accounts.add_user(db, "chief", "manager", [f"r{i}" for i in range(10)], "bench-password")  # the whole chain's manager
    for k in range(4):
        accounts.add_user(db, f"other{k}", "manager", ["r0"], "bench-password")
    seed_history(db, catalog, locations=LOCATIONS, months=24, per_month=4)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    if keep:
        shutil.copytree(tmp, keep, dirs_exist_ok=True)
    return data


def tokens(database: Path) -> dict[str, str]:
    from server.migrations import open_database

    db = open_database(database)
    found = {name: accounts.new_token(db, accounts.user_by_name(db, name)) for name in ("loader", "boss", "chief", "other0", "other1", "other2", "other3")}
    audit = db.execute("SELECT id FROM audits WHERE location = 'h0042' AND checklist = 'visit' ORDER BY day DESC LIMIT 1").fetchone()[0]
    db.conn.close()
    return found | {"audit": audit}


def start(data: Path, checklists: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "TOUCHPOINT_HEAVY_PER_PERSON": "8"}
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--data", str(data), "--checklists", str(checklists), "--port", str(port),
                             "--workers", WORKERS],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start: " + proc.stderr.read().decode())


def tree(pid: int) -> list[int]:
    """The process and all its descendants (Linux /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(entry.name))
            except (OSError, ValueError):
                pass
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += parents.get(p, [])
    return found


def cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            total += next(int(line.split()[1]) for line in open(f"/proc/{p}/status") if line.startswith("VmRSS"))
        except (OSError, StopIteration):
            pass
    return total / 1024


def route_cpu(port: int, head: dict, pid: int, routes: list[tuple[str, str]], rounds: int = 3) -> None:
    """Each route's CPU per request (median of `rounds`), in the server process and in its children."""
    print(f"{'route':<62} {'server ms':>10} {'workers ms':>11} {'wall ms':>8}")
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=head, timeout=600) as client:
        for what, path in routes:
            client.get(path)  # warm: workers started, pages cached by SQLite
            taken = []
            for _ in range(rounds):
                children = [p for p in tree(pid) if p != pid]
                own, theirs, began = cpu(pid), sum(cpu(p) for p in children), time.perf_counter()
                response = client.get(path)
                wall = time.perf_counter() - began
                time.sleep(0.05)  # a worker's last tick lands in /proc
                children = [p for p in tree(pid) if p != pid]
                taken.append(((cpu(pid) - own) * 1000, (sum(cpu(p) for p in children) - theirs) * 1000, wall * 1000, response.status_code))
            server_ms, workers_ms, wall_ms, status = sorted(taken)[len(taken) // 2]
            print(f"{what:<62} {server_ms:10.0f} {workers_ms:11.0f} {wall_ms:8.0f}" + ("" if status == 200 else f"   status {status}"))


def _heavy_clients(port: int, head: dict, path: str, parallel: int, stop, done) -> None:
    """In a process of its own (so that its threads never share an interpreter with the clients
    whose latency is measured): `parallel` clients fetching `path` over and over until `stop`,
    each response read to its end; then (count, statuses) on `done`."""
    os.nice(10)  # they stand for people on other machines: their reading must not take the server's cores
    counts = {"done": 0, "statuses": {}}

    def client():
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=head, timeout=600) as c:
            while not stop.is_set():
                with c.stream("GET", path) as response:
                    for _ in response.iter_raw(1 << 16):
                        pass
                counts["statuses"][response.status_code] = counts["statuses"].get(response.status_code, 0) + 1
                counts["done"] += 1

    threads = [threading.Thread(target=client) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.put((counts["done"], counts["statuses"]))


def phase(what: str, port: int, pid: int, tok: dict, heavy: tuple[str, dict, str] | None, wal: Path) -> None:
    host = f"127.0.0.1:{port}"
    others = [tok[f"other{k}"] for k in range(4)]
    me = [loadgen.http_request("GET", "/api/me", host, {"Authorization": f"Bearer {t}"}) for t in others]
    rnd = random.Random(3)
    answer_sets = [msgspec.json.encode(answers_for(rnd, 50)) for _ in range(32)]
    now = dt.datetime.now(dt.UTC)

    def audit(i: int) -> bytes:
        body = (b'{"id":"' + str(uuid.uuid4()).encode() + b'","location":"h' + f"{(i * 7) % LOCATIONS:04d}".encode() + b'","checklist":"visit",'
                b'"started_at":"' + (now - dt.timedelta(minutes=12)).isoformat().encode() + b'","finished_at":"' + now.isoformat().encode() + b'",'
                b'"answers":' + answer_sets[i % 32] + b"}")
        return loadgen.http_request("POST", "/api/audits", host, {"Authorization": f"Bearer {tok['loader']}", "Content-Type": "application/json"}, body)

    spawn = multiprocessing.get_context("spawn")
    stop, done, clients, peak = spawn.Event(), spawn.Queue(), None, [rss_mb(pid)]
    if heavy:
        path, head, _ = heavy
        clients = spawn.Process(target=_heavy_clients, args=(port, head, path, 8, stop, done))
        clients.start()
        time.sleep(3)  # all 8 under way
    sampling = threading.Event()

    wal_peak = [0]

    def sample():
        while not sampling.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            wal_peak[0] = max(wal_peak[0], wal.stat().st_size if wal.exists() else 0)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    async def both():
        return await asyncio.gather(loadgen.open_loop("127.0.0.1", port, lambda i: me[i % 4], rate=RATE, seconds=SECONDS, connections=16),
                                    loadgen.open_loop("127.0.0.1", port, audit, rate=RATE, seconds=SECONDS, connections=16))

    mine, audits = asyncio.run(both())
    sampling.set()
    sampler.join()
    stop.set()
    extra = ""
    if clients:
        finished, statuses = done.get(timeout=600)
        clients.join()
        extra = f"   | heavy: {finished} done {statuses}"
    print(f"{what:<44} /api/me p50 {mine.pct(50):6.1f} p99 {mine.pct(99):7.1f} ms {dict(mine.statuses)}   "
          f"audits p50 {audits.pct(50):6.1f} p99 {audits.pct(99):7.1f} ms {dict(audits.statuses)}   server tree RSS peak {peak[0]:5.0f} MB, WAL peak {wal_peak[0] / 2**20:4.0f} MiB{extra}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = seed(tmp)
        tok = tokens(data / "touchpoint.db")
        port = free_port()
        server = start(data, tmp / "checklists", port)
        admin, chief = {"Authorization": f"Bearer {tok['boss']}"}, {"Authorization": f"Bearer {tok['chief']}"}
        try:
            print(f"-- CPU a request costs, {LOCATIONS} locations in 10 regions, 24 months (median of 3; workers: the server's child processes)")
            route_cpu(port, admin, server.pid, [
                ("/manage/ (every region, 90 days)", "/manage/"),
                ("/manage/ (every region, 2000 on)", f"/manage/?{ALWAYS}"),
                ("region overview (90 days)", "/manage/regions/r0"),
                ("region overview (2000 on)", f"/manage/regions/r0?{ALWAYS}"),
                ("location scorecard (365 days, 24-month trend)", "/manage/locations/h0042?period=365"),
                ("location scorecard (2000 on)", f"/manage/locations/h0042?{ALWAYS}"),
                ("region Pareto (90 days)", "/manage/regions/r0/items"),
                ("region Pareto (2000 on)", f"/manage/regions/r0/items?{ALWAYS}"),
                ("whole-brand Pareto (90 days)", "/manage/items"),
                ("whole-brand Pareto (2000 on)", f"/manage/items?{ALWAYS}"),
                ("audit report page", f"/manage/audits/{tok['audit']}"),
                ("audit report PDF (50 answers)", f"/manage/audits/{tok['audit']}.pdf"),
                ("GET /api/regions/r0/summary (2000 on)", f"/api/regions/r0/summary?{ALWAYS}"),
                ("GET /api/locations/h0042/summary (2000 on)", f"/api/locations/h0042/summary?{ALWAYS}"),
                ("GET /api/review", "/api/review"),
                ("GET /api/flags", "/api/flags"),
                ("/manage/review", "/manage/review"),
                ("/manage/flags", "/manage/flags"),
                ("/manage/actions", "/manage/actions"),
                ("/manage/locations", "/manage/locations"),
                ("audits.csv, whole chain", "/api/export/audits.csv"),
                ("answers.csv, region r0", "/api/export/answers.csv?region=r0"),
            ])
            print(f"-- other users' /api/me and phones' audits at {RATE}/s each, open loop, {SECONDS} s a phase")
            wal = data / "touchpoint.db-wal"
            for _ in range(ROUNDS):  # taking turns: the machine's other load falls on both sides
                phase("alone", port, server.pid, tok, None, wal)
                phase("with 8 whole-chain answers.csv (a manager)", port, server.pid, tok, ("/api/export/answers.csv", chief, "export"), wal)
                phase("alone, again", port, server.pid, tok, None, wal)
                phase("with 8 parallel PDFs (an admin)", port, server.pid, tok, (f"/manage/audits/{tok['audit']}.pdf", admin, "pdf"), wal)
                phase("with 8 whole-brand Pareto pages, 2000 on", port, server.pid, tok, (f"/manage/items?{ALWAYS}", admin, "page"), wal)
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
