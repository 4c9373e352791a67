"""Moving a SQLite installation into an empty PostgreSQL database: `touchpoint move-to-postgres`
(issue 28).

The source is read in one read transaction, a snapshot as of one moment, while this process holds
the data folder's serving lock alone (`server.db.quiet`): it refuses to start while a server serves
the folder, and a server started meanwhile waits for the move to end. The target is made at the
head (`migrations.open_database`) and must hold nothing but the rows a new database starts with.
Every table is copied in foreign-key order (a table after those it refers to) with COPY, in one
PostgreSQL transaction that also holds the installation's write lock: the target holds all of it or
nothing. Then every identity column's sequence is set past the largest id copied, so the next row
gets a new number, and both sides are compared table by table.

A table's checksum is worked out the same way on both engines, in Python, over the rows as each
engine returns them: each row's values normalised by their column's PostgreSQL type (NULL, an
integer, a float by its shortest repr, text as it is, JSON included, since both engines keep JSON
as text; bytes by their hex; a bool as 0 or 1, as SQLite stores flags), encoded, hashed with
SHA-256, and the hashes added up modulo 2^256. The sum does not depend on the order the rows come
in, so neither engine's collation of text keys matters.
"""

import hashlib
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

import msgspec
import psycopg
import sqlite_utils

from server import db as dbmod
from server import migrations

BATCH = 5_000  # rows read from SQLite at a time
PROGRESS_EVERY = 100_000  # a line per this many rows of a big table
SKIPPED = {"_sqlite_migrations"}  # sqlite-utils' record of the steps: PostgreSQL keeps its own (touchpoint_steps)


class MoveRefused(Exception):
    """The move did not start, or was rolled back: nothing was written to the target."""


class Compared(msgspec.Struct, frozen=True):
    table: str
    sqlite_rows: int
    postgres_rows: int
    sqlite_sum: str
    postgres_sum: str

    @property
    def equal(self) -> bool:
        return self.sqlite_rows == self.postgres_rows and self.sqlite_sum == self.postgres_sum


def move(database: Path, url: str, progress: Callable[[str], None] = print) -> list[Compared]:
    """Copy the SQLite database at `database` into the PostgreSQL database at `url` and compare
    the two; returns the comparison, one entry a table, in the order copied."""
    if not database.is_file():
        raise MoveRefused(f"no Touchpoint database at {database}")
    try:
        with dbmod.quiet(database):
            source = sqlite3.connect(database, isolation_level=None)
            try:
                _at_head(source, database)
                source.execute("BEGIN")  # one read transaction: every table as of one moment
                order = _copy_order(source)
                try:
                    target = migrations.open_database(url)  # the schema at the head, made if the database is empty
                except RuntimeError as exc:  # tables of something else
                    raise MoveRefused(str(exc)) from None
                try:
                    columns = _columns(target)
                    _same_tables(order, columns, source)
                    sums = _copy(source, target, order, columns, progress)
                    target.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")  # the target read as of one moment
                    return _compare(target, order, columns, sums)
                finally:
                    target.close()
            finally:
                source.close()
    except dbmod.Serving as exc:
        raise MoveRefused(f"{exc}: what it wrote after the copy would be left behind") from None
    except psycopg.OperationalError as exc:
        raise MoveRefused(f"cannot reach the PostgreSQL database {url.rsplit('@', 1)[-1]}: {str(exc).strip()}") from None


def _at_head(source: sqlite3.Connection, database: Path) -> None:
    try:
        pending = migrations.migrations.pending(sqlite_utils.Database(source))
    except sqlite3.DatabaseError as exc:
        raise MoveRefused(f"{database} is not a Touchpoint database ({exc})") from None
    if pending:
        raise MoveRefused(f"{database} is {len(pending)} schema step{'s' if len(pending) != 1 else ''} behind this Touchpoint "
                          f"(first: {pending[0].name}): start the server on it once (touchpoint serve), which migrates it, "
                          "stop it, and move it then")


