"""No new SQL that PostgreSQL refuses (issue 28). tests/sql_refused.txt lists the shapes PostgreSQL 15
refuses today, of those the suite sends (the census, tests/bench/sql_census.py) and those written
whole in server/; this test holds that list as a ratchet: it may only shrink.

Static, to be cheap enough for the fast lane (about a second once the cluster runs): it reads every
statement written whole in server/ with `ast` (a string constant that starts like one; the migration
steps left out, PostgreSQL starts at the head) and PREPAREs its shape on a database at the head
schema. A refused one not in the file fails, named with its place and reason. An entry of the file
PostgreSQL now takes fails too (take it out), and so does one marked as written whole that no
string of server/ holds any more. What it cannot see: a statement an f-string composes (50 places
today) or a library sends; those only a census run of the suite checks
(`sql_census.py <census> --check tests/sql_refused.txt`), and their entries are marked "(census)"."""

import psycopg

from server.sqlcensus import shape
from tests.bench.sql_census import RATCHET, literals, read_ratchet, refusal


def test_no_statement_postgresql_refuses_is_added_and_the_list_only_shrinks(postgres_head_url):
    whole, composed = literals()
    ratchet = read_ratchet()
    with psycopg.connect(postgres_head_url, autocommit=True) as conn:
        verdicts = {sql: refusal(conn, sql) for sql in sorted(set(whole) | set(ratchet))}
    new = [f"{', '.join(sorted(whole[sql]))}: {verdicts[sql]}\n    {sql}" for sql in sorted(whole) if verdicts[sql] and sql not in ratchet]
    assert not new, (f"{len(new)} statement(s) PostgreSQL refuses, not in {RATCHET.name}: write them in the house dialect "
                     f"both engines take (or, for one only SQLite can mean, keep it in the engine seam):\n" + "\n".join(new))
    taken = [sql for sql in ratchet if not verdicts[sql]]
    assert not taken, f"PostgreSQL now takes these: take them out of tests/{RATCHET.name}:\n" + "\n".join(taken)
    gone = [sql for sql, census_only in ratchet.items() if not census_only and sql not in whole]
    assert not gone, f"no string of server/ holds these any more: take them out of tests/{RATCHET.name}:\n" + "\n".join(gone)
    assert len(whole) > 250 and composed  # the reading found the statements (268 whole, 50 composed when written)


def test_a_refused_statement_is_told_from_a_taken_one_with_its_reason(postgres_head_url):
    with psycopg.connect(postgres_head_url, autocommit=True) as conn:
        assert refusal(conn, "SELECT id FROM audits WHERE location = ? AND day >= ?") is None
        assert refusal(conn, 'SELECT region FROM user_regions WHERE "person" = ?') is None
        # a ? that was a number: typed from its context it would be text, which a bigint column refuses
        assert refusal(conn, "INSERT INTO item_days (day, brand, checklist, item, applicable, failed, cost) "
                             "SELECT ?, ?, ?, item, ?, CASE WHEN f < ? THEN ? ELSE ? END, ? FROM answers") is None
        assert refusal(conn, "SAVEPOINT sqlite_utils_?") is None
        assert refusal(conn, "INSERT OR IGNORE INTO rollup_keys VALUES (?, ?, ?)").startswith("INSERT OR IGNORE")
        assert refusal(conn, "SELECT key, value FROM json_each(?, ?)").startswith("json_each(): no such function")
        assert refusal(conn, "DELETE FROM login_failures WHERE rowid = ?").startswith("rowid")
        # taken by PostgreSQL, and wrong there: a bare user is CURRENT_USER
        assert refusal(conn, "SELECT id FROM users WHERE name = user").startswith("`user` unquoted")
        assert refusal(conn, "SELECT SUM(promise_kept = ?) FROM audits").startswith("a boolean used as a number")
        assert refusal(conn, "INSERT INTO generations (name, n) VALUES (?, ?) ON CONFLICT DO UPDATE SET n = excluded.n") \
            .startswith("ON CONFLICT without a target")
        # SQLite's side of the seams: server/db.py sends these only to SQLite; server/dialect.py's
        # fragments are asked as it writes them for PostgreSQL
        assert refusal(conn, "BEGIN IMMEDIATE") is None and refusal(conn, "PRAGMA foreign_keys=?") is None
        assert refusal(conn, "SELECT group_concat(region, char(?)) FROM user_regions") is None
        assert refusal(conn, "SELECT region, group_concat(person, char(?)) FROM user_regions GROUP BY person").startswith("a column neither grouped")


