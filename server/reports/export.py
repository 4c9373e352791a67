"""CSV exports of audits and answers, streamed from the database in batches: a million answers
never sit in memory at once. Filtered like the pages, scoped like the API, and safe to open in a
spreadsheet: a text cell that starts with = + - @ (or a tab or carriage return) is prefixed with
an apostrophe, so it shows as text and never runs as a formula.

An export reads one snapshot of the database (a consistent file) on a connection of its own, a
batch at a time, each batch fetched only once the one before has been handed to the client's
connection. So a client that stops reading pins one batch and a small page cache, and no more;
and if it takes nothing for `export_write_timeout_seconds`, the export is abandoned: the
connection is closed unfinished (the client sees a cut-off download, never a short file passed as
whole) and the read snapshot released, so the WAL can be checkpointed again."""

import csv
import datetime as dt
import io
import logging
import re
import threading
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import anyio
import msgspec
from sqlite_utils import Database
from litestar import Request
from litestar.datastructures import State
from litestar.response import Stream
from litestar.response.streaming import ASGIStreamingResponse

from server.visibility import in_regions
from server.visibility import Viewer
from server import db as dbmod
from server.locations import locations
from server.accounts.accounts import User
from server.checklists.catalog import Catalog
from server.errors import ApiError, ErrorCode
from server.reports.periods import PeriodError, in_order

BATCH = 2000  # rows fetched and written at a time
CACHE_KIB = 2048  # an export's own page cache (the server's readers keep 32 MB): it reads each page once
log = logging.getLogger("touchpoint.export")
RISKY = ("=", "+", "-", "@", "\t", "\r")

AUDIT_COLUMNS = ["id", "location", "region", "touchpoint", "checklist_version", "auditor", "started_at", "finished_at", "score", "raw_score", "promise_kept"]
ANSWER_COLUMNS = ["audit_id", "item", "section", "value", "f", "earned", "possible", "comment", "photo_count"]


def safe(value: object) -> object:
    """A cell a spreadsheet shows as written: text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(RISKY):
        return "'" + value
    return value


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


class Rows:
    """One export's rows as CSV through `shape(row) -> cells`, on a connection (and read snapshot)
    of its own, a batch at a time: `chunk()` gives the next bytes, None at the end; `close()`
    ends the snapshot. Iterable as well (the tests read it so)."""

    def __init__(self, database: Path, header: list[str], sql: str, params: list, shape):
        self.conn = dbmod.connect(database).conn
        self.conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self.sql, self.params, self.shape, self.header = sql, params, shape, header
        self.cursor = None
        self.lock = threading.Lock()  # a batch being fetched on a worker thread finishes before close

    def chunk(self) -> bytes | None:
        with self.lock:
            if self.conn is None:
                return None
            out = io.StringIO()
            writer = csv.writer(out)
            if self.cursor is None:
                writer.writerow(self.header)
                self.cursor = self.conn.execute(self.sql, self.params)
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


def _rows_as_csv(database: Path, header: list[str], sql: str, params: list, shape) -> Rows:
    return Rows(database, header, sql, params, shape)


async def _batches(rows: Rows) -> AsyncIterator[bytes]:
    """The rows a batch at a time, each fetched on a worker thread when the last has been sent."""
    try:
        while (chunk := await anyio.to_thread.run_sync(rows.chunk)) is not None:
            yield chunk
    finally:
        with anyio.CancelScope(shield=True):  # cancelled (the client left): still close, after any batch in flight
            await anyio.to_thread.run_sync(rows.close)


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

    def __init__(self, rows: Rows, name: str, write_timeout: float):
        super().__init__(_batches(rows), media_type="text/csv",  # litestar adds "; charset=utf-8"
                         headers={"Content-Disposition": f'attachment; filename="{name}"'})
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

    def shape(row):
        return [*row[:10], "yes" if row[10] else "no", *row[11:]]

    return Export(Rows(state.settings.database, header, sql, [*auditor_params, *pillars, *params], shape), filename, state.settings.export_write_timeout_seconds)




def answers_stream(state: State, db: Database, where: list[str], params: list, filename: str) -> Stream:
    """The answers of the audits that `where` picks (audits `a`, locations `l`) as the answers export."""
    sections = _sections(state.catalog, db)
    sql = f"""SELECT a.id, x.item, a.brand, a.checklist, a.version, x.value, x.f, x.earned, x.possible, x.comment, json_array_length(x.photos)
              FROM audits a JOIN locations l ON l.id = a.location JOIN answers x ON x.audit = a.seq
              WHERE {' AND '.join(where) or 'true'} ORDER BY a.seq, x.item"""

    def shape(row):
        audit, item, brand, checklist, version, value, f, earned, possible, comment, photos = row
        answer = None if value is None else msgspec.json.decode(value)  # stored as JSON: "yes", 4, 2.5
        return [audit, item, sections.get((brand, checklist, version), {}).get(item, ""), answer, f, earned, possible, comment, photos]

    return Export(Rows(state.settings.database, ANSWER_COLUMNS, sql, params, shape), filename, state.settings.export_write_timeout_seconds)
