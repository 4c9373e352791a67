"""The one writer: request handlers hand it write jobs; it commits them in batches (group commit).

With synchronous=FULL every COMMIT waits for the disk. One COMMIT per audit caps ingest at the
disk's fsync rate; committing every job that queued up meanwhile in one transaction keeps each
audit durable before its 201 while paying one fsync per batch.

A job that refuses (raises ApiError, a 409 say) must do so before it writes anything; the rest
of its batch goes on. Any other exception rolls the whole batch back and every caller in it gets
the error: nobody was told "stored", so their phones send again and nothing is lost.
"""

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from server.db import connect
from server.errors import ApiError

T = TypeVar("T")
MAX_BATCH = 256
CHECKPOINT_SECONDS = 0.5
log = logging.getLogger("touchpoint.ingest")


class Writer:
    def __init__(self, path: Path):
        self.db = connect(path)
        # Copying the WAL back into the database (a checkpoint) inside a COMMIT would make that
        # batch wait for it; a background thread does it instead, between batches.
        self.db.execute("PRAGMA wal_autocheckpoint=0")
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="touchpoint-writer", daemon=True)
        self._thread.start()
        self._checkpointer = threading.Thread(target=self._checkpoint, args=(path,), name="touchpoint-checkpoint", daemon=True)
        self._checkpointer.start()

    async def run(self, job: Callable[[sqlite_utils.Database], T]) -> T:
        """Run `job(db)` inside a committed write transaction; its result once it is on disk."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((job, loop, future))
        return await future

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()
        self._stop.set()
        self._checkpointer.join()
        self.db.conn.close()

    def _checkpoint(self, path: Path) -> None:
        db = connect(path)
        try:
            while not self._stop.wait(CHECKPOINT_SECONDS):
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.conn.close()

    def _loop(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._jobs.put(None)  # finish this batch, then stop
                    break
                batch.append(more)
            self._commit(batch)

    def _commit(self, batch: list) -> None:
        outcomes = []
        try:
            self.db.execute("BEGIN IMMEDIATE")
            for job, _, _ in batch:
                try:
                    outcomes.append((job(self.db), None))
                except ApiError as refused:  # raised before the job wrote anything
                    outcomes.append((None, refused))
            self.db.execute("COMMIT")
        except Exception as exc:  # a job broke half-way, or the commit failed: nothing of the batch is stored
            log.exception("write batch of %d failed", len(batch))
            if self.db.conn.in_transaction:
                self.db.execute("ROLLBACK")
            outcomes = [(None, exc)] * len(batch)
        for (_, loop, future), (result, error) in zip(batch, outcomes):
            loop.call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future, result, error) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
