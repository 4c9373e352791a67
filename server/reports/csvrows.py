"""An export's rows as CSV, made in an export worker process (server/workers.py) and sent to the
server over a Unix socket a chunk at a time: the server's interpreter only passes bytes on.

Frames on the socket: a 4-byte big-endian length, then that many bytes of CSV; a length of 0 ends
a whole export. A socket that closes without it is an export cut off (its worker died)."""

import csv
import io
import socket
import threading
import zlib
from pathlib import Path

import msgspec

from server import db as dbmod

BATCH = 2000  # rows fetched and written at a time: one chunk
CACHE_KIB = 2048  # an export's own page cache (the server's readers keep 32 MB): it reads each page once
RISKY = ("=", "+", "-", "@", "\t", "\r")
END = (0).to_bytes(4, "big")
GZIP_LEVEL = 6  # in the worker: CSV shrinks about 6 times; level 9 costs twice the CPU for 3 % less


def safe(value: object) -> object:
    """A cell a spreadsheet shows as written: text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(RISKY):
        return "'" + value
    return value


class Rows:
    """One export's rows as CSV through `shape(row) -> cells`, on a connection (and read snapshot)
    of its own, a batch at a time: `chunk()` gives the next bytes, None at the end; `close()`
    ends the snapshot. Iterable as well."""

    def __init__(self, database: Path, header: list[str], sql: str, params: list, shape):
        self.conn = dbmod.connect(database).conn
        if not dbmod.on_postgres(self.conn):
            self.conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self.sql, self.params, self.shape, self.header = sql, params, shape, header
        self.cursor = None
        self.lock = threading.Lock()  # a batch being fetched finishes before close

    def chunk(self) -> bytes | None:
        with self.lock:
            if self.conn is None:
                return None
            out = io.StringIO()
            writer = csv.writer(out)
            if self.cursor is None:
                writer.writerow(self.header)
                # PostgreSQL: a cursor on the server in one read-only snapshot, so the worker holds a
                # batch of rows at a time, as SQLite's statement does
                self.cursor = self.conn.stream(self.sql, self.params) if dbmod.on_postgres(self.conn) else self.conn.execute(self.sql, self.params)
            for row in self.cursor.fetchmany(BATCH):
                writer.writerow([safe(cell) for cell in self.shape(row)])
            if not out.tell():
                self._close()
                return None
            return out.getvalue().encode()

    def close(self) -> None:
        with self.lock:
            self._close()

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()  # finalizes the statement: the read snapshot ends here
            self.conn = None

    def __iter__(self):
        try:
            while (chunk := self.chunk()) is not None:
                yield chunk
        finally:
            self.close()


def audit_cells(row) -> list:
    return [*row[:10], "yes" if row[10] else "no", *row[11:]]


def answer_cells(sections: dict[tuple[str, str, str], dict[str, str]]):
    def shape(row) -> list:
        audit, item, brand, checklist, version, value, f, earned, possible, comment, photos = row
        answer = None if value is None else msgspec.json.decode(value)  # stored as JSON: "yes", 4, 2.5
        return [audit, item, sections.get((brand, checklist, version), {}).get(item, ""), answer, f, earned, possible, comment, photos]

    return shape


def send(address: str, database: str, header: list[str], sql: str, params: list, sections: dict | None, gzip: bool = False) -> int:
    """In a worker: the export's CSV to the server waiting at `address`, as frames (see above),
    gzipped when `gzip` (each chunk flushed, so the client has every row sent so far); the socket's
    buffers hold it back while the server's client reads slowly. The bytes sent; a server that hung
    up (its client left, or stalled past the write timeout) ends it, snapshot closed."""
    shape = audit_cells if sections is None else answer_cells(sections)
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if gzip else None  # wbits 31: a gzip stream
    sent = 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(address)
        try:
            for chunk in Rows(database, header, sql, params, shape):  # closed however the loop ends
                if packer:
                    chunk = packer.compress(chunk) + packer.flush(zlib.Z_SYNC_FLUSH)
                sock.sendall(len(chunk).to_bytes(4, "big") + chunk)
                sent += len(chunk)
            if packer:
                tail = packer.flush()
                sock.sendall(len(tail).to_bytes(4, "big") + tail)
            sock.sendall(END)
        except (BrokenPipeError, ConnectionResetError):
            pass
    return sent
