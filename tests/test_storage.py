"""The database: created and migrated by the server itself, with the durability settings it needs."""

from server.db import write
from server.migrations import migrations, open_database


def test_the_database_is_created_and_migrated_once(tmp_path):
    path = tmp_path / "data" / "touchpoint.db"
    db = open_database(path)
    assert path.exists()
    applied = [row["name"] for row in db.query("SELECT name FROM _sqlite_migrations")]
    assert applied == [m.name for m in migrations._migrations]
    db.conn.close()
    again = open_database(path)
    assert [row["name"] for row in again.query("SELECT name FROM _sqlite_migrations")] == applied


def test_pragmas(tmp_path):
    db = open_database(tmp_path / "t.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000


def test_a_failed_write_leaves_nothing(tmp_path):
    db = open_database(tmp_path / "t.db")
    try:
        with write(db):
            db["regions"].insert({"id": "r1", "name": "R1"})
            raise RuntimeError("half-way")
    except RuntimeError:
        pass
    assert db.execute("SELECT COUNT(*) FROM regions").fetchone()[0] == 0
    assert not db.conn.in_transaction


def test_foreign_keys_are_enforced(tmp_path):
    import pytest

    from tests.engine import IntegrityError

    db = open_database(tmp_path / "t.db")
    with pytest.raises(IntegrityError):
        with write(db):
            db["locations"].insert({"id": "l1", "name": "L", "region": "nowhere", "brand": "nobody"})
