"""The statement census (issue 28): which of the SQL statement shapes the test suite sends does
PostgreSQL refuse, and why. It reads the file a run with TOUCHPOINT_SQL_CENSUS=<file> wrote
(server/sqlcensus.py: one shape and the server/ line that sent it a line, from every process), starts
the throwaway cluster of tests/postgres.py, and PREPAREs each shape on a database at the head schema
(server/pgschema.py), its `?` numbered as $1, $2, ... Statements PREPARE cannot take (transaction
control, DDL) are judged by their form, or run in a transaction rolled back. SQLite's side of the
two seams is asked as PostgreSQL gets it: server/db.py's PRAGMAs and BEGIN IMMEDIATE are not sent
there at all, server/dialect.py's fragments are rewritten to their PostgreSQL side (as_postgres). A shape's `?`
stands for a string or a number alike, and PostgreSQL types an untyped $n from its context, which can
fail where the driver's typed number would not (`CASE WHEN f < ? THEN ? ELSE ? END` into a bigint):
a shape refused so is asked once more with every `?` a 0, and taken if PostgreSQL takes that.

Counted apart: the tests' own SQL (no frame of server/ sent it). Not asked: the statements only the migration steps send (PostgreSQL starts at the head; its later
steps will be written for both). Counted as refused although PostgreSQL takes them: a bare `user`,
which PostgreSQL reads as CURRENT_USER, so `WHERE user = ?` compares the role's name, silently.

Prints N shapes, M refused, and M by reason with an example each (and who sends it).

Run: TOUCHPOINT_SQL_CENSUS=/tmp/census.txt pytest -p no:warnings -m "not browser and not proof and not slow"
     python tests/bench/sql_census.py /tmp/census.txt [--write tests/sql_refused.txt] [--check tests/sql_refused.txt]
(--write: the refused shapes as the ratchet file tests/test_sql_dialect.py holds; --check: what is
new in the census and what the file lists that the census no longer sends or PostgreSQL now takes)
"""

import argparse
import ast
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.sqlcensus import shape  # noqa: E402

RATCHET = ROOT / "tests" / "sql_refused.txt"
PREPARABLE = ("select", "insert", "update", "delete", "with", "values")
TRANSACTION = re.compile(r"(BEGIN|COMMIT|END|ROLLBACK|(SAVEPOINT|RELEASE( SAVEPOINT)?|ROLLBACK TO( SAVEPOINT)?) [\w?\"]+)", re.IGNORECASE)
BARE_USER = re.compile(r"(?<![\w\".])user(?![\w\"(])", re.IGNORECASE)
BARE_USER_REASON = "`user` unquoted (PostgreSQL reads it as CURRENT_USER: write \"user\")"
# (pattern on PostgreSQL's message or, for "sql:", on the statement; the reason it stands for), first match wins
REASONS = [
    (r"sql:\bINSERT OR (IGNORE|REPLACE)\b|^REPLACE INTO", "INSERT OR IGNORE / OR REPLACE (SQLite only: ON CONFLICT (key) DO NOTHING / DO UPDATE)"),
    (r"sql:\browid\b", "rowid (PostgreSQL has none: a key column of its own)"),
    (r"sql:\bt\?|^PRAGMA table_info", "sqlite-utils' table methods (db[table].insert/upsert probe SQLite: PRAGMA table_info, a test table)"),
    (r"sql:^PRAGMA", "PRAGMA (SQLite only: the engine seam's, server/db.py)"),
    (r"sql:^BEGIN (IMMEDIATE|DEFERRED|EXCLUSIVE)", "BEGIN IMMEDIATE (SQLite's write lock: the engine seam's)"),
    (r"sql:\bsqlite_(master|schema|sequence)\b|pragma_\w+\(", "SQLite's catalog (sqlite_master, pragma_* tables)"),
    (r"sql:\bINDEXED BY\b", "INDEXED BY (SQLite's index hint)"),
    (r"sql:\bCOLLATE NOCASE\b", "COLLATE NOCASE (SQLite's case-blind order: lower() or an ICU collation on PostgreSQL)"),
    (r"sql:\bchar\(", "char(): SQLite's character of a code (chr() on PostgreSQL; char is a type there)"),
    (r"sql:\bCROSS JOIN [\w ]+? ON\b", "CROSS JOIN ... ON (PostgreSQL: JOIN ... ON)"),
    (r"sql:\bGLOB\b", "GLOB (SQLite only: LIKE or ~ on PostgreSQL)"),
    ("bare user", BARE_USER_REASON),
    (r"ON CONFLICT DO UPDATE requires", "ON CONFLICT without a target (PostgreSQL needs the key: ON CONFLICT (col) DO UPDATE)"),
    (r"function (\w+)\((boolean|[^)]*boolean[^)]*)\) does not exist", "a boolean used as a number ({1}() of a comparison)"),
    (r"operator does not exist: (boolean [^ ]+ (bigint|integer)|(bigint|integer|unknown) [^ ]+ boolean)", "a boolean used as a number (operator {1})"),
    (r"argument of (WHERE|AND|OR|NOT|CASE/WHEN) must be type boolean", "a number used as a boolean ({1} of an integer)"),
    (r"CASE types .* cannot be matched", "CASE branches of different types"),
    (r"function (\w+)\(.*\) does not exist", "{1}(): no such function in PostgreSQL (or not for these types)"),
    (r"operator does not exist: (.*)", "no such operator: {1}"),
    (r"could not determine data type of parameter", "a parameter whose type PostgreSQL cannot tell (needs a CAST)"),
    (r"must appear in the GROUP BY clause", "a column neither grouped nor aggregated (SQLite's bare columns)"),
    (r"column reference \"(\w+)\" is ambiguous", "an ambiguous column ({1}: in ON CONFLICT DO UPDATE write the table's name before it)"),
    (r"subquery in FROM must have an alias", "a subquery in FROM without an alias"),
    (r"column \"?([\w.]+)\"? does not exist", "no such column: {1}"),
    (r"relation \"?(\w+)\"? does not exist", "no such table: {1}"),
    (r"syntax error at or near \"\$\d+\"", "syntax error at a parameter"),
    (r"syntax error at or near \"(.*?)\"", "syntax error at {1}"),
    (r"syntax error at end of input", "syntax error at the end"),
]