def _copy_order(source: sqlite3.Connection) -> list[str]:
    """The tables, each after every table it refers to (A to Z among those free to go next)."""
    tables = sorted(name for schema, name, kind, *_ in source.execute("PRAGMA table_list")
                    if schema == "main" and kind == "table" and not name.startswith("sqlite_") and name not in SKIPPED)
    refers = {t: {row[2] for row in source.execute(f'PRAGMA foreign_key_list("{t}")')} - {t} for t in tables}
    order: list[str] = []
    while len(order) < len(tables):
        ready = [t for t in tables if t not in order and refers[t] <= set(order)]
        if not ready:
            raise MoveRefused(f"the tables' foreign keys go round in a circle: {sorted(set(tables) - set(order))}")
        order.extend(ready[:1])
    return order


def _columns(target) -> dict[str, list[tuple[str, str]]]:
    """Each table of the target: its columns with their types, in order."""
    found: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in target.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
            "ORDER BY table_name, ordinal_position"):
        if table != migrations.STEPS_TABLE:
            found.setdefault(table, []).append((column, kind))
    return found


def _same_tables(order: list[str], columns: dict, source: sqlite3.Connection) -> None:
    if set(order) != set(columns):
        raise MoveRefused(f"the two schemas differ: only in SQLite {sorted(set(order) - set(columns))}, "
                          f"only in PostgreSQL {sorted(set(columns) - set(order))}")
    for table in order:
        mine = sorted(row[1] for row in source.execute(f'PRAGMA table_info("{table}")'))
        if mine != sorted(c for c, _ in columns[table]):
            raise MoveRefused(f"the two schemas differ in {table}'s columns: SQLite {mine}, PostgreSQL {sorted(c for c, _ in columns[table])}")


def _head_counts() -> dict[str, int]:
    """The rows a new database starts with, by table (migrations.HEAD_ROWS)."""
    counts: dict[str, int] = {}
    for row in migrations.HEAD_ROWS:
        table = row.split()[2]  # INSERT INTO table (...
        counts[table] = counts.get(table, 0) + 1
    return counts


def _filled(target, tables: Iterable[str]) -> list[tuple[str, int]]:
    """The tables of the target holding more than a new database does, with their row counts."""
    head = _head_counts()
    found = []
    for table in tables:
        (count,) = target.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        if count > head.get(table, 0):
            found.append((table, count))
    return found


def _names(columns: list[tuple[str, str]]) -> str:
    return ", ".join(f'"{c}"' for c, _ in columns)


def _copy(source: sqlite3.Connection, target, order: list[str], columns: dict, progress) -> dict[str, tuple[int, str]]:
    """Every table copied in one transaction, under the write lock; the source's (rows, checksum) by table."""
    sums = {}
    dbmod.begin(target)  # the installation's write lock: a server started on the target meanwhile waits
    try:
        if filled := _filled(target, order):
            listed = ", ".join(f"{table} ({count:,} row{'s' if count != 1 else ''})" for table, count in filled[:5])
            raise MoveRefused(f"the target already holds data: {listed}{' ...' if len(filled) > 5 else ''}: "
                              "move into an empty database of its own (createdb), nothing was written")
        for table in _head_counts():
            target.execute(f'DELETE FROM "{table}"')  # the new database's own rows, replaced by the source's
        for table in order:
            sums[table] = _copy_table(source, target, table, columns[table], progress)
        reset = _reset_sequences(target)
        target.execute("COMMIT")
    except psycopg.Error as exc:
        target.execute("ROLLBACK")
        raise MoveRefused(f"PostgreSQL refused the copy, which was rolled back (nothing was written): {exc}".strip()) from None
    except BaseException:
        if target.in_transaction:
            target.execute("ROLLBACK")
        raise
    progress(f"  {reset} sequences set past the ids copied")
    return sums


