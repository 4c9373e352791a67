"""CSV exports of audits and answers, made in export worker processes (server/reports/csvrows.py)
and streamed to the client a batch at a time: a million answers never sit in memory at once, and the
server's interpreter only passes bytes on, so an export never holds up another request. Filtered
like the pages, scoped like the API, and safe to open in a spreadsheet: a text cell that starts
with = + - @ (or a tab or carriage return) is prefixed with an apostrophe, so it shows as text and
never runs as a formula.

An export reads one snapshot of the database (a consistent file) on a connection of its own in its
worker, a batch at a time; the worker runs ahead of the client's connection by no more than the
Unix socket's buffers and one batch, so a client that stops reading pins a batch or two and a small
page cache, and no more; and if it takes nothing for `export_write_timeout_seconds`, the export is
abandoned: the connection is closed unfinished (the client sees a cut-off download, never a short
file passed as whole), the worker sees its socket close and releases the read snapshot, so the WAL
can be checkpointed again. Each export counts as one of its person's heavy requests (server/heavy.py)
for as long as it runs."""

import asyncio
import datetime as dt
import logging
import os
import re
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path

import anyio
from server.db import Database
from litestar import Request
from litestar.datastructures import State
from litestar.response import Stream
from litestar.response.streaming import ASGIStreamingResponse

from server import dialect
from server import heavy, standby
from server.visibility import in_regions
from server.visibility import Viewer
from server.locations import locations
from server.accounts.accounts import User
from server.checklists.catalog import Catalog
from server.errors import ApiError, ErrorCode
from server.reports import csvrows
from server.reports.csvrows import Rows, safe  # noqa: F401  (safe: the tests read it here)
from server.reports.periods import PeriodError, in_order

log = logging.getLogger("touchpoint.export")

AUDIT_COLUMNS = ["id", "location", "region", "touchpoint", "checklist_version", "auditor", "started_at", "finished_at", "score", "raw_score", "promise_kept"]
ANSWER_COLUMNS = ["audit_id", "item", "section", "value", "f", "earned", "possible", "comment", "photo_count"]


class Filters:
    """The rows a user may export, narrowed by the query: a WHERE clause and its parameters."""

    def filename(self, kind: str) -> str:
        """What the download is saved as, saying what it holds: audits-east-checkout-2026-01-01-to-2026-06-30.csv."""
        words = [re.sub(r"[^A-Za-z0-9_-]+", "_", part) for part in self.named]
        return "-".join([kind, *words])[:150] + ".csv"

    def __init__(self, user: User, region: str | None, location: str | None, touchpoint: str | None, start: dt.date | None, end: dt.date | None, db):
        self.where, self.params = ["a.counts = 1"], []  # only audits that count enter an export
        if user.role == "manager":
            scope, params = in_regions(user, "l.region")
            self.where.append(scope)
            self.params += params
        if region is not None:
            locations.region_in_scope(db, user, region)
            self.where.append("l.region = ?")
            self.params.append(region)
        if location is not None:
            locations.location_in_scope(db, user, location)
            self.where.append("a.location = ?")
            self.params.append(location)
        if touchpoint is not None:
            self.where.append("a.checklist = ?")
            self.params.append(touchpoint)
        first, last = start, end  # typed as dates in the OpenAPI document: a schema-valid day is never refused as text
        try:
            in_order(first, last)
        except PeriodError as exc:
            raise ApiError(400, ErrorCode.BAD_PERIOD, str(exc)) from None
        days = f"{first}-to-{last}" if first and last else f"from-{first}" if first else f"to-{last}" if last else None
        self.named = [part for part in (region, location, touchpoint, days) if part]
        for clause, when in (("a.day >= ?", first), ("a.day <= ?", last)):
            if when:
                self.where.append(clause)
                self.params.append(when.isoformat())


def _rows_as_csv(database: Path, header: list[str], sql: str, params: list, shape) -> Rows:
    return Rows(database, header, sql, params, shape)