# server/dialect.py writes a few things differently for each engine, and a census run on SQLite sees
# only SQLite's side: each shape is asked as PostgreSQL would be sent it, SQLite's fragments
# rewritten to PostgreSQL's. One rewrite per Dialect method; tests/test_sql_dialect.py renders
# every method both ways and holds the rewrite of the one equal to the other.
SEAM = re.compile(r"PRAGMA\b.*|BEGIN IMMEDIATE", re.IGNORECASE | re.DOTALL)  # server/db.py's SQLite side: not sent on PostgreSQL


def _calls(sql: str, name: str, make) -> str:
    """Each call `name(...)` in `sql` replaced by make(its arguments, as text split at top-level commas)."""
    out, at = [], 0
    pattern = re.compile(rf"\b{name}\(", re.IGNORECASE)
    while match := pattern.search(sql, at):
        depth, end, args, start = 1, match.end(), [], match.end()
        while end < len(sql) and depth:
            char = sql[end]
            depth += {"(": 1, ")": -1}.get(char, 0)
            if (char == "," and depth == 1) or depth == 0:
                args.append(sql[start:end].strip())
                start = end + 1
            end += 1
        args = [_calls(arg, name, make) for arg in args]
        try:
            made = make(*args)
        except TypeError:  # another number of arguments than the fragment writes: not its, left as it is
            made = sql[match.start():match.end()] + ", ".join(args) + ")"
        out += [sql[at:match.start()], made]
        at = end
    return "".join(out) + sql[at:]


def _joined(expr: str, separator: str) -> str:
    return f"string_agg(CAST({expr} AS text), {'chr(?)' if separator.lower() == 'char(?)' else separator})"


def as_postgres(sql: str) -> str:
    """The shape as server/dialect.py would write it for PostgreSQL."""
    sql = _calls(sql, "group_concat", _joined)
    sql = _calls(sql, "json_group_array", lambda expr: f"coalesce(CAST(json_agg({expr}) AS text), ?)")
    sql = _calls(sql, "json_array_length", lambda expr, member=None:
                 f"jsonb_array_length(CAST({expr} AS jsonb){' -> ?' if member else ''})")
    sql = _calls(sql, "json_each", lambda expr: f"\0json_each({expr})")  # marked, for its alias below
    sql = re.sub(r"\0json_each\((.*?)\) AS (\w+)", r"jsonb_array_elements_text(CAST(\1 AS jsonb)) WITH ORDINALITY AS \2(value, key)", sql)
    sql = sql.replace("\0json_each", "json_each")
    sql = _calls(sql, "instr", lambda haystack, needle: f"strpos({haystack}, {needle})")
    sql = re.sub(r" GLOB \?", " ~ ?", sql)
    sql = re.sub(r" INDEXED BY \w+", "", sql)
    return re.sub(r"\bCROSS JOIN (\w+(?: AS)? \w+) ON\b", r"JOIN \1 ON", sql)


