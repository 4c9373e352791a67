"""A throwaway PostgreSQL cluster the tests start themselves: initdb in a temp folder once a run, the
server on a free loopback port (its Unix socket in that folder too), a database per test copied from
a template, all of it stopped and removed at the end. Nothing to set up but the PostgreSQL programs.

For speed, and only because the cluster lives for one test run: fsync, synchronous_commit and
full_page_writes are off (a crash of the machine loses the cluster, which is thrown away anyway)."""

import ctypes
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.live import free_port

INSTALL = ("The PostgreSQL tests start their own PostgreSQL 15 and found none ({missing}). On Debian or Ubuntu: "
           "`apt-get install postgresql` (as root; the tests need only its programs, not its running service); "
           "elsewhere install PostgreSQL 15 or later and set TOUCHPOINT_PG_BIN to the folder holding initdb and postgres.")
SUPERUSER = "touchpoint"
TEMPLATE_HEAD = "touchpoint_head"  # the head schema of server/pgschema.py, copied for each test that wants it
TEMPLATE_READY = "touchpoint_ready"  # as the server leaves a new database (its steps recorded): each server's of the suite on PostgreSQL
START_SECONDS = 30


def bin_folder() -> Path:
    """The folder of initdb and postgres, found as server/pgbin.py finds PostgreSQL's programs for
    the backups: TOUCHPOINT_PG_BIN when set (and then only it), else `pg_config --bindir`, else the
    newest /usr/lib/postgresql/<version>/bin (Debian keeps them off the PATH)."""
    from server import pgbin

    try:
        return pgbin.bin_folder(("initdb", "postgres"))
    except pgbin.Missing:
        raise RuntimeError(INSTALL.format(missing="no initdb and postgres in " + (", ".join(pgbin.candidates()) or "any known place"))) from None


_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before any fork


def _die_with_parent() -> None:
    """In the child, after it became the cluster's user: the kernel stops the postmaster (SIGQUIT:
    immediate shutdown) if the test run dies without stopping it, even by kill -9."""
    _LIBC.prctl(1, signal.SIGQUIT)  # PR_SET_PDEATHSIG


class Cluster:
    """One running PostgreSQL: `url(name)` names a database of it; `new_database()` makes one."""

    def __init__(self, root: Path | None = None, settings: dict[str, str] | None = None, durable: bool = False):
        """`settings`: more of the server's settings, or other values of these (a standby's logging, tests/test_standby.py).
        `durable`: fsync and friends on, as a real installation runs (the benchmarks); off for tests."""
        self.bin = bin_folder()
        self.extra = dict(settings or {})
        self.durable = durable
        self.root = Path(root or tempfile.mkdtemp(prefix="touchpoint-pg-"))
        # initdb refuses root: the cluster's files and processes belong to the `postgres` user then
        try:
            self.user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        except KeyError:
            raise RuntimeError(INSTALL.format(missing="run as root, and no `postgres` user to run it as")) from None
        self.data, self.sockets = self.root / "data", self.root / "sockets"
        self.sockets.mkdir(parents=True, exist_ok=True)
        if self.user:
            for path in (self.root, self.sockets):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        self.port = free_port()
        self._numbers = itertools.count(1)
        self._ready = False  # the ready template is made on first use
        self.process: subprocess.Popen | None = None

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        done = subprocess.run(command, capture_output=True, text=True, user=self.user.pw_uid if self.user else None,
                              group=self.user.pw_gid if self.user else None, cwd=self.root)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done

    def start(self) -> "Cluster":
        # --no-sync: initdb does not wait for the disk (about 1 s saved); trust: only loopback and the socket folder
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--no-sync",
                  "--encoding=UTF8", "--locale=C")
        sync = "on" if self.durable else "off"
        settings = {"listen_addresses": "127.0.0.1", "port": str(self.port), "unix_socket_directories": str(self.sockets),
                    "fsync": sync, "synchronous_commit": sync, "full_page_writes": sync, "max_connections": "200",
                    "shared_buffers": "64MB", "log_min_messages": "warning", "logging_collector": "off", **self.extra}
        log = open(self.root / "postgres.log", "ab")
        self.process = subprocess.Popen([str(self.bin / "postgres"), "-D", str(self.data)] + [f"-c{k}={v}" for k, v in settings.items()],
                                        stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
                                        user=self.user.pw_uid if self.user else None, group=self.user.pw_gid if self.user else None)
        log.close()
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not start:\n{(self.root / 'postgres.log').read_text()[-3000:]}") from None
                time.sleep(0.05)
        self._make_head_template()
        return self

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def _make_head_template(self) -> None:
        from server.pgschema import head_ddl

        self._admin(f"CREATE DATABASE {TEMPLATE_HEAD}")
        with psycopg.connect(self.url(TEMPLATE_HEAD)) as conn:
            conn.execute(head_ddl())
        self._admin(f"ALTER DATABASE {TEMPLATE_HEAD} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")

    def _make_ready_template(self) -> None:
        from server.migrations import open_database

        self._admin(f"CREATE DATABASE {TEMPLATE_READY}")
        open_database(self.url(TEMPLATE_READY)).conn.close()
        self._admin(f"ALTER DATABASE {TEMPLATE_READY} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")

    def new_database(self, head: bool = False, ready: bool = False) -> str:
        """A new database, empty, with the head schema (`head`), or as the server leaves a new one
        (`ready`: the server finds nothing to do, ~0.25 s a test saved); a copy of a template, ~30 ms. Its URL."""
        name = f"test_{os.getpid()}_{next(self._numbers)}"
        template = TEMPLATE_READY if ready else TEMPLATE_HEAD if head else "template0"
        if ready and not self._ready:
            self._make_ready_template()
            self._ready = True
        self._admin(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.url(name)

    def copy_database(self, url: str) -> str:
        """A new database, a copy of the one at `url` (which nobody may be connected to); its URL."""
        name = f"test_{os.getpid()}_{next(self._numbers)}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE {url.rsplit('/', 1)[1]}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown: every session ended, no checkpoint wait for dirty data
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


_RUN_CLUSTER: list = []  # the run's throwaway PostgreSQL, once started


def run_cluster():
    """The run's throwaway PostgreSQL (tests/postgres.py), started on first use, stopped at the end."""
    if not _RUN_CLUSTER:
        import atexit

        _RUN_CLUSTER.append(Cluster().start())
        atexit.register(_RUN_CLUSTER[0].stop)
    return _RUN_CLUSTER[0]


def test_database_url() -> str:
    """TOUCHPOINT_TEST_DATABASE=postgresql: every test's server on a new database of the run's
    PostgreSQL instead of a SQLite file (the whole suite on the other engine); unset: SQLite."""
    return run_cluster().new_database(ready=True) if os.environ.get("TOUCHPOINT_TEST_DATABASE") == "postgresql" else ""


test_database_url.__test__ = False  # a helper, not a test
