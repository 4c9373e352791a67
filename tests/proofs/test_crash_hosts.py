"""The crash test across hosts: three `touchpoint serve` (one of two server processes, two of one) on
three loopback ports, standing in for three machines, each with a data folder of its own (they share nothing but one PostgreSQL,
the run's throwaway one, and one bucket on a real S3-protocol server, tests/stores.py), clients
sending photos and audits spread over the three as a load balancer would (a photo to one host, its
audit to the next; a host that is down or answers 503 is skipped for the next), a webhook receiver on
loopback. Then `kill -9` at random moments, round after round, of: one whole host (its process group:
its supervisor, server processes, writers and photo workers), started again in the background while
the others serve; one server process of the two-process host; a writer; the photo prune's lease
holder, whichever host it is on; a photo worker. Clients retry whatever
was not acknowledged.

At the end: every acknowledged audit is stored exactly once (by id, and counted), each with its
photo, and that photo's two objects are in the bucket (head_object by the key the store uses); the
bucket holds no object that belongs to nothing; each day's cumulative rollup equals a recount of
the audits; every audit's webhook delivery arrived at least once; the prune (every 2 s) ran one
run at a time across the hosts (job_runs: no run began before the one before it ended, nor within
2 s of its start); and each host's data folder holds nothing: nothing another host would need.

Bounded for CI (TOUCHPOINT_CRASH_ROUNDS, default 8 rounds): the hosts' starts are most of its time,
about 5 s of CPU a server process; 3 min on the 2 shared cores of the development machine while
other test runs used them (load average 5-7); set it higher for a longer run.
"""

import datetime as dt
import os
import random
import signal
import subprocess
import threading
import time
import uuid

import httpx
import msgspec
import pytest

from tests.conftest import GOOD_VISIT, audit_body, make_server_files, seed
from tests.figures import FIGURES
from tests.live import CLI, LiveServer, children
from tests.proofs.test_crash import Client as OneHostClient, Hooks, finish, spawned, stop_all
from tests.test_photo_processing import phone_jpeg

ROUNDS = int(os.environ.get("TOUCHPOINT_CRASH_ROUNDS", "8"))
# server processes of each host: hosts of two sizes; one process's start is about 5 s of CPU (importing,
# building the app), and the 2 cores that run this test run every host
WORKERS = (2, 1, 1)
CLIENTS = 4
PACE = 0.2  # seconds between one client's audits: traffic that leaves the 2 cores room to start a host again
PRUNE_SECONDS = 2
DAYS = ["2026-03-01", "2026-03-02", "2026-03-03"]
LOCATIONS = ["l1", "l2", "l3", "l4"]
# what a host's data folder holds on PostgreSQL with the photos in a bucket: nothing (its servers mark
# themselves with an advisory lock on the database, server/db.py serving)
PER_HOST: set[str] = set()