def _address() -> str:
    """A Unix socket's address for one export: abstract on Linux (nothing left on disk), else a file in the temp folder."""
    name = f"touchpoint-export-{os.getpid()}-{uuid.uuid4().hex[:16]}"
    return "\0" + name if sys.platform.startswith("linux") else os.path.join(tempfile.gettempdir(), name)


async def _from_worker(state: State, job: tuple, claim: int) -> AsyncIterator[bytes]:
    """The CSV an export worker makes (csvrows.send), a chunk at a time, each read from its socket
    only when the last has gone to the client; the person's heavy-work row (`claim`) renewed while
    it runs and ended with it. A worker that dies before its first byte is replaced and the export
    started again once; one that dies mid-export cuts the download off unfinished."""
    loop = asyncio.get_running_loop()
    pool, readers = state.export_workers, state.readers
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    address = _address()
    listener.bind(address)
    listener.listen(2)
    listener.setblocking(False)
    done, writer, renewed = None, None, time.monotonic()

    async def renew_now() -> None:
        nonlocal renewed
        if time.monotonic() - renewed > heavy.LEASE_SECONDS / 3:
            renewed = time.monotonic()
            await anyio.to_thread.run_sync(lambda: heavy.renew(readers.get(), claim))

    try:
        for attempt in (1, 2):
            done = asyncio.wrap_future(pool.submit(csvrows.send, address, *job))
            accept = asyncio.ensure_future(loop.sock_accept(listener))
            while not accept.done() and not done.done():  # the export waits its turn while every export worker is busy
                await asyncio.wait({accept, done}, timeout=heavy.LEASE_SECONDS / 3, return_when=asyncio.FIRST_COMPLETED)
                await renew_now()
            if accept.done():
                break
            accept.cancel()
            try:
                done.result()
            except BrokenProcessPool:
                log.error("an export worker died before it started (attempt %d); starting the workers again", attempt)
                pool.repair()
                continue
            raise RuntimeError("an export worker ended without connecting")
        else:
            raise RuntimeError("the export could not be made: its worker stopped twice")
        reader, writer = await asyncio.open_unix_connection(sock=accept.result()[0])
        while size := int.from_bytes(await reader.readexactly(4), "big"):
            yield await reader.readexactly(size)
            await renew_now()
    except asyncio.IncompleteReadError:
        await asyncio.wait({done}, timeout=1)
        failed = done.exception() if done.done() and not done.cancelled() else None
        log.error("an export worker stopped mid-export (%r): the download is cut off unfinished", failed)
        pool.repair()
        raise
    finally:
        with anyio.CancelScope(shield=True):  # cancelled (the client left): the worker sees the socket close and ends
            listener.close()
            if address[0] != "\0" and os.path.exists(address):
                os.unlink(address)
            if writer is not None:
                writer.close()
            if done is not None and not done.done():
                done.cancel()  # still waiting its turn: never starts
            await anyio.to_thread.run_sync(lambda: heavy.finish(readers.get(), claim))


class _TimedStreamingResponse(ASGIStreamingResponse):
    """Litestar's streaming response, with a write timeout: a chunk the client's connection has
    not taken within `write_timeout` seconds abandons the response unfinished."""

    __slots__ = ("write_timeout",)

    async def send_body(self, send, receive) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(partial(self._timed, send, group.cancel_scope))
            await self._listen_for_disconnect(cancel_scope=group.cancel_scope, receive=receive)

    async def _timed(self, send, scope: anyio.CancelScope) -> None:
        try:
            async for chunk in self.iterator:
                with anyio.move_on_after(self.write_timeout) as waited:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if waited.cancelled_caught:
                    log.warning("a CSV export's client took no data for %g s: abandoned, its snapshot released", self.write_timeout)
                    scope.cancel()  # returns without the last chunk: the server closes the connection unfinished
                    return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            scope.cancel()
        finally:
            await self.iterator.aclose()


