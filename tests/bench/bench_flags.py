"""Benchmark: integrity flags for one audit with 10 photos, beside a store of 10,000, 100,000 and
1,000,000 photos (issue 14: under 20 ms at 1,000,000, and the duplicate-photo search must not grow
like a scan of the store).

The store is a real database file: `photos` rows and their `photo_bands` index rows, 10 photos to
an audit, with random 64-bit hashes (as different pictures have). The audit is stored through
`audits.store` with its policy; then, inside a transaction rolled back after each round so every
round sees the same store, its flags are computed as on arrival: the visit's length, its comments,
the auditor's visits, and for each of its 10 photos the GPS distance, the capture time and the
duplicate search (`flags.check_photo`). One of the 10 is the same picture as a stored photo (two
bits apart), so the search also finds something. Prints p50/p99 of the whole and of the duplicate
search alone, and how many candidate rows the search read per photo, at each size.

Run: python tests/bench/bench_flags.py   (about four minutes: seeding a million photos takes most of it)
"""

import datetime as dt
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import answers_for, bench_brand  # noqa: E402

from server.accounts import accounts  # noqa: E402
from server.audits.audits import AuditIn, store  # noqa: E402
from server.followup import flags, integrity  # noqa: E402
from server.followup.policy import policy  # noqa: E402
from server.locations.locations import LocationIn, import_locations  # noqa: E402
from server.checklists.scoring import parse_answers, score_audit  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
ROUNDS = 300
BATCH = 50_000


def grow(db, rnd: random.Random, have: int, want: int, first_audit: str) -> list[str]:
    """Add random photos (10 to an audit) until the store holds `want`; returns a few stored hashes.
    The first ten belong to a real stored audit (`first_audit`): a reused photo names an audit that exists."""
    kept = []
    now = dt.datetime.now(dt.UTC).isoformat()
    while have < want:
        n = min(BATCH, want - have)
        photos, bands = [], []
        for i in range(have, have + n):
            phash = f"{rnd.getrandbits(64):016x}"
            photo, audit = f"p{i:08d}", first_audit if i < 10 else f"a{i // 10:07d}"
            photos.append((photo, audit, 1, phash, f"{i:064x}", 480, 360, phash, now))
            bands += [(key, photo, audit, phash) for key in integrity.band_keys(phash)]
            if len(kept) < 5:
                kept.append(phash)
        db.execute("BEGIN")
        db.conn.executemany("INSERT INTO photos (id, audit, uploader, upload_hash, file, width, height, phash, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", photos)
        db.conn.executemany("INSERT INTO photo_bands (key, photo, audit, phash) VALUES (?, ?, ?, ?)", bands)
        db.execute("COMMIT")
        have += n
    return kept


def near(phash: str, rnd: random.Random, bits: int) -> str:
    value = int(phash, 16)
    for bit in rnd.sample(range(64), bits):
        value ^= 1 << bit
    return f"{value:016x}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main() -> None:
    rnd = random.Random(14)
    print(f"Python {platform.python_version()}, SQLite {__import__('sqlite3').sqlite_version}, {platform.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _, db, catalog = bench_brand(tmp, 50)
        import_locations(db, [LocationIn(id="s1", name="Shop 1", region="r1", lat=51.5, lng=-0.12)], ["bench"])
        accounts.add_user(db, "walker", "auditor", [], "bench-password")
        walker = accounts.user_by_name(db, "walker")
        brand = catalog.brands["bench"]
        brand_rules, loaded = brand.brand, brand.checklists["visit"]
        rules = brand_rules.integrity
        have, stored = 0, []
        finished = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=60)
        answers = parse_answers(answers_for(rnd, 50))
        earlier = AuditIn(id=uuid.uuid4(), location="s1", checklist="visit", started_at=finished - dt.timedelta(minutes=20), finished_at=finished, answers=answers)
        db.execute("BEGIN")
        store(db, earlier, score_audit(brand_rules, loaded, answers), walker, policy(brand_rules, loaded.checklist))
        db.execute("COMMIT")
        print(f"{'photos':>10} {'flags p50':>10} {'flags p99':>10} {'search p50':>11} {'search p99':>11} {'rows read':>10} {'store':>8}")
        for size in SIZES:
            began = time.perf_counter()
            stored += grow(db, rnd, have, size, str(earlier.id))
            have = size
            seeded = time.perf_counter() - began
            db.execute("ANALYZE")
            whole, search, rows = [], [], []
            for _ in range(ROUNDS):
                finished = dt.datetime.now(dt.UTC).replace(microsecond=0)
                answers = parse_answers(answers_for(rnd, 50))
                audit = AuditIn(id=uuid.uuid4(), location="s1", checklist="visit", started_at=finished - dt.timedelta(minutes=20), finished_at=finished, answers=answers)
                photos = [{"id": str(uuid.uuid4()), "phash": near(stored[0], rnd, 2) if k == 0 else f"{rnd.getrandbits(64):016x}",
                           "taken_at": (finished - dt.timedelta(minutes=5)).strftime("%Y:%m:%d %H:%M:%S"), "lat": 51.5001, "lng": -0.1201} for k in range(10)]
                db.execute("BEGIN")
                try:
                    store(db, audit, score_audit(brand_rules, loaded, answers), walker, policy(brand_rules, loaded.checklist))
                    facts = flags._audit_facts(db, str(audit.id))
                    started = time.perf_counter()
                    flags.on_audit(db, str(audit.id), answers, 0.0, 50, rules)
                    for photo in photos:
                        flags.index_photo(db, photo["id"], str(audit.id), photo["phash"])
                        flags.check_photo(db, photo, facts, rules)
                    whole.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    keys = integrity.search_keys(photos[5]["phash"], rules.duplicate_photo_bits)
                    found = flags.reused(db, photos[5]["id"], str(audit.id), photos[5]["phash"], rules.duplicate_photo_bits)
                    search.append(time.perf_counter() - started)
                    assert found is None
                    rows.append(db.execute(f"SELECT count(*) FROM photo_bands WHERE key IN ({','.join('?' * len(keys))})", keys).fetchone()[0])
                    assert db.execute("SELECT count(*) FROM flags WHERE audit = ? AND kind = 'photo_reused'", [str(audit.id)]).fetchone()[0] == 1
                finally:
                    db.execute("ROLLBACK")
            ms = lambda v: f"{v * 1000:.2f} ms"  # noqa: E731
            print(f"{size:>10,} {ms(statistics.median(whole)):>10} {ms(percentile(whole, 0.99)):>10} {ms(statistics.median(search)):>11} "
                  f"{ms(percentile(search, 0.99)):>11} {statistics.mean(rows):>10.1f} {seeded:>7.0f}s")
        print(f"({ROUNDS} audits of 10 photos at each size, one of them a near copy of a stored photo; goal: flags p99 < 20 ms at 1,000,000)")


if __name__ == "__main__":
    main()
