"""A CSV export whose client stops reading, against the real `touchpoint serve` on loopback: after
TOUCHPOINT_EXPORT_WRITE_TIMEOUT_SECONDS the export is abandoned, its read snapshot released (a
TRUNCATE checkpoint empties the WAL; before, it answered busy for as long as the client stalled)
and the download ends cut off, never passed off as whole. Ten stalled exports leave the server's
memory within a few MiB each. On PostgreSQL (TOUCHPOINT_TEST_DATABASE=postgresql) the snapshot
released is told by pg_stat_activity: no other connection of the database in a transaction."""

import shutil
import socket
import time

import h11
import httpx
import msgspec
import pytest
from litestar.testing import TestClient

from server.app import create_app
from server.db import connect, on_postgres, write
from tests.conftest import GOOD_VISIT, audit_body, make_server_files, seed
from tests.live import LiveServer

COPIES = 40_000  # audits of 8 answers each: 320,000 answer rows, a CSV of about 20 MB


@pytest.fixture(scope="module")
def big_data(tmp_path_factory):
    """20 audits sent over HTTP, then copied in SQL to 40,000 (the export reads what it finds):
    built once for the module, (its data folder, the personas' tokens, its Settings.store)."""
    tmp_path = tmp_path_factory.mktemp("big")
    settings = make_server_files(tmp_path)
    db, tokens = seed(settings)
    with TestClient(create_app(settings)) as client:
        for _ in range(20):
            assert client.post("/api/audits", json=audit_body(GOOD_VISIT), headers={"Authorization": f"Bearer {tokens['auditor_a']}"}).status_code == 201
    columns = [column[0] for column in db.execute("SELECT * FROM audits LIMIT 0").description if column[0] not in ("seq", "id")]
    db.execute("BEGIN")
    db.execute(f"""WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {COPIES // 20 - 1})
                   INSERT INTO audits (seq, id, {', '.join(columns)}) SELECT seq + k * 1000, id || '-' || k, {', '.join(columns)} FROM audits, n WHERE seq < 1000""")
    db.execute("INSERT INTO answers SELECT a.seq, x.item, x.value, x.comment, x.photos, x.f, x.earned, x.possible FROM audits a JOIN answers x ON x.audit = a.seq % 1000 WHERE a.seq >= 1000")
    db.execute("COMMIT")
    assert db.execute("SELECT count(*) FROM answers").fetchone()[0] == COPIES * len(GOOD_VISIT)
    if not on_postgres(db):
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return settings.data, tokens, settings.store


@pytest.fixture
def big(tmp_path, big_data):
    """The server over a copy of the module's 40,000 audits."""
    data, tokens, store = big_data
    settings = make_server_files(tmp_path)
    if data.exists():  # on PostgreSQL the module's folder may hold nothing yet (no photos, no SQLite file)
        shutil.copytree(data, settings.data)
    live = LiveServer(tmp_path, checklists=settings.checklists, seed=False)
    if isinstance(store, str):  # PostgreSQL: the module's database, not a new one
        live.env["TOUCHPOINT_DATABASE_URL"] = store
        settings = msgspec.structs.replace(settings, database_url=store)
    live.env["TOUCHPOINT_EXPORT_WRITE_TIMEOUT_SECONDS"] = "3"
    # ten exports at once by one admin, each in a worker of its own (by default: 2 a person, 2 workers)
    live.env["TOUCHPOINT_HEAVY_PER_PERSON"] = live.env["TOUCHPOINT_EXPORT_WORKERS"] = "10"
    live.start()
    yield live, settings, tokens["admin"]
    live.stop()


