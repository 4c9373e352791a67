"""The CSV exports' routes: filtered and scoped like the pages (export.Filters), streamed (export.Export)."""

import datetime as dt
from typing import Annotated

from server.db import Database
from litestar import Request, get
from litestar.datastructures import State
from litestar.params import QueryParameter
from litestar.response import Stream

from server.visibility import Viewer
from server.auth import roles
from server.reports.export import Filters, answers_stream, audits_stream

Region = Annotated[str | None, QueryParameter(description="a region id")]
Location = Annotated[str | None, QueryParameter(description="a location id")]
Touchpoint = Annotated[str | None, QueryParameter(description="a checklist (touchpoint) id")]
From = Annotated[dt.date | None, QueryParameter(name="from", description="first day, inclusive (YYYY-MM-DD)")]
TOO_MANY = "The caller already has TOUCHPOINT_HEAVY_PER_PERSON heavy requests (exports, PDFs, heavy pages) running: wait the seconds in Retry-After"
To = Annotated[dt.date | None, QueryParameter(description="last day, inclusive (YYYY-MM-DD)")]


@get("/api/export/audits.csv", guards=[roles("admin", "manager")], sync_to_thread=True, tags=["exports"], media_type="text/csv",
     opt={"errors": {404: "No such region or location", 422: "A day that is not YYYY-MM-DD, or from after to", 429: TOO_MANY}, "standby": True})
def audits_csv(request: Request, state: State, db: Database, viewer: Viewer, region: Region = None, location: Location = None, touchpoint: Touchpoint = None,
               from_: From = None, to: To = None) -> Stream:
    """One row per audit, newest first, with each pillar's score; filtered and scoped like the pages."""
    found = Filters(request.user, region, location, touchpoint, from_, to, db)
    return audits_stream(request, state, viewer, found.where, found.params, found.filename("audits"))


@get("/api/export/answers.csv", guards=[roles("admin", "manager")], sync_to_thread=True, tags=["exports"], media_type="text/csv",
     opt={"errors": {404: "No such region or location", 422: "A day that is not YYYY-MM-DD, or from after to", 429: TOO_MANY}, "standby": True})
def answers_csv(request: Request, state: State, db: Database, region: Region = None, location: Location = None, touchpoint: Touchpoint = None,
                from_: From = None, to: To = None) -> Stream:
    """One row per answer: the audit, the item and its section, the value, its points, comment and photo count."""
    found = Filters(request.user, region, location, touchpoint, from_, to, db)
    return answers_stream(request, state, db, found.where, found.params, found.filename("answers"))


HANDLERS = [audits_csv, answers_csv]
