"""Work that must happen once in the whole installation, whichever server process wakes for it: a
lease per job in the database (taken under BEGIN IMMEDIATE: free, run out, or already ours), and a
schedule on top of it (`due`) that lets exactly one process run the job once per interval. A holder
killed mid-run stops renewing; its lease runs out and the next process to wake takes the job over."""

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import TypeVar

import msgspec
import sqlite_utils

from server.db import write

LEASE_SECONDS = 30.0  # a running job renews every third of this; killed, it is taken over this long after
T = TypeVar("T")
log = logging.getLogger("touchpoint")


class Job(msgspec.Struct, kw_only=True):
    """A job as /api/health shows it: who holds its lease (None: nobody now), until when, its last run."""

    name: str
    holder_pid: int | None
    until: str | None
    last_run_at: str | None
    last_result: str | None
    runs: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(at: dt.datetime) -> str:
    return at.isoformat(timespec="microseconds")  # one width for every stamp: they compare as text


def _claim(db: sqlite_utils.Database, name: str, holder: str, pid: int, seconds: float, now: dt.datetime) -> bool:
    """Inside a write transaction: the lease is ours now if it was free, had run out or was ours already."""
    db.execute("INSERT OR IGNORE INTO leases (name) VALUES (?)", [name])
    row = db.execute("SELECT holder, until FROM leases WHERE name = ?", [name]).fetchone()
    if row[0] is not None and row[0] != holder and row[1] is not None and row[1] > _stamp(now):
        return False
    db.execute("UPDATE leases SET holder = ?, pid = ?, until = ?, started_at = CASE WHEN holder IS ? THEN started_at ELSE ? END WHERE name = ?",
               [holder, pid, _stamp(now + dt.timedelta(seconds=seconds)), holder, _stamp(now), name])
    return True


def take(db: sqlite_utils.Database, name: str, holder: str, pid: int, seconds: float = LEASE_SECONDS) -> bool:
    """Hold `name` for `seconds` from now: True when it was free, had run out, or was ours already (then extended)."""
    with write(db):
        return _claim(db, name, holder, pid, seconds, _now())


def renew(db: sqlite_utils.Database, name: str, holder: str, seconds: float = LEASE_SECONDS) -> bool:
    """Extend our lease by `seconds` from now; False when it is no longer ours (it ran out and another took it)."""
    with write(db):
        changed = db.execute("UPDATE leases SET until = ? WHERE name = ? AND holder = ?",
                             [_stamp(_now() + dt.timedelta(seconds=seconds)), name, holder]).rowcount
    return changed == 1


def release(db: sqlite_utils.Database, name: str, holder: str) -> None:
    """Give the lease up at once, if it is still ours."""
    with write(db):
        db.execute("UPDATE leases SET holder = NULL, pid = NULL, until = NULL, started_at = NULL WHERE name = ? AND holder = ?", [name, holder])


def done(db: sqlite_utils.Database, name: str, holder: str, result: str) -> bool:
    """A run finished: counted (in the row and in job_runs) and the lease let go. False, and nothing
    counted, when the lease was no longer ours (we ran past it and another process took the job)."""
    now = _stamp(_now())
    with write(db):
        row = db.execute("SELECT started_at, pid FROM leases WHERE name = ? AND holder = ?", [name, holder]).fetchone()
        if row is None:
            return False
        db.execute("""UPDATE leases SET holder = NULL, pid = NULL, until = NULL, started_at = NULL, last_run_at = ?, last_result = ?,
                      runs = runs + 1 WHERE name = ?""", [row[0], result, name])
        db.execute("INSERT INTO job_runs (name, holder, pid, started_at, finished_at, result) VALUES (?, ?, ?, ?, ?, ?)",
                   [name, holder, row[1], row[0], now, result])
    return True


def due(db: sqlite_utils.Database, name: str, every_seconds: float, holder: str, pid: int, seconds: float = LEASE_SECONDS) -> bool:
    """True to exactly one process per interval: the job's last run started `every_seconds` ago or
    more (or never ran) and its lease was ours to take, which this call then holds. The caller runs
    the job, renewing, and says `done`."""
    now = _now()
    with write(db):
        row = db.execute("SELECT last_run_at FROM leases WHERE name = ?", [name]).fetchone()
        if row is not None and row[0] is not None and row[0] > _stamp(now - dt.timedelta(seconds=every_seconds)):
            return False
        return _claim(db, name, holder, pid, seconds, now)


def wait_seconds(db: sqlite_utils.Database, name: str, every_seconds: float) -> float:
    """How long until the job may be due again: until its next interval, or until a holder's lease runs out."""
    row = db.execute("SELECT holder, until, last_run_at FROM leases WHERE name = ?", [name]).fetchone()
    now = _now()
    if row is None:
        return 0.0
    if row[0] is not None and row[1] is not None and row[1] > _stamp(now):
        return (dt.datetime.fromisoformat(row[1]) - now).total_seconds()
    if row[2] is None:
        return 0.0
    return (dt.datetime.fromisoformat(row[2]) + dt.timedelta(seconds=every_seconds) - now).total_seconds()


def jobs(db: sqlite_utils.Database) -> list[Job]:
    """Every job, A to Z; a lease that ran out shows no holder."""
    now = _stamp(_now())
    return [Job(name=r[0], holder_pid=r[1] if r[2] is not None and r[2] > now else None, until=r[2] if r[2] is not None and r[2] > now else None,
                last_run_at=r[3], last_result=r[4], runs=r[5])
            for r in db.execute("SELECT name, pid, until, last_run_at, last_result, runs FROM leases ORDER BY name")]


async def every(name: str, every_seconds: float, connect: Callable[[], sqlite_utils.Database], holder: str, pid: int,
                job: Callable[[], str], seconds: float = LEASE_SECONDS) -> None:
    """Run `job` (in a thread; it returns a line saying what it did) once per `every_seconds` in the
    whole installation. Every process runs this loop; each wakes when the job may be due and asks
    the lease, and the one that gets it runs the job, renewing its lease until the job ends."""
    while True:
        try:
            if await asyncio.to_thread(lambda: due(connect(), name, every_seconds, holder, pid, seconds)):
                running = asyncio.ensure_future(asyncio.to_thread(job))
                while not running.done():
                    await asyncio.wait([running], timeout=seconds / 3)
                    if not running.done():
                        await asyncio.to_thread(lambda: renew(connect(), name, holder, seconds))
                try:
                    result = running.result()
                except Exception as failed:
                    log.exception("%s failed; it is tried again next interval", name)
                    result = f"failed: {failed}"
                await asyncio.to_thread(lambda: done(connect(), name, holder, result))
            pause = await asyncio.to_thread(lambda: wait_seconds(connect(), name, every_seconds))
        except Exception:  # a locked database now is no reason to stop trying later
            log.exception("%s: the lease could not be read; trying again", name)
            pause = min(every_seconds, seconds)
        await asyncio.sleep(min(max(pause, 0.05), every_seconds))