def numbered(sql: str) -> str:
    """`?` as $1, $2, ...: the shapes hold no strings, so every ? is a parameter."""
    count = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(count)}", sql)


def reason_for(sql: str, message: str) -> str:
    for pattern, reason in REASONS:
        if pattern == "bare user":
            if BARE_USER.search(sql):
                return reason
            continue
        source, pattern = (sql, pattern[4:]) if pattern.startswith("sql:") else (message, pattern)
        if match := re.search(pattern, source, re.IGNORECASE):
            return reason.format(*[match.group(0), *match.groups()])
    return message.splitlines()[0]


def prepare(conn, sql: str) -> None:
    conn.execute(f"PREPARE census AS {sql}")
    conn.execute("DEALLOCATE census")


def refusal(conn, sql: str) -> str | None:
    """Why PostgreSQL refuses the shape `sql` (None: it takes it). `conn`: autocommit, at the head schema."""
    import psycopg

    if SEAM.fullmatch(sql.strip()):
        return None
    sql = as_postgres(sql)
    first = sql.split(None, 1)[0].lower() if sql.strip() else ""
    if first in PREPARABLE:
        try:
            prepare(conn, numbered(sql))
        except psycopg.Error as error:
            try:  # a shape's ? may have been a number (a literal, or an int the driver sends typed): as numbers
                prepare(conn, sql.replace("?", "0"))
            except psycopg.Error:
                return reason_for(sql, str(error))
        return BARE_USER_REASON if BARE_USER.search(sql) else None
    if TRANSACTION.fullmatch(sql.strip()):
        return None
    if re.match(r"(PRAGMA|BEGIN|VACUUM|ANALYZE|REINDEX|ATTACH|DETACH)\b", sql, re.IGNORECASE):
        return reason_for(sql, f"syntax error at or near \"{first.upper()}\"")
    try:  # DDL at run time: run it, then undo it
        with conn.transaction(force_rollback=True):
            conn.execute(sql.replace("?", "0"))
    except psycopg.Error as error:
        return reason_for(sql, str(error))
    return None


def read_census(paths: list[Path]) -> dict[str, set[str]]:
    """{shape: the server/ lines that sent it} from census files; shapes of the migration steps alone left out."""
    senders: dict[str, set[str]] = defaultdict(set)
    for path in paths:
        for line in path.read_text().splitlines():
            if line.strip():
                sql, _, sender = line.partition("\t")
                senders[shape(sql)].add(sender)
    return {sql: where for sql, where in senders.items() if not all(w.startswith("server/migrations.py:") for w in where)}


# the start of a statement, as the house writes them (keywords in capitals): not a lone "DELETE" (an HTTP method)
STATEMENT = re.compile(r"\s*(SELECT\s|INSERT\s+(OR\s+[A-Z]+\s+)?INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s|WITH\s|REPLACE\s+INTO\s)")


