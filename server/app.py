"""create_app(settings) -> Litestar: the one place where the server is wired together."""

import asyncio
import datetime as dt
import logging
import os
from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path

from server.db import Database

from litestar import Litestar, Request
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging.config import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router
from litestar.openapi.spec import Components, SecurityScheme

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from server import leases, network, shell
from server.accounts import api as accounts_api, pages as accounts_pages
from server.audits import api as audits_api
from server.audits.ingest import SharedWriter, Writer
from server.auth import AuthMiddleware, guard_writes, provide_viewer
from server.campaigns import api as campaigns_api, pages as campaigns_pages
from server.checklists import api as checklists_api, pages as checklists_pages
from server.checklists.catalog import Catalog
from server.db import Readers
from server.housekeeping import Housekeeper
from server.error_handler import render
from server.followup import api as followup_api, egress, pages as followup_pages
from server.followup.webhooks import Webhooks
from server.mail import api as mail_api, pages as mail_pages
from server.mail.smtp import Mails
from server.locations import api as locations_api, pages as locations_pages
from server.locations.locations import PLACES
from server.memo import Recent
from server.migrations import open_database
from server.outbox import Sender
from server.openapi import document_errors
from server.people import api as people_api, pages as people_pages
from server.photos import api as photos_api, storage, workers
from server.photos.store import photo_store
from server.program import api as program_api, pages as program_pages
from server.reports import api as reports_api, charts, pages as reports_pages
from server.reports.periods import PRESETS
from server.reports.report import taken
from server.security import REDOC, LocalRedoc, add_headers
from server.settings import Settings
from server.standby import Standby, after_writes, mark
from server.workers import Pool

HERE = Path(__file__).parent


def routes(settings: Settings) -> list:
    """Every route the server answers, domain by domain: JSON under /api, pages under /manage, the app at /."""
    return [
        *accounts_api.HANDLERS, *accounts_pages.HANDLERS,
        *checklists_api.HANDLERS, *checklists_pages.HANDLERS,
        *locations_api.HANDLERS, *locations_pages.HANDLERS,
        *audits_api.HANDLERS,
        *photos_api.routes(settings),
        *reports_api.HANDLERS, *reports_pages.HANDLERS,
        *program_api.HANDLERS, *program_pages.HANDLERS,
        *followup_api.HANDLERS, *followup_pages.HANDLERS,
        *campaigns_api.HANDLERS, *campaigns_pages.HANDLERS,
        *mail_api.HANDLERS, *mail_pages.HANDLERS,
        *people_api.HANDLERS, *people_pages.HANDLERS,
        *shell.routes(),
        create_static_files_router(path="/manage/static", directories=[HERE / "static"], name="manage-static", include_in_schema=False,
                                   opt={"exclude_from_auth": True}),
        create_static_files_router(path="/schema/redoc", directories=[REDOC], name="api-viewer", include_in_schema=False),
    ]


def _fresh_catalog(app: ASGIApp) -> ASGIApp:
    """Every request sees what is published: a publish in any process reaches this one within
    catalog.CHECK_SECONDS (the check itself is one small read, at most that often). A middleware,
    so that no route's own before_request can leave it out."""

    async def fresh(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            state = scope["app"].state
            state.catalog.refresh(state.readers.get)
        await app(scope, receive, send)

    return fresh


async def _lease_db(request: Request) -> AsyncIterator[Database]:
    """The request's connection. An async generator, though nothing in it waits: Litestar runs a
    plain generator's cleanup in a thread, a round trip per request; and `request.app.state`, not a
    `state` parameter, which Litestar copies for each request. A figures read (a GET of a route
    marked opt={"standby": True}) gets the standby's when there is one that may answer it (server/standby.py)."""
    state = request.app.state
    lease = state.readers.lease()
    try:
        db = next(lease)
        if state.standby is None or request.method not in ("GET", "HEAD") or not request.route_handler.opt.get("standby"):
            yield db
            return
        with ExitStack() as held:
            read = await asyncio.to_thread(_standby_for, state.standby, db, request.user.id, held)
            if read is not None:
                request.state.standby = state.standby.url  # an export's worker reads there too (standby.reads_from)
            yield read or db
    finally:
        lease.close()  # back in the pool


def _standby_for(standby: Standby, primary: Database, person: int, held: ExitStack) -> Database | None:
    """The standby's connection for this person's figures read, held until the request ends; or
    None (read the primary's): it must have replayed the person's last write (read your writes),
    and be up and near enough."""
    return held.enter_context(standby.lease(mark(primary, person)))


def _template_globals(engine: JinjaTemplateEngine) -> None:
    engine.engine.globals.update(presets=PRESETS, colour=charts.colour, ink=charts.ink, legend=charts.LEGEND, Plot=charts.Plot, taken=taken,
                                 plain=reports_pages.plain)
    engine.engine.filters["long_day"] = lambda day: dt.date.fromisoformat(day).strftime("%-d %B %Y")


# one folder: shared layouts at its top, each domain's pages under templates/<domain>/
TEMPLATES = TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_template_globals)


log = logging.getLogger("touchpoint")