def stalled_export(live, token: str) -> tuple[socket.socket, bytes]:
    """GET the answers export with a tiny receive window, read its first bytes, then read no more."""
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(("127.0.0.1", live.port))
    client.sendall(f"GET /api/export/answers.csv HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    first = client.recv(4096)
    assert first.startswith(b"HTTP/1.1 200")
    return client, first


def checkpoint(store, truncate: bool = True) -> tuple[int, int, int] | None:
    """A write, then PRAGMA wal_checkpoint(TRUNCATE): (busy, WAL frames, frames checkpointed). On
    PostgreSQL, which has no WAL a reader holds back: (connections of the database in a transaction
    besides this one, 0, 0)."""
    db = connect(store)
    try:
        with write(db):
            db.execute("UPDATE users SET name = name WHERE id = 1")
        if not truncate:
            return None
        if on_postgres(db):
            held = db.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid != pg_backend_pid() AND xact_start IS NOT NULL").fetchone()[0]
            return held, 0, 0
        return db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        db.conn.close()


def whole_response(raw: bytes) -> bool:
    """Whether the bytes a client got hold a whole HTTP/1.1 response (h11, the parser httpx uses)."""
    parser = h11.Connection(h11.CLIENT)
    parser.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    parser.send(h11.EndOfMessage())
    parser.receive_data(raw)
    parser.receive_data(b"")  # then the server hung up
    try:
        while (event := parser.next_event()) not in (h11.NEED_DATA, h11.PAUSED):
            if isinstance(event, h11.EndOfMessage):
                return True
    except h11.RemoteProtocolError:  # "peer closed connection without sending complete message body"
        return False
    return False


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def test_a_stalled_export_releases_its_snapshot_after_the_write_timeout(big):
    live, settings, token = big
    checkpoint(settings.store, truncate=False)  # the WAL holds a write, as a running server's does
    client, first = stalled_export(live, token)
    try:
        time.sleep(5)  # past the 3 s write timeout (before the fix the snapshot stayed: busy, every time)
        busy, frames, _ = checkpoint(settings.store)
        assert (busy, frames) == (0, 0), (busy, frames)
        assert settings.on_postgres or (settings.database.parent / "touchpoint.db-wal").stat().st_size == 0
        assert "a CSV export's client took no data for 3 s: abandoned, its snapshot released" in live.log.read_text()
        client.settimeout(10)
        got = first
        while chunk := client.recv(65536):  # what was sent before it stopped, then the server hangs up
            got += chunk
        assert len(got) > 1_000_000 and b"audit_id,item,section" in got
        assert not whole_response(got)  # no last chunk: the client knows the file is cut off
    finally:
        client.close()
    assert httpx.get(live.url + "/api/health", timeout=5).status_code == 200
    with socket.create_connection(("127.0.0.1", live.port)) as reader:  # one that reads on gets the whole file
        reader.sendall(f"GET /api/export/answers.csv HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n".encode())
        whole = b""
        while chunk := reader.recv(1 << 20):
            whole += chunk
    assert whole_response(whole) and whole.count(b"\r\n") > COPIES * len(GOOD_VISIT)


def test_ten_stalled_exports_hold_a_few_mib_each(big):
    live, settings, token = big
    checkpoint(settings.store, truncate=False)
    before = rss_mb(live.process.pid)
    clients = [stalled_export(live, token)[0] for _ in range(10)]
    try:
        time.sleep(1.5)
        grown = rss_mb(live.process.pid) - before
        assert grown < 60, grown  # each export: one batch (2,000 rows) and a 2 MiB page cache
        # each abandoned once its client's buffers are full and 3 s more have passed: ten workers on two
        # loaded cores may take longer than one to fill them (PostgreSQL's server cursor the longest)
        deadline = time.monotonic() + 60
        while live.log.read_text().count("abandoned, its snapshot released") < 10 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert live.log.read_text().count("abandoned, its snapshot released") == 10
        deadline = time.monotonic() + 10  # the workers see their sockets close and end their snapshots
        while (held := checkpoint(settings.store)[:2]) != (0, 0) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert held == (0, 0), held
    finally:
        for client in clients:
            client.close()