def literals(root: Path = ROOT / "server") -> tuple[dict[str, set[str]], list[str]]:
    """The statements written out whole in server/ (string constants that start like one, as `ast`
    reads them), {shape: their file:line}; and the file:line of those an f-string composes, which only
    the census sees. The migration steps are left out (SQLite only: PostgreSQL starts at the head)."""
    whole: dict[str, set[str]] = defaultdict(set)
    composed = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "migrations.py":
            continue
        where = path.relative_to(root.parent).as_posix()
        tree = ast.parse(path.read_text())
        inside_fstrings = {id(value) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for value in node.values}
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                head = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                if STATEMENT.match(head):
                    composed.append(f"{where}:{node.lineno}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inside_fstrings \
                    and STATEMENT.match(node.value):
                whole[shape(node.value)].add(f"{where}:{node.lineno}")
    return dict(whole), composed


CENSUS_ONLY = "\t(census)"  # marks a ratchet entry no string of server/ holds whole: composed, or a library's


def read_ratchet(path: Path = RATCHET) -> dict[str, bool]:
    """{shape: True if only the census sees it (composed or a library's), False if server/ holds it whole}."""
    if not path.exists():
        return {}
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return {line.removesuffix(CENSUS_ONLY): line.endswith(CENSUS_ONLY) for line in lines}


RATCHET_HEADER = """\
# SQL statement shapes PostgreSQL refuses (issue 28), of those the test suite sends and those written
# whole in server/: the ratchet of tests/test_sql_dialect.py. It only ever shrinks: a shape converted is
# taken out, none is added. "(census)": composed by an f-string or sent by a library, so only a census
# run sees it (tests/bench/sql_census.py --check). Sorted. Made by:
# python tests/bench/sql_census.py <census file> --write tests/sql_refused.txt
"""


def judge(shapes) -> dict[str, str | None]:
    """{shape: why PostgreSQL refuses it, or None} on a throwaway cluster at the head schema."""
    import psycopg

    from tests.postgres import Cluster

    cluster = Cluster().start()
    try:
        url = cluster.new_database(head=True)
        with psycopg.connect(url, autocommit=True) as conn:
            return {sql: refusal(conn, sql) for sql in shapes}
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("census", nargs="+", type=Path)
    parser.add_argument("--write", type=Path, help="write the refused shapes, sorted, as a ratchet file")
    parser.add_argument("--check", type=Path, help="compare with a ratchet file: new refusals, and entries no longer sent or now taken")
    args = parser.parse_args(argv)
    every = read_census(args.census)
    # the tests' own SQL (no frame of server/ sent it: a test reading a table, sqlite3's iterdump) is theirs to convert
    sent = {sql: where for sql, where in every.items() if any(w.startswith("server/") for w in where)}
    tests_only = sorted(set(every) - set(sent))
    whole, composed = literals()
    senders = defaultdict(set, {sql: set(where) for sql, where in sent.items()})
    for sql, where in whole.items():
        senders[sql] |= where
    ratchet = read_ratchet(args.check) if args.check else {}
    verdicts = judge(sorted(set(senders) | set(ratchet) | set(tests_only)))
    refused = {sql: verdicts[sql] for sql in senders if verdicts[sql]}
    by_reason: dict[str, list[str]] = defaultdict(list)
    for sql, reason in refused.items():
        by_reason[reason].append(sql)
    unsent = set(whole) - set(sent)
    print(f"{len(sent)} shapes sent by the run ({sum(map(len, sent.values()))} senders); {len(whole)} statements written whole in server/, "
          f"{len(unsent)} of them not sent by the run; {len(composed)} composed by f-strings")
    print(f"{len(senders)} shapes, {len(refused)} refused by PostgreSQL 15 ({sum(1 for sql in refused if sql in sent)} of those the run sent)")
    for reason, shapes in sorted(by_reason.items(), key=lambda item: (-len(item[1]), item[0])):
        example = min(shapes, key=len)
        print(f"{len(shapes):5}  {reason}\n       e.g. {example[:160]}\n       from {', '.join(sorted(senders[example])[:3])}")
    seam = [sql for sql in senders if SEAM.fullmatch(sql)]
    rewritten = [sql for sql in senders if not verdicts[sql] and as_postgres(sql) != sql]
    print(f"not refused: {len(seam)} of server/db.py's SQLite side (PRAGMA, BEGIN IMMEDIATE: not sent to PostgreSQL), "
          f"{len(rewritten)} taken as server/dialect.py writes them for PostgreSQL")
    tests_refused = [sql for sql in tests_only if verdicts[sql]]
    print(f"and the tests' own SQL, not counted above: {len(tests_only)} shapes, {len(tests_refused)} refused")
    for reason, count in sorted(Counter(verdicts[sql] for sql in tests_refused).items(), key=lambda item: -item[1])[:6]:
        print(f"{count:5}  {reason}")
    if args.write:
        args.write.write_text(RATCHET_HEADER + "".join(f"{sql}{'' if sql in whole else CENSUS_ONLY}\n" for sql in sorted(refused)))
        print(f"wrote {len(refused)} shapes to {args.write}")
    if args.check:
        new = sorted(set(refused) - set(ratchet))
        gone = sorted(sql for sql in ratchet if sql not in senders)
        taken = sorted(sql for sql in ratchet if sql in senders and not verdicts[sql])
        for title, shapes in (("refused and not in the file", new), ("in the file, no longer sent", gone), ("in the file, now taken", taken)):
            print(f"{len(shapes)} {title}")
            for sql in shapes:
                print(f"    {sql[:200]}  [{verdicts[sql] or 'taken'}]")
        return 1 if new or gone or taken else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
