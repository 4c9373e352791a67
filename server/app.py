"""create_app(settings) -> Litestar: the one place where the server is wired together."""

import asyncio
import logging

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.logging.config import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router
from litestar.openapi.spec import Components, SecurityScheme

from server import network, shell
from server.manage import export
from server.manage import routes as manage
from server.api import audits, catalog, photos, places, session
from server.program import api as program
from server.followup import api as followup
from server.campaigns import api as campaign_api
from server.campaigns import pages as campaign_pages
from server.campaigns.participants import JoinLimiter
from server.followup import egress
from server.followup.webhooks import Sender
from server.auth import AuthMiddleware, guard_writes
from server.catalog import Catalog
from server.db import Readers
from server.errors import render
from server.ingest import Writer
from server.memo import Recent
from server.openapi import document_errors
from server.photos import storage
from server.migrations import open_database
from server.security import REDOC, LocalRedoc, add_headers
from server.settings import Settings

HANDLERS = [
    session.login, session.logout, session.me, session.health,
    catalog.brands, catalog.checklists, catalog.checklist,
    places.region_list, places.location_list, places.location_get, places.location_import,
    places.location_summary, places.region_summary,
    audits.submit, audits.audit_get, audits.audit_list,
    export.audits_csv, export.answers_csv,
    *program.HANDLERS,
    *followup.HANDLERS,
    campaign_api.my_campaign,
]


log = logging.getLogger("touchpoint")

viewer_files = create_static_files_router(path="/schema/redoc", directories=[REDOC], name="api-viewer", include_in_schema=False)


PRUNE_EVERY_SECONDS = 3600


async def _prune_photos(settings: Settings, readers: Readers) -> None:
    """Every hour (and at start): delete photos of audits that never arrived (storage.prune)."""
    while True:
        try:
            done = await asyncio.to_thread(lambda: storage.prune(readers.get(), settings.photos, settings.orphan_photo_days))
            if done.photos or done.strays:
                log.info("deleted %d photos of audits that never arrived (%d files) and %d image files nothing referenced", done.photos, done.files, done.strays)
        except Exception:  # a locked database now is no reason to stop trying later
            log.exception("pruning orphaned photos failed; trying again in an hour")
        await asyncio.sleep(PRUNE_EVERY_SECONDS)


def create_app(settings: Settings) -> Litestar:
    """Migrate the database, load the brands (refusing to start on a bad checklist) and wire the app."""
    db = open_database(settings.database)
    try:
        loaded = Catalog.load(db, settings.checklists)
    finally:
        db.conn.close()
    readers = Readers(settings.database)
    writer = Writer(settings.database)
    photo_workers = photos.PhotoWorkers(memory_bytes=settings.photo_worker_mb * 2**20)
    sender = Sender(settings.database, settings.webhook_retry_seconds, settings.webhook_poll_seconds, settings.webhook_attempts,
                    settings.webhook_timeout_seconds, egress.networks(settings.webhook_allow_networks))

    housekeeping: list[asyncio.Task] = []

    async def start(app: Litestar) -> None:
        document_errors(app)
        if left := storage.remove_partial(settings.photos):
            log.warning("deleted %d image files a crash left half-written", left)
        housekeeping.append(asyncio.create_task(_prune_photos(settings, readers)))
        sender.start()

    async def close() -> None:
        for task in housekeeping:
            task.cancel()
        writer.close()
        sender.stop()
        photo_workers.close()
        readers.close()

    return Litestar(
        route_handlers=[*HANDLERS, *photos.routes(settings), *manage.routes(), *campaign_pages.routes(), *shell.routes(), viewer_files],
        template_config=manage.TEMPLATES,
        state=State({
            "settings": settings, "catalog": loaded, "readers": readers, "writer": writer, "photo_workers": photo_workers, "webhook_sender": sender,
            # where locations are, read on every audit; another process's change shows within 30 s
            "places": Recent(30),
            "join_limiter": JoinLimiter(settings.joins_per_minute),
        }),
        middleware=[network.body_deadline(settings.body_seconds), DefineMiddleware(AuthMiddleware, exclude=["^/schema"])],
        exception_handlers={Exception: render},
        before_request=guard_writes,
        before_send=[add_headers],
        # JSON and the app's files; photos are JPEGs already
        compression_config=CompressionConfig(backend="gzip", gzip_compress_level=9, exclude="^/(api/photos|icons)/"),
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
