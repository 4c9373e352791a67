"""A small HTTP/1.1 load generator over keep-alive connections (asyncio, no dependencies).

Closed loop: N connections send as fast as answers come back (throughput).
Open loop: requests are scheduled at a fixed rate and latency is measured from the scheduled
time, so a server that stalls cannot hide it by slowing the client down (no coordinated omission).
"""

import asyncio
import statistics
import time
from collections.abc import Callable


class Connection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer:
            self.writer.close()


def http_request(method: str, path: str, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Result:
    def __init__(self, latencies: list[float], statuses: dict[int, int], seconds: float):
        self.latencies = sorted(latencies)
        self.statuses = statuses
        self.seconds = seconds

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def pct(self, p: float) -> float:
        return self.latencies[min(len(self.latencies) - 1, int(p / 100 * len(self.latencies)))] * 1000

    def line(self, what: str) -> str:
        return (
            f"{what:<34} {self.rate:8.0f}/s   p50 {self.pct(50):6.2f} ms   p99 {self.pct(99):6.2f} ms   "
            f"({len(self.latencies)} requests, statuses {dict(sorted(self.statuses.items()))})"
        )


async def closed_loop(host: str, port: int, make: Callable[[int], bytes], connections: int, seconds: float) -> Result:
    conns = [Connection(host, port) for _ in range(connections)]
    await asyncio.gather(*(c.open() for c in conns))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(10**9))
    stop = time.perf_counter() + seconds

    async def worker(conn: Connection) -> None:
        while time.perf_counter() < stop:
            raw = make(next(counter))
            start = time.perf_counter()
            status = await conn.request(raw)
            latencies.append(time.perf_counter() - start)
            statuses[status] = statuses.get(status, 0) + 1

    began = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - began
    for c in conns:
        c.close()
    return Result(latencies, statuses, elapsed)


async def open_loop(host: str, port: int, make: Callable[[int], bytes], rate: float, seconds: float, connections: int = 64) -> Result:
    conns = [Connection(host, port) for _ in range(connections)]
    await asyncio.gather(*(c.open() for c in conns))
    idle: asyncio.Queue = asyncio.Queue()
    for c in conns:
        idle.put_nowait(c)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    total = int(rate * seconds)
    began = time.perf_counter()

    async def one(i: int) -> None:
        scheduled = began + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = await idle.get()
        status = await conn.request(make(i))
        latencies.append(time.perf_counter() - scheduled)
        statuses[status] = statuses.get(status, 0) + 1
        idle.put_nowait(conn)

    await asyncio.gather(*(one(i) for i in range(total)))
    elapsed = time.perf_counter() - began
    for c in conns:
        c.close()
    return Result(latencies, statuses, elapsed)


def median(values: list[float]) -> float:
    return statistics.median(values)
