"""What the server processes of one installation share, kept in the database so that every process
counts alike and nothing is done twice (or never):

- `processes`: each server process's heartbeat (register at start, `beat` every HEARTBEAT_SECONDS,
  `leave` on a clean stop); one not seen for GONE_SECONDS counts as gone (it was killed).
- `leases`: a job that must run once in the installation (the hourly photo prune) runs in the one
  process that `take`s its lease; the lease lasts LEASE_SECONDS and a holder that dies lets it pass,
  so another process runs the job in its place. `due` is `take` for a job that runs every N seconds:
  True in exactly one process once N seconds have passed since the start of the last run that
  finished. Every run is logged in `job_runs`.
- `throttle`: events counted in a sliding window (the campaign join limit): `wait` counts one, or
  says how long until one is allowed.
- `generations`: a number per cache, bumped in the transaction of a change (`bump`); a process
  that sees it moved forgets what it kept (`Generation`). With a read-only standby, also the
  primary's WAL position after each figures reader's last write, `wal:<person>` (server/standby.py).
"""

import datetime as dt
import os
import socket
import threading
import time

import msgspec
import sqlite_utils

from server.db import write

HEARTBEAT_SECONDS = 10
GONE_SECONDS = 60
LEASE_SECONDS = 30  # a job's lease: renewed every 10 s while it runs (housekeeping._Keeping), so a killed holder's job is taken up within 30 s


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def me() -> str:
    """This process's name in `processes` and `leases`: host, pid and start, so a reused pid is another."""
    global _ME
    if _ME is None or not _ME.startswith(f"{socket.gethostname()}:{os.getpid()}:"):
        _ME = f"{socket.gethostname()}:{os.getpid()}:{int(time.time() * 1000)}"
    return _ME


_ME: str | None = None


# --- processes -------------------------------------------------------------------------------

class Process(msgspec.Struct, frozen=True, kw_only=True):
    pid: int
    host: str
    started_at: str
    seen_at: str
    this: bool  # the process that answered


def register(db: sqlite_utils.Database) -> None:
    now = _stamp(_now())
    with write(db):
        db.execute("INSERT INTO processes (holder, host, pid, started_at, seen_at) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT (holder) DO UPDATE SET seen_at = excluded.seen_at", [me(), socket.gethostname(), os.getpid(), now, now])


def beat(db: sqlite_utils.Database) -> None:
    """This process is alive; and processes gone for a day are forgotten."""
    now = _now()
    with write(db):
        done = db.execute("UPDATE processes SET seen_at = ? WHERE holder = ?", [_stamp(now), me()])
        if not done.rowcount:
            db.execute("INSERT INTO processes (holder, host, pid, started_at, seen_at) VALUES (?, ?, ?, ?, ?)",
                       [me(), socket.gethostname(), os.getpid(), _stamp(now), _stamp(now)])
        db.execute("DELETE FROM processes WHERE seen_at < ?", [_stamp(now - dt.timedelta(days=1))])


def leave(db: sqlite_utils.Database) -> None:
    with write(db):
        db.execute("DELETE FROM processes WHERE holder = ?", [me()])
        db.execute("UPDATE leases SET holder = NULL, pid = NULL, until = NULL WHERE holder = ?", [me()])


def alive(db: sqlite_utils.Database) -> list[Process]:
    """The processes seen within GONE_SECONDS, oldest first."""
    since = _stamp(_now() - dt.timedelta(seconds=GONE_SECONDS))
    rows = db.execute("SELECT holder, pid, host, started_at, seen_at FROM processes WHERE seen_at >= ? ORDER BY started_at, holder", [since]).fetchall()
    return [Process(pid=pid, host=host, started_at=started, seen_at=seen, this=holder == me()) for holder, pid, host, started, seen in rows]


# --- leases ----------------------------------------------------------------------------------