class Export(Stream):
    """A CSV download streamed with a write timeout (see _TimedStreamingResponse)."""

    def __init__(self, chunks: AsyncIterator[bytes], name: str, write_timeout: float, gzip: bool = False):
        headers = {"Content-Disposition": f'attachment; filename="{name}"', "Vary": "Accept-Encoding"}
        super().__init__(chunks, media_type="text/csv",  # litestar adds "; charset=utf-8"
                         headers=headers | ({"Content-Encoding": "gzip"} if gzip else {}))
        self.write_timeout = write_timeout

    def to_asgi_response(self, app, request, **kwargs) -> ASGIStreamingResponse:
        plain = super().to_asgi_response(app, request, **kwargs)
        timed = _TimedStreamingResponse.__new__(_TimedStreamingResponse)
        for cls in type(plain).__mro__:  # the same response, field for field, with the timed sending
            for slot in getattr(cls, "__slots__", ()):
                if hasattr(plain, slot):
                    setattr(timed, slot, getattr(plain, slot))
        timed.write_timeout = self.write_timeout
        return timed


def _pillars(catalog: Catalog) -> list[str]:
    """Every pillar id of every brand, in brand order: one column each."""
    return list(dict.fromkeys(p.id for b in catalog.brands.values() for p in b.brand.pillars))


def _sections(catalog: Catalog, db) -> dict[tuple[str, str, str], dict[str, str]]:
    """(brand, checklist, version) -> item -> section, for every checklist version the server knows."""
    found = {}
    for brand, checklist, version in db.execute("SELECT brand, checklist, version FROM checklist_versions").fetchall():
        pair = catalog.checklist(db, brand, checklist, version)
        if pair:
            found[(brand, checklist, version)] = {i.id: s.id for s in pair[1].checklist.sections for i in s.items}
    return found


def audits_stream(request: Request, state: State, viewer: Viewer, where: list[str], params: list, filename: str) -> Stream:
    """The audits that `where` picks (audits `a`, locations `l`, users `u`) as the audits export."""
    pillars = _pillars(state.catalog)
    auditor, auditor_params = viewer.auditor()
    columns = ", ".join(f"(SELECT score FROM audit_pillars WHERE audit = a.seq AND pillar = ?) AS p{i}" for i in range(len(pillars)))
    sql = f"""SELECT a.id, a.location, l.region, a.checklist, a.version, {auditor}, a.started_at, a.finished_at, a.score, a.raw_score,
                     a.promise_kept{', ' + columns if columns else ''}
              FROM audits a JOIN locations l ON l.id = a.location JOIN users u ON u.id = a.auditor
              WHERE {' AND '.join(where) or 'true'} ORDER BY a.finished_at DESC, a.id"""
    header = AUDIT_COLUMNS + [f"pillar_{p}" for p in pillars]
    return _export(request, state, (header, sql, [*auditor_params, *pillars, *params], None), filename)


def answers_stream(request: Request, state: State, db: Database, where: list[str], params: list, filename: str) -> Stream:
    """The answers of the audits that `where` picks (audits `a`, locations `l`) as the answers export."""
    sql = f"""SELECT a.id, x.item, a.brand, a.checklist, a.version, x.value, x.f, x.earned, x.possible, x.comment, {dialect.of(db).json_length('x.photos')}
              FROM audits a JOIN locations l ON l.id = a.location JOIN answers x ON x.audit = a.seq
              WHERE {' AND '.join(where) or 'true'} ORDER BY a.seq, x.item"""
    return _export(request, state, (ANSWER_COLUMNS, sql, params, _sections(state.catalog, db)), filename)


def _export(request: Request, state: State, job: tuple, filename: str) -> Stream:
    """The export as a download, counted as one of its person's heavy requests (a 429 beyond the
    limit) until it ends; gzipped in its worker when the client takes gzip (the server's own
    compression leaves /api/export alone, so no export is compressed on the event loop)."""
    claim = heavy.start(state.readers.get(), request.user.id, "export", state.settings.heavy_per_person)
    gzip = "gzip" in request.headers.get("accept-encoding", "")
    chunks = _from_worker(state, (standby.reads_from(request, state.settings.store), *job, gzip), claim)
    return Export(chunks, filename, state.settings.export_write_timeout_seconds, gzip)