def _copy_table(source: sqlite3.Connection, target, table: str, columns: list[tuple[str, str]], progress) -> tuple[int, str]:
    (total,) = source.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    rows = source.execute(f'SELECT {_names(columns)} FROM "{table}"')
    kinds = [kind for _, kind in columns]
    checksum, done = 0, 0
    with target.copy_in(table, [c for c, _ in columns]) as copy:
        while batch := rows.fetchmany(BATCH):
            for row in batch:
                row = [_as_stored(value, kind) for value, kind in zip(row, kinds)]
                copy.write_row(row)
                checksum = (checksum + _row_hash(row, kinds)) % MODULUS
            done += len(batch)
            if done % PROGRESS_EVERY < BATCH and done < total:
                progress(f"  {table}: {done:,} of {total:,} rows")
    progress(f"  {table}: {done:,} rows copied")
    return done, f"{checksum:064x}"


def _as_stored(value, kind: str):
    """A SQLite value as the PostgreSQL column takes it: text in a bytea column as its UTF-8 bytes."""
    if kind == "bytea" and isinstance(value, str):
        return value.encode()
    return value


def _reset_sequences(target) -> int:
    """Every identity column's next number set past the largest id in it; how many."""
    identities = target.execute("SELECT table_name, column_name FROM information_schema.columns "
                              "WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name").fetchall()
    for table, column in identities:
        target.execute(f"""SELECT setval(pg_get_serial_sequence(?, ?), coalesce(max("{column}"), 0) + 1, false) FROM "{table}" """,
                     [f'"{table}"', column])
    return len(identities)


MODULUS = 1 << 256


def _plain(value, kind: str):
    """A value normalised by its column's PostgreSQL type, the same from either engine."""
    if value is None:
        return None
    if kind == "bytea":
        return "b" + (value.encode() if isinstance(value, str) else bytes(value)).hex()
    if kind in ("double precision", "real"):
        return "f" + repr(float(value))
    if isinstance(value, (bool, int)):
        return "i" + str(int(value))
    if isinstance(value, float):
        return "f" + repr(value)
    return "s" + str(value)


def _row_hash(row, kinds: list[str]) -> int:
    encoded = msgspec.json.encode([_plain(value, kind) for value, kind in zip(row, kinds)])
    return int.from_bytes(hashlib.sha256(encoded).digest())


def _fingerprint(rows: Iterable, columns: list[tuple[str, str]]) -> tuple[int, str]:
    """(rows, checksum) of a table's rows, as the module's docstring says."""
    kinds = [kind for _, kind in columns]
    count, checksum = 0, 0
    for row in rows:
        count += 1
        checksum = (checksum + _row_hash(row, kinds)) % MODULUS
    return count, f"{checksum:064x}"


def _compare(target, order: list[str], columns: dict, sums: dict) -> list[Compared]:
    compared = []
    for table in order:
        rows, checksum = _fingerprint(target.execute(f'SELECT {_names(columns[table])} FROM "{table}"'), columns[table])
        compared.append(Compared(table, sums[table][0], rows, sums[table][1], checksum))
    return compared


def report(compared: list[Compared]) -> str:
    """The comparison as a table: each table's rows on both engines, the checksum (both, cut short,
    where they differ) and whether the two are equal."""
    width = max([len("table")] + [len(c.table) for c in compared])
    lines = [f"{'table':<{width}}  {'SQLite rows':>11}  {'PostgreSQL rows':>15}  {'checksum':<16}  equal"]
    for c in compared:
        checksum = c.sqlite_sum[:16] if c.sqlite_sum == c.postgres_sum else f"{c.sqlite_sum[:7]}/{c.postgres_sum[:8]}"
        lines.append(f"{c.table:<{width}}  {c.sqlite_rows:>11,}  {c.postgres_rows:>15,}  {checksum:<16}  {'yes' if c.equal else 'NO'}")
    return "\n".join(lines)
