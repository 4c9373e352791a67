"""Benchmark: the people list of 10,000 persons, against the real server process over loopback.

The program: 20 regions of 20 locations; 2 admins, 100 managers (1 to 3 regions each), 7,898
auditors (60% one region, 30% two, 10% every region) and 2,000 staff (one location each); half
have an e-mail, 30% never signed in, 5% are disabled. Prints p50/p95/p99 of GET /api/people and the
/manage/people page, as an admin and as a manager of two regions, with a search (a part of a name,
an e-mail's domain) and with filters (role, region, state, last sign-in). Goal (issue 25): p99 < 100 ms.

Run: python tests/bench/bench_people.py   (about a minute and a half)
"""

import asyncio
import datetime as dt
import random
import secrets
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen  # noqa: E402
from bench_ingest import bench_brand, free_port, start_server  # noqa: E402

from server.accounts import accounts  # noqa: E402
from server.db import write  # noqa: E402
from server.locations.locations import LocationIn, import_locations  # noqa: E402

SECONDS = 5
FIRST = ["Ann", "Ben", "Chloe", "Dev", "Eva", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kai", "Lena", "Mo", "Nia", "Omar", "Pia", "Quinn", "Rosa", "Sam", "Tom"]
LAST = ["Adams", "Brown", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Haas", "Ivanov", "Jones", "Kim", "Lopez", "Meyer", "Novak", "Olsen", "Patel"]


def seed(db) -> None:
    rng = random.Random(25)
    regions = [f"r{i:02d}" for i in range(20)]
    import_locations(db, [LocationIn(id=f"{r}-l{j:02d}", name=f"Shop {r} {j}", region=r) for r in regions for j in range(20)], ["bench"])
    hashed = accounts._hasher.hash("a long enough password")
    now = dt.datetime.now(dt.UTC)
    users, user_regions = [], []
    roles = ["admin"] * 2 + ["manager"] * 100 + ["auditor"] * 7_898 + ["staff"] * 2_000
    for n, role in enumerate(roles):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}"
        signed = None if rng.random() < 0.3 else (now - dt.timedelta(days=rng.uniform(0, 120))).isoformat()
        location = f"{rng.choice(regions)}-l{rng.randrange(20):02d}" if role == "staff" else None
        users.append((n + 1, name, role, hashed, now.isoformat(), now.isoformat() if rng.random() < 0.05 else None, location,
                      secrets.token_hex(4).upper(), f"{name.split()[0].lower()}.{n}@example.org" if rng.random() < 0.5 else None, signed))
        if role == "manager":
            user_regions += [(n + 1, r) for r in rng.sample(regions, rng.randint(1, 3))]
        elif role == "auditor":
            draw = rng.random()
            user_regions += [(n + 1, r) for r in rng.sample(regions, 1 if draw < 0.6 else 2 if draw < 0.9 else 0)]
    with write(db):
        db.conn.executemany("INSERT INTO users (id, name, role, password_hash, created_at, disabled_at, location, code, email, last_sign_in_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", users)
        db.conn.executemany("INSERT INTO user_regions (person, region) VALUES (?, ?)", user_regions)
        db.execute("DELETE FROM user_regions WHERE person = 3")
        db.conn.executemany("INSERT INTO user_regions (person, region) VALUES (3, ?)", [("r03",), ("r07",)])  # the manager measured: two regions
    db.execute("ANALYZE")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        data, db, _ = bench_brand(tmp, 20)
        seed(db)
        admin = accounts.new_token(db, accounts.user_by_id(db, 1))
        manager = accounts.new_token(db, accounts.user_by_id(db, 3))
        print(f"{db.execute('SELECT count(*) FROM users').fetchone()[0]:,} people; the manager: {db.execute('SELECT name FROM users WHERE id = 3').fetchone()[0]} of r03, r07")
        db.conn.close()
        port = free_port()
        server = start_server(data, tmp / "checklists", port)
        try:
            cases = [
                ("admin", admin, "API, first page, no filter", "/api/people"),
                ("admin", admin, "API, search a name part ('ann')", "/api/people?search=ann"),
                ("admin", admin, "API, search an e-mail ('.12@example')", "/api/people?search=.12%40example"),
                ("admin", admin, "API, search a full name", "/api/people?search=Grace%20Novak%207"),
                ("admin", admin, "API, role+region+last sign-in", "/api/people?role=auditor&region=r07&signed_in=over30"),
                ("admin", admin, "API, state disabled", "/api/people?state=disabled"),
                ("admin", admin, "API, page 100 (offset 4950)", "/api/people?offset=4950"),
                ("manager", manager, "API, scope only", "/api/people"),
                ("manager", manager, "API, search 'ann'", "/api/people?search=ann"),
                ("manager", manager, "API, staff of r03, never signed in", "/api/people?role=staff&region=r03&signed_in=never"),
                ("admin", admin, "page, search 'ann' + role", "/manage/people?search=ann&role=auditor"),
                ("manager", manager, "page, region + last sign-in", "/manage/people?region=r03&signed_in=within30"),
            ]
            print(f"{'who':<8} {'what':<40} {'req/s':>7}   {'p50':>8}   {'p95':>8}   {'p99':>8}   statuses")
            for who, token, what, path in cases:
                request = loadgen.http_request("GET", path, f"127.0.0.1:{port}", {"Authorization": f"Bearer {token}"})
                asyncio.run(loadgen.closed_loop("127.0.0.1", port, lambda i: request, 1, 1))  # warm up
                r = asyncio.run(loadgen.closed_loop("127.0.0.1", port, lambda i: request, 1, SECONDS))
                print(f"{who:<8} {what:<40} {r.rate:7.0f}   {r.pct(50):5.1f} ms   {r.pct(95):5.1f} ms   {r.pct(99):5.1f} ms   {dict(r.statuses)}")
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
