"""The crash test: the real `touchpoint serve --workers 3` on loopback, clients sending photos and
audits at once, a webhook receiver on loopback counting what arrives, and `kill -9` at random
moments, round after round, of: the whole process group (the supervisor, its three server
processes and their writers and photo workers, as a power cut or the OOM killer would), one
server process, one server process's writer, a photo worker. Clients retry whatever was not
acknowledged, as the phone's outbox does. Then every acknowledged audit is there exactly once with
its photo, no half-written file is left, every image file on disk belongs to a stored photo, the
rollups count each audit once, `integrity_check` is ok, and every audit's webhook delivery
arrived at least once (more than once only for those in flight at a kill).

Bounded for CI (TOUCHPOINT_CRASH_ROUNDS, default 10 whole-server rounds, about 20 s); set it higher for a longer run.
"""

import datetime as dt
import os
import random
import signal
import threading
import time
import uuid

import httpx
import pytest

from tests.conftest import GOOD_VISIT, audit_body, make_server_files, seed
from tests.figures import FIGURES
from tests.live import LiveServer, children
from tests.test_photo_processing import phone_jpeg

ROUNDS = int(os.environ.get("TOUCHPOINT_CRASH_ROUNDS", "10"))
CLIENTS = 4


SERVER_PROCESSES = 3
PRUNE_SECONDS = 2


def spawned(pid: int) -> list[int]:
    """A process's multiprocessing (spawn) children, oldest first."""
    return [child for child, _, cmdline in children(pid) if "spawn_main" in cmdline]


