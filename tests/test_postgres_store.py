"""server/postgres.py: the server's calls answered by PostgreSQL as by SQLite, over the run's own
throwaway cluster (tests/postgres.py) at the head schema; and the placeholders' translation, read as
PostgreSQL's lexer reads a statement."""

import random
import threading

import pytest

from server.checklists.scoring import AuditResult
from server.db import connect, insert, write
from server.postgres import translate


def test_placeholders_become_psycopgs_outside_literals_names_comments_and_casts():
    t = translate("SELECT '?', \"a?b\", x::text, y FROM t -- what?\n WHERE a = ? AND b LIKE 'x%' AND c = ? /* :no */")
    assert t.text == "SELECT '?', \"a?b\", x::text, y FROM t -- what?\n WHERE a = %s AND b LIKE 'x%%' AND c = %s /* :no */"
    assert t.order is None and not t.named and t.bind([1, 2]) == [1, 2]
    numbered = translate("SELECT ?2, ?1, ?2, ?")  # a bare ? after ?2 is ?3, as SQLite numbers it
    assert numbered.text == "SELECT %s, %s, %s, %s" and numbered.order == (1, 0, 1, 2)
    assert numbered.bind(["a", "b", "c"]) == ["b", "a", "b", "c"]
    named = translate("UPDATE t SET a = :a WHERE id = :id AND note = 'it''s :not a name'")
    assert named.text == "UPDATE t SET a = %(a)s WHERE id = %(id)s AND note = 'it''s :not a name'" and named.named
    assert translate("SELECT 100 % 7").text == "SELECT 100 %% 7"
    assert translate("SELECT 1 WHERE a IN () AND b = 'IN ()'").text == "SELECT 1 WHERE a IN (SELECT NULL WHERE false) AND b = 'IN ()'"
    assert t.bind([True, None]) == [1, None] and named.bind({"a": False, "id": 3}) == {"a": 0, "id": 3}  # flags are integers on both
    with pytest.raises(ValueError, match="by name or by position"):
        translate("SELECT :a, ?")
    with pytest.raises(TypeError, match="as a dict"):
        named.bind([1, 2])


def test_a_url_made_a_path_is_refused_not_made_a_sqlite_file(tmp_path, monkeypatch):
    """Path("postgresql://...") is "postgresql:/...": opened as SQLite it would make a file of that
    name where the process stands (an export worker once did)."""
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="PostgreSQL URL was given as a file path"):
        connect(Path("postgresql://touchpoint@127.0.0.1:5432/touchpoint"))
    assert list(tmp_path.iterdir()) == []


