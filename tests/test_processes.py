"""What many server processes share (server/leases.py): a job that runs once in the installation,
limits that count alike in every process, caches that agree, and /api/health naming each process
and job. Two apps on one data folder stand for two processes where the state is the app's own
(caches, the throttle); real processes (tests/spread.py) where the process itself matters (the
prune's lease, the heartbeat)."""

import datetime as dt
import os
import socket
import time

import msgspec
import pytest
from litestar.testing import TestClient

from server import leases
from tests.conftest import GOOD_VISIT, Server, audit_body, make_server_files, seed
from tests.engine import point_cli_at


@pytest.fixture
def two(tmp_path):
    """Two apps over one seeded data folder, each with its own state, as two server processes have."""
    from server.app import create_app

    settings = make_server_files(tmp_path)
    db, tokens = seed(settings)
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        yield Server(a, settings, db, tokens), Server(b, settings, db, tokens)
    db.conn.close()


def test_a_location_moved_in_one_process_is_used_by_another_within_half_a_second(two):
    a, b = two
    assert b.post("/api/audits", "auditor_b", json=audit_body(GOOD_VISIT, location="l4")).status_code == 201  # b now remembers l4 in r2
    moved = a.client.patch("/api/locations/l4", json={"region": "r1"}, headers=a.auth("admin"))
    assert moved.status_code == 200, moved.text
    time.sleep(0.6)  # the bound: leases.Generation's 0.5 s
    refused = b.post("/api/audits", "auditor_b", json=audit_body(GOOD_VISIT, location="l4"))
    assert refused.status_code == 403 and "'r1'" in refused.json()["message"]


def test_a_token_revoked_or_a_person_disabled_in_one_process_is_refused_by_another_at_once(two):
    a, b = two
    from server.accounts import accounts

    assert b.get("/api/me", "auditor_b").status_code == 200
    mine = [t for t in accounts.tokens(a.db) if t.user == "auditor_b"]
    accounts.revoke_token(a.db, mine[0].id)
    assert b.get("/api/me", "auditor_b").status_code == 401  # no wait: every request reads its token
    assert b.get("/api/me", "manager_r2").status_code == 200
    accounts.disable_user(a.db, "manager_r2")
    assert b.get("/api/me", "manager_r2").status_code == 401


def test_the_join_throttle_counts_joins_in_every_process_alike(two):
    a, _ = two
    from server.campaigns.participants import join_wait
    from server.db import connect

    one, other = connect(a.settings.store), connect(a.settings.store)  # two processes' connections
    try:
        assert [leases.wait(one, "join:203.0.113.7", 3, 60, now=1000.0 + n) for n in range(3)] == [0, 0, 0]
        # the fourth within the minute, from the other: wait until the first leaves the window (1000 + 60)
        assert leases.wait(other, "join:203.0.113.7", 3, 60, now=1010.0) == 50
        assert leases.wait(other, "join:198.51.100.1", 3, 60, now=1010.0) == 0  # another address counts apart
        assert leases.wait(one, "join:203.0.113.7", 3, 60, now=1060.5) == 0  # the first has left the window
        # the join page's own rule, over the real clock
        assert [join_wait(conn, "192.0.2.9", 2) for conn in (one, other)] == [0, 0]
        assert 59 <= join_wait(one, "192.0.2.9", 2) <= 60
    finally:
        one.conn.close()
        other.conn.close()


def test_only_one_of_many_takers_gets_a_lease_and_a_dead_holders_lease_passes(two):
    a, _ = two
    db = a.db
    assert leases.due(db, "test-job", every=60, seconds=0.3)
    other = leases.me()
    try:
        leases._ME = elsewhere = f"{socket.gethostname()}:{os.getpid()}:0"  # another process asks while the first holds it
        assert not leases.due(db, "test-job", every=60, seconds=0.3)
        time.sleep(0.35)  # the first died without finishing: its lease passes, and the job had not run
        assert leases.due(db, "test-job", every=60, seconds=0.3)
        leases.finished(db, "test-job", "done")
    finally:
        leases._ME = other
    assert not leases.due(db, "test-job", every=60)  # ran: not due again for a minute, whoever asks
    runs = db.execute("SELECT holder, result FROM job_runs WHERE job = 'test-job'").fetchall()
    assert runs == [(elsewhere, "done")]
    assert [(x.runs, x.holder_pid) for x in leases.leases(db) if x.name == "test-job"] == [(1, None)]


