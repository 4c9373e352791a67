"""A read-only standby (TOUCHPOINT_READ_DATABASE_URL, server/standby.py; issue 28): made here with
`pg_basebackup -R` from a primary of this module's own, it serves the managers' region page,
refuses writes (and the app sends it none), and a manager's write is seen in their very next page
while the standby's replay is paused, as another manager's reads stay on the standby."""

import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import msgspec
import psycopg
import pytest
from litestar.testing import TestClient

from tests import postgres
from tests.conftest import GOOD_VISIT, Server, audit_body, make_server_files, seed

STATE_SQL_MARK = "pg_is_in_recovery()"  # the app's own check of the standby (server/standby.py STATE_SQL)


class Standby:
    """A hot standby of `primary`: `pg_basebackup -R` (standby.signal and primary_conninfo written
    for it), started on another free port, every statement it is sent in its log."""

    def __init__(self, primary: postgres.Cluster, root):
        self.primary, self.root = primary, root
        self.user = primary.user
        self.data, self.sockets, self.log = root / "data", root / "sockets", root / "standby.log"
        self.sockets.mkdir(parents=True)
        if self.user:
            for path in (root, self.sockets):
                shutil.chown(path, self.user.pw_uid, self.user.pw_gid)
        self.port = postgres.free_port()
        self.process = None

    def _as_cluster_user(self) -> dict:
        return {"user": self.user.pw_uid, "group": self.user.pw_gid} if self.user else {}

    def start(self) -> "Standby":
        done = subprocess.run([str(self.primary.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", postgres.SUPERUSER,
                               "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync"],
                              capture_output=True, text=True, cwd=self.root, **self._as_cluster_user())
        assert done.returncode == 0, done.stderr
        assert (self.data / "standby.signal").exists() and "primary_conninfo" in (self.data / "postgresql.auto.conf").read_text()
        # a hot standby needs max_connections at least the primary's (200, tests/postgres.py)
        settings = {"listen_addresses": "127.0.0.1", "port": str(self.port), "unix_socket_directories": str(self.sockets), "fsync": "off",
                    "max_connections": "200", "shared_buffers": "64MB", "hot_standby": "on", "logging_collector": "off",
                    "log_statement": "all", "log_min_messages": "warning"}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([str(self.primary.bin / "postgres"), "-D", str(self.data)] + [f"-c{k}={v}" for k, v in settings.items()],
                                            stdout=log, stderr=subprocess.STDOUT, preexec_fn=postgres._die_with_parent, **self._as_cluster_user())
        deadline = time.monotonic() + postgres.START_SECONDS
        while True:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2, autocommit=True) as conn:
                    assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
                return self
            except psycopg.OperationalError:
                assert self.process.poll() is None and time.monotonic() < deadline, self.log.read_text()[-3000:]
                time.sleep(0.05)

    def url(self, database: str) -> str:
        return f"postgresql://{postgres.SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres"):
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cursor = conn.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def caught_up(self, database: str = "postgres") -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        with psycopg.connect(self.primary.url("postgres"), autocommit=True) as conn:
            target = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]  # what is written out lags it: synchronous_commit is off
        deadline = time.monotonic() + 30
        while self.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[0][0] is not True:
            assert time.monotonic() < deadline, "the standby did not catch up"
            time.sleep(0.05)

    def pause(self) -> None:
        self.sql("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + 10
        while self.sql("SELECT pg_get_wal_replay_pause_state()")[0][0] != "paused":
            assert time.monotonic() < deadline
            time.sleep(0.02)

    def resume(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")

    def statements(self) -> list[str]:
        """Every statement the standby was sent, in order (its log: one entry per line that starts with a time)."""
        entries = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", self.log.read_text())
        return [re.split(r"(?:statement|execute [^:]*): ", entry, maxsplit=1)[1] for entry in entries if re.search(r"LOG:  (statement|execute [^:]*): ", entry)]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def replicated():
    """A primary of its own (not the run's cluster, which a standby would copy whole) and its standby."""
    try:
        primary = postgres.Cluster(settings={"wal_level": "replica", "max_wal_senders": "4"}).start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="touchpoint-standby-"))  # not pytest's folder, which the `postgres` user may not enter
    standby = Standby(primary, root)
    try:
        yield primary, standby.start()
    finally:
        standby.stop()
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)


def _app(tmp_path, primary, standby, **settings):
    """The app on a new database of the primary, read from the standby; the personas seeded (tests/conftest.py)."""
    from server.app import create_app

    url = primary.new_database()
    chosen = msgspec.structs.replace(make_server_files(tmp_path), database_url=url, read_database_url=standby.url(url.rsplit("/", 1)[1]),
                                     **{"read_lag_seconds": 600.0, **settings})
    db, tokens = seed(chosen)
    standby.caught_up()
    return chosen, db, tokens, create_app(chosen)