def test_the_calls_the_server_makes_answer_as_on_sqlite(postgres_head_url):
    db = connect(postgres_head_url)
    try:
        assert db.engine == "postgresql" and not db.conn.in_transaction
        with write(db):
            assert db.conn.in_transaction
            insert(db, "regions", [{"id": "r1", "name": "North"}, {"id": "r2", "name": "South"}])
            made = db.execute("INSERT INTO webhooks (url, events, secret, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                              ["https://example.org/h", "[]", "s", "2026-12-07T10:00:00+00:00"]).fetchone()[0]
        assert not db.conn.in_transaction and isinstance(made, int)
        assert db.execute("SELECT name FROM regions WHERE id = ?", ["r2"]).fetchone() == ("South",)
        assert list(db.query("SELECT id, name FROM regions WHERE id = :id", {"id": "r1"})) == [{"id": "r1", "name": "North"}]
        with write(db):  # an upsert through insert(): the other columns take the new values
            insert(db, "regions", {"id": "r1", "name": "Nord"}, key=("id",), then="update")
            insert(db, "regions", {"id": "r2", "name": "ignored"}, key=("id",), then="nothing")
            assert db.execute("UPDATE regions SET name = name || '!' WHERE id IN (?, ?)", ["r1", "r2"]).rowcount == 2
        assert db.execute("SELECT id, name FROM regions ORDER BY id").fetchall() == [("r1", "Nord!"), ("r2", "South!")]
        # an empty list, as IN ({marks}) makes of no values: SQLite's meaning, nothing is in it
        assert db.execute("SELECT count(*) FROM regions WHERE id IN ()").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM regions WHERE id NOT IN ( )").fetchone() == (2,)
        with pytest.raises(RuntimeError), write(db):  # an error inside: nothing of the transaction stays
            db.execute("UPDATE regions SET name = 'gone' WHERE id = ?", ["r1"])
            raise RuntimeError("refused half-way")
        assert not db.conn.in_transaction and db.execute("SELECT name FROM regions WHERE id = 'r1'").fetchone() == ("Nord!",)
    finally:
        db.conn.close()


def test_eight_concurrent_writers_leave_no_wrong_rollup_row(postgres_head_url):
    """The cumulative daily rollups (server/audits/audits.py's own statements) written from 8
    connections at once, audits arriving out of day order: every day row equals a recount. Without
    write()'s lock PostgreSQL lets two writers read the same running total (the issue measured 68 of
    90 day rows wrong); with it, none."""
    db = connect(postgres_head_url)
    with write(db):
        insert(db, "brands", {"id": "b", "name": "B", "current_version": "v"})
        insert(db, "regions", {"id": "r", "name": "R"})
        insert(db, "locations", {"id": "l", "name": "L", "region": "r", "brand": "b"})
    db.conn.close()
    from server.audits.audits import _roll_up

    rnd = random.Random(28)
    days = [f"2026-11-{d:02d}" for d in range(1, 16)]
    work = [[(rnd.choice(days), rnd.randrange(0, 201) / 2, rnd.random() < 0.5) for _ in range(40)] for _ in range(8)]
    failures = []

    def writer(audits):
        mine = connect(postgres_head_url)
        try:
            for day, score, kept in audits:
                result = AuditResult(checklist="c", version="v", score=score, raw_score=score, sections={}, pillars={"p": score},
                                     critical_failed=[], promise_kept=kept, earned=0.0, possible=0.0, ignored=[], items={})
                with write(mine):
                    _roll_up(mine, "l", day, "counter", result)
        except Exception as exc:  # reported below, with the test's failure
            failures.append(exc)
        finally:
            mine.conn.close()

    threads = [threading.Thread(target=writer, args=(audits,)) for audits in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    every = [a for audits in work for a in audits]
    db = connect(postgres_head_url)
    try:
        rows = db.execute("SELECT kind, key, day, n, total, kept FROM rollups WHERE location = 'l' ORDER BY kind, key, day").fetchall()
        wrong = []
        for kind, key, day, n, total, kept in rows:
            upto = [a for a in every if a[0] <= day]  # the running totals up to and including the day
            if (n, total, kept) != (len(upto), sum(a[1] for a in upto), sum(a[2] for a in upto)):
                wrong.append((kind, key, day, n, total, kept))
        assert len(rows) == 2 * len({a[0] for a in every})  # a row per day with an audit, touchpoint and pillar
        assert wrong == []
        months = dict(((kind, n) for kind, n in db.execute("SELECT kind, n FROM rollup_months WHERE location = 'l' AND month = '2026-11'")))
        assert months == {"t": 320, "p": 320}
    finally:
        db.conn.close()


def test_a_new_postgresql_installation_starts_as_a_new_sqlite_one(postgres_url, tmp_path):
    """open_database on an empty PostgreSQL database: the head schema, every step recorded as done,
    and the same rows the steps leave in an empty SQLite file (HEAD_ROWS); opened again, nothing is
    made twice; a database holding other tables is refused, naming what to do."""
    from server.migrations import STEPS_TABLE, migrations, open_database

    sqlite = open_database(tmp_path / "touchpoint.db")
    tables = [name for (name,) in sqlite.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name != '_sqlite_migrations'")]
    expected = {t: sorted(sqlite.execute(f"SELECT * FROM {t}").fetchall()) for t in tables}
    sqlite.conn.close()
    assert {t: rows for t, rows in expected.items() if rows} == {"catalog_state": [(1, 0)]}
    for _ in range(2):
        db = open_database(postgres_url)
        try:
            assert {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall()) for t in tables} == expected
            assert [n for (n,) in db.execute(f"SELECT name FROM {STEPS_TABLE} ORDER BY name")] == sorted(m.name for m in migrations._migrations)
        finally:
            db.conn.close()
    other = postgres_url.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(other, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS someone_elses (id int)")
    with pytest.raises(RuntimeError, match="holds tables but no Touchpoint steps table"):
        open_database(other)
