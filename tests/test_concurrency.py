"""Several clients submitting at once over real HTTP to one database: nothing lost, nothing doubled."""

import socket
import threading
import time
import uuid

import httpx
import pytest
import uvicorn

from server.app import create_app
from tests.conftest import GOOD_VISIT, audit_body, make_server_files, seed


@pytest.fixture
def live(tmp_path):
    """The real app served by uvicorn on a free loopback port."""
    settings = make_server_files(tmp_path)
    db, tokens = seed(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}", tokens, db
    server.should_exit = True
    thread.join(timeout=10)
    db.conn.close()


def test_concurrent_submissions_lose_nothing_and_duplicate_nothing(live):
    base, tokens, db = live
    clients, per_client = 8, 25
    bodies = [[audit_body(GOOD_VISIT, id=str(uuid.uuid4())) for _ in range(per_client)] for _ in range(clients)]
    shared = audit_body(GOOD_VISIT)  # every client also sends this one: it must be stored once
    statuses: list[int] = []
    lock = threading.Lock()

    def client(mine):
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens['auditor_a']}"}, timeout=30) as http:
            for body in [shared, *mine, shared]:
                response = http.post("/api/audits", json=body)
                with lock:
                    statuses.append(response.status_code)
                assert response.json()["id"] == body["id"]

    threads = [threading.Thread(target=client, args=(mine,)) for mine in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(201) == clients * per_client + 1
    assert statuses.count(200) == 2 * clients - 1
    assert len(statuses) == clients * (per_client + 2)
    expected = {b["id"] for mine in bodies for b in mine} | {shared["id"]}
    stored = {row[0] for row in db.execute("SELECT id FROM audits")}
    assert stored == expected
    # the rollups saw each audit exactly once
    counted = db.execute(
        "SELECT SUM(n) FROM rollups r WHERE kind = 't' AND day = (SELECT max(day) FROM rollups WHERE location = r.location AND kind = 't' AND key = r.key)"
    ).fetchone()[0]
    assert counted == len(expected)
    assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == len(expected) * len(GOOD_VISIT)


def test_a_dead_writer_is_replaced_and_nothing_is_half_stored(server):
    writer = server.client.app.state.writer
    writer._process.kill()
    writer._process.join(timeout=10)
    body = audit_body(GOOD_VISIT)
    response = server.post("/api/audits", "auditor_a", json=body)  # a new writer takes over
    assert response.status_code == 201, response.text
    assert server.post("/api/audits", "auditor_a", json=body).status_code == 200
    assert server.db.execute("SELECT COUNT(*) FROM audits").fetchone()[0] == 1
    assert writer._process.is_alive()


def test_an_audit_on_its_way_in_waits_for_no_thread_of_the_pool(server):
    """Litestar runs a plain-function guard, and a plain generator dependency's cleanup, in its thread
    pool: each a round trip through another thread (three per audit, the guards and the `db`
    connection's return, 0.4 ms of the server's 1.5 ms an audit cost). They are coroutines now."""
    from concurrent.futures import ThreadPoolExecutor

    from litestar.concurrency import set_asyncio_executor

    class Counting(ThreadPoolExecutor):
        submitted = 0

        def submit(self, *args, **kwargs):
            Counting.submitted += 1
            return super().submit(*args, **kwargs)

    pool = Counting(max_workers=2)
    set_asyncio_executor(pool)
    try:
        response = server.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT))
        assert response.status_code == 201, response.text
        assert server.get("/api/health", "auditor_a").status_code == 200
        assert Counting.submitted == 0
        # the pool itself is in use: a route that asks for a thread gets one through it
        assert server.get("/api/audits", "auditor_a").status_code == 200 and Counting.submitted >= 1
    finally:
        set_asyncio_executor(None)
        pool.shutdown()
