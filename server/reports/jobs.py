"""The heavy pages' figures, computed in a report worker process (server/workers.py) instead of the
server's: the whole brand's Pareto and a region's, whose cost grows with the period (measured in
tests/bench/bench_heavy.py: 400 ms and 100 ms of CPU over the longest period). A worker keeps a connection and a catalog of its own, the catalog brought up to what is
published before each job (one small read), so what crosses is plain data: the database's path,
the scope, the period; what comes back is the page's Struct."""

import sqlite_utils

from server.checklists import versions
from server.checklists.catalog import Catalog
from server.reports.figures import ItemsPage, items_page
from server.reports.periods import Period
from server.workers import connection

_catalogs: dict[str, Catalog] = {}  # in a worker: the database's path -> what it has published


def _catalog(database: str) -> tuple[sqlite_utils.Database, Catalog]:
    db = connection(database)
    if database not in _catalogs:
        catalog = Catalog(versions.current(db))
        catalog.generation = versions.generation(db)
        _catalogs[database] = catalog
    catalog = _catalogs[database]
    catalog.refresh(lambda: db, now=True)  # a publish in any process is seen by the next job
    return db, catalog


def items(database: str, regions: list[str] | None, scope: str, period: Period) -> ItemsPage:
    """figures.items_page in a worker."""
    db, catalog = _catalog(database)
    return items_page(db, catalog, regions, scope, period)
