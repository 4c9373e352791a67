"""A short memory of rows that change rarely and are read on every request (who holds a token,
where a location is), so the hot path does not ask SQLite each time. Entries live `seconds`; a user of it that must see
another process's change sooner calls `forget` when a generation moves (server/leases.py
Generation: locations within 0.5 s). Misses are not remembered."""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Recent(Generic[T]):
    def __init__(self, seconds: float, most: int = 10_000):
        self.seconds, self.most = seconds, most
        self._entries: dict[Hashable, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        now = time.monotonic()
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
