"""The photo workers: processes for Pillow, so image work never runs on the event loop and one
upload can never take the machine."""

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from server.errors import unavailable
from server.photos.processing import PhotoRefused, process

log = logging.getLogger("touchpoint.photos")


class PhotoWorkers:
    """Two worker processes for Pillow, started on the first upload; image work never runs on the
    event loop. Each worker may use at most `memory_bytes` of address space, so one upload can
    never take the machine (a decode that would need more fails there as a MemoryError: 413).
    A worker that dies (killed, or the OOM killer) breaks the pool: it is built again and the
    upload tried once more, and if that fails too the caller gets a 503 with Retry-After."""

    def __init__(self, processes: int = 2, memory_bytes: int = 1024 * 2**20):
        self.processes, self.memory_bytes = processes, memory_bytes
        self._pool: ProcessPoolExecutor | None = None
        self.restarts = 0

    def _start(self) -> ProcessPoolExecutor:
        self._pool = ProcessPoolExecutor(
            self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_limit_memory, initargs=(self.memory_bytes,)
        )
        return self._pool

    async def process(self, data: bytes):
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            pool = self._pool or self._start()
            try:
                return await loop.run_in_executor(pool, process, data)
            except BrokenProcessPool:
                log.error("a photo worker died (attempt %d); starting the workers again", attempt)
                if self._pool is pool:  # not already rebuilt by another upload meanwhile
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._start()
                    self.restarts += 1
            except MemoryError:
                raise PhotoRefused(413, f"the image needs more than the {self.memory_bytes // 2**20} MiB a photo may take to decode") from None
        raise unavailable("the photo could not be processed (its worker stopped twice); send it again", retry_after=5)

    def state(self) -> str:
        """'idle' before the first upload, 'ok' while every worker runs, else 'broken'."""
        if self._pool is None:
            return "idle"
        # the executor keeps its processes in _processes; a dead one marks the pool broken
        processes = getattr(self._pool, "_processes", None) or {}
        alive = all(p.is_alive() for p in processes.values())
        return "ok" if alive and not getattr(self._pool, "_broken", False) else "broken"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


def _limit_memory(limit: int) -> None:
    """In each worker: cap its address space (Linux; elsewhere the decoded-size check alone holds)."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