class Lease(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    holder_pid: int | None  # the process running the job now; None: nobody
    until: str | None
    last_run_at: str | None
    runs: int


def take(db: sqlite_utils.Database, name: str, seconds: float = LEASE_SECONDS, every: float = 0) -> bool:
    """Take the lease `name` for `seconds` if nobody else holds it (or their lease has passed) and,
    with `every`, if that long has passed since the start of the last finished run. One write
    transaction: of processes asking at once, one gets it."""
    now = _now()
    with write(db):
        row = db.execute("SELECT holder, until, last_run_at FROM leases WHERE name = ?", [name]).fetchone()
        if row is not None:
            holder, until, last_run = row
            if holder is not None and holder != me() and until is not None and until > _stamp(now):
                return False
            if every and last_run is not None and dt.datetime.fromisoformat(last_run) + dt.timedelta(seconds=every) > now:
                return False
        db.execute("""INSERT INTO leases (name, holder, pid, until, started_at) VALUES (?, ?, ?, ?, ?)
                      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, pid = excluded.pid, until = excluded.until,
                                                       started_at = excluded.started_at""",
                   [name, me(), os.getpid(), _stamp(now + dt.timedelta(seconds=seconds)), _stamp(now)])
    return True


def due(db: sqlite_utils.Database, name: str, every: float, seconds: float = LEASE_SECONDS) -> bool:
    """True in exactly one process once `every` seconds have passed since the last run started: that
    process holds the lease and calls `finished` when done."""
    return take(db, name, seconds, every)


def renew(db: sqlite_utils.Database, name: str, seconds: float = LEASE_SECONDS) -> bool:
    """Keep holding `name` for `seconds` more; False if it is no longer this process's."""
    with write(db):
        done = db.execute("UPDATE leases SET until = ? WHERE name = ? AND holder = ?",
                          [_stamp(_now() + dt.timedelta(seconds=seconds)), name, me()])
    return bool(done.rowcount)


def finished(db: sqlite_utils.Database, name: str, result: str) -> None:
    """The run of `name` this process held is done: logged, counted, the lease let go."""
    now = _stamp(_now())
    with write(db):
        row = db.execute("SELECT started_at FROM leases WHERE name = ? AND holder = ?", [name, me()]).fetchone()
        if row is None:  # the lease passed to another process meanwhile: its run counts, not this one
            return
        db.execute("UPDATE leases SET holder = NULL, pid = NULL, until = NULL, last_run_at = started_at, runs = runs + 1 WHERE name = ?", [name])
        db.execute("INSERT INTO job_runs (job, holder, pid, started_at, finished_at, result) VALUES (?, ?, ?, ?, ?, ?)",
                   [name, me(), os.getpid(), row[0], now, result[:500]])
        db.execute("DELETE FROM job_runs WHERE job = ? AND id <= (SELECT max(id) FROM job_runs WHERE job = ?) - 1000", [name, name])


def leases(db: sqlite_utils.Database) -> list[Lease]:
    now = _stamp(_now())
    rows = db.execute("SELECT name, pid, until, last_run_at, runs FROM leases ORDER BY name").fetchall()
    return [Lease(name=name, holder_pid=pid if until is not None and until > now else None, until=until if until is not None and until > now else None,
                  last_run_at=last, runs=runs) for name, pid, until, last, runs in rows]


# --- throttle --------------------------------------------------------------------------------

def wait(db: sqlite_utils.Database, key: str, most: int, window: float = 60, now: float | None = None) -> int:
    """At most `most` events of `key` in any `window` seconds, counted alike in every process:
    0 and this one is counted, or the whole seconds until one is allowed."""
    now = time.time() if now is None else now
    with write(db):
        db.execute("DELETE FROM throttle WHERE key = ? AND at <= ?", [key, now - window])
        count, first = db.execute("SELECT count(*), min(at) FROM throttle WHERE key = ?", [key]).fetchone()
        if count >= most:
            return max(1, int(first + window - now + 0.999))
        db.execute("INSERT INTO throttle (key, at) VALUES (?, ?)", [key, now])
        if count == 0:  # now and then, keys idle for a window are dropped
            db.execute("DELETE FROM throttle WHERE at <= ?", [now - window])
    return 0


# --- generations -----------------------------------------------------------------------------

def bump(db: sqlite_utils.Database, name: str) -> None:
    """Inside the change's write transaction: every process's cache `name` is out of date."""
    db.execute("INSERT INTO generations (name, n) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET n = generations.n + 1", [name])


def generation(db: sqlite_utils.Database, name: str) -> int:
    row = db.execute("SELECT n FROM generations WHERE name = ?", [name]).fetchone()
    return row[0] if row else 0


class Generation:
    """Whether a cache must forget: `stale(db)` reads the generation at most every `seconds` and is
    True once when it has moved since the last look. A change in any process is seen within
    `seconds` (plus the time of one request)."""

    def __init__(self, name: str, seconds: float = 0.5):
        self.name, self.seconds = name, seconds
        self._seen: int | None = None
        self._next = 0.0
        self._lock = threading.Lock()

    def stale(self, db: sqlite_utils.Database) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        with self._lock:
            if now < self._next:
                return False
            self._next = now + self.seconds
            current = generation(db, self.name)
            moved = self._seen is not None and current != self._seen
            self._seen = current
            return moved
