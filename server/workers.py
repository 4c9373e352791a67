"""Worker processes for the server's heavy work (Pillow for photos; PDFs, long pages and CSV exports
for the reports): it never runs on the event loop's interpreter, and one request can never take the
machine's memory."""

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from server.errors import unavailable

log = logging.getLogger("touchpoint.workers")


class Pool:
    """`processes` worker processes (spawned, started on first use), each allowed at most
    `memory_bytes` of address space (a job that would need more fails there as a MemoryError) and
    running `nice` steps below the server, so that the request path keeps the cores it needs.

    A worker that dies (killed, or the OOM killer) breaks the pool: it is built again and the job
    tried once more; if that fails too the caller gets a 503 with Retry-After (`failed` says what
    could not be done). What crosses to a worker is pickled: plain data (a Struct, bytes, a path),
    never a database connection."""

    def __init__(self, name: str, processes: int = 2, memory_bytes: int = 1024 * 2**20, nice: int = 0):
        self.name, self.processes, self.memory_bytes, self.nice = name, processes, memory_bytes, nice
        self._pool: ProcessPoolExecutor | None = None
        self.restarts = 0

    def _start(self) -> ProcessPoolExecutor:
        self._pool = ProcessPoolExecutor(
            self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_prepare, initargs=(self.memory_bytes, self.nice)
        )
        return self._pool

    def _broken(self, pool: ProcessPoolExecutor, attempt: int) -> None:
        log.error("a %s worker died (attempt %d); starting the workers again", self.name, attempt)
        if self._pool is pool:  # not already rebuilt by another job meanwhile
            pool.shutdown(wait=False, cancel_futures=True)
            self._start()
            self.restarts += 1

    def submit(self, fn, *args) -> Future:
        """Start one job (an export, which streams and so cannot simply be tried again as `run` does);
        its future fails with BrokenProcessPool when its worker dies: the caller then calls `repair`."""
        pool = self._pool or self._start()
        try:
            return pool.submit(fn, *args)
        except BrokenProcessPool:  # it broke before this job: rebuilt, then this job goes to the new one
            self._broken(pool, 1)
            return self._pool.submit(fn, *args)

    def repair(self) -> None:
        """After a job's future failed with BrokenProcessPool: the workers started again (once, however many jobs saw it)."""
        pool = self._pool
        if pool is not None and getattr(pool, "_broken", False):
            self._broken(pool, 1)

    async def run(self, fn, *args, failed: str = "the work could not be done"):
        """fn(*args) in a worker, awaited on the event loop. Never wait for a job on a thread of the
        server's: a handful of waiting requests would hold every thread that sync handlers run on
        (measured: 8 Pareto pages took other users' GET /api/me from 6 ms to seconds)."""
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            pool = self._pool or self._start()
            try:
                return await loop.run_in_executor(pool, fn, *args)
            except BrokenProcessPool:
                self._broken(pool, attempt)
        raise unavailable(f"{failed} (its worker stopped twice); send it again", retry_after=5)

    async def read(self, database, fn, *args, failed: str = "the page could not be made"):
        """fn(db, *args) in a worker, on a connection of the worker's own to `database` (kept from
        one job to the next): for a page whose reads cost more CPU than the request path may spend.
        fn is a module's function (it crosses by name)."""
        return await self.run(_on_database, str(database), fn, *args, failed=failed)

    def state(self) -> str:
        """'idle' before the first job, 'ok' while every worker runs, else 'broken'."""
        if self._pool is None:
            return "idle"
        # the executor keeps its processes in _processes; a dead one marks the pool broken
        processes = getattr(self._pool, "_processes", None) or {}
        alive = all(p.is_alive() for p in processes.values())
        return "ok" if alive and not getattr(self._pool, "_broken", False) else "broken"

    def pids(self) -> list[int]:
        return [p.pid for p in (getattr(self._pool, "_processes", None) or {}).values()] if self._pool else []

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


_connections: dict[str, object] = {}  # in a worker: a database's path -> the worker's connection to it


def connection(database: str):
    """In a worker: its own connection to `database`, opened on first use."""
    if database not in _connections:
        from server import db as dbmod

        _connections[database] = dbmod.connect(database)
    return _connections[database]


def _on_database(database: str, fn, *args):
    return fn(connection(database), *args)


def _prepare(limit: int, nice: int) -> None:
    """In each worker: cap its address space (Linux; elsewhere the callers' own size checks alone
    hold) and lower its priority."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    if nice:
        try:
            os.nice(nice)
        except (AttributeError, OSError):
            pass
