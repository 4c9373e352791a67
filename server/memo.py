"""A short memory of rows that change rarely and are read on every request (where a location is), so
the hot path does not ask SQLite each time. Every process on the data agrees within CHECK_SECONDS:
a trigger bumps the memory's row in `generations` in the same transaction as the change (whoever
makes it: this process, another, the CLI), and each memory looks at that number at most every
CHECK_SECONDS (one small read) and forgets everything when it moved. Entries also live at most
`seconds`. Misses are not remembered."""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import sqlite_utils

T = TypeVar("T")
CHECK_SECONDS = 0.5  # a change in any process is seen by every other within this (and one request)


def generation(db: sqlite_utils.Database, name: str) -> int:
    """The number of changes made to what the memory `name` holds (the `generations` table)."""
    return db.execute("SELECT generation FROM generations WHERE name = ?", [name]).fetchone()[0]


class Recent(Generic[T]):
    def __init__(self, seconds: float, most: int = 10_000, generation: Callable[[], int] | None = None):
        self.seconds, self.most = seconds, most
        self._generation, self._seen, self._checked = generation, None, float("-inf")
        self._entries: dict[Hashable, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def _look(self, now: float) -> None:
        """Forget everything if the generation moved since the last look (at most every CHECK_SECONDS)."""
        if self._generation is None or now - self._checked < CHECK_SECONDS:
            return
        self._checked = now
        seen = self._generation()
        if seen != self._seen:
            with self._lock:
                self._entries.clear()
                self._seen = seen

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        now = time.monotonic()
        self._look(now)
        found = self._entries.get(key)
        if found is not None and found[0] > now:
            return found[1]
        value = load()
        if value is None:  # a miss is not remembered: what is made next must be found at once
            return value
        with self._lock:
            if len(self._entries) >= self.most:
                self._entries.clear()  # crude, but bounded: a full memory starts over
            self._entries[key] = (now + self.seconds, value)
        return value

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()