def prepare(settings: Settings) -> Catalog:
    """Migrate the database and apply the checklists folder (refusing a bad checklist): what
    `serve` does once before it starts its server processes, and each process again (finding
    nothing left to do when another did it)."""
    photo_store(settings).check()  # a missing bucket or a wrong endpoint stops the start, saying which setting
    db = open_database(settings.store)
    try:
        loaded = Catalog.load(db, settings.checklists)
        for refused in loaded.applied.refused:
            log.warning("%s/%s: not applied, the published version is kept", settings.checklists, refused)
        return loaded
    finally:
        db.conn.close()


def from_environment() -> Litestar:
    """The app of one of `serve --workers N`'s processes: its settings come from TOUCHPOINT_* variables."""
    return create_app(Settings.from_env())


def create_app(settings: Settings) -> Litestar:
    """Migrate the database, load the brands (refusing to start on a bad checklist) and wire the app."""
    loaded = prepare(settings)
    readers = Readers(settings.store)
    standby = Standby(settings.read_database_url, settings.read_lag_seconds) if settings.read_database_url else None  # the figures' reads
    writer = (SharedWriter if os.environ.get("TOUCHPOINT_BENCH_WRITER") == "shared" else Writer)(settings.store)
    photo_workers = workers.PhotoWorkers(memory_bytes=settings.photo_worker_mb * 2**20)
    # heavy reports off the request path, below the server's priority: PDFs and long pages' figures; CSV exports
    report_workers = Pool("report", settings.report_workers, nice=10)
    export_workers = Pool("export", settings.export_workers, nice=10)
    # one sender for what the server owes the outside: webhook deliveries, and mail when an SMTP server is set
    kinds = [Webhooks(settings.webhook_retry_seconds, settings.webhook_attempts, settings.webhook_timeout_seconds,
                      egress.networks(settings.webhook_allow_networks))]
    if settings.smtp is not None:
        kinds.append(Mails(settings.smtp, settings.mail_from, settings.webhook_retry_seconds, settings.webhook_attempts, settings.webhook_timeout_seconds))
    sender = Sender(settings.store, kinds, settings.webhook_poll_seconds)

    housekeeper = Housekeeper(settings)  # heartbeat and the scheduled jobs (the photo prune), once in the installation

    async def start(app: Litestar) -> None:
        document_errors(app)
        if left := storage.remove_partial(photo_store(settings)):
            log.warning("deleted %d image files a crash left half-written", left)
        housekeeper.start()
        sender.start()

    async def close() -> None:
        await asyncio.to_thread(housekeeper.stop)
        writer.close()
        sender.stop()
        photo_workers.close()
        report_workers.close()
        export_workers.close()
        readers.close()
        if standby is not None:
            standby.close()

    return Litestar(
        route_handlers=routes(settings),
        template_config=TEMPLATES,
        state=State({
            "settings": settings, "photos": photo_store(settings), "catalog": loaded, "readers": readers, "standby": standby, "writer": writer, "photo_workers": photo_workers, "sender": sender,
            "report_workers": report_workers, "export_workers": export_workers,
            # where locations are, read on every audit; forgotten when a location changes in any process
            # (seen within places_changed's 0.5 s), and each entry after 30 s in any case
            "places": Recent(30), "places_changed": leases.Generation(PLACES),
        }),
        middleware=[network.body_deadline(settings.body_seconds), _fresh_catalog, DefineMiddleware(AuthMiddleware, exclude=["^/schema"])],
        exception_handlers={Exception: render},
        # every handler may ask for `db` (a connection of the request's own) and `viewer` (who asks, and what they may see)
        dependencies={"db": Provide(_lease_db), "viewer": Provide(provide_viewer, sync_to_thread=False)},
        guards=[guard_writes],  # app-level guards run for every route, before its own: the write guard, once
        before_send=[add_headers, after_writes],
        # JSON and the app's files; photos are JPEGs already; exports are gzipped in their worker (server/reports/csvrows.py)
        compression_config=CompressionConfig(backend="gzip", gzip_compress_level=9, exclude=["^/(api/photos|icons)/", "^/api/export/", r"\.csv$"]),
        on_startup=[start],
        on_shutdown=[close],
        openapi_config=OpenAPIConfig(
            title="Touchpoint",
            version="0.1.0",
            description="Mystery-shopping audits scored against a brand promise.",
            components=Components(security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", description="touchpoint token add NAME"),
                "session": SecurityScheme(type="apiKey", name="tp_session", security_scheme_in="cookie", description="POST /api/login"),
            }),
            security=[{"bearer": []}, {"session": []}],
            path="/schema",
            render_plugins=[LocalRedoc()],
        ),
        # warnings and errors only: a library's informational lines (httpx's one per webhook request, fontTools' per
        # subset font) would bury what the server's operator needs to see, such as the demo's passwords
        logging_config=LoggingConfig(root={"handlers": ["queue_listener"], "level": "WARNING"},
                                     loggers={"litestar": {"level": "WARNING", "handlers": ["queue_listener"], "propagate": False}}),
        debug=False,
    )
