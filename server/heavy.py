"""One person cannot slow everyone: how many heavy requests (CSV exports, PDFs, the heavy pages) a
person has running at once, counted in the database (table `running`) so that every server process
counts alike. Each row holds a lease, renewed while its work runs: the rows of a process killed
mid-work stop counting when their lease passes."""

import asyncio
import datetime as dt
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

import sqlite_utils

from server.db import write
from server.errors import too_many

LEASE_SECONDS = 60  # a row counts this long unless renewed; an export renews it as it sends
RETRY_SECONDS = 5  # what the 429 tells a client to wait: a PDF or a page takes about a second
T = TypeVar("T")
KINDS = {"export": "CSV export", "pdf": "PDF", "page": "heavy page"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def start(db: sqlite_utils.Database, person: int, kind: str, limit: int) -> int:
    """Count one more heavy request for `person` (its row's id), or refuse it with a 429 when they
    already have `limit` running: the message says how many, of what, and what to do."""
    now = _now()
    with write(db):
        db.execute("DELETE FROM running WHERE until < ?", [now.isoformat()])
        kinds = [row[0] for row in db.execute("SELECT kind FROM running WHERE person = ? ORDER BY started_at", [person])]
        if len(kinds) >= limit:
            named = ", ".join(f"{kinds.count(k)} {KINDS.get(k, k)}{'s' if kinds.count(k) > 1 else ''}" for k in dict.fromkeys(kinds))
            raise too_many(f"you have {len(kinds)} heavy requests running ({named}) and one person may run {limit} at once: "
                           f"wait for one to finish, then try again in {RETRY_SECONDS} seconds", RETRY_SECONDS)
        until = now + dt.timedelta(seconds=LEASE_SECONDS)
        return db.execute("INSERT INTO running (person, kind, started_at, until, pid) VALUES (?, ?, ?, ?, ?) RETURNING id",
                          [person, kind, now.isoformat(), until.isoformat(), os.getpid()]).fetchone()[0]


def renew(db: sqlite_utils.Database, claim: int) -> None:
    """Its work still runs: the row counts for another LEASE_SECONDS."""
    with write(db):
        db.execute("UPDATE running SET until = ? WHERE id = ?", [(_now() + dt.timedelta(seconds=LEASE_SECONDS)).isoformat(), claim])


def finish(db: sqlite_utils.Database, claim: int) -> None:
    with write(db):
        db.execute("DELETE FROM running WHERE id = ?", [claim])


async def counted(db: sqlite_utils.Database, person: int, kind: str, limit: int, work: Callable[[], Awaitable[T]]) -> T:
    """await work() counted as one of the person's heavy requests (a PDF or a page: well under
    LEASE_SECONDS); the database's writes on a thread, so the event loop only waits for them."""
    claim = await asyncio.to_thread(start, db, person, kind, limit)
    try:
        return await work()
    finally:
        await asyncio.to_thread(finish, db, claim)


def count(db: sqlite_utils.Database, person: int) -> int:
    """The person's heavy requests running now (leases not passed)."""
    return db.execute("SELECT COUNT(*) FROM running WHERE person = ? AND until >= ?", [person, _now().isoformat()]).fetchone()[0]
