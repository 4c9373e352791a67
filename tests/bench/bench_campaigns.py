"""Benchmark: a big "call your own support line" campaign (issue 15), against the real server
process over loopback.

1. The results page of a campaign of 2,000 participants and 10,000 calls (the demo brand's phone
   checklist, answers drawn as the demo draws them, a verbatim on about a third), after an earlier
   campaign of 2,000 calls on the same line so the comparison is drawn too; and its big-screen view.
   Goal: p99 < 200 ms.
2. 200 participants who joined by the link each send one call within the same minute (a random
   moment each, over 60 s, on their own connections), while a manager's big screen reloads the
   results every 5 s. Goal: every call stored, p99 < 50 ms.

Run: python tests/bench/bench_campaigns.py   (about three minutes: storing 12,000 calls takes most of it)
"""

import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import free_port, start_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from server import demo  # noqa: E402
from server.accounts import accounts  # noqa: E402
from server.audits import audits  # noqa: E402
from server.locations import locations  # noqa: E402
from server.campaigns import campaigns, participants  # noqa: E402
from server.checklists.catalog import Catalog  # noqa: E402
from server.db import write  # noqa: E402
from server.followup.policy import policy  # noqa: E402
from server.migrations import open_database  # noqa: E402
from server.checklists.scoring import score_audit  # noqa: E402

PEOPLE, CALLS, EARLIER = 2_000, 10_000, 2_000


def percentiles(ms: list[float]) -> str:
    ms = sorted(ms)
    return f"p50 {statistics.median(ms):.1f} ms, p99 {ms[int(len(ms) * 0.99) - 1]:.1f} ms, max {ms[-1]:.1f} ms ({len(ms)} requests)"


def seed(db, catalog, rnd: random.Random) -> tuple[int, str]:
    """The support line, an earlier campaign and the big one: (the big one's id, its join token)."""
    brand = catalog.brands["harbor"]
    locations.import_locations(db, [demo.CHANNELS[0]], list(catalog.brands))
    admin = accounts.user_by_name(db, "admin")
    loaded = brand.checklists["phone"]
    now = dt.datetime.now(dt.UTC)
    made = []
    for name, starts, ends, people, calls, quality in (("Earlier", now - dt.timedelta(days=90), now - dt.timedelta(days=89), 400, EARLIER, 0.6),
                                                      ("This week", now - dt.timedelta(days=2), now + dt.timedelta(days=5), PEOPLE, CALLS, 0.8)):
        campaign_id = campaigns.create(db, admin, name, "harbor", "Ask how to change a delivery address.", "Europe/London", starts, ends, {"support-line": "phone"})
        campaign = campaigns.get(db, campaign_id)
        joined = [participants.join(db, campaign, campaign.link, f"Person {n}" if n % 3 else "") for n in range(people)]
        with write(db):
            for n in range(calls):
                answers = {k: a for k, a in demo._answers(rnd, loaded.checklist.items(), quality, None).items() if not a.photos}
                if "follow_up" in answers and answers["follow_up"].value in ("email", "case_number"):
                    answers["follow_up"] = demo.Answer(value="callback")  # its screenshot would be asked for: the bench sends none
                if rnd.random() < 0.33:
                    answers["call_notes"] = demo.Answer(value=rnd.choice(demo.VERBATIMS["call_notes"]))
                finished = starts + dt.timedelta(seconds=(min(ends, now) - starts).total_seconds() * (n + 1) / (calls + 1))
                audit = audits.AuditIn(id=uuid.UUID(int=rnd.getrandbits(128), version=4), location="support-line", checklist="phone", version=loaded.version,
                                       started_at=finished - dt.timedelta(minutes=8), finished_at=finished, answers=answers)
                audits.store(db, audit, score_audit(brand.brand, loaded, answers), joined[n % people], policy(brand.brand, loaded.checklist))
        made.append((campaign_id, campaign.link.token))
    return made[-1]


