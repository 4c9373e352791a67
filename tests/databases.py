"""The test run's migrated template database: every migration runs once a run, and each test that
needs a new database gets a copy of it (a copy takes a millisecond, migrating 30 to 100 ms, more in
a fresh process). Its own module, so conftest (imported by pytest as `conftest` and by the tests as
`tests.conftest`) and tests.live share one TEMPLATE."""

import shutil
from pathlib import Path

TEMPLATE: dict[str, Path] = {}  # "database": the run's template, set by conftest.template_database


def make_template(path: Path) -> Path:
    from server.migrations import open_database

    db = open_database(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()  # the last connection: the write-ahead log is folded in and removed, the file whole
    TEMPLATE["database"] = path
    return path


def copy_template(path: Path) -> bool:
    """Put a copy of the template at `path` if nothing is there yet; False when there is no template (outside a test run)."""
    if "database" not in TEMPLATE or path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(TEMPLATE["database"], path)
    return True


def migrated_database(path: Path):
    """The database at `path` with every migration run: a copy of the template when there is none
    there yet (open_database then finds nothing left to do), else opened as it is."""
    from server.migrations import open_database

    if isinstance(path, Path):
        copy_template(path)
    return open_database(path)