class Host:
    """One `touchpoint serve --workers N` with a data folder of its own, in its own process group."""

    def __init__(self, live: LiveServer, name: str, data, workers: int):
        self.live, self.name, self.data, self.workers = live, name, data, workers
        self.ready = threading.Event()  # started and answering; cleared when killed
        self.rebooting: threading.Thread | None = None
        self.reboots: list[float] = []  # seconds each start again took, to answering

    @property
    def url(self) -> str:
        return self.live.url

    def launch(self) -> None:
        live = self.live
        live.process = subprocess.Popen([*CLI, "serve", "--workers", str(self.workers)], env=live.env, cwd=live.root,
                                        stdout=live.log.open("a"), stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self) -> None:
        """Until the host answers (a server process's start is about 5 s of CPU: importing, building the app)."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.live.url + "/api/health", timeout=1).status_code in (200, 503):
                    self.ready.set()
                    return
            except httpx.TransportError:
                time.sleep(0.05)
            if self.live.process.poll() is not None:
                break
        raise RuntimeError(f"host {self.name} did not start: {self.live.log.read_text()[-3000:]}")

    def kill(self) -> None:
        self.ready.clear()
        try:
            os.killpg(self.live.process.pid, signal.SIGKILL)
        except ProcessLookupError:  # nothing of the group left
            pass
        self.live.process.wait(timeout=10)
        self.live.process = None

    def reboot(self, down: float) -> None:
        """Killed whole, then started again after `down` seconds, in the background: the balancer
        sends its share to the others meanwhile, and the rounds go on."""
        self.kill()

        def again():
            time.sleep(down)
            t = time.monotonic()
            self.launch()
            self.wait()
            self.reboots.append(time.monotonic() - t)

        self.rebooting = threading.Thread(target=again, daemon=True)
        self.rebooting.start()

    def server_processes(self) -> list[int]:
        """The host's server processes, once all of them run (one killed is replaced within a second or
        two); with one, `serve` itself serves."""
        if self.workers == 1:
            return [self.live.process.pid]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(found := spawned(self.live.process.pid)) == self.workers:
                return found
            time.sleep(0.05)
        raise AssertionError(f"not {self.workers} server processes in host {self.name}: {children(self.live.process.pid)}")


class Client(OneHostClient):
    """Sends audits one by one, each after its photo, the photo to one host and the audit to the next
    (what a host stored, another must find), retrying each on the next host until it is acknowledged,
    until told to finish (it completes the one in hand first)."""

    def __init__(self, urls: list[str], token: str, number: int):
        super().__init__(urls[0], token, number)
        self.urls = urls
        self.rnd = random.Random(number)

    def send(self):
        https = [httpx.Client(base_url=url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10) for url in self.urls]
        try:
            turn, n = self.number, 0
            while not self.finish.is_set():
                day = self.rnd.choice(DAYS)
                body = audit_body(GOOD_VISIT, location=self.rnd.choice(LOCATIONS), id=str(uuid.uuid4()),
                                  started_at=f"{day}T10:00:00+00:00", finished_at=f"{day}T10:30:00+00:00")
                photo_id = str(uuid.uuid4())
                body["answers"]["greet"] = {"value": "yes", "photos": [photo_id]}
                body["answers"]["tidy"] = {"value": self.rnd.randint(1, 5)}  # scores differ, so the rollups' totals are checked too
                image = phone_jpeg(480, 360, seed=self.number * 100_000 + n)
                n += 1
                for step in ("photo", "audit"):
                    turn += 1  # the next host for each request, as a round-robin balancer
                    while not self.stop.is_set():
                        http = https[turn % len(https)]
                        try:
                            if step == "photo":
                                response = http.put(f"/api/audits/{body['id']}/photos/{photo_id}", content=image, headers={"Content-Type": "image/jpeg"})
                            else:
                                response = http.post("/api/audits", json=body)
                        except httpx.TransportError:  # that host is down: the balancer sends the same to the next
                            response = None
                        if response is not None and response.status_code in (200, 201):
                            break
                        assert response is None or response.status_code == 503, f"{step} {response.status_code}: {response.text}"  # never a 500, a 409 or a 422
                        self.retries += 1
                        turn += 1
                        time.sleep(0.05)
                if self.stop.is_set():
                    return
                self.acknowledged.append(body["id"])
                time.sleep(PACE)
        finally:
            for http in https:
                http.close()


@pytest.fixture
def hosts(tmp_path, postgres_url, monkeypatch):
    """Three hosts over one empty PostgreSQL database and one new bucket, seeded with the acme brand's
    four shops and personas; each host has its own data folder and its own copy of the checklists."""
    import shutil

    from tests.stores import new_bucket

    bucket = new_bucket(monkeypatch)  # in this process's environment: the hosts inherit it
    settings = msgspec.structs.replace(make_server_files(tmp_path), database_url=postgres_url, **bucket)
    db, tokens = seed(settings)
    db.conn.close()
    made = []
    for n in range(len(WORKERS)):
        folder = tmp_path / f"host{n}"
        shutil.copytree(settings.checklists, folder / "checklists")
        live = LiveServer(folder, checklists=folder / "checklists", seed=False)
        live.env["TOUCHPOINT_DATABASE_URL"] = postgres_url  # whatever TOUCHPOINT_TEST_DATABASE chose
        made.append(Host(live, f"host{n}", folder / "data", WORKERS[n]))
    yield made, settings, tokens
    for host in made:
        if host.rebooting is not None:
            host.rebooting.join(timeout=120)
        if host.live.process is not None:
            host.kill()


# round after round (TOUCHPOINT_CRASH_ROUNDS of them, from the start again after the last); a whole host
# each of the three in turn, the two-process one last: the others are started again in 5-10 s, it in 15-40 s
KILLS = ("a whole host", "one server process", "a writer", "the prune's lease holder", "a whole host", "a photo worker", "one server process", "a whole host")


def test_kill_9_across_three_hosts_loses_nothing_doubles_nothing_and_leaves_no_stray_object(hosts):
    from server.db import connect
    from server.photos import storage
    from server.photos.store import photo_store

    hosts, settings, tokens = hosts
    rnd = random.Random(28)
    hooks = Hooks()
    for host in hosts:
        host.live.env.update({"TOUCHPOINT_WEBHOOK_ALLOW_NETWORKS": f"127.0.0.1:{hooks.httpd.server_port}", "TOUCHPOINT_WEBHOOK_TIMEOUT_SECONDS": "1",
                              "TOUCHPOINT_WEBHOOK_RETRY_SECONDS": "0.2", "TOUCHPOINT_WEBHOOK_POLL_SECONDS": "0.1",
                              "TOUCHPOINT_PRUNE_SECONDS": str(PRUNE_SECONDS)})
    for host in hosts:
        host.launch()
    for host in hosts:
        host.wait()
    made = httpx.post(hosts[0].url + "/api/webhooks", json={"url": hooks.url, "events": ["audit.submitted"]},
                      headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=10)
    assert made.status_code == 201, made.text
    db = connect(settings.database_url)
    pids: dict[int, str] = {}  # every server process seen, by host: whose prune runs were whose

    def up() -> list[Host]:
        return [host for host in hosts if host.ready.is_set()]

    def look() -> None:
        for host in up():
            pids.update(dict.fromkeys(host.server_processes(), host.name))

    def having(children: int) -> list[int]:
        """The server processes of the hosts up with at least that many children (a writer, then photo
        workers; a pool whose worker was killed is started again by the next upload)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if found := [each for host in up() for each in host.server_processes() if len(spawned(each)) >= children]:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no server process with {children} children in {[host.name for host in up()]}")

    clients = [Client([host.url for host in hosts], tokens["auditor_a"], n) for n in range(CLIENTS)]
    for client in clients:
        client.start()
    kills = dict.fromkeys(KILLS, 0)
    whole = 0  # whole hosts killed so far
    started = time.monotonic()
    while sum(len(c.acknowledged) for c in clients) < 4 * len(clients) and time.monotonic() < started + 60:
        time.sleep(0.1)  # the first kill in the middle of traffic: every host's photo workers started
    try:
        for round_ in range(ROUNDS):
            time.sleep(rnd.uniform(0.3, 1.5))  # a random moment in the middle of the traffic
            look()
            kind = KILLS[round_ % len(KILLS)]
            if kind in ("a whole host", "one server process"):  # one host down at a time: the one started again first
                for each in hosts:
                    if each.rebooting is not None:
                        each.rebooting.join(timeout=120)
            if kind == "a whole host":
                host = hosts[-1 - whole % len(hosts)]
                whole += 1
            else:
                host = rnd.choice([each for each in up() if each.workers > 1] if kind == "one server process" else up())
            processes = host.server_processes()
            if kind == "a whole host":
                host.reboot(down=rnd.uniform(0.2, 1.0))
            elif kind == "one server process":
                os.kill(rnd.choice(processes), signal.SIGKILL)  # its supervisor starts another
            elif kind == "the prune's lease holder":  # whichever host it is on; else the last to have run it
                row = db.execute("SELECT pid FROM leases WHERE name = 'photo-prune' AND until > ?", [dt.datetime.now(dt.UTC).isoformat()]).fetchone()
                row = row or db.execute("SELECT pid FROM job_runs WHERE job = 'photo-prune' ORDER BY id DESC LIMIT 1").fetchone()
                on = [each for each in up() if row and row[0] in each.server_processes()]
                os.kill(row[0] if on else rnd.choice(processes), signal.SIGKILL)
                if on and on[0].workers == 1:  # its one server process is `serve` itself: that host is down until started again
                    on[0].reboot(down=0)
            elif kind == "a writer":  # of a process that has one (a killed writer is started again by the next audit)
                os.kill(spawned(rnd.choice(having(1)))[0], signal.SIGKILL)
            else:  # a photo worker of a process that has them (the writer is each one's first child)
                os.kill(spawned(rnd.choice(having(2)))[-1], signal.SIGKILL)
            kills[kind] += 1
        for host in hosts:  # every host up again before the traffic ends
            if host.rebooting is not None:
                host.rebooting.join(timeout=120)
            assert host.ready.is_set(), f"host {host.name} did not start again: {host.live.log.read_text()[-3000:]}"
        time.sleep(1)
        look()
        finish(clients)
    finally:
        stop_all(clients)
    traffic = time.monotonic() - started
    assert not any(c.is_alive() for c in clients), "clients did not finish"
    assert not [c.failure for c in clients if c.failure], [c.failure for c in clients if c.failure]
    # a delivery in flight at a kill waits out its lease (the attempt's 1 s deadline + 30 s) before another host sends it
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and db.execute("SELECT count(*) FROM deliveries WHERE state != 'delivered'").fetchone()[0]:
        time.sleep(0.2)
    look()
    for host in hosts:
        host.kill()
    hooks.httpd.shutdown()

    acknowledged = [audit for c in clients for audit in c.acknowledged]
    stored = [row[0] for row in db.execute("SELECT id FROM audits")]
    assert len(stored) == len(set(stored)), "an audit is stored twice"
    assert sorted(stored) == sorted(acknowledged), "an acknowledged audit is missing, or one is stored that was never acknowledged"
    assert db.execute("SELECT count(*) FROM audits WHERE status != 'submitted'").fetchone()[0] == 0  # each has its photo
    photos = db.execute("SELECT audit, file FROM photos").fetchall()
    assert sorted(audit for audit, _ in photos) == sorted(acknowledged)
    # each photo's two images are objects of the bucket, under the key the store gives them
    store = photo_store(settings)
    keys = {store._key(storage.name(file, size)) for _, file in photos for size in storage.SIZES}
    missing = [key for key in sorted(keys) if _head(store, key) is None]
    assert not missing, f"{len(missing)} of {len(keys)} photo objects are not in the bucket: {missing[:3]}"
    listed = {store._key(name) for name, _ in store.listing()}
    assert listed == keys, f"{len(listed - keys)} objects in the bucket belong to no photo"
    # the rollups counted each audit once: every day row of each shop's touchpoint equals a recount of
    # its audits of that day and before (n, the scores' total, the promises kept)
    rows = db.execute("SELECT location, key, day, n, total, kept FROM rollups WHERE kind = 't' ORDER BY location, key, day").fetchall()
    assert rows, "no rollups"
    for location, key, day, n, total, kept in rows:
        count, summed, promises = db.execute(
            "SELECT count(*), coalesce(sum(score), 0), count(*) FILTER (WHERE promise_kept = 1) FROM audits "
            "WHERE location = ? AND checklist = ? AND day <= ? AND counts = 1 AND score IS NOT NULL", [location, key, day]).fetchone()
        assert (n, kept) == (count, promises) and abs(total - summed) < 1e-6, (location, key, day, (n, total, kept), (count, summed, promises))
    latest = db.execute(
        "SELECT sum(n) FROM rollups r WHERE kind = 't' AND day = (SELECT max(day) FROM rollups WHERE location = r.location AND kind = 't' AND key = r.key)"
    ).fetchone()[0]
    assert latest == len(acknowledged)
    # every audit's webhook delivery arrived, at least once; twice only if in flight at a kill (8 senders a server process)
    deliveries = {row[0] for row in db.execute("SELECT id FROM deliveries WHERE event = 'audit.submitted'")}
    assert len(deliveries) == len(acknowledged)
    assert db.execute("SELECT count(*) FROM deliveries WHERE state != 'delivered'").fetchone()[0] == 0
    arrived = set(hooks.received)
    assert arrived == deliveries, f"{len(deliveries - arrived)} deliveries never arrived"
    twice = len(hooks.received) - len(arrived)
    assert twice <= sum(kills.values()) * 8 * max(WORKERS)
    # the prune ran one run at a time in the installation, whichever host took it, across every kill:
    # each run began after the one before it ended, and at least PRUNE_SECONDS after that one began
    runs = [(dt.datetime.fromisoformat(began), dt.datetime.fromisoformat(ended), pid)
            for began, ended, pid in db.execute("SELECT started_at, finished_at, pid FROM job_runs WHERE job = 'photo-prune' ORDER BY started_at")]
    assert len(runs) >= 5, runs
    for (began, ended, _), (later, _, _) in zip(runs, runs[1:]):
        assert later >= ended and later - began >= dt.timedelta(seconds=PRUNE_SECONDS), (began, ended, later)
    runners = {pid for _, _, pid in runs}
    on_hosts = {pids.get(pid, "a process not seen") for pid in runners}
    db.conn.close()
    # what each host kept of its own: nothing another host could need
    for host in hosts:
        kept_here = {str(path.relative_to(host.data)) for path in host.data.rglob("*")} if host.data.exists() else set()
        assert kept_here == PER_HOST, (host.name, kept_here)
    retries = sum(c.retries for c in clients)
    reboots = [seconds for host in hosts for seconds in host.reboots]
    FIGURES["crash test, three hosts"] = (
        f"{len(WORKERS)} hosts (serve --workers " + ", ".join(map(str, WORKERS)) + f") on one PostgreSQL and one bucket, {ROUNDS} kill -9 rounds in {traffic:.0f} s ("
        + ", ".join(f"{kind} {n}" for kind, n in kills.items()) + f"); {len(acknowledged)} audits with a photo each acknowledged "
        f"({retries} sends retried on another host): 0 lost, 0 stored twice, every photo's {len(keys)} objects in the bucket and none of nothing, "
        f"rollups equal to a recount; a host started again in {min(reboots):.0f}-{max(reboots):.0f} s while the others served; {len(deliveries)} webhook deliveries all arrived, {twice} twice; the prune (every {PRUNE_SECONDS} s) "
        f"ran {len(runs)} times, one at a time, by {len(runners)} processes on {len(on_hosts)} hosts"
    )


def _head(store, key: str) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        return store.client.head_object(Bucket=store.bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return None
        raise
