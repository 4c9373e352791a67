"""What a test needs to be the same on both engines (issue 28): the error a refused write raises,
the run's engine, and the mark for the few tests about SQLite itself."""

import os
import sqlite3
from datetime import datetime

import psycopg
import pytest

IntegrityError = (sqlite3.IntegrityError, psycopg.IntegrityError)  # a constraint or an append-only trigger refusing a row

OLD_STEPS = "a SQLite file's old migration step run again; PostgreSQL starts at the head schema (server/pgschema.py)"


def on_postgresql() -> bool:
    """True when this run puts every test's server on PostgreSQL (TOUCHPOINT_TEST_DATABASE=postgresql)."""
    return os.environ.get("TOUCHPOINT_TEST_DATABASE") == "postgresql"


def sqlite_only(reason: str):
    """Mark a test about a thing of SQLite's that PostgreSQL does not have; `reason` says which."""
    return pytest.mark.skipif(on_postgresql(), reason=f"SQLite only: {reason}")


def days_between(earlier: str, later: str) -> float:
    """Days from one stored ISO time to another (as julianday(later) - julianday(earlier))."""
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds() / 86_400


def steps_recorded(store) -> list[tuple[str, int]]:
    """Each migration step the database at `store` (a Settings.store) records, with how many times:
    PostgreSQL's touchpoint_steps, SQLite's _sqlite_migrations (sqlite-utils')."""
    from server.db import connect, on_postgres
    from server.migrations import STEPS_TABLE

    db = connect(store)
    try:
        table = STEPS_TABLE if on_postgres(db) else "_sqlite_migrations"
        return db.execute(f"SELECT name, COUNT(*) FROM {table} GROUP BY name").fetchall()
    finally:
        db.conn.close()


def point_cli_at(monkeypatch, settings) -> None:
    """The command line run in this process (server.cli.main) on `settings`' data: its folder and,
    on PostgreSQL, its database (TOUCHPOINT_DATABASE_URL), as the test's server has them."""
    monkeypatch.setenv("TOUCHPOINT_DATA", str(settings.data))
    if settings.database_url:
        monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("TOUCHPOINT_DATABASE_URL", raising=False)


def every_row(db) -> str:
    """Every row of every table of the database `db` (a server.db connection), as text: what a
    search for a word "anywhere in the database" reads, on either engine (SQLite's iterdump has no
    PostgreSQL twin that needs no program outside)."""
    from server.db import on_postgres

    if on_postgres(db):
        tables = [name for (name,) in db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1")]
    else:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")]
    return "\n".join(f"{table}: {row!r}" for table in tables for row in db.execute(f'SELECT * FROM "{table}"').fetchall())
