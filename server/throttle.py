"""A limit on events in a sliding window that every server process counts alike: the events are rows
of the `throttle` table (key, time), each check one write transaction that also drops what left
the window. Wall-clock seconds, not a process's monotonic clock: other processes read them too."""

import time

import sqlite_utils

from server.db import write


def wait(db: sqlite_utils.Database, key: str, most: int, window_seconds: float, now: float | None = None) -> int:
    """0 and the event is counted when fewer than `most` of `key` happened in the last
    `window_seconds`; else the whole seconds (at least 1) until the oldest leaves the window."""
    now = time.time() if now is None else now
    with write(db):
        db.execute("DELETE FROM throttle WHERE at <= ?", [now - window_seconds])  # every key's old events: the table stays small
        count, oldest = db.execute("SELECT count(*), min(at) FROM throttle WHERE key = ?", [key]).fetchone()
        if count >= most:
            return max(1, int(oldest + window_seconds - now + 0.999))
        db.execute("INSERT INTO throttle (key, at) VALUES (?, ?)", [key, now])
    return 0