def test_three_server_processes_prune_once_per_interval_and_health_names_each(tmp_path):
    from tests.spread import Spread

    settings = msgspec.structs.replace(make_server_files(tmp_path), prune_seconds=1.0)
    db, _ = seed(settings)
    spread = Spread(settings, tmp_path)
    try:
        time.sleep(6)
        seen = [spread.client.get("/api/health").json() for _ in range(3)]
    finally:
        spread.close()
    assert {body["process"] for body in seen} == {process.pid for process in spread.processes}  # round-robin: each answered once
    assert sorted(p["pid"] for p in seen[0]["processes"]) == sorted(body["process"] for body in seen)
    assert [job["name"] for job in seen[0]["jobs"]] == ["photo-prune"]
    starts = [dt.datetime.fromisoformat(s) for (s,) in db.execute("SELECT started_at FROM job_runs WHERE job = 'photo-prune' ORDER BY started_at")]
    # once a second in the whole installation, however many processes woke up: never two within the interval
    assert len(starts) >= 4, starts
    assert all(later - earlier >= dt.timedelta(seconds=1) for earlier, later in zip(starts, starts[1:])), starts
    # and the clean stop took the processes off the list
    assert db.execute("SELECT count(*) FROM processes").fetchone()[0] == 0
    db.conn.close()


def test_a_job_longer_than_its_lease_keeps_it_until_it_ends(two, monkeypatch):
    """The holder renews its lease while the job runs (every third of it): a prune that takes longer
    than the lease is never begun a second time by another process meanwhile (before: the lease
    passed after LEASE_SECONDS whatever the job was doing); and its heartbeat goes on (before: the
    thread that beats was the one running the job, so a run over a minute made the process "gone")."""
    import threading

    from server.housekeeping import Housekeeper, Job

    a, _ = two
    monkeypatch.setattr(leases, "HEARTBEAT_SECONDS", 0.2)
    running, lapsed, beats = threading.Event(), [], set()

    def slow(db, settings) -> str:
        running.set()
        time.sleep(1.2)  # four lease lengths
        return "slow and done"

    keeper = Housekeeper(a.settings, [Job("slow-job", lambda settings: 60.0, slow, lease=0.3)])
    keeper.start()
    try:
        assert running.wait(5)
        while running.is_set() and not a.db.execute("SELECT runs FROM leases WHERE name = 'slow-job'").fetchone()[0]:
            holder, until = a.db.execute("SELECT holder, until FROM leases WHERE name = 'slow-job'").fetchone()
            now = dt.datetime.now(dt.timezone.utc)
            if holder is not None and dt.datetime.fromisoformat(until) <= now:
                lapsed.append((until, now))
            beats.add(a.db.execute("SELECT seen_at FROM processes WHERE holder = ?", [leases.me()]).fetchone()[0])
            time.sleep(0.05)
    finally:
        keeper.stop()
    assert lapsed == []
    assert len(beats) >= 4, beats  # a beat each 0.1 s of the 1.2 s run (the apps' own beat at most once in it)
    assert a.db.execute("SELECT holder, runs FROM leases WHERE name = 'slow-job'").fetchone() == (None, 1)
    assert a.db.execute("SELECT result FROM job_runs WHERE job = 'slow-job'").fetchall() == [("slow and done",)]


def test_every_change_to_a_location_moves_the_places_generation(two, tmp_path, monkeypatch):
    """Edited, deactivated, activated, imported over the API and by `touchpoint locations import`
    from another process: each in its own transaction moves the number every process looks at."""
    from server import cli
    from server.locations.locations import PLACES

    a, _ = two
    seen = [leases.generation(a.db, PLACES)]

    def moved() -> bool:
        seen.append(leases.generation(a.db, PLACES))
        return seen[-1] > seen[-2]

    assert a.client.patch("/api/locations/l2", json={"name": "Shop two"}, headers=a.auth("admin")).status_code == 200 and moved()
    assert a.post("/api/locations/l2/deactivate", "admin").status_code == 200 and moved()
    assert a.post("/api/locations/l2/activate", "admin").status_code == 200 and moved()
    assert a.post("/api/locations", "admin", json=[{"id": "l9", "name": "Shop 9", "region": "r1"}]).status_code == 201 and moved()
    (tmp_path / "places.csv").write_text("id,name,region,brand\nl9,Shop nine,r2,acme\n")
    point_cli_at(monkeypatch, a.settings)
    assert cli.main(["locations", "import", str(tmp_path / "places.csv"), "--data", str(a.settings.data), "--checklists", str(a.settings.checklists)]) == 0
    assert moved()


def test_health_leaves_out_a_process_not_seen_for_a_minute(two):
    a, b = two

    def listed(server) -> list[tuple[int, str]]:
        return [(p["pid"], p["started_at"]) for p in server.client.get("/api/health").json()["processes"]]

    before = listed(a)
    stale = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=leases.GONE_SECONDS + 1)).isoformat(timespec="milliseconds")
    from server.db import write

    with write(a.db):  # a process killed a minute ago: its row was never removed
        a.db.execute("INSERT INTO processes (holder, host, pid, started_at, seen_at) VALUES ('gone:1:1', 'gone', 1, ?, ?)", [stale, stale])
    assert listed(b) == before and before
    assert b.client.get("/api/health").status_code == 200
