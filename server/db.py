"""Open the SQLite database (WAL, synchronous=FULL, foreign keys, busy timeout) and write transactions."""

import abc
import fcntl
import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from server import sqlcensus

BUSY_TIMEOUT_MS = 10_000


class Database(abc.ABC):
    """A connection of either engine, as handlers and domain functions take it: a sqlite_utils
    Database, or a server.postgres.Database answering the same calls (registered by `connect`)."""


Database.register(sqlite_utils.Database)


def connect(path: Path | str) -> sqlite_utils.Database:
    """A connection in autocommit mode: every write goes through `write()`, which says BEGIN IMMEDIATE.
    A `postgresql://` URL instead of a path: PostgreSQL, through server/postgres.py (issue 28)."""
    if isinstance(path, str) and path.startswith(("postgresql://", "postgres://")):
        from server import postgres

        Database.register(postgres.Database)  # a handler's `db: Database` takes it too
        return postgres.Database(path)
    path = Path(path)
    if str(path).startswith(("postgresql:", "postgres:")):  # a URL made a Path: it would become a SQLite file named like it
        raise ValueError(f"a PostgreSQL URL was given as a file path ({str(path).split('@')[-1]}): pass the URL as a string")
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    sqlcensus.watch(conn)  # TOUCHPOINT_SQL_CENSUS: the statements the tests send, for PostgreSQL (issue 28)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a 201 means the audit survives a power cut
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA cache_size=-32000")  # 32 MB of pages: indexes of a busy year stay in memory
    return sqlite_utils.Database(conn)


WRITE_LOCK = 0x746F7563  # PostgreSQL's advisory lock key of the installation's one writer at a time


def on_postgres(db) -> bool:
    return getattr(db, "engine", None) == "postgresql"


def begin(db: sqlite_utils.Database) -> None:
    """Open a write transaction holding the installation's write lock (see `write`)."""
    if on_postgres(db):
        db.execute("BEGIN")
        db.execute("SELECT pg_advisory_xact_lock(?)", [WRITE_LOCK])
    else:
        db.execute("BEGIN IMMEDIATE")


@contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction. IMMEDIATE takes the write lock up front, so two writers queue on the
    busy timeout instead of failing half-way with SQLITE_BUSY on upgrade from a read lock. On
    PostgreSQL the same: one transaction-scoped advisory lock taken first, so writers run one at a
    time as SQLite's do, and what they read and add up (the cumulative rollups) is never raced."""
    begin(db)
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def insert(db: sqlite_utils.Database, table: str, rows: dict | list[dict], key: tuple[str, ...] = (), then: str = "fail") -> None:
    """Insert a row (or rows, all with the same columns) in the SQL both engines accept: the
    columns named, and on a clash with `key` the row is refused (`then` "fail"), left as it is
    ("nothing") or its other columns take the new values ("update", an upsert)."""
    rows = [rows] if isinstance(rows, dict) else rows
    if not rows:
        return
    columns = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    if then != "fail":
        assert key and then in ("nothing", "update"), (key, then)
        changed = [c for c in columns if c not in key]
        action = "DO NOTHING" if then == "nothing" or not changed else "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in changed)
        sql += f" ON CONFLICT ({', '.join(key)}) {action}"
    db.conn.executemany(sql, [[row[c] for c in columns] for row in rows])


def update(db: sqlite_utils.Database, table: str, where: dict, values: dict) -> int:
    """Set `values` in the rows of `table` matching every column of `where`; how many changed."""
    sets, tests = ", ".join(f"{c} = ?" for c in values), " AND ".join(f"{c} = ?" for c in where)
    return db.execute(f"UPDATE {table} SET {sets} WHERE {tests}", [*values.values(), *where.values()]).rowcount


@contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """Hold the lock file `lock` (made if absent) for the block: one process of the machine at a
    time, waiting for the one before. The kernel lets go when its holder dies, even by kill -9."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


class Serving(Exception):
    """A server of this machine serves the data folder now (`quiet`)."""


def _serving_file(database: Path) -> Path:
    return database.with_name(database.name + ".serving")


@contextmanager
def quiet(database: Path) -> Iterator[None]:
    """Hold `database`'s serving lock alone for the block (see `serving`): no server of this
    machine serves the data folder meanwhile, and one starting waits for the block's end. Raises
    Serving, at once, when one serves it now."""
    with open(_serving_file(database), "a") as held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Serving(f"a Touchpoint server serves {database.parent} now: stop it first") from None
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


SERVING_LOCK = 0x746F7565  # PostgreSQL's advisory lock key held (shared) by every `serve` of the installation


def serving(database: Path | str) -> tuple[object, bool]:
    """Mark this process as one serving `database` for as long as it runs, and say whether it is the
    first: no other server serves it now. Returns what holds the mark (keep it) and the answer.

    A SQLite file: a shared lock on `touchpoint.db.serving` beside it, let go by the kernel when the
    process ends, even by kill -9; asked under the migration lock, so two servers starting at once
    are told one after the other. A PostgreSQL URL: the same with a session advisory lock on the
    database, which every host's servers reach (a lock file is one machine's: three hosts with data
    folders of their own each found theirs free, and each printed a setup link that revoked the one
    before; tests/test_serve_hosts.py). The session ends with the process, even by kill -9."""
    if isinstance(database, str):
        held = connect(database)
        # try the lock alone: taken, nobody else serves; then hold it shared, as every other server does
        first = held.execute("SELECT pg_try_advisory_lock(?)", [SERVING_LOCK]).fetchone()[0]
        held.execute("SELECT pg_advisory_lock_shared(?)", [SERVING_LOCK])
        if first:
            held.execute("SELECT pg_advisory_unlock(?)", [SERVING_LOCK])
        return held, bool(first)
    database.parent.mkdir(parents=True, exist_ok=True)
    held = open(_serving_file(database), "a")
    with exclusive(database.with_name(database.name + ".lock")):
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            first = True
        except BlockingIOError:
            first = False
        fcntl.flock(held, fcntl.LOCK_SH)
    return held, first


class Readers:
    """The server's connections: one per thread for work outside a request (`get`), and a pool that
    lends each request one of its own for as long as it runs (`lease`, the `db` dependency), whatever
    threads its handler and dependencies run on."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite_utils.Database] = []
        self._lock = threading.Lock()
        self._idle: queue.SimpleQueue[sqlite_utils.Database] = queue.SimpleQueue()

    def lease(self) -> Iterator[sqlite_utils.Database]:
        """A connection for one request, back in the pool afterwards (a transaction left open is rolled back)."""
        try:
            db = self._idle.get_nowait()
        except queue.Empty:
            db = connect(self.path)
            with self._lock:
                self._all.append(db)
        try:
            yield db
        finally:
            if db.conn.in_transaction:
                db.execute("ROLLBACK")
            self._idle.put(db)

    def get(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.path)
            with self._lock:
                self._all.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.conn.close()
            self._all.clear()
