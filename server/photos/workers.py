"""The photo workers: processes for Pillow (server/workers.py), so image work never runs on the event
loop and one upload can never take the machine."""

from server.photos.processing import PhotoRefused, process
from server.workers import Pool


class PhotoWorkers(Pool):
    """Two worker processes for Pillow, started on the first upload. Each may use at most
    `memory_bytes` of address space: a decode that would need more fails there as a MemoryError,
    a 413. A worker that dies is replaced and the upload tried once more; twice: a 503."""

    def __init__(self, processes: int = 2, memory_bytes: int = 1024 * 2**20):
        super().__init__("photo", processes, memory_bytes)

    async def process(self, data: bytes):
        try:
            return await self.run(process, data, failed="the photo could not be processed")
        except MemoryError:
            raise PhotoRefused(413, f"the image needs more than the {self.memory_bytes // 2**20} MiB a photo may take to decode") from None
