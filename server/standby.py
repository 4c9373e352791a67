"""A read-only standby of the PostgreSQL primary (streaming replication) for the managers' figures
(issue 28): TOUCHPOINT_READ_DATABASE_URL.

Which reads may go there: a GET of a route marked `opt={"standby": True}` (the managers' region,
location and home pages, the summaries API, the CSV exports), whose handler only reads on its `db`
(an export counts itself as a heavy request on the primary's connection, and its worker reads where
`db` does: `reads_from`). Everything else, and every write, stays on the primary.

Read your writes: after a write request by someone who reads the figures (`remember`), the primary's
WAL position (`pg_current_wal_insert_lsn()`) is kept for them in the database (`generations`, named
`wal:<person>`), so every server process of every host sees it. Their next figures read goes to the
standby only once its `pg_last_wal_replay_lsn()` has reached that position, else to the primary.

The fallback: a standby that cannot be reached (not tried again for DOWN_SECONDS), that is not in
recovery (promoted: it is no longer this primary's copy), that receives nothing from its primary,
or that lags more than TOUCHPOINT_READ_LAG_SECONDS: the read goes to the primary, and nothing fails.
/api/health says which (`Standby.state`)."""

import asyncio
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec
import psycopg
from psycopg.conninfo import conninfo_to_dict

from server.db import Database, connect

CONNECT_SECONDS = 2  # a standby host that does not answer costs a read at most this long, then DOWN_SECONDS of none
DOWN_SECONDS = 5
READERS = ("manager", "admin", "staff")  # who reads the figures: only their writes are remembered (not the auditors' uploads)

# The standby's word on itself, in one round trip: in recovery, how far it has replayed, whether a
# WAL receiver runs (a row in pg_stat_wal_receiver; its other columns are for superusers), and its
# lag: none when it has replayed all it received, else the age of the last transaction it replayed
# (unknown, NULL, when it has replayed none since it started).
STATE_SQL = """SELECT pg_is_in_recovery(), CAST(pg_last_wal_replay_lsn() - '0/0' AS bigint),
  EXISTS (SELECT 1 FROM pg_stat_wal_receiver),
  CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0.0
       ELSE CAST(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) AS double precision) END"""
# the insert position, not pg_current_wal_lsn() (what is written out so far): with synchronous_commit
# off that may still be short of the commit just made
REMEMBER_SQL = """INSERT INTO generations (name, n) VALUES (?, CAST(pg_current_wal_insert_lsn() - '0/0' AS bigint))
  ON CONFLICT (name) DO UPDATE SET n = excluded.n WHERE generations.n < excluded.n"""


class State(msgspec.Struct, frozen=True, kw_only=True):
    """What /api/health says of the standby: `state` "ok" (it serves the figures), "lagging" (more than
    TOUCHPOINT_READ_LAG_SECONDS behind, or by how much unknown), "not receiving" (no WAL from its primary),
    "not a standby" (not in recovery: promoted) or "down" (not reached); `lag_seconds` when known."""

    state: str
    lag_seconds: float | None = None
    replayed: int | None = None  # the WAL position replayed, in bytes from 0/0 (pg_last_wal_replay_lsn() - '0/0')


async def after_writes(message: dict, scope: dict) -> None:
    """Litestar's before_send hook: as a write request's answer starts, its writes are done; when a
    standby is read and who wrote reads the figures, remember the primary's WAL position for them."""
    if message["type"] != "http.response.start" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
        return
    state, user = scope["app"].state, scope.get("user")
    if state.standby is None or user is None or getattr(user, "role", None) not in READERS:
        return

    def kept() -> None:
        with contextmanager(state.readers.lease)() as primary:
            remember(primary, user.id)

    await asyncio.to_thread(kept)


def reads_from(request, store) -> str:
    """Where the worker of a figures read (an export) reads: the standby when the request's
    connection is the standby's (server/app.py _lease_db), else `store`, the primary's."""
    return getattr(request.state, "standby", None) or str(store)


def mark_name(person: int) -> str:
    return f"wal:{person}"


def remember(primary: Database, person: int) -> None:
    """After a write request of `person`: the primary's WAL position now, which their next reads must see."""
    primary.execute(REMEMBER_SQL, [mark_name(person)])


def mark(primary: Database, person: int) -> int:
    """The WAL position `person`'s reads must see (0: nothing of theirs to wait for)."""
    row = primary.execute("SELECT n FROM generations WHERE name = ?", [mark_name(person)]).fetchone()
    return row[0] if row else 0


class Standby:
    """The standby's connections, lent one per figures read that it may answer (`lease`)."""

    def __init__(self, url: str, lag_seconds: float):
        # a URL still (connect() tells a URL from a path), with a bound on the wait for a host that does not answer
        self.url = url if "connect_timeout" in conninfo_to_dict(url) else f"{url}{'&' if '?' in url else '?'}connect_timeout={CONNECT_SECONDS}"
        self.lag_seconds = lag_seconds
        self._idle: queue.SimpleQueue[Database] = queue.SimpleQueue()
        self._all: list[Database] = []
        self._lock = threading.Lock()
        self._down_until = 0.0
        self.last = State(state="down")

    def _take(self) -> Database | None:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        if time.monotonic() < self._down_until:
            return None
        try:
            db = connect(self.url)
        except psycopg.OperationalError:
            self._down()
            return None
        with self._lock:
            self._all.append(db)
        return db

    def _down(self) -> None:
        self._down_until = time.monotonic() + DOWN_SECONDS
        self.last = State(state="down")

    def _drop(self, db: Database) -> None:
        with self._lock:
            if db in self._all:
                self._all.remove(db)
        try:
            db.conn.close()
        except psycopg.Error:
            pass

    def _state_on(self, db: Database) -> State:
        recovering, replayed, receiving, lag = db.execute(STATE_SQL).fetchone()
        if not recovering:
            return State(state="not a standby")
        if not receiving:
            return State(state="not receiving", lag_seconds=lag, replayed=replayed)
        if lag is None or lag > self.lag_seconds:
            return State(state="lagging", lag_seconds=lag, replayed=replayed)
        return State(state="ok", lag_seconds=lag, replayed=replayed)

    def state(self) -> State:
        """The standby's state now (asked of it: /api/health)."""
        db = self._take()
        if db is None:
            return self.last
        try:
            self.last = self._state_on(db)
        except psycopg.Error:
            self._drop(db)
            self._down()
            return self.last
        self._idle.put(db)
        return self.last

    @contextmanager
    def lease(self, seen: int) -> Iterator[Database | None]:
        """A standby connection for one read that must see WAL position `seen`, back in the pool
        afterwards; None when the standby may not answer it (down, lagging, not replayed that far)."""
        db = self._take()
        if db is None:
            yield None
            return
        try:
            self.last = self._state_on(db)
        except psycopg.Error:  # the standby went away since this connection was made
            self._drop(db)
            self._down()
            yield None
            return
        if self.last.state != "ok" or self.last.replayed < seen:
            self._idle.put(db)
            yield None
            return
        broken = False
        try:
            yield db
        except psycopg.OperationalError:
            broken = True
            raise
        finally:
            try:
                if not broken and db.conn.in_transaction:
                    db.execute("ROLLBACK")
            except psycopg.Error:
                broken = True
            if broken:
                self._drop(db)
            else:
                self._idle.put(db)

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.conn.close()
            self._all.clear()