def _standby_reads(standby: Standby, since: int) -> list[str]:
    """What the standby was sent after the first `since` statements, but for the app's check of its state."""
    return [s for s in standby.statements()[since:] if STATE_SQL_MARK not in s]


def test_a_standby_serves_the_region_page_refuses_writes_and_a_manager_reads_their_own_write(replicated, tmp_path):
    primary, standby = replicated
    settings, db, tokens, app = _app(tmp_path, primary, standby)
    with TestClient(app) as client:
        server = Server(client, settings, db, tokens)
        health = server.client.get("/api/health").json()
        assert health["standby"]["state"] == "ok" and 0 <= health["standby"]["lag_seconds"] < 600, health["standby"]
        # an auditor's audit: a write, but not of someone who reads the figures, so nothing is kept for them
        assert server.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT)).status_code == 201
        assert db.execute("SELECT COUNT(*) FROM generations WHERE name LIKE 'wal:%'").fetchone()[0] == 0
        standby.caught_up()

        # the home and location pages, read on the standby
        for path in ("/manage/", "/manage/locations/l1"):
            before = len(standby.statements())
            assert server.get(path, "manager_r1").status_code == 200
            assert any("FROM locations" in s for s in _standby_reads(standby, before)), path
        # an export: its worker reads on the standby too
        before = len(standby.statements())
        export = server.get("/api/export/audits.csv", "manager_r1")
        assert export.status_code == 200 and len(export.text.splitlines()) == 2  # the header and the one audit
        assert any("FROM audits a JOIN locations" in s for s in _standby_reads(standby, before))

        # the region page, read on the standby: its statements are in the standby's log
        before = len(standby.statements())
        page = server.get("/manage/regions/r1", "manager_r1")
        assert page.status_code == 200 and "Shop 1" in page.text
        sent = _standby_reads(standby, before)
        assert any("FROM locations" in s for s in sent), sent

        # the standby refuses a write, with PostgreSQL's read-only error
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction, match="read-only transaction"):
            standby.sql("UPDATE locations SET name = 'x' WHERE id = 'l1'", settings.database_url.rsplit("/", 1)[1])

        # replay held back: manager_r1 renames Shop 1; their very next page shows it (read on the
        # primary, nothing of it sent to the standby), while the admin's reads stay on the standby,
        # which has not replayed the rename yet
        standby.pause()
        try:
            renamed = server.client.patch("/api/locations/l1", json={"name": "Shop One"}, headers=server.auth("manager_r1"))
            assert renamed.status_code == 200, renamed.text
            manager = db.execute("SELECT id FROM users WHERE name = 'manager_r1'").fetchone()[0]
            assert [row[0] for row in db.execute("SELECT name FROM generations WHERE name LIKE 'wal:%'")] == [f"wal:{manager}"]
            before = len(standby.statements())
            mine = server.get("/manage/regions/r1", "manager_r1")
            assert mine.status_code == 200 and "Shop One" in mine.text
            assert _standby_reads(standby, before) == []
            theirs = server.get("/manage/regions/r1", "admin")
            assert theirs.status_code == 200 and "Shop 1" in theirs.text and "Shop One" not in theirs.text
            assert any("FROM locations" in s for s in _standby_reads(standby, before))
            summary = server.get("/api/regions/r1/summary", "manager_r1").json()
            assert "Shop One" in [row["name"] for row in summary["ranking"]], summary
        finally:
            standby.resume()
        standby.caught_up()
        before = len(standby.statements())
        mine = server.get("/manage/regions/r1", "manager_r1")
        assert "Shop One" in mine.text and any("FROM locations" in s for s in _standby_reads(standby, before))  # replayed: the standby again

    # the app never sent the standby a write, nor a transaction that may write (the export's is READ ONLY): the one refused is the test's own
    written = [s for s in standby.statements() if re.match(r"\s*(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|BEGIN(?!.*READ ONLY))", s, re.I)]
    assert written == ["UPDATE locations SET name = 'x' WHERE id = 'l1'"], written
    db.conn.close()


def test_a_lagging_standby_is_not_read(replicated, tmp_path):
    """More behind than TOUCHPOINT_READ_LAG_SECONDS: every read on the primary, health says "lagging"."""
    primary, standby = replicated
    settings, db, tokens, app = _app(tmp_path, primary, standby, read_lag_seconds=0.001)
    with TestClient(app) as client:
        server = Server(client, settings, db, tokens)
        standby.pause()
        try:
            assert server.client.patch("/api/locations/l2", json={"name": "Shop Two"}, headers=server.auth("admin")).status_code == 200
            # the rename received but not replayed: the lag is the age of the last transaction replayed, past the bound
            deadline = time.monotonic() + 10
            while not standby.sql("SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()")[0][0]:
                assert time.monotonic() < deadline, "the standby received nothing"
                time.sleep(0.02)
            before = len(standby.statements())
            page = server.get("/manage/regions/r1", "manager_r1")  # not the writer: only the lag keeps them off the standby
            assert page.status_code == 200 and "Shop Two" in page.text
            assert _standby_reads(standby, before) == []
            assert server.client.get("/api/health").json()["standby"]["state"] == "lagging"
        finally:
            standby.resume()
    db.conn.close()


