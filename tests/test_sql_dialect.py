"""No new SQL that PostgreSQL refuses (issue 28). tests/sql_refused.txt lists the shapes PostgreSQL 15
refuses today, of those the suite sends (the census, tests/bench/sql_census.py) and those written
whole in server/; this test holds that list as a ratchet: it may only shrink.

Static, to be cheap enough for the fast lane (about a second once the cluster runs): it reads every
statement written whole in server/ with `ast` (a string constant that starts like one; the migration
steps left out, PostgreSQL starts at the head) and PREPAREs its shape on a database at the head
schema. A refused one not in the file fails, named with its place and reason. An entry of the file
PostgreSQL now takes fails too (take it out), and so does one marked as written whole that no
string of server/ holds any more. What it cannot see: a statement an f-string composes (40 places
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
    assert len(whole) > 250 and composed  # the reading found the statements (273 whole, 40 composed when written)


def test_a_refused_statement_is_told_from_a_taken_one_with_its_reason(postgres_head_url):
    with psycopg.connect(postgres_head_url, autocommit=True) as conn:
        assert refusal(conn, "SELECT id FROM audits WHERE location = ? AND day >= ?") is None
        assert refusal(conn, 'SELECT region FROM user_regions WHERE "user" = ?') is None
        assert refusal(conn, "SAVEPOINT sqlite_utils_?") is None
        assert refusal(conn, "INSERT OR IGNORE INTO rollup_keys VALUES (?, ?, ?)").startswith("INSERT OR IGNORE")
        assert refusal(conn, "SELECT key, value FROM json_each(?, ?)").startswith("json_each(): no such function")
        assert refusal(conn, "DELETE FROM login_failures WHERE rowid = ?").startswith("rowid")
        # taken by PostgreSQL, and wrong there: a bare user is CURRENT_USER
        assert refusal(conn, "SELECT region FROM user_regions WHERE user = ?").startswith("`user` unquoted")
        assert refusal(conn, "SELECT SUM(promise_kept = ?) FROM audits").startswith("a boolean used as a number")
        assert refusal(conn, "INSERT INTO generations (name, n) VALUES (?, ?) ON CONFLICT DO UPDATE SET n = excluded.n") \
            .startswith("ON CONFLICT without a target")
        assert refusal(conn, "BEGIN IMMEDIATE").startswith("BEGIN IMMEDIATE")
        assert refusal(conn, "PRAGMA foreign_keys=?").startswith("PRAGMA")


def test_a_shape_takes_out_every_literal_and_parameter():
    """What the census dedupes by: the same statement with other values is one shape."""
    assert shape("SELECT * FROM t WHERE a = 'it''s' AND b IN (1, 2,3) AND c IS NULL AND d = NULL -- why\n  LIMIT 50;") \
        == "SELECT * FROM t WHERE a = ? AND b IN (?) AND c IS NULL AND d = ? LIMIT ?"
    assert shape("INSERT INTO t VALUES (1, -2.5, X'00ff'), (3, 4e-05, NULL)") == "INSERT INTO t VALUES (?, ?, ?)"
    assert shape('UPDATE t SET x = x-1, y = n + -3 WHERE "user" = :u AND t1.c2 = ?') == 'UPDATE t SET x = x-?, y = n + ? WHERE "user" = ? AND t1.c2 = ?'
    assert shape("RELEASE SAVEPOINT sqlite_utils_a34c3c639ef99e8b07ee0337ab6c4f8c") == "RELEASE SAVEPOINT sqlite_utils_?"
