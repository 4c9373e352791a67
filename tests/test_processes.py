"""Several server processes on one data folder: leases and the schedule they run (the photo prune
once per interval in the whole installation), the heartbeat rows /api/health lists, the join
throttle counted alike, and what one process changes seen by another (at once, or within the
bound the README states). Two and three apps over one real SQLite file; real `touchpoint serve`
processes where a process's death matters."""

import os
import signal
import time

import datetime as dt
import sqlite3

import httpx
import msgspec
from litestar.testing import TestClient

from server import leases, memo, processes, throttle
from server.app import PRUNE, create_app
from server.db import write
from tests.conftest import GOOD_VISIT, Server, audit_body
from tests.live import LiveServer


def test_a_lease_is_held_by_one_until_it_runs_out_then_another_takes_it(server):
    db = server.db
    assert leases.take(db, "job", "a", 1, seconds=0.3)
    assert not leases.take(db, "job", "b", 2, seconds=0.3)
    assert leases.take(db, "job", "a", 1, seconds=0.3)  # ours already: extended
    assert leases.renew(db, "job", "a", seconds=0.3) and not leases.renew(db, "job", "b")
    time.sleep(0.4)
    assert leases.take(db, "job", "b", 2, seconds=30)  # a's lease ran out (a was killed, say)
    assert not leases.renew(db, "job", "a") and not leases.done(db, "job", "a", "late")  # a woke up: nothing counted
    assert leases.done(db, "job", "b", "pruned 0")
    assert db.execute("SELECT holder, until, runs, last_result FROM leases WHERE name = 'job'").fetchone() == (None, None, 1, "pruned 0")
    assert db.execute("SELECT holder, pid, result FROM job_runs WHERE name = 'job'").fetchall() == [("b", 2, "pruned 0")]
    assert leases.take(db, "job", "a", 1)  # done let it go
    leases.release(db, "job", "b")  # not b's: nothing happens
    assert [(j.name, j.holder_pid) for j in leases.jobs(db) if j.name == "job"] == [("job", 1)]
    leases.release(db, "job", "a")
    assert [(j.name, j.holder_pid, j.until) for j in leases.jobs(db) if j.name == "job"] == [("job", None, None)]


def test_due_says_yes_to_one_process_per_interval(server):
    db = server.db
    assert leases.due(db, "tick", 1.0, "a", 1)  # never ran: a takes it
    assert not leases.due(db, "tick", 1.0, "b", 2)  # a is running it
    assert leases.done(db, "tick", "a", "ok")
    assert not leases.due(db, "tick", 1.0, "b", 2)  # ran less than a second ago
    assert 0 < leases.wait_seconds(db, "tick", 1.0) <= 1.0
    time.sleep(1.05)
    assert leases.due(db, "tick", 1.0, "b", 2) and not leases.due(db, "tick", 1.0, "a", 1)
    assert leases.done(db, "tick", "b", "ok")
    assert db.execute("SELECT runs FROM leases WHERE name = 'tick'").fetchone()[0] == 2


def _runs(db, name: str = PRUNE) -> list[tuple[str, str]]:
    return db.execute("SELECT started_at, holder FROM job_runs WHERE name = ? ORDER BY seq", [name]).fetchall()


def _gaps(runs) -> list[float]:
    starts = [dt.datetime.fromisoformat(r[0]) for r in runs]
    return [(b - a).total_seconds() for a, b in zip(starts, starts[1:])]