def test_a_standby_that_is_down_sends_the_reads_to_the_primary(replicated, tmp_path):
    """Nothing fails: the region page is answered from the primary, health says "down"."""
    primary, standby = replicated
    settings, db, tokens, _ = _app(tmp_path, primary, standby)
    from server.app import create_app

    gone = msgspec.structs.replace(settings, read_database_url=f"postgresql://{postgres.SUPERUSER}@127.0.0.1:{postgres.free_port()}/nothing")
    with TestClient(create_app(gone)) as client:
        server = Server(client, gone, db, tokens)
        page = server.get("/manage/regions/r1", "manager_r1")
        assert page.status_code == 200 and "Shop 1" in page.text
        health = server.client.get("/api/health")
        assert health.status_code == 200 and health.json()["status"] == "ok" and health.json()["standby"] == {"state": "down", "lag_seconds": None, "replayed": None}
    db.conn.close()


def test_a_standby_cut_off_or_promoted_is_not_read(replicated, tmp_path):
    """A standby of its own, which this test spoils: told to stream from nowhere it is "not receiving";
    promoted it is "not a standby" (a copy of its own now). Its reads go to the primary either way."""
    primary, _ = replicated
    root = Path(tempfile.mkdtemp(prefix="touchpoint-standby-"))
    spoilt = Standby(primary, root).start()
    try:
        settings, db, tokens, app = _app(tmp_path, primary, spoilt)
        with TestClient(app) as client:
            server = Server(client, settings, db, tokens)
            assert server.client.get("/api/health").json()["standby"]["state"] == "ok"
            for change, said in (("ALTER SYSTEM SET primary_conninfo = ''", "not receiving"), ("SELECT pg_promote()", "not a standby")):
                spoilt.sql(change)
                spoilt.sql("SELECT pg_reload_conf()")
                deadline = time.monotonic() + 20
                while (state := server.client.get("/api/health").json()["standby"]["state"]) != said:
                    assert time.monotonic() < deadline, state
                    time.sleep(0.1)
                before = len(spoilt.statements())
                assert server.get("/manage/regions/r1", "manager_r1").status_code == 200
                assert _standby_reads(spoilt, before) == []
        db.conn.close()
    finally:
        spoilt.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_the_read_url_is_checked_and_needs_a_postgresql_primary(monkeypatch):
    from server.settings import Settings, SettingsError

    monkeypatch.setenv("TOUCHPOINT_READ_DATABASE_URL", "postgresql://touchpoint@standby:5432/touchpoint")
    with pytest.raises(SettingsError, match="TOUCHPOINT_READ_DATABASE_URL: a standby is read only beside its PostgreSQL primary: set TOUCHPOINT_DATABASE_URL"):
        Settings.from_env()
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", "postgresql://touchpoint@primary:5432/touchpoint")
    assert Settings.from_env().read_database_url == "postgresql://touchpoint@standby:5432/touchpoint"
    for wrong in ("mysql://standby/touchpoint", "postgresql://standby:5432/", "standby.example.com"):
        monkeypatch.setenv("TOUCHPOINT_READ_DATABASE_URL", wrong)
        with pytest.raises(SettingsError, match="TOUCHPOINT_READ_DATABASE_URL: expected a PostgreSQL standby like postgresql://"):
            Settings.from_env()
    monkeypatch.setenv("TOUCHPOINT_READ_DATABASE_URL", "")
    monkeypatch.setenv("TOUCHPOINT_READ_LAG_SECONDS", "0")
    with pytest.raises(SettingsError, match="TOUCHPOINT_READ_LAG_SECONDS"):
        Settings.from_env()


def test_without_a_standby_nothing_is_kept_or_asked(server):
    """The default: a manager's write keeps no mark, and /api/health's `standby` is null."""
    assert server.client.patch("/api/locations/l1", json={"name": "Shop One"}, headers=server.auth("manager_r1")).status_code == 200
    assert "Shop One" in server.get("/manage/regions/r1", "manager_r1").text
    assert server.db.execute("SELECT COUNT(*) FROM generations WHERE name LIKE 'wal:%'").fetchone()[0] == 0
    assert server.client.get("/api/health").json()["standby"] is None
