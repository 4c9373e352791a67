"""The same schema on both engines: an empty SQLite migrated to the head (server/migrations.py) and an
empty PostgreSQL given the head schema (server/pgschema.py) hold the same tables, columns (name, type
family, nullability, default, generated key), primary, foreign and unique keys, CHECKs and indexes,
read from each engine's own catalog (SQLite's pragma_* tables, PostgreSQL's information_schema and
pg_catalog), never from the schema text either was made from (except SQLite's CHECKs, which it keeps
in no catalog: they are counted in the CREATE TABLE it stores)."""

import re

import psycopg
import pytest

from server import pgschema
from server.migrations import open_database

# SQLite's type affinity (sqlite.org/datatype3.html 3.1) and PostgreSQL's types, as one family each
PG_FAMILY = {"bigint": "integer", "integer": "integer", "smallint": "integer", "text": "text", "double precision": "real",
             "real": "real", "bytea": "blob", "numeric": "numeric", "boolean": "boolean"}
FK_ACTION = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def sqlite_family(declared: str) -> str:
    upper = declared.upper()
    if "INT" in upper:
        return "integer"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if "BLOB" in upper or not upper:
        return "blob"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "real"
    return "numeric"


def checks_in(sql: str) -> int:
    """CHECK constraints of a CREATE TABLE text: its strings and comments taken out first."""
    bare = re.sub(r"'(?:[^']|'')*'|--[^\n]*", "''", sql)
    return len(re.findall(r"\bCHECK\s*\(", bare, re.IGNORECASE))


def sqlite_catalog(db) -> dict:
    q = lambda sql, *params: db.execute(sql, list(params)).fetchall()  # noqa: E731
    tables = [name for (name,) in q("""SELECT name FROM sqlite_master WHERE type = 'table'
                                       AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != '_sqlite_migrations'""")]
    catalog = {}
    for table in tables:
        info = q("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)", table)
        indexes = q("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)", table)
        primary = [name for name, _, _, _, pk in sorted(info, key=lambda row: row[4]) if pk]
        # a rowid alias: the one INTEGER primary key of a table with a rowid (then no index backs it)
        alias = len(primary) == 1 and next(t for n, t, *_ in info if n == primary[0]).upper() == "INTEGER" \
            and not any(origin == "pk" for _, _, origin, _ in indexes)
        columns = {name: {"family": sqlite_family(kind),
                          # SQLite lets NULL into a non-integer primary key of a rowid table (a kept legacy
                          # bug, sqlite.org/lang_createtable.html); the house never stores one: read as NOT NULL
                          "not null": bool(notnull or pk),
                          "default": default, "generated": alias and name == primary[0]}
                   for name, kind, notnull, default, pk in info}
        keys: dict[int, list] = {}
        for id_, _, target, source, to, on_update, on_delete in [row[:7] for row in q(
                "SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq", table)]:
            keys.setdefault(id_, [[], target, [], on_update, on_delete])
            keys[id_][0].append(source)
            keys[id_][2].append(to)
        index_columns = lambda name: tuple(c for (c,) in q("SELECT name FROM pragma_index_info(?) ORDER BY seqno", name))  # noqa: E731
        (sql,) = q("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", table)[0]
        catalog[table] = {
            "columns": columns,
            "primary key": tuple(primary),
            "foreign keys": sorted((tuple(s), t, tuple(to), d) for s, t, to, _, d in keys.values()),
            "on update": sorted(u for _, _, _, u, _ in keys.values()),
            "unique": sorted(index_columns(name) for name, _, origin, _ in indexes if origin == "u"),
            "checks": checks_in(sql),
            "indexes": sorted((name, index_columns(name), bool(unique), bool(partial))
                              for name, unique, origin, partial in indexes if origin == "c"),
            "triggers": sorted(name for (name,) in q("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", table)),
        }
    return catalog


def pg_default(default: str | None) -> str | None:
    """PostgreSQL writes a default with its cast ('open'::text): the value as SQLite writes it."""
    return None if default is None else re.sub(r"::[a-z ]+$", "", default)