def call_body(rnd: random.Random, catalog) -> dict:
    loaded = catalog.brands["harbor"].checklists["phone"]
    answers = {k: a for k, a in demo._answers(rnd, loaded.checklist.items(), 0.8, None).items() if not a.photos}
    answers.pop("follow_up", None)
    answers["follow_up"] = demo.Answer(value="callback")
    finished = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return {"id": str(uuid.uuid4()), "location": "support-line", "checklist": "phone", "started_at": (finished - dt.timedelta(minutes=7)).isoformat(),
            "finished_at": finished.isoformat(), "answers": {k: {"value": a.value} for k, a in answers.items()}}


def main() -> None:
    rnd = random.Random(15)
    tmp = Path(tempfile.mkdtemp(prefix="bench-campaigns-"))
    try:
        shutil.copytree(ROOT / "checklists", tmp / "checklists")
        data = tmp / "data"
        db = open_database(data / "touchpoint.db")
        catalog = Catalog.load(db, tmp / "checklists")
        accounts.add_user(db, "admin", "admin", [], None)
        token = accounts.new_token(db, accounts.user_by_name(db, "admin"))
        started = time.perf_counter()
        campaign, link = seed(db, catalog, rnd)
        print(f"seeded {PEOPLE:,} participants and {CALLS:,} calls (and an earlier campaign of {EARLIER:,}) in {time.perf_counter() - started:.0f} s", flush=True)
        db.conn.close()
        port = free_port()
        os.environ["TOUCHPOINT_JOINS_PER_MINUTE"] = "1000"  # 200 phones join from one address here; in a real office they come from a few
        server = start_server(data, tmp / "checklists", port)
        base = f"http://127.0.0.1:{port}"
        head = {"Authorization": f"Bearer {token}"}
        try:
            with httpx.Client(base_url=base, headers=head, timeout=30) as http:
                for path in (f"/manage/campaigns/{campaign}", f"/manage/campaigns/{campaign}/screen"):
                    for _ in range(5):
                        assert http.get(path).status_code == 200
                    ms = []
                    for _ in range(200):
                        t = time.perf_counter()
                        response = http.get(path)
                        ms.append((time.perf_counter() - t) * 1000)
                        assert response.status_code == 200
                    print(f"{path}: {percentiles(ms)}", flush=True)
            # 200 participants join (the join limit is per address: the bench raises it), then each calls once within a minute
            phones = []
            for n in range(200):
                client = httpx.Client(base_url=base, timeout=30)
                assert client.post(f"/join/{link}", data={"display_name": f"Bench {n}"}).status_code in (200, 303)
                client.headers["X-CSRF-Token"] = client.get("/api/me").json()["csrf_token"]
                phones.append(client)
            bodies = [call_body(rnd, catalog) for _ in phones]
            at = sorted(rnd.uniform(0, 60) for _ in phones)
            took, statuses, lock = [], [], threading.Lock()
            stop = threading.Event()

            def screen():
                with httpx.Client(base_url=base, headers=head, timeout=30) as http:
                    while not stop.wait(5):
                        http.get(f"/manage/campaigns/{campaign}/screen")

            def send(client, body, when, zero):
                time.sleep(max(0.0, zero + when - time.perf_counter()))
                t = time.perf_counter()
                response = client.post("/api/audits", json=body)
                with lock:
                    took.append((time.perf_counter() - t) * 1000)
                    statuses.append(response.status_code)

            watcher = threading.Thread(target=screen, daemon=True)
            watcher.start()
            zero = time.perf_counter()
            threads = [threading.Thread(target=send, args=(c, b, w, zero)) for c, b, w in zip(phones, bodies, at)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            stop.set()
            stored = sum(1 for s in statuses if s == 201)
            print(f"200 participants calling within a minute: {stored} of 200 stored (201); POST /api/audits {percentiles(took)}", flush=True)
            for client in phones:
                client.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.argv = sys.argv[:1]
    main()
