"""Each server process's background thread: its heartbeat (server/leases.py `processes`), and the
installation's scheduled jobs, each run once per interval in the whole installation by whichever
process takes its lease (another takes over if that one dies mid-run). A thread of its own with
its own connection, so stopping never closes a connection another thread is using; no job runs on
the event loop.

JOBS is the one table of what runs on a schedule: today the photo prune (photos of audits that
never arrived, storage.prune), every TOUCHPOINT_PRUNE_SECONDS (an hour)."""

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import msgspec
import sqlite_utils

from server import leases
from server.db import connect
from server.photos import storage
from server.photos.store import photo_store
from server.settings import Settings

log = logging.getLogger("touchpoint.housekeeping")


class Job(msgspec.Struct, frozen=True):
    name: str
    every: Callable[[Settings], float]  # seconds between the starts of two runs
    run: Callable[[sqlite_utils.Database, Settings], str]  # what it did, in a line for job_runs
    lease: float = leases.LEASE_SECONDS  # renewed while the job runs (_Keeping); a holder killed lets it pass after this


class _Keeping:
    """While a job runs, its lease renewed (every third of its length, or each heartbeat if sooner)
    from a thread of its own with its own connection, so a run longer than the lease is never taken
    up by a second process meanwhile; and this process's heartbeat kept, so a long run does not make
    /api/health count it as gone."""

    def __init__(self, path: Path, job: Job):
        self.path, self.job, self.done = path, job, threading.Event()
        self.thread = threading.Thread(target=self._renew, name=f"touchpoint-lease-{job.name}", daemon=True)

    def __enter__(self) -> "_Keeping":
        self.thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.done.set()
        self.thread.join()

    def _renew(self) -> None:
        db = None
        try:
            while not self.done.wait(min(self.job.lease / 3, leases.HEARTBEAT_SECONDS)):
                db = db or connect(self.path)
                leases.beat(db)
                if not leases.renew(db, self.job.name, self.job.lease):
                    log.warning("%s: the lease passed to another process while this one ran it", self.job.name)
                    return
        except Exception:  # the next renewal, or the lease's end, settles it
            log.exception("%s: the lease could not be renewed", self.job.name)
        finally:
            if db is not None:
                db.conn.close()


def _prune(db: sqlite_utils.Database, settings: Settings) -> str:
    done = storage.prune(db, photo_store(settings), settings.orphan_photo_days)
    if done.photos or done.strays:
        log.info("deleted %d photos of audits that never arrived (%d files) and %d image files nothing referenced", done.photos, done.files, done.strays)
    return f"{done.photos} photos ({done.files} files), {done.strays} stray files"


JOBS = [Job("photo-prune", lambda settings: settings.prune_seconds, _prune)]


class Housekeeper:
    def __init__(self, settings: Settings, jobs: list[Job] = JOBS):
        self.settings, self.jobs = settings, jobs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        db = connect(self.settings.store)  # registered before the first request: /api/health lists this process at once
        try:
            leases.register(db)
        finally:
            db.conn.close()
        self._thread = threading.Thread(target=self._run, args=(self.settings.store,), name="touchpoint-housekeeping", daemon=True)
        self._thread.start()

    def stop(self, seconds: float = 30) -> None:
        """Stop after the job in hand (a run cut short is taken over once its lease passes)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=seconds)

    def _run(self, path: Path) -> None:
        db = connect(path)
        pause = min([leases.HEARTBEAT_SECONDS] + [job.every(self.settings) / 4 for job in self.jobs])
        try:
            beat_in = leases.HEARTBEAT_SECONDS
            while not self._stop.is_set():
                try:
                    if beat_in <= 0:
                        leases.beat(db)
                        beat_in = leases.HEARTBEAT_SECONDS
                    for job in self.jobs:
                        if self._stop.is_set():
                            break
                        if leases.due(db, job.name, job.every(self.settings), job.lease):
                            with _Keeping(path, job):
                                result = job.run(db, self.settings)
                            leases.finished(db, job.name, result)
                except Exception:  # a locked database now is no reason to stop trying later
                    log.exception("housekeeping failed (heartbeat or a scheduled job); trying again shortly")
                self._stop.wait(pause)
                beat_in -= pause
            leases.leave(db)
        except Exception:
            log.exception("housekeeping stopped")
        finally:
            db.conn.close()
