"""Benchmark: durable audit ingest and region summaries against the real server process over loopback.

Prints: audits/s with p50/p99 (50-answer audits, concurrent clients, synchronous=FULL) beside a
trivial JSON endpoint of the same server in the same run; p50/p99 at a fixed 500 audits/s; and
the p95 of a region summary over 1,000 locations x 24 months of audits.

Two workloads (BENCH_WORKLOAD):
- `program` (the default): what a mystery-shop program sends. 50 auditors, each audit of one of 1,000
  shops at random, two answers with a comment of their own, answers that keep the promise in ~80% of
  audits (the others open a follow-up action); a few repeated visits get flagged.
- `worst`: the bench as it was before follow-up: one auditor sends every audit to 100 shops, so nearly
  every audit repeats visits (a flag) and ~98% score under the threshold (an action).

Run: python tests/bench/bench_ingest.py   (about five minutes, most of it seeding 192,000 audits; needs nothing beyond the project)
A/B against an older commit: git worktree add /tmp/old <rev>; cd /tmp; PYTHONPATH=/tmp/old python <this file>
(from outside the work tree: `python -m server.cli` puts the current folder before PYTHONPATH)
BENCH_HISTORY_MONTHS=2 seeds 16,000 audits instead of 192,000, for a quick A/B.
"""

import asyncio
import datetime as dt
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen  # noqa: E402

import msgspec  # noqa: E402

from server.accounts import accounts  # noqa: E402
from server.checklists.catalog import Catalog  # noqa: E402
from server.db import write  # noqa: E402
try:
    from server.followup.policy import policy  # noqa: E402
except ImportError:  # an A/B against a commit before follow-up: its store() took the brand and review
    policy = None
from server.locations.locations import LocationIn, import_locations  # noqa: E402
from server.migrations import open_database  # noqa: E402

WORKLOAD = os.environ.get("BENCH_WORKLOAD", "program")
AUDITORS = 50

BRAND = """\
id: bench
name: Bench Stores
promise: Measured.
pillars:
  - {id: fast, name: Fast, target: 85}
  - {id: friendly, name: Friendly, target: 90}
touchpoints: [visit, call]
"""


