"""Benchmark (issue 26, "Speed"): over the real app (litestar's test client, a real SQLite file in a
temp folder), a brand whose one checklist has 200 items of every type:
1. checking and saving the 200-item file into the draft through the text editor (POST the file's
   text), and a refused save (a misspelt show_if: the check lists it): p50/p95/p99;
2. a publish reaching a second app on the same data: the delay until it serves the new version;
3. the start (create_app and its first request) with 1, 100 and 1,000 versions of the checklist kept.
Prints figures; asserts nothing about time.

Run: python tests/bench/bench_checklists.py   (about a minute)
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOUCHPOINT_TESTS_CHEAP_PASSWORD_HASH", "1")  # the admin's hash is not what is measured
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from litestar.testing import TestClient  # noqa: E402

from server.accounts import accounts  # noqa: E402
from server.app import create_app  # noqa: E402
from server.checklists import load_brand_files, versions  # noqa: E402
from server.db import write  # noqa: E402
from server.migrations import open_database  # noqa: E402
from server.settings import Settings  # noqa: E402

BRAND = """\
id: big
name: Big
promise: Two hundred things done right.
pillars:
  - {id: fast, name: Fast, target: 80}
  - {id: kind, name: Kind, target: 80}
touchpoints: [visit]
"""


def checklist(items: int = 200) -> str:
    """A checklist of `items` items cycling through every type, every tenth shown only if the one before is yes."""
    lines = ["id: visit", "title: A long visit", "mode: in_person", "sections:"]
    for s in range(items // 20):
        lines += [f"  - id: s{s}", f"    title: Section {s}", "    items:"]
        for i in range(20):
            n = s * 20 + i
            kind = ("yes_no", "scale", "number", "choice", "text")[n % 5]
            lines += [f"      - id: q{n}", f"        text: Question {n}?", f"        type: {kind}", "        pillars: [fast]" if kind != "text" else "        required: false"]
            if kind == "scale":
                lines += ["        min: 1", "        max: 5"]
            if kind == "number":
                lines += ["        bands: [{at_most: 2, score: 1}, {score: 0}]"]
            if kind == "choice":
                lines += ["        options: [{value: a, label: A, score: 1}, {value: b, label: B, score: 0}]"]
            if n % 10 == 1 and (n - 1) % 5 == 0:
                lines += [f"        show_if: {{item: q{n - 1}, equals: 'yes'}}"]
    return "\n".join(lines) + "\n"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def setup(folder: Path) -> Settings:
    brand = folder / "checklists" / "big"
    brand.mkdir(parents=True)
    (brand / "brand.yaml").write_text(BRAND)
    (brand / "visit.yaml").write_text(checklist())
    settings = Settings(data=folder / "data", checklists=folder / "checklists")
    db = open_database(settings.database)
    accounts.add_user(db, "admin", "admin", [], "admin-password-1")
    db.conn.close()
    return settings


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = setup(Path(tmp))
        db = open_database(settings.database)
        token = accounts.new_token(db, accounts.user_by_name(db, "admin"))
        auth = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(settings)) as client, TestClient(create_app(settings)) as other:
            text = (Path(tmp) / "checklists" / "big" / "visit.yaml").read_text()
            saves, refused = [], []
            for n in range(200):
                started = time.perf_counter()
                answer = client.post("/manage/brands/big/draft/visit.yaml", data={"text": text + f"# {n}\n", "revision": str(n)}, headers=auth, follow_redirects=False)
                saves.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 303, answer.text[:300]
            for n in range(50):
                started = time.perf_counter()
                answer = client.post("/manage/brands/big/draft/visit.yaml", data={"text": text.replace("item: q0,", "item: q00,"), "revision": "200"}, headers=auth)
                refused.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 422
            print(f"save a 200-item checklist into the draft (checked whole), 200 saves: p50 {statistics.median(saves):.1f} ms, "
                  f"p95 {pct(saves, 95):.1f} ms, p99 {pct(saves, 99):.1f} ms (goal p99 < 200 ms)")
            print(f"a refused save (a misspelt show_if listed), 50: p50 {statistics.median(refused):.1f} ms, p99 {pct(refused, 99):.1f} ms")
            delays, revision = [], 200
            for n in range(10):
                assert client.post("/manage/brands/big/draft/visit.yaml", data={"text": text + f"# publish {n}\n", "revision": str(revision)}, headers=auth).status_code == 200
                revision += 1
                assert client.post("/manage/brands/big/publish", data={"note": "", "revision": str(revision)}, headers=auth).status_code == 200
                published = client.get("/api/checklists/visit", headers=auth).json()["version"]
                started = time.perf_counter()
                while other.get("/api/checklists/visit", headers=auth).json()["version"] != published:
                    time.sleep(0.01)
                delays.append((time.perf_counter() - started) * 1000)
                revision = 0
            print(f"a publish seen by a second app on the same data, 10 publishes: p50 {statistics.median(delays):.0f} ms, max {max(delays):.0f} ms (goal < 1 s)")
        brand = dict(versions.current(db))["big"]
        for kept in (1, 100, 1000):
            have = db.execute("SELECT count(*) FROM checklist_versions").fetchone()[0]
            with write(db):
                for n in range(have, kept):
                    files = {"brand.yaml": brand.source, "visit.yaml": brand.checklists["visit"].source + f"# kept {n}\n".encode()}
                    versions.publish(db, load_brand_files("big", files), "browser")
            starts = []
            for _ in range(3):
                started = time.perf_counter()
                with TestClient(create_app(settings)) as client:
                    client.get("/api/checklists/visit", headers=auth)
                starts.append((time.perf_counter() - started) * 1000)
            print(f"start (create_app and a first request) with {db.execute('SELECT count(*) FROM checklist_versions').fetchone()[0]:,} versions kept: "
                  f"median of 3 {statistics.median(starts):.0f} ms")


if __name__ == "__main__":
    main()