def test_a_shape_takes_out_every_literal_and_parameter():
    """What the census dedupes by: the same statement with other values is one shape."""
    assert shape("SELECT * FROM t WHERE a = 'it''s' AND b IN (1, 2,3) AND c IS NULL AND d = NULL -- why\n  LIMIT 50;") \
        == "SELECT * FROM t WHERE a = ? AND b IN (?) AND c IS NULL AND d = ? LIMIT ?"
    assert shape("INSERT INTO t VALUES (1, -2.5, X'00ff'), (3, 4e-05, NULL)") == "INSERT INTO t VALUES (?, ?, ?)"
    assert shape('UPDATE t SET x = x-1, y = n + -3 WHERE "user" = :u AND t1.c2 = ?') == 'UPDATE t SET x = x-?, y = n + ? WHERE "user" = ? AND t1.c2 = ?'
    assert shape("RELEASE SAVEPOINT sqlite_utils_a34c3c639ef99e8b07ee0337ab6c4f8c") == "RELEASE SAVEPOINT sqlite_utils_?"
    # a place in GROUP BY / ORDER BY names a column: as a ? it would be a constant, which PostgreSQL groups apart
    assert shape("SELECT kind, count(*) FROM flags WHERE n > 2 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5") \
        == "SELECT kind, count(*) FROM flags WHERE n > ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?"


# a statement around each of server/dialect.py's fragments, with arguments such as the server gives
DIALECT_USES = {
    "joined": lambda d: f"SELECT {d.joined('region')}, {d.joined('person', comma=True)} FROM user_regions",
    "json_list": lambda d: f"SELECT {d.json_list('id')} FROM photos",
    "json_length": lambda d: f"SELECT {d.json_length('photos')}, {d.json_length('result', 'items')} FROM answers, audits",
    "json_strings": lambda d: f"SELECT p.value FROM answers an, {d.json_strings('an.photos', 'p')} WHERE an.item = ?",
    "starts_numeric": lambda d: f"SELECT item FROM answers WHERE {d.starts_numeric('value')}",
    "contains": lambda d: f"SELECT id FROM deliveries WHERE {d.contains('body', '?')}",
    "indexed_by": lambda d: f"SELECT count(*) FROM audits {d.indexed_by('audits_location_day')} WHERE location = ?",
    "ordered_join": lambda d: f"SELECT m.n FROM locations l {d.ordered_join} rollup_months m ON m.location = l.id",
}


def test_the_census_asks_each_dialect_fragment_as_postgresql_is_sent_it(postgres_head_url):
    """A census on SQLite sees server/dialect.py's SQLite side; the checker rewrites it to the
    PostgreSQL side. Each fragment written both ways: the rewrite of SQLite's is PostgreSQL's, which
    PostgreSQL takes while SQLite's it refuses. A new fragment without its rewrite fails here."""
    from server import dialect
    from tests.bench.sql_census import as_postgres

    methods = {name for name in vars(dialect.Dialect) if not name.startswith("_") and callable(getattr(dialect.Dialect, name))}
    assert methods | {"ordered_join"} == set(DIALECT_USES), "a Dialect method without its rewrite in tests/bench/sql_census.py as_postgres()"
    with psycopg.connect(postgres_head_url, autocommit=True) as conn:
        for name, use in DIALECT_USES.items():
            sqlite, postgres = shape(use(dialect.SQLITE)), shape(use(dialect.POSTGRESQL))
            assert as_postgres(sqlite) == postgres, name
            assert refusal(conn, postgres) is None, name
            assert sqlite == postgres or as_postgres(sqlite) != sqlite, name