def pg_catalog(conn) -> dict:
    q = lambda sql, *params: conn.execute(sql, params).fetchall()  # noqa: E731
    catalog = {}
    for (table,) in q("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"):
        columns = {name: {"family": PG_FAMILY[kind], "not null": nullable == "NO", "default": pg_default(default),
                          "generated": identity == "YES"}
                   for name, kind, nullable, default, identity in q(
                       """SELECT column_name, data_type, is_nullable, column_default, is_identity FROM information_schema.columns
                          WHERE table_schema = 'public' AND table_name = %s""", table)}
        constraints = q("""SELECT c.contype, c.conindid,
                                  ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
                                  f.relname,
                                  ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                                        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i),
                                  c.confupdtype, c.confdeltype
                           FROM pg_constraint c LEFT JOIN pg_class f ON f.oid = c.confrelid
                           WHERE c.conrelid = %s::regclass""", f'"{table}"')
        backing = {index for kind, index, *_ in constraints if kind in ("p", "u")}
        indexes = q("""SELECT i.indexrelid, x.relname, i.indisunique, i.indpred IS NOT NULL,
                              ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)
                       FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid WHERE i.indrelid = %s::regclass""", f'"{table}"')
        catalog[table] = {
            "columns": columns,
            "primary key": next((tuple(cols) for kind, _, cols, *_ in constraints if kind == "p"), ()),
            "foreign keys": sorted((tuple(cols), target, tuple(to), FK_ACTION[on_delete])
                                   for kind, _, cols, target, to, _, on_delete in constraints if kind == "f"),
            "on update": sorted(FK_ACTION[on_update] for kind, _, _, _, _, on_update, _ in constraints if kind == "f"),
            "unique": sorted(tuple(cols) for kind, _, cols, *_ in constraints if kind == "u"),
            "checks": sum(kind == "c" for kind, *_ in constraints),
            "indexes": sorted((name, tuple(cols), unique, partial) for oid, name, unique, partial, cols in indexes if oid not in backing),
            "triggers": sorted(name for (name,) in q("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", f'"{table}"')),
        }
    return catalog


def test_sqlite_and_postgresql_hold_the_same_schema_at_the_head(tmp_path, postgres_url):
    db = open_database(tmp_path / "touchpoint.db")
    sqlite = sqlite_catalog(db)
    db.conn.close()
    with psycopg.connect(postgres_url) as conn:
        conn.execute(pgschema.head_ddl())
        postgres = pg_catalog(conn)
    assert sorted(postgres) == sorted(sqlite)
    for table in sqlite:
        for part in sqlite[table]:
            assert postgres[table][part] == sqlite[table][part], f"{table}: {part} differ"
    # what was compared, counted in server/schema.sql (48 CREATE TABLE, 58 REFERENCES, 17 CHECK): something real
    assert len(sqlite) == 48
    assert sum(len(t["foreign keys"]) for t in sqlite.values()) == 58 and sum(t["checks"] for t in sqlite.values()) == 17
    assert sqlite["audits"]["indexes"] == sorted([
        ("audits_assignment", ("assignment",), False, True), ("audits_auditor_day", ("auditor", "day"), False, False),
        ("audits_campaign", ("campaign", "received_at"), False, True), ("audits_location_day", ("location", "day", "auditor", "status"), False, False),
        ("audits_returned", ("auditor",), False, True), ("audits_waiting", ("received_at",), False, True)])
    assert sqlite["users"]["checks"] == 2 and sqlite["flags"]["unique"] == [("audit", "kind", "subject")]
    assert sqlite["history"]["triggers"] == ["history_no_delete", "history_no_update"]
    assert sqlite["audits"]["columns"]["seq"]["generated"] and not sqlite["answers"]["columns"]["audit"]["generated"]