def test_three_apps_on_one_folder_prune_once_per_interval(server):
    """Every app wakes for the prune; it runs once at start and then once every 2 s, whoever runs it."""
    settings = msgspec.structs.replace(server.settings, prune_seconds=2.0)
    began = time.monotonic()
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two, TestClient(create_app(settings)) as three:
        time.sleep(5.0)
        health = one.get("/api/health").json()
        ids = {c.app.state.me.id for c in (one, two, three)}
    elapsed = time.monotonic() - began
    every = _runs(server.db)  # the fixture's app ran it once at its start too (its interval: an hour)
    assert all(gap >= 2.0 for gap in _gaps(every)), _gaps(every)  # never two in one interval
    runs = [run for run in every if run[1] in ids]
    # the three apps' first run 2 s after the fixture's, then one each 2 s: at most one per 2 s of the apps' lives
    assert 2 <= len(runs) <= int(elapsed // 2) + 1, runs
    job = next(j for j in health["jobs"] if j["name"] == PRUNE)
    assert job["runs"] >= 2 and job["last_run_at"] is not None and job["last_result"].endswith("stray files deleted")
    assert server.db.execute("SELECT runs FROM leases WHERE name = ?", [PRUNE]).fetchone()[0] == len(every)


def test_health_lists_each_process_and_forgets_one_not_seen_for_a_minute(server):
    with TestClient(create_app(server.settings)) as other:
        mine = server.client.get("/api/health").json()["processes"]
        theirs = other.get("/api/health").json()["processes"]
        assert len(mine) == len(theirs) == 2  # the fixture's app and this one (one Python process: one pid, two ids)
        assert [p["this"] for p in mine] == [True, False] and [p["this"] for p in theirs] == [False, True]
        assert {p["started_at"] for p in mine} == {p["started_at"] for p in theirs}
        assert all(p["pid"] == os.getpid() for p in mine)
        stale = "2000-01-01T00:00:00.000000+00:00"  # a process killed long ago never removed its row
        with write(server.db):
            server.db.execute("INSERT INTO processes VALUES ('elsewhere:1:dead', 1, 'elsewhere', ?, ?)", [stale, stale])
        assert len(server.client.get("/api/health").json()["processes"]) == 2
        me = other.app.state.me
    # a clean shutdown removes its row
    assert server.db.execute("SELECT count(*) FROM processes WHERE id = ?", [me.id]).fetchone()[0] == 0
    assert [p["this"] for p in server.client.get("/api/health").json()["processes"]] == [True]
    assert server.client.get("/api/health").status_code == 200


def test_a_heartbeat_keeps_the_row_fresh_and_brings_it_back(server):
    me = server.client.app.state.me
    before = server.db.execute("SELECT seen_at FROM processes WHERE id = ?", [me.id]).fetchone()[0]
    time.sleep(0.01)
    me.beat(server.db)
    assert server.db.execute("SELECT seen_at FROM processes WHERE id = ?", [me.id]).fetchone()[0] > before
    me.leave(server.db)
    me.beat(server.db)  # removed meanwhile (a stall of over a minute, another process's clean-up): back
    assert len(processes.alive(server.db, me)) == 1


def test_the_throttle_counts_in_the_database_and_says_how_long_to_wait(server):
    db = server.db
    assert throttle.wait(db, "join:a", 2, 60, now=100.0) == 0
    assert throttle.wait(db, "join:a", 2, 60, now=110.0) == 0
    assert throttle.wait(db, "join:b", 2, 60, now=111.0) == 0  # another address: its own count
    assert throttle.wait(db, "join:a", 2, 60, now=120.0) == 40  # the first leaves the window at 160
    assert throttle.wait(db, "join:a", 2, 60, now=159.5) == 1  # half a second: rounded up to 1
    assert throttle.wait(db, "join:a", 2, 60, now=160.0) == 0  # the first left; this one counts
    assert db.execute("SELECT key, at FROM throttle ORDER BY at").fetchall() == [("join:a", 110.0), ("join:b", 111.0), ("join:a", 160.0)]
    assert throttle.wait(db, "join:a", 2, 60, now=1000.0) == 0
    assert db.execute("SELECT count(*) FROM throttle").fetchone()[0] == 1  # old rows of every key dropped


def _location(server, location_id: str, persona: str = "admin", **change):
    response = server.client.patch(f"/api/locations/{location_id}", json=change, headers=server.auth(persona))
    assert response.status_code == 200, response.text


def test_a_location_moved_in_one_process_is_used_by_the_others_next_audit_within_half_a_second(server):
    assert memo.CHECK_SECONDS <= 0.5
    with TestClient(create_app(server.settings)) as other:
        there = Server(other, server.settings, server.db, server.tokens)
        refused = there.post("/api/audits", "auditor_b", json=audit_body(GOOD_VISIT, location="l1"))
        assert refused.status_code == 403 and "region 'r1'" in refused.text  # auditor_b works in r2; `other` now remembers l1 in r1
        _location(server, "l1", region="r2")  # moved, in the fixture's process
        time.sleep(memo.CHECK_SECONDS + 0.05)
        assert there.post("/api/audits", "auditor_b", json=audit_body(GOOD_VISIT, location="l1")).status_code == 201
        # the CLI writes the database itself: the trigger bumps the generation all the same
        with write(server.db):
            server.db.execute("UPDATE locations SET region = 'r1' WHERE id = 'l1'")
        time.sleep(memo.CHECK_SECONDS + 0.05)
        assert there.post("/api/audits", "auditor_b", json=audit_body(GOOD_VISIT, location="l1")).status_code == 403


def test_the_places_generation_moves_with_every_change_to_locations(server):
    db = server.db
    before = memo.generation(db, "places")
    _location(server, "l2", name="Shop two")
    assert memo.generation(db, "places") == before + 1
    assert server.post("/api/locations/l2/deactivate", "admin").status_code == 200
    assert memo.generation(db, "places") == before + 2
    assert server.post("/api/locations", "admin", json=[{"id": "l9", "name": "Shop 9", "region": "r1"}]).status_code == 201
    assert memo.generation(db, "places") > before + 2


def test_a_person_disabled_or_a_token_revoked_in_one_process_is_refused_by_another_at_once(server):
    from server.accounts import accounts

    with TestClient(create_app(server.settings)) as other:
        there = Server(other, server.settings, server.db, server.tokens)
        assert there.get("/api/me", "auditor_a").status_code == 200
        person = server.db.execute("SELECT id FROM users WHERE name = 'auditor_a'").fetchone()[0]
        assert server.post(f"/api/people/{person}/disable", "admin").status_code == 200
        assert there.get("/api/me", "auditor_a").status_code == 401  # no wait: every request reads the database
        assert there.get("/api/me", "manager_r1").status_code == 200
        token = server.db.execute("SELECT t.id FROM api_tokens t JOIN users u ON u.id = t.user WHERE u.name = 'manager_r1'").fetchone()[0]
        accounts.revoke_token(server.db, token)  # as `touchpoint token revoke` does, from another process
        assert there.get("/api/me", "manager_r1").status_code == 401
        assert server.get("/api/me", "manager_r1").status_code == 401


def test_real_processes_share_the_prune_and_a_killed_one_leaves_it_to_the_others(tmp_path):
    """Three `touchpoint serve` on one folder, the prune every 2 s: once per interval in all; kill -9
    of one, and the others go on running it; /api/health of each lists all three, then two."""
    first = LiveServer(tmp_path)
    lives = [first, LiveServer(tmp_path, seed=False), LiveServer(tmp_path, seed=False)]
    for live in lives:
        live.env.update(TOUCHPOINT_PRUNE_SECONDS="2", TOUCHPOINT_WORKERS="1")  # one server process each: the one `kill -9` stops
    try:
        for live in lives:
            live.start()
        seen = [httpx.get(live.url + "/api/health", timeout=5).json()["processes"] for live in lives]
        pids = {live.process.pid for live in lives}
        assert all({p["pid"] for p in s} == pids for s in seen), seen  # the CLI's own process serves: its pid
        assert [[p["pid"] for p in s if p["this"]] for s in seen] == [[live.process.pid] for live in lives]
        time.sleep(4.5)
        os.kill(lives[0].process.pid, signal.SIGKILL)
        lives[0].process.wait()
        killed_at = time.time()
        time.sleep(4.5)
        db = sqlite3.connect(tmp_path / "data" / "touchpoint.db")
        runs = db.execute("SELECT started_at, pid FROM job_runs WHERE name = ? ORDER BY seq", [PRUNE]).fetchall()
        assert all(gap >= 2.0 for gap in _gaps(runs)), _gaps(runs)
        after = [pid for at, pid in runs if dt.datetime.fromisoformat(at).timestamp() > killed_at]
        assert len(after) >= 2 and lives[0].process.pid not in after, runs  # the two left go on, once per interval
        health = httpx.get(lives[1].url + "/api/health", timeout=5).json()
        assert health["jobs"][0]["name"] == PRUNE and health["jobs"][0]["runs"] == len(runs)
        killed, left, stopped = (live.process.pid for live in lives)
        lives[2].stop()  # a clean stop removes its row at once; the killed one's stays until a minute has passed
        listed = {p["pid"] for p in httpx.get(lives[1].url + "/api/health", timeout=5).json()["processes"]}
        assert listed == {killed, left} and stopped not in listed
        db.close()
    finally:
        for live in lives:
            if live.process is not None and live.process.poll() is None:
                live.stop()