def checklist(name: str, items: int) -> str:
    lines = [f"id: {name}", "title: Bench", "mode: in_person", "sections:"]
    for s in range(items // 10):
        lines += [f"  - id: s{s}", f"    title: S{s}", "    items:"]
        for i in range(10):
            n = s * 10 + i
            if n % 5 == 4:
                lines.append(f"      - {{id: q{n}, text: Q, type: scale, min: 1, max: 5, pillars: [friendly]}}")
            elif n % 5 == 3:
                lines.append(f"      - {{id: q{n}, text: Q, type: timer, bands: [{{at_most: 60, score: 1}}, {{at_most: 180, score: 0.5}}], pillars: [fast]}}")
            else:
                lines.append(f"      - {{id: q{n}, text: Q, type: yes_no, pillars: [{'fast' if n % 2 else 'friendly'}]}}")
    return "\n".join(lines) + "\n"


def answers_for(rnd: random.Random, items: int, yes: float = 0.85, lowest: int = 1, longest: int = 240) -> dict:
    """Random answers: yes/no (`yes` of them yes), scales from `lowest` to 5, timers of 10 s to `longest`.
    The defaults score ~98% of visits under the threshold; yes=0.9, lowest=3, longest=120 score ~17% under it
    (11 of the `program` workload's 64 answer sets; ~20% of its audits opened an action in the runs)."""
    out = {}
    for n in range(items):
        if n % 5 == 4:
            out[f"q{n}"] = {"value": rnd.randint(lowest, 5)}
        elif n % 5 == 3:
            out[f"q{n}"] = {"value": rnd.randint(10, longest)}
        else:
            out[f"q{n}"] = {"value": "yes" if rnd.random() < yes else "no"}
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path, checklists: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--data", str(data), "--checklists", str(checklists), "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start: " + proc.stderr.read().decode())


def seed_history(db, catalog: Catalog, locations: int, months: int, per_month: int, auditor: str = "loader", review: bool = False, prefix: str = "h", seed: int = 1) -> int:
    """Store locations x months x per_month real audits of h0000, h0001, … as ingest does (scored by
    the real scoring, answers, sections, pillars, daily and monthly rollups), in bulk: one
    transaction per location instead of one per audit. Half visits (50 answers), half calls (10).
    With `review`, they wait for review instead of counting."""
    from server.audits.audits import AuditIn, store
    from server.checklists.scoring import parse_answers, score_audit

    by = accounts.user_by_name(db, auditor)
    rnd = random.Random(seed)
    today = dt.date.today()
    checklists = {t: catalog.checklist(db, "bench", t, None) for t in ("visit", "call")}
    count = 0
    started = time.perf_counter()
    for loc in range(locations):
        with write(db):
            for month in range(months):
                for k in range(per_month):
                    touchpoint = "visit" if k % 2 else "call"
                    brand, loaded = checklists[touchpoint]
                    answers = parse_answers(answers_for(rnd, 50 if touchpoint == "visit" else 10))
                    finished = dt.datetime.combine(today - dt.timedelta(days=30 * month + rnd.randrange(30)), dt.time(12), dt.UTC)
                    audit = AuditIn(id=uuid.UUID(int=rnd.getrandbits(128)), location=f"{prefix}{loc:04d}", checklist=touchpoint,
                                    started_at=finished - dt.timedelta(minutes=20), finished_at=finished, answers=answers)
                    how = [msgspec.structs.replace(policy(brand, loaded.checklist), review=review)] if policy else ["bench", review]
                    store(db, audit, score_audit(brand, loaded, answers), by, *how)
                    count += 1
    print(f"seeded {count:,} audits ({locations:,} locations x {months} months x {per_month}) in {time.perf_counter() - started:.0f} s")
    return count


def bench_brand(tmp: Path, items: int, store: str = ""):
    """The bench brand's files under tmp/checklists and a migrated database under tmp/data (or at the
    PostgreSQL URL `store`, the data folder then holding the photos): (data, db, catalog)."""
    folder = tmp / "checklists" / "bench"
    folder.mkdir(parents=True)
    (folder / "brand.yaml").write_text(BRAND)
    (folder / "visit.yaml").write_text(checklist("visit", items))
    (folder / "call.yaml").write_text(checklist("call", 10))
    data = tmp / "data"
    db = open_database(store or data / "touchpoint.db")
    return data, db, Catalog.load(db, tmp / "checklists")


def main() -> None:
    items = 50
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, db, catalog = bench_brand(tmp, items)
        rows = [LocationIn(id=f"s{i:03d}", name=f"Shop {i}", region=f"r{i % 4}") for i in range(100)]
        rows += [LocationIn(id=f"h{i:04d}", name=f"History {i}", region="big" if i < 1000 else "other") for i in range(1000)]
        import_locations(db, rows, ["bench"])
        accounts.add_user(db, "loader", "auditor", [], "bench-password")
        accounts.add_user(db, "boss", "admin", [], "bench-password")
        tokens = [accounts.new_token(db, accounts.user_by_name(db, "loader"))]
        if WORKLOAD == "program":
            for k in range(AUDITORS):
                accounts.add_user(db, f"shopper{k}", "auditor", [], "bench-password")
            tokens = [accounts.new_token(db, accounts.user_by_name(db, f"shopper{k}")) for k in range(AUDITORS)]
        admin = accounts.new_token(db, accounts.user_by_name(db, "boss"))
        seed_history(db, catalog, locations=1000, months=int(os.environ.get("BENCH_HISTORY_MONTHS", 24)), per_month=8)  # fewer for a quick A/B
        db.conn.close()

        port = free_port()
        server = start_server(data, tmp / "checklists", port)
        try:
            run(port, tokens, admin, items, data, server.pid)
        finally:
            server.terminate()
            server.wait(timeout=10)


def audit_requests(host: str, tokens: list[str], items: int):
    """n -> the bytes of a POST /api/audits of a new audit with `items` answers: in the `worst`
    workload by the one auditor at shop s(n mod 100); in `program`, by one of the auditors at one of
    the 1,000 shops h0000-h0999, both drawn at random, with two comments of its own."""
    rnd = random.Random(2)
    program = WORKLOAD == "program"
    shape = {"yes": 0.9, "lowest": 3, "longest": 120} if program else {}
    answer_sets = [msgspec.json.encode(answers_for(rnd, items, **shape)) for _ in range(64)]
    now = dt.datetime.now(dt.UTC)
    heads = [{"Authorization": f"Bearer {token}", "Content-Type": "application/json"} for token in tokens]
    times = b'"started_at":"' + (now - dt.timedelta(minutes=12)).isoformat().encode() + b'","finished_at":"' + now.isoformat().encode() + b'",'

    def audit(i: int) -> bytes:
        audit_id = str(uuid.uuid4()).encode()
        if program:
            location, head = f"h{rnd.randrange(1000):04d}", heads[rnd.randrange(len(heads))]
            answers = answer_sets[i % 64].replace(  # q0 and q1 are yes/no items: each gets a comment naming this audit
                b'"q0":{', b'"q0":{"comment":"The greeting came late at the counter, noted in visit ' + audit_id + b'",', 1).replace(
                b'"q1":{', b'"q1":{"comment":"Shelves near the entrance were half empty during visit ' + audit_id + b'",', 1)
        else:
            location, head, answers = f"s{i % 100:03d}", heads[0], answer_sets[i % 64]
        body = (b'{"id":"' + audit_id + b'","location":"' + location.encode() + b'","checklist":"visit",' + times + b'"answers":' + answers + b"}")
        return loadgen.http_request("POST", "/api/audits", host, head, body)

    return audit


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU time (user + system) used so far by the server process and by each child (the writer), from
    /proc: a cost per audit that other work on a shared machine shifts far less than a rate does."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for name, each in [("server", pid)] + [("writer", int(c)) for c in children]:
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return used


def profile(pid: int, seconds: int) -> list[subprocess.Popen]:
    """With BENCH_PROFILE=<folder>: py-spy samples the server process and its writer while the closed
    loop runs, into <folder>/server.txt and writer.txt (collapsed stacks; tests/bench/profile_steps.py
    sums them per step). py-spy is not a dependency: `pip install py-spy` first."""
    folder = os.environ.get("BENCH_PROFILE")
    if not folder:
        return []
    Path(folder).mkdir(parents=True, exist_ok=True)
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    writer = next(int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes() and _is_writer(int(c)))
    return [subprocess.Popen(["py-spy", "record", "--pid", str(each), "--duration", str(seconds), "--rate", "250", "--format", "raw", *gil,
                              "--output", f"{folder}/{name}.txt", "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # the server only while it holds the interpreter (a sample of a thread waiting for it is no work); the writer
            # always, as its SQL runs with the interpreter let go
            for name, each, gil in (("server", pid, ["--gil"]), ("writer", writer, []))]


def _is_writer(pid: int) -> bool:
    """The writer is the spawned child whose main runs server.audits.ingest (photo workers run server.photos)."""
    out = subprocess.run(["py-spy", "dump", "--pid", str(pid), "--nonblocking"], capture_output=True, text=True).stdout
    return "ingest.py" in out


def run(port: int, tokens: list[str], admin: str, items: int, data: Path, pid: int) -> None:
    host = f"127.0.0.1:{port}"
    audit = audit_requests(host, tokens, items)
    health = loadgen.http_request("GET", "/api/health", host, {})
    summary = loadgen.http_request("GET", "/api/regions/big/summary", host, {"Authorization": f"Bearer {admin}"})

    since = dt.datetime.now(dt.UTC).isoformat()
    print(f"workload: {WORKLOAD}")
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, {platform.python_implementation()} {platform.python_version()}; server: one uvicorn process plus its writer process; client: this process, on the same 2 cores")
    asyncio.run(loadgen.closed_loop("127.0.0.1", port, lambda i: health, 16, 2))  # warm up
    asyncio.run(loadgen.closed_loop("127.0.0.1", port, audit, 16, 2))
    trivial = asyncio.run(loadgen.closed_loop("127.0.0.1", port, lambda i: health, 16, 8))
    print(trivial.line("GET /api/health (trivial JSON)"))
    before = cpu_seconds(pid)
    spies = profile(pid, 8)
    ingest = asyncio.run(loadgen.closed_loop("127.0.0.1", port, audit, 16, 8))
    after = cpu_seconds(pid)
    for spy in spies:
        spy.wait()
    print(ingest.line(f"POST /api/audits ({items} answers)"))
    done = sum(ingest.statuses.values())
    print("  CPU per audit: " + ", ".join(f"{name} {1e6 * (after[name] - before.get(name, 0)) / done:.0f} us" for name in after))
    print(f"  ingest keeps {100 * ingest.rate / trivial.rate:.0f}% of the trivial endpoint's rate")
    steady = asyncio.run(loadgen.open_loop("127.0.0.1", port, audit, rate=500, seconds=10))
    print(steady.line("POST /api/audits at 500/s (open)"))
    check = open_database(data / "touchpoint.db")
    stored = check.execute("SELECT COUNT(*) FROM audits").fetchone()[0]
    created = sum(r.statuses.get(201, 0) for r in (ingest, steady))
    print(f"  audits in the database: {stored} (201 answers, warm-up included: {created} + warm-up)")
    tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "flags" in tables:  # follow-up: what this workload made of its audits (the history left aside)
        flagged = check.execute("SELECT count(DISTINCT audit) FROM flags WHERE raised_at >= ?", [since]).fetchone()[0]
        opened = check.execute("SELECT count(*) FROM actions WHERE opened_at >= ?", [since]).fetchone()[0]
        print(f"  follow-up: {flagged} of these audits flagged, {opened} actions opened")
    check.conn.close()
    regions = asyncio.run(loadgen.closed_loop("127.0.0.1", port, lambda i: summary, 1, 10))
    print(regions.line("GET region summary (1,000 loc x 24 mo)").replace("p99", "p99").rstrip() + f"   p95 {regions.pct(95):.1f} ms")


if __name__ == "__main__":
    main()
