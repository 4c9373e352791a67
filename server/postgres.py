"""PostgreSQL behind the few calls the server makes of a SQLite connection (issue 28).

The server's statements are written once, in the SQL both engines accept (README, "One SQL for both
engines"), with SQLite's placeholders: `?`, `?1` (numbered, used more than once) and `:name`.
`Database` here answers what the code asks of `sqlite_utils.Database` (`execute`, `query`,
`conn.executemany`, `conn.in_transaction`, `conn.close`) over one psycopg 3 connection in autocommit
mode, as the SQLite connections are: a transaction is only ever opened by `server.db.write`.

`translate` turns a statement's placeholders into psycopg's (`%s`, `%(name)s`; a literal `%`
doubled), reading it the way PostgreSQL's lexer does, so a `?` or a `:` inside a string literal, a
quoted name, a comment or a `::` cast is left alone. It is a pure function of the text, cached.
An empty list, `IN ()` (what `IN ({marks})` makes of no values), SQLite takes and PostgreSQL
refuses: it becomes `IN (SELECT NULL WHERE false)`, an empty set, so `x IN ()` is false and
`x NOT IN ()` true on both.
"""

import functools
import re
from collections.abc import Iterator, Sequence

import psycopg
from psycopg import pq
from psycopg.rows import dict_row

ENGINE = "postgresql"
_NAME = re.compile(r"[A-Za-z_]\w*")
_DIGITS = re.compile(r"\d+")
_EMPTY_LIST = re.compile(r"\bIN\s*\(\s*\)", re.I)


class Placeholders:
    """How a translated statement takes its parameters: in order (`order` None, `named` False), by
    name (`named`), or by number, `order` listing which parameter (0-based) each %s takes."""
    __slots__ = ("text", "order", "named")

    def __init__(self, text: str, order: tuple[int, ...] | None, named: bool):
        self.text, self.order, self.named = text, order, named

    def bind(self, params) -> Sequence | dict:
        """The parameters as psycopg takes them; a bool as 1 or 0, as SQLite stores it (the schema
        has no boolean columns: flags are integers on both engines)."""
        if self.named:
            if not isinstance(params, dict):
                raise TypeError("this statement names its parameters (:name): give them as a dict")
            return {k: int(v) if isinstance(v, bool) else v for k, v in params.items()}
        if isinstance(params, dict):
            raise TypeError("this statement's parameters are positional (?): give them as a list")
        params = [int(v) if isinstance(v, bool) else v for v in params or ()]
        return params if self.order is None else [params[i] for i in self.order]


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> Placeholders:
    """SQLite's placeholders as psycopg's. Mixing kinds in one statement is refused, as SQLite refuses
    it: ValueError naming the statement."""
    out: list[str] = []
    kinds: set[str] = set()
    order: list[int] = []
    i, n, plain = 0, len(sql), 0  # plain: the largest number taken so far (a bare ? takes the next, as in SQLite)
    while i < n:
        c = sql[i]
        if c in "'\"":  # a string literal or a quoted name: copied to its closing quote ('' and "" escape)
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            out.append(sql[i:j + 1].replace("%", "%%"))
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            out.append(sql[i:j].replace("%", "%%"))
            i = j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(sql[i:j].replace("%", "%%"))
            i = j
        elif c == "?":
            number = _DIGITS.match(sql, i + 1)
            if number:
                kinds.add("numbered")
                order.append(int(number.group()) - 1)
                plain = max(plain, int(number.group()))
                i = number.end()
            else:
                kinds.add("numbered" if kinds & {"numbered"} else "plain")
                order.append(plain)
                plain += 1
                i += 1
            out.append("%s")
        elif c == ":" and sql.startswith("::", i):
            out.append("::")
            i += 2
        elif c == ":" and (name := _NAME.match(sql, i + 1)) and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
            kinds.add("named")
            out.append(f"%({name.group()})s")
            i = name.end()
        elif c == "%":
            out.append("%%")
            i += 1
        else:
            j = i + 1
            while j < n and sql[j] not in "'\"-/?:%":
                j += 1
            out.append(_EMPTY_LIST.sub("IN (SELECT NULL WHERE false)", sql[i:j]))
            i = j
    if "named" in kinds and len(kinds) > 1:
        raise ValueError(f"a statement takes its parameters by name or by position, not both: {sql[:200]}")
    if "numbered" in kinds:
        return Placeholders("".join(out), tuple(order), False)
    return Placeholders("".join(out), None, "named" in kinds)


class Database:
    """One PostgreSQL connection, answering as `sqlite_utils.Database` does for the server's calls.
    `conn` is the object itself: the code's `db.conn.executemany(...)` and `db.conn.in_transaction`
    read the same on both engines."""
    engine = ENGINE

    def __init__(self, url: str):
        self.url = url
        self._conn = psycopg.connect(url, autocommit=True)
        self.conn = self

    def execute(self, sql: str, params=()) -> psycopg.Cursor:
        """The statement run, its cursor returned (fetchone, fetchall, iteration, rowcount)."""
        placeholders = translate(sql)
        return self._conn.execute(placeholders.text, placeholders.bind(params))

    def executemany(self, sql: str, rows) -> psycopg.Cursor:
        placeholders = translate(sql)
        cursor = self._conn.cursor()
        cursor.executemany(placeholders.text, [placeholders.bind(row) for row in rows])
        return cursor

    def stream(self, sql: str, params=()) -> psycopg.ServerCursor:
        """A cursor on the server over a read-only snapshot (REPEATABLE READ), for rows fetched a batch
        at a time (`fetchmany`): an export never holds its whole result. Its transaction ends with
        the connection (`close`), as a SQLite statement's snapshot does."""
        placeholders = translate(sql)
        self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor = self._conn.cursor(name="touchpoint_rows")
        cursor.execute(placeholders.text, placeholders.bind(params))
        return cursor

    def copy_in(self, table: str, columns: list[str]) -> psycopg.Copy:
        """A COPY into `table`'s `columns`, taking rows by `write_row` in that order: the fastest way
        to put many rows in (server/move.py), in the transaction open now."""
        names = ", ".join(f'"{c}"' for c in columns)
        return self._conn.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN')

    def script(self, sql: str) -> None:
        """Statements separated by semicolons, with no parameters (a schema), in the transaction open now."""
        self._conn.execute(sql.encode())

    def query(self, sql: str, params=()) -> Iterator[dict]:
        """Rows as dicts, as sqlite_utils' `query`."""
        placeholders = translate(sql)
        with self._conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute(placeholders.text, placeholders.bind(params))
            yield from cursor

    @property
    def in_transaction(self) -> bool:
        return self._conn.info.transaction_status != pq.TransactionStatus.IDLE

    def close(self) -> None:
        self._conn.close()