def test_the_postgresql_schema_keeps_the_rules_sqlite_keeps(postgres_head_url):
    """Behaviour, not only catalog: numbering, CHECKs, the append-only history, the photo index trigger."""
    with psycopg.connect(postgres_head_url, autocommit=True) as conn:
        run = conn.execute
        run("INSERT INTO regions (id, name) VALUES ('r1', 'North')")
        # a rowid alias numbers rows left without one, from 1, as SQLite does
        ids = [run("INSERT INTO webhooks (url, events, secret, created_at) VALUES ('http://x', '[]', 's', 'now') RETURNING id").fetchone()[0]
               for _ in range(2)]
        assert ids == [1, 2]
        # the person columns (step 0022 renamed them from `user`, a reserved word in PostgreSQL)
        run("INSERT INTO users (name, role, password_hash, created_at, code) VALUES ('ann', 'auditor', 'h', 'now', 'A1')")
        run("""INSERT INTO sessions (token_hash, person, csrf_token, created_at, expires_at) VALUES ('t', 1, 'c', 'now', 'later')""")
        with pytest.raises(psycopg.errors.CheckViolation):  # CHECK ((role = 'staff') = (location IS NOT NULL))
            run("INSERT INTO users (name, role, password_hash, created_at, code) VALUES ('sam', 'staff', 'h', 'now', 'S1')")
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            run("""INSERT INTO user_regions (person, region) VALUES (1, 'nowhere')""")
        run("INSERT INTO history (at, kind, subject, action) VALUES ('now', 'person', '1', 'added')")
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="the history is append-only"):
            run("DELETE FROM history")
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="the history is append-only"):
            run("UPDATE history SET note = 'x'")
        run("""INSERT INTO erasing (person) VALUES (1)""")  # while someone is being forgotten, the history may change
        assert run("UPDATE history SET note = 'erased'").rowcount == 1
        run("INSERT INTO photos (id, audit, uploader, upload_hash, file, width, height, phash, received_at) VALUES ('p1', 'a', 1, 'u', 'f', 1, 1, 'h', 'now')")
        run("INSERT INTO photo_bands (key, photo, audit, phash) VALUES (1, 'p1', 'a', 'h'), (2, 'p1', 'a', 'h')")
        run("DELETE FROM photos WHERE id = 'p1'")
        assert run("SELECT count(*) FROM photo_bands").fetchone()[0] == 0


def test_a_schema_the_rules_do_not_cover_stops_the_conversion_naming_it():
    with pytest.raises(pgschema.SchemaError, match=r"t\.at: the function datetime\(\) has no PostgreSQL spelling"):
        pgschema.to_postgres("CREATE TABLE t (id TEXT PRIMARY KEY, at TEXT DEFAULT (datetime('now')));")
    with pytest.raises(pgschema.SchemaError, match="this kind of statement has no rule"):
        pgschema.to_postgres("CREATE VIEW v AS SELECT 1;")


def test_the_rules_on_a_small_schema():
    made = pgschema.to_postgres("""
        CREATE TABLE a (id INTEGER PRIMARY KEY, user INTEGER REFERENCES b(id) ON DELETE CASCADE, f REAL, s BLOB,
                        ok INTEGER NOT NULL DEFAULT 0 CHECK (ok == 0 OR ok = 1)) ;
        CREATE TABLE b (id INTEGER NOT NULL, k TEXT, PRIMARY KEY (id)) WITHOUT ROWID;
        CREATE INDEX a_user ON a(user DESC) WHERE f IS NOT NULL;""")
    assert made.split("\n\n")[1:] == [
        'CREATE TABLE "a" (\n    "id" bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n    "user" bigint,\n'
        '    "f" double precision,\n    "s" bytea,\n    "ok" bigint NOT NULL DEFAULT 0 CHECK ("ok" = 0 OR "ok" = 1)\n);',
        'CREATE TABLE "b" (\n    "id" bigint NOT NULL,\n    "k" text,\n    PRIMARY KEY ("id")\n);',
        'CREATE INDEX "a_user" ON "a" ("user" DESC) WHERE "f" IS NOT NULL;',
        'ALTER TABLE "a" ADD FOREIGN KEY ("user") REFERENCES "b" ("id") ON DELETE CASCADE;\n']


def test_no_postgresql_fails_saying_how_to_install_it(tmp_path, monkeypatch):
    """Never a skip: the PostgreSQL tests are part of the suite, and their failure says what to do."""
    from tests.postgres import Cluster

    monkeypatch.setenv("TOUCHPOINT_PG_BIN", str(tmp_path))  # a folder without initdb
    with pytest.raises(RuntimeError, match=rf"found none \(no initdb and postgres in {re.escape(str(tmp_path))}\)\. On Debian or Ubuntu: `apt-get install postgresql`"):
        Cluster()
