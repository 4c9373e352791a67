"""The server processes running on one data folder: each registers at start, says it is alive every
HEARTBEAT_SECONDS (one small write), and removes its row on a clean shutdown; a row not refreshed
for GONE_SECONDS is a process that died (kill -9, power cut) and is no longer listed."""

import asyncio
import datetime as dt
import logging
import os
import secrets
import socket
from collections.abc import Callable

import msgspec
import sqlite_utils

from server.db import write

HEARTBEAT_SECONDS = 10.0
GONE_SECONDS = 60.0
log = logging.getLogger("touchpoint")


class Process(msgspec.Struct, kw_only=True):
    """A live server process as /api/health shows it; `this`: the one answering."""

    pid: int
    host: str
    started_at: str
    seen_at: str
    this: bool


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class Me:
    """This process: its id (host:pid:random, so a pid reused after a restart is another process) and its row."""

    def __init__(self):
        self.pid, self.host = os.getpid(), socket.gethostname()
        self.id = f"{self.host}:{self.pid}:{secrets.token_hex(4)}"

    def register(self, db: sqlite_utils.Database) -> None:
        """Our row, and the rows of processes gone for GONE_SECONDS removed."""
        now = _stamp()
        gone = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=GONE_SECONDS)).isoformat(timespec="microseconds")
        with write(db):
            db.execute("DELETE FROM processes WHERE seen_at < ?", [gone])
            db.execute("INSERT OR REPLACE INTO processes (id, pid, host, started_at, seen_at) VALUES (?, ?, ?, ?, ?)", [self.id, self.pid, self.host, now, now])

    def beat(self, db: sqlite_utils.Database) -> None:
        with write(db):
            if db.execute("UPDATE processes SET seen_at = ? WHERE id = ?", [_stamp(), self.id]).rowcount == 0:
                db.execute("INSERT INTO processes (id, pid, host, started_at, seen_at) VALUES (?, ?, ?, ?, ?)",
                           [self.id, self.pid, self.host, _stamp(), _stamp()])  # removed as gone after a long stall: back

    def leave(self, db: sqlite_utils.Database) -> None:
        with write(db):
            db.execute("DELETE FROM processes WHERE id = ?", [self.id])

    async def heartbeat(self, connect: Callable[[], sqlite_utils.Database]) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await asyncio.to_thread(lambda: self.beat(connect()))
            except Exception:  # a locked database now: the next beat comes in time
                log.exception("the heartbeat could not be written; trying again in %g s", HEARTBEAT_SECONDS)


def alive(db: sqlite_utils.Database, me: Me) -> list[Process]:
    """Every process seen in the last GONE_SECONDS, oldest first."""
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=GONE_SECONDS)).isoformat(timespec="microseconds")
    return [Process(pid=r[1], host=r[2], started_at=r[3], seen_at=r[4], this=r[0] == me.id)
            for r in db.execute("SELECT id, pid, host, started_at, seen_at FROM processes WHERE seen_at >= ? ORDER BY started_at, id", [since])]