def server_processes(supervisor: int) -> list[int]:
    """The supervisor's server processes, once all of them run (one killed is replaced within a second or two)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(found := spawned(supervisor)) == SERVER_PROCESSES:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not {SERVER_PROCESSES} server processes under {supervisor}: {children(supervisor)}")


def finish(clients: list) -> None:
    """Tell every client to finish the audit in hand, and wait up to 60 s for them to."""
    for client in clients:
        client.finish.set()
    deadline = time.monotonic() + 60
    while any(c.is_alive() for c in clients) and time.monotonic() < deadline:
        time.sleep(0.2)


def stop_all(clients: list) -> None:
    """Stop every client at once (the test is over, or has failed) and join it."""
    for client in clients:
        client.stop.set()
        client.join(timeout=10)


class Client(threading.Thread):
    """Sends audits one by one, each after its photo, retrying each until it is acknowledged, until
    told to finish (it completes the one in hand first)."""

    def __init__(self, url: str, token: str, number: int):
        super().__init__(daemon=True)
        self.url, self.token, self.number = url, token, number
        self.acknowledged: list[str] = []
        self.retries = 0
        self.finish = threading.Event()
        self.stop = threading.Event()  # give up at once (the test has failed)
        self.failure: str | None = None  # what stopped this client early, reported by the test

    def run(self):
        try:
            self.send()
        except BaseException as error:  # the test reports it: a thread's exception alone is only a warning
            self.failure = f"{type(error).__name__}: {error}"
            raise

    def send(self):
        with httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10) as http:
            n = 0
            while not self.finish.is_set():
                body = audit_body(GOOD_VISIT, id=str(uuid.uuid4()))
                photo_id = str(uuid.uuid4())
                body["answers"]["greet"] = {"value": "yes", "photos": [photo_id]}
                image = phone_jpeg(480, 360, seed=self.number * 100_000 + n)
                n += 1
                for step in ("photo", "audit"):
                    while not self.stop.is_set():
                        try:
                            if step == "photo":
                                response = http.put(f"/api/audits/{body['id']}/photos/{photo_id}", content=image, headers={"Content-Type": "image/jpeg"})
                            else:
                                response = http.post("/api/audits", json=body)
                        except httpx.TransportError:  # the server is down: wait and send the same again
                            response = None
                        if response is not None and response.status_code in (200, 201):
                            break
                        assert response is None or response.status_code == 503, f"{step} {response.status_code}: {response.text}"  # never a 500, a 409 or a 422
                        self.retries += 1
                        time.sleep(0.1)
                if self.stop.is_set():
                    return
                self.acknowledged.append(body["id"])


@pytest.fixture
def crash_site(tmp_path):
    settings = make_server_files(tmp_path)
    db, tokens = seed(settings)
    db.conn.close()
    live = LiveServer(tmp_path, checklists=settings.checklists, seed=False)
    if settings.database_url:  # the suite on PostgreSQL: the server on the database seeded here
        live.env["TOUCHPOINT_DATABASE_URL"] = settings.database_url
    yield live, settings, tokens
    if live.process is not None:
        kill_group(live)


def start(live: LiveServer) -> None:
    """`touchpoint serve` in its own process group, so one signal reaches its workers too."""
    import subprocess

    from tests.live import CLI

    live.process = subprocess.Popen([*CLI, "serve", "--workers", str(SERVER_PROCESSES)], env=live.env, cwd=live.root, stdout=live.log.open("a"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(live.url + "/api/health", timeout=1).status_code in (200, 503):
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"the server did not start: {live.log.read_text()[-2000:]}")


def kill_group(live: LiveServer) -> None:
    os.killpg(live.process.pid, signal.SIGKILL)
    live.process.wait(timeout=10)
    live.process = None


class Hooks:
    """A webhook receiver on loopback: answers 200 and counts each Touchpoint-Delivery id it gets."""

    def __init__(self):
        import http.server

        self.received: list[str] = []
        hooks = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                hooks.received.append(self.headers["Touchpoint-Delivery"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hooks"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


KILLS = ("whole group", "one server process", "a writer", "the prune's lease holder", "whole group", "a photo worker")


def prune_holder(store) -> int | None:
    """The server process holding the photo prune's lease now, or else the one that ran it last."""
    from server.db import connect

    db = connect(store)
    try:
        row = db.execute("SELECT pid FROM leases WHERE name = 'photo-prune' AND until > ?", [dt.datetime.now(dt.UTC).isoformat()]).fetchone()
        row = row or db.execute("SELECT pid FROM job_runs WHERE job = 'photo-prune' ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else None
    finally:
        db.conn.close()


def test_kill_9_loses_nothing_doubles_nothing_and_leaves_nothing_half_written(crash_site):
    live, settings, tokens = crash_site
    rnd = random.Random(12)
    hooks = Hooks()
    live.env.update({"TOUCHPOINT_WEBHOOK_ALLOW_NETWORKS": f"127.0.0.1:{hooks.httpd.server_port}", "TOUCHPOINT_WEBHOOK_TIMEOUT_SECONDS": "1",
                     "TOUCHPOINT_WEBHOOK_RETRY_SECONDS": "0.2", "TOUCHPOINT_WEBHOOK_POLL_SECONDS": "0.1", "TOUCHPOINT_PRUNE_SECONDS": str(PRUNE_SECONDS)})
    start(live)
    made = httpx.post(live.url + "/api/webhooks", json={"url": hooks.url, "events": ["audit.submitted"]},
                      headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=10)
    assert made.status_code == 201, made.text
    clients = [Client(live.url, tokens["auditor_a"], n) for n in range(CLIENTS)]
    for client in clients:
        client.start()
    kills = dict.fromkeys(KILLS, 0)
    try:
        for round_ in range(ROUNDS):
            time.sleep(rnd.uniform(0.3, 1.5))  # a random moment in the middle of the traffic
            kind = KILLS[round_ % len(KILLS)]
            processes = server_processes(live.process.pid)
            if kind == "whole group":
                kill_group(live)
                start(live)
            elif kind == "one server process":
                os.kill(rnd.choice(processes), signal.SIGKILL)  # the supervisor starts another
            elif kind == "the prune's lease holder":
                holder = prune_holder(settings.store)
                os.kill(holder if holder in processes else rnd.choice(processes), signal.SIGKILL)
            elif kind == "a writer":  # of a process that has one (a killed writer is started again by the next audit)
                with_writer = [each for each in processes if spawned(each)]
                os.kill(spawned(rnd.choice(with_writer))[0], signal.SIGKILL)
            else:  # a photo worker of a process that has them (the writer is each one's first child)
                with_photos = [each for each in processes if len(spawned(each)) > 1]
                os.kill(spawned(rnd.choice(with_photos or processes))[-1], signal.SIGKILL)
            kills[kind] += 1
        time.sleep(1)
        finish(clients)
    finally:
        stop_all(clients)
    assert not any(c.is_alive() for c in clients), "clients did not finish"
    assert not [c.failure for c in clients if c.failure], [c.failure for c in clients if c.failure]
    from server.db import connect

    db = connect(settings.store)
    # a delivery in flight at a kill waits out its lease (the attempt's 1 s deadline + 30 s) before another process sends it
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and db.execute("SELECT count(*) FROM deliveries WHERE state != 'delivered'").fetchone()[0]:
        time.sleep(0.2)
    kill_group(live)
    hooks.httpd.shutdown()

    acknowledged = [audit for c in clients for audit in c.acknowledged]
    assert settings.on_postgres or db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = [row[0] for row in db.execute("SELECT id FROM audits")]
    assert sorted(stored) == sorted(acknowledged), "an acknowledged audit is missing, or one is stored twice"
    assert len(set(stored)) == len(stored)
    assert db.execute("SELECT COUNT(*) FROM audits WHERE status != 'submitted'").fetchone()[0] == 0  # each has its photo
    photo_audits = [row[0] for row in db.execute("SELECT audit FROM photos")]
    assert sorted(photo_audits) == sorted(acknowledged)
    # the rollups saw each audit once: the latest cumulative count per location and touchpoint
    counted = db.execute(
        "SELECT SUM(n) FROM rollups r WHERE kind = 't' AND day = (SELECT max(day) FROM rollups WHERE location = r.location AND kind = 't' AND key = r.key)"
    ).fetchone()[0]
    assert counted == len(acknowledged)
    on_disk = {p.name for p in settings.photos.rglob("*") if p.is_file()}
    assert not [name for name in on_disk if name.endswith(".part")], "a half-written image was left"
    referenced = {f"{file}.{size}.jpg" for (file,) in db.execute("SELECT file FROM photos") for size in ("display", "thumb")}
    assert on_disk == referenced, "an image file on disk belongs to no stored photo, or a stored photo has no file"
    # every audit's webhook delivery arrived, at least once; twice only if in flight at a kill (8 senders a process)
    deliveries = {row[0] for row in db.execute("SELECT id FROM deliveries WHERE event = 'audit.submitted'")}
    assert len(deliveries) == len(acknowledged)
    assert db.execute("SELECT count(*) FROM deliveries WHERE state != 'delivered'").fetchone()[0] == 0
    arrived = set(hooks.received)
    assert arrived == deliveries, f"{len(deliveries - arrived)} deliveries never arrived"
    twice = len(hooks.received) - len(arrived)
    assert twice <= sum(kills.values()) * 8 * SERVER_PROCESSES
    # the prune ran once per interval in the installation, whichever process took it, across every kill
    starts = [dt.datetime.fromisoformat(at) for (at,) in db.execute("SELECT started_at FROM job_runs WHERE job = 'photo-prune' ORDER BY started_at")]
    assert len(starts) >= 5
    assert all(later - earlier >= dt.timedelta(seconds=PRUNE_SECONDS) for earlier, later in zip(starts, starts[1:]))
    runners = db.execute("SELECT count(DISTINCT pid) FROM job_runs WHERE job = 'photo-prune'").fetchone()[0]
    db.conn.close()
    retries = sum(c.retries for c in clients)
    FIGURES["crash test"] = (
        f"serve --workers {SERVER_PROCESSES}, {ROUNDS} kill -9 rounds (" + ", ".join(f"{kind} {n}" for kind, n in kills.items()) + "); "
        f"{len(acknowledged)} audits with a photo each acknowledged ({retries} retries of unacknowledged sends): 0 lost, 0 duplicated, "
        f"no partial file, {'on PostgreSQL' if settings.on_postgres else 'integrity_check ok'}, rollups equal to the audits; {len(deliveries)} webhook deliveries all arrived, {twice} twice; "
        f"the prune (every {PRUNE_SECONDS} s) ran {len(starts)} times by {runners} processes, never twice within its interval"
    )


MAIL_KILLS = 4
MAILS = 200


def test_kill_9_while_mailing_sends_every_mail_at_least_once(crash_site):
    """The outbox across `kill -9`: 200 mails queued, the whole server killed 4 times while its senders
    are mid-conversation with a real SMTP server (aiosmtpd, taking 0.1 s per message), started again;
    every mail arrives at least once. A mail in flight at a kill has its lease run out (the attempt's
    1 s deadline + 30 s) and goes again: it may arrive twice, never zero times; the duplicates are counted."""
    import asyncio
    import email

    import msgspec
    from aiosmtpd.controller import Controller

    from server.db import connect, write
    from server.mail import outbox
    from tests.live import free_port

    live, settings, _ = crash_site
    received: list[str] = []

    class SlowInbox:
        async def handle_DATA(self, server, session, envelope):
            await asyncio.sleep(0.1)
            received.append(email.message_from_bytes(envelope.content)["Message-ID"])
            return "250 OK"

    smtp = Controller(SlowInbox(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        url = f"smtp://127.0.0.1:{smtp.port}"
        live.env.update({"TOUCHPOINT_SMTP_URL": url, "TOUCHPOINT_MAIL_FROM": "touchpoint@example.com", "TOUCHPOINT_WEBHOOK_TIMEOUT_SECONDS": "1",
                         "TOUCHPOINT_WEBHOOK_RETRY_SECONDS": "0.2", "TOUCHPOINT_WEBHOOK_POLL_SECONDS": "0.1"})
        mailing = msgspec.structs.replace(settings, smtp_url=url, mail_from="touchpoint@example.com")
        db = connect(settings.store)
        with write(db):
            queued = [outbox.queue(db, mailing, to_address=f"person{n}@example.org", subject=f"Mail {n}", body=f"Hello {n}", kind="test") for n in range(MAILS)]
        rnd = random.Random(25)
        kills, in_flight = 0, []
        for _ in range(MAIL_KILLS):
            start(live)
            time.sleep(rnd.uniform(0.2, 0.6))  # the senders are busy: 8 conversations of 0.1 s at a time
            kill_group(live)
            kills += 1
            in_flight.append(len(received))
        start(live)
        deadline = time.monotonic() + 90  # a mail leased at a kill waits out its lease: 31 s
        while time.monotonic() < deadline and db.execute("SELECT count(*) FROM mail WHERE state != 'sent'").fetchone()[0]:
            time.sleep(0.2)
        kill_group(live)
        states = dict(db.execute("SELECT state, count(*) FROM mail GROUP BY state").fetchall())
        db.conn.close()
    finally:
        smtp.stop()
    assert states == {"sent": MAILS}, states
    ids = {f"<{mail}@example.com>" for mail in queued}
    arrived = set(received)
    assert arrived == ids, f"{len(ids - arrived)} mails never arrived"  # at least once, every one
    duplicates = len(received) - len(arrived)
    assert duplicates <= kills * 8  # at most the mails in flight at each kill (8 senders)
    FIGURES["crash test, mail"] = (
        f"{MAILS} mails queued, the server killed -9 {kills} times while sending to a real SMTP server (after {', '.join(map(str, in_flight))} "
        f"had arrived): every mail arrived at least once, {duplicates} twice (those in flight at a kill), all marked sent"
    )
