"""The one background sender of what the server owes the outside world: webhook deliveries and mail.

Each kind of delivery is a row written in the transaction of its cause (so it goes if and only if
its cause happened, and a restart loses none). The `Sender` claims what is due (a lease in the
database: another process takes a row over only once the lease has passed) and sends each on a
pool of SENDERS threads, records every attempt, and retries a failure after an exponential
back-off with jitter until it succeeds or its limit of attempts passes. Sending happens after the
cause's commit, on its own threads: a slow or dead receiver never slows or fails the request that
caused it, and holds one sender for at most the attempt's deadline while the others go on.

What differs between a webhook delivery and a mail is a `Kind`: which rows are due, how one is
sent, and how its outcome is recorded. The claim, the lease, the back-off, the limit of attempts and
the thread pool are here, once. A row is sent at least once: a process killed mid-attempt leaves
its lease to run out, and the row is tried again (the receiver may then see it twice).
"""

import datetime as dt
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import msgspec
import sqlite_utils

from server.db import connect, write

SENDERS = 8  # rows sent at once: a slow receiver holds one of them, never the rest
LEASE_MARGIN_SECONDS = 30  # a claimed row is another process's to take only this long after its attempt's deadline
log = logging.getLogger("touchpoint.outbox")


class Job(msgspec.Struct, frozen=True, kw_only=True):
    """One row claimed for one attempt: what its kind needs to send it."""
    id: str
    attempts: int  # attempts made before this one
    limit_attempts: int  # 0: the kind's setting
    fields: tuple = ()  # the kind's own columns, as its `due` selected them


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What one attempt came to: `error` is None on success."""
    error: str | None = None
    status: int | None = None  # a webhook receiver's HTTP status, an SMTP server's reply code


class Kind(Protocol):
    """One kind of delivery: its table, its settings, and the three things that are its own."""
    name: str
    retry_seconds: float  # wait before the first retry; doubled each time, with jitter
    attempts: int  # tries before a row is marked failed (unless the row says otherwise)
    timeout_seconds: float  # the deadline of one attempt: the lease is this plus a margin

    def due(self, db: sqlite_utils.Database, now: str, limit: int) -> list[Job]:
        """Up to `limit` rows due at `now`, oldest first (inside the claim's write transaction)."""

    def lease(self, db: sqlite_utils.Database, jobs: list[Job], until: str) -> None:
        """Push the claimed rows' next try to `until` (the lease), in the same transaction."""

    def send(self, job: Job) -> Outcome:
        """One attempt, under its deadline, without the database. Never raises for the receiver's failure."""

    def counts(self, db: sqlite_utils.Database, id: str) -> tuple[int, int]:
        """The row's attempts made and its limit (0: the kind's setting) as they stand now, inside `write`."""

    def record(self, db: sqlite_utils.Database, job: Job, n: int, state: str, at: dt.datetime, next_at: dt.datetime,
               outcome: Outcome, ms: float) -> None:
        """Store attempt `n` and the row's new state ('sent', 'pending' or 'failed'), inside `write`."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def backoff(attempt: int, base: float, cap: float = 6 * 3600) -> float:
    """Seconds before the next try after `attempt` failures: base x 2^(attempt-1), at most `cap`,
    with "equal jitter" (half fixed, half random) so receivers that fail together are not all
    retried in the same second."""
    delay = min(cap, base * 2 ** (attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)


class Sender:
    """The background sender: a thread that wakes every `poll` seconds (or when `wake()` is called),
    claims what is due of each kind and hands each row to one of SENDERS threads."""

    def __init__(self, database: Path, kinds: list[Kind], poll_seconds: float = 1.0):
        self.database, self.poll_seconds = database, poll_seconds
        self.kinds = {kind.name: kind for kind in kinds}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = 0
        self._turn = 0  # which kind claims first this round: one kind's backlog never starves another
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite_utils.Database] = []

    def start(self) -> None:
        """Start sending (again, after `stop`: one app may be started more than once, as its tests do)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="touchpoint-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=max((k.timeout_seconds for k in self.kinds.values()), default=0) + 5)

    def _run(self) -> None:
        db = connect(self.database)
        pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="touchpoint-send")
        try:
            while not self._stop.is_set():
                try:
                    sent = self.send_due(db, pool)
                except Exception:  # a locked database now is no reason to stop sending later
                    log.exception("sending failed; trying again shortly")
                    sent = 0
                if not sent:
                    self._wake.wait(self.poll_seconds)
                    self._wake.clear()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # an attempt in flight ends by its deadline
            db.conn.close()
            with self._lock:
                for each in self._connections:
                    each.conn.close()
                self._connections.clear()

    def send_due(self, db: sqlite_utils.Database, pool: ThreadPoolExecutor) -> int:
        """Claim rows due now, as many as senders are free, and start sending them; how many."""
        kinds = list(self.kinds.values())
        self._turn = (self._turn + 1) % max(len(kinds), 1)
        started = 0
        for kind in kinds[self._turn:] + kinds[:self._turn]:
            with self._lock:
                free = SENDERS - self._busy
            if free <= 0:
                break
            for job in self.claim(db, kind, free):
                with self._lock:
                    self._busy += 1
                pool.submit(self._attempt, kind, job)
                started += 1
        return started

    def claim(self, db: sqlite_utils.Database, kind: Kind, limit: int) -> list[Job]:
        """Up to `limit` due rows of `kind`, each leased to this sender until its attempt's deadline
        has passed (plus a margin): if this process dies mid-attempt, the lease runs out and
        another process (or this one restarted) sends it."""
        now = _now()
        until = (now + dt.timedelta(seconds=kind.timeout_seconds + LEASE_MARGIN_SECONDS)).isoformat()
        with write(db):
            jobs = kind.due(db, now.isoformat(), limit)
            if jobs:
                kind.lease(db, jobs, until)
        return jobs

    def _db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.database)
            with self._lock:
                self._connections.append(db)
        return db

    def _attempt(self, kind: Kind, job: Job) -> None:
        try:
            self.attempt(self._db(), kind, job)
        except Exception:  # recorded next time: the lease runs out and the row is tried again
            log.exception("%s %s could not be recorded", kind.name, job.id)
        finally:
            with self._lock:
                self._busy -= 1
            self._wake.set()  # a sender is free: look for more

    @staticmethod
    def attempt(db: sqlite_utils.Database, kind: Kind, job: Job) -> None:
        """Send `job` once and record the attempt: sent, pending again after a back-off, or failed
        once its limit of attempts is reached."""
        started = time.perf_counter()
        try:
            outcome = kind.send(job)
        except Exception as exc:  # counted as a failed attempt all the same: never a row retried forever
            log.exception("%s %s: unexpected error", kind.name, job.id)
            outcome = Outcome(error=f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__)
        ms = (time.perf_counter() - started) * 1000
        now = _now()
        with write(db):
            # counted from the row as it is now, not as it was claimed: a person's "send again" may
            # have queued it once more while this attempt was in flight, and another sender taken it
            made, limit = kind.counts(db, job.id)
            n, limit = made + 1, limit or kind.attempts
            if outcome.error is None:
                state, next_at = "sent", now
            elif n >= limit:
                state, next_at = "failed", now
                log.warning("%s %s failed %d times; giving up (%s)", kind.name, job.id, n, outcome.error)
            else:
                state, next_at = "pending", now + dt.timedelta(seconds=backoff(n, kind.retry_seconds))
            kind.record(db, job, n, state, now, next_at, outcome, ms)
