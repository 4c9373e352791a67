"""CSV exports of audits and answers, streamed from the database in batches: a million answers
never sit in memory at once. Filtered like the pages, scoped like the API, and safe to open in a
spreadsheet: a text cell that starts with = + - @ (or a tab or carriage return) is prefixed with
an apostrophe, so it shows as text and never runs as a formula."""

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import msgspec
from litestar import Request, get
from litestar.datastructures import State
from litestar.params import QueryParameter
from litestar.response import Stream

from server import audits
from server.program.review import anonymous_brands
from server import db as dbmod
from server import locations
from server.accounts import User
from server.auth import roles
from server.catalog import Catalog
from server.errors import ApiError
from server.manage.periods import PeriodError, in_order

BATCH = 2000  # rows fetched and written at a time
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

    def __init__(self, user: User, region: str | None, location: str | None, touchpoint: str | None, start: dt.date | None, end: dt.date | None, db):
        self.where, self.params = ["a.counts = 1"], []  # only audits that count enter an export
        if user.role == "manager":
            self.where.append(f"l.region IN ({','.join('?' * len(user.regions))})")
            self.params += sorted(user.regions)
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
            raise ApiError(400, "bad_period", str(exc)) from None
        for clause, when in (("a.day >= ?", first), ("a.day <= ?", last)):
            if when:
                self.where.append(clause)
                self.params.append(when.isoformat())


def _rows_as_csv(database: Path, header: list[str], sql: str, params: list, shape) -> Iterator[bytes]:
    """Stream `sql`'s rows as CSV through `shape(row) -> cells`, on a connection of its own."""
    conn = dbmod.connect(database).conn
    try:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        cursor = conn.execute(sql, params)
        while rows := cursor.fetchmany(BATCH):
            for row in rows:
                writer.writerow([safe(cell) for cell in shape(row)])
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
        if out.tell():
            yield out.getvalue().encode()
    finally:
        conn.close()


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


Region = Annotated[str | None, QueryParameter(description="a region id")]
Location = Annotated[str | None, QueryParameter(description="a location id")]
Touchpoint = Annotated[str | None, QueryParameter(description="a checklist (touchpoint) id")]
From = Annotated[dt.date | None, QueryParameter(name="from", description="first day, inclusive (YYYY-MM-DD)")]
To = Annotated[dt.date | None, QueryParameter(description="last day, inclusive (YYYY-MM-DD)")]


def _attachment(name: str, body: Iterator[bytes]) -> Stream:
    return Stream(body, media_type="text/csv",  # litestar adds "; charset=utf-8"
                  headers={"Content-Disposition": f'attachment; filename="{name}"'})


@get("/api/export/audits.csv", guards=[roles("admin", "manager")], sync_to_thread=True, tags=["exports"], media_type="text/csv",
     opt={"errors": {404: "No such region or location", 422: "A day that is not YYYY-MM-DD, or from after to"}})
def audits_csv(request: Request, state: State, region: Region = None, location: Location = None, touchpoint: Touchpoint = None,
               from_: From = None, to: To = None) -> Stream:
    """One row per audit, newest first, with each pillar's score; filtered and scoped like the pages."""
    found = Filters(request.user, region, location, touchpoint, from_, to, state.readers.get())
    return audits_stream(request, state, found.where, found.params, "audits.csv")


def audits_stream(request: Request, state: State, where: list[str], params: list, filename: str) -> Stream:
    """The audits that `where` picks (audits `a`, locations `l`, users `u`) as the audits export."""
    pillars = _pillars(state.catalog)
    auditor, auditor_params = audits.auditor_column(request.user, anonymous_brands(state.catalog))
    columns = ", ".join(f"(SELECT score FROM audit_pillars WHERE audit = a.seq AND pillar = ?) AS p{i}" for i in range(len(pillars)))
    sql = f"""SELECT a.id, a.location, l.region, a.checklist, a.version, {auditor}, a.started_at, a.finished_at, a.score, a.raw_score,
                     a.promise_kept{', ' + columns if columns else ''}
              FROM audits a JOIN locations l ON l.id = a.location JOIN users u ON u.id = a.auditor
              WHERE {' AND '.join(where) or 'true'} ORDER BY a.finished_at DESC, a.id"""
    header = AUDIT_COLUMNS + [f"pillar_{p}" for p in pillars]

    def shape(row):
        return [*row[:10], "yes" if row[10] else "no", *row[11:]]

    return _attachment(filename, _rows_as_csv(state.settings.database, header, sql, [*auditor_params, *pillars, *params], shape))


@get("/api/export/answers.csv", guards=[roles("admin", "manager")], sync_to_thread=True, tags=["exports"], media_type="text/csv",
     opt={"errors": {404: "No such region or location", 422: "A day that is not YYYY-MM-DD, or from after to"}})
def answers_csv(request: Request, state: State, region: Region = None, location: Location = None, touchpoint: Touchpoint = None,
                from_: From = None, to: To = None) -> Stream:
    """One row per answer: the audit, the item and its section, the value, its points, comment and photo count."""
    found = Filters(request.user, region, location, touchpoint, from_, to, state.readers.get())
    return answers_stream(state, found.where, found.params, "answers.csv")


def answers_stream(state: State, where: list[str], params: list, filename: str) -> Stream:
    """The answers of the audits that `where` picks (audits `a`, locations `l`) as the answers export."""
    sections = _sections(state.catalog, state.readers.get())
    sql = f"""SELECT a.id, x.item, a.brand, a.checklist, a.version, x.value, x.f, x.earned, x.possible, x.comment, json_array_length(x.photos)
              FROM audits a JOIN locations l ON l.id = a.location JOIN answers x ON x.audit = a.seq
              WHERE {' AND '.join(where) or 'true'} ORDER BY a.seq, x.item"""

    def shape(row):
        audit, item, brand, checklist, version, value, f, earned, possible, comment, photos = row
        answer = None if value is None else msgspec.json.decode(value)  # stored as JSON: "yes", 4, 2.5
        return [audit, item, sections.get((brand, checklist, version), {}).get(item, ""), answer, f, earned, possible, comment, photos]

    return _attachment(filename, _rows_as_csv(state.settings.database, ANSWER_COLUMNS, sql, params, shape))
