"""The statement census (issue 28): with TOUCHPOINT_SQL_CENSUS=<file> set, every connection that
server.db.connect makes, in every process (server, ingest writer, CLI), appends to that file each
statement shape it sends for the first time, with the place in server/ that sent it.
tests/bench/sql_census.py then asks PostgreSQL about each. Off (nothing traced) when unset.

A shape is the statement with its literals taken out: SQLite's trace gives the SQL with its
parameters written in, so strings, numbers, blobs and NULLs (but not IS NULL) all become `?`, a list
of them `(?)` (the places of GROUP BY 1, 2 stay), and comments and spacing are made even: `WHERE id = 'a1'` and `WHERE id = :id` are
one shape, `WHERE id IN (1, 2, 3)` and `IN (4)` too."""

import os
import re
import sqlite3
import sys
import threading
from pathlib import Path

FILE = os.environ.get("TOUCHPOINT_SQL_CENSUS")
SERVER = str(Path(__file__).resolve().parent)

_LITERAL = re.compile(r"""
    (?P<string>'(?:[^']|'')*') | (?P<quoted>"(?:[^"]|"")*") | (?P<blob>\b[xX]'[0-9a-fA-F]*')
  | (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<number>(?<![\w.])(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
  | (?P<null>(?<!IS\s)(?<!NOT\s)\bNULL\b)
  | (?P<param>:[A-Za-z_]\w*|\$\w+|@\w+|\?\d*)
""", re.VERBOSE | re.DOTALL | re.IGNORECASE)
_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)+\s*\)")
_POSITIONS = re.compile(r"\b(GROUP|ORDER)\s+BY\s+\d+(\s+(ASC|DESC))?(\s*,\s*\d+(\s+(ASC|DESC))?)*(?![\w.])", re.IGNORECASE)
_NEGATIVE = re.compile(r"(^|[(,=<>] ?|[-+*/] |\b(?:THEN|ELSE|WHEN|AND|OR|BETWEEN|LIMIT|OFFSET|SELECT) )-\?", re.IGNORECASE)
_ROWS = re.compile(r"(\(\?(?:, \?)*\))(?:, \1)+")


def shape(sql: str) -> str:
    """The statement's shape: literals and parameters as `?`, lists of them as one, one space between words."""

    def replace(match: re.Match) -> str:
        kind = match.lastgroup
        if kind == "quoted":
            return match.group()
        if kind == "comment":
            return " "
        return "?"

    # GROUP BY 1, 2 and ORDER BY 2 DESC name columns by their place, not values: kept
    sql = _POSITIONS.sub(lambda match: re.sub(r"\d+", r"__place\g<0>__", match.group()), sql)
    text = re.sub(r"__place(\d+)__", r"\1", _LITERAL.sub(replace, sql))
    text = re.sub(r"\s+", " ", text).strip().rstrip(";").strip()
    text = re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", text))
    text = re.sub(r"\s*,\s*", ", ", text)
    text = _NEGATIVE.sub(r"\1?", text)
    text = _LIST.sub("(?)", text) if " IN " in text.upper() else text
    # names sqlite-utils makes up anew each time: its savepoints, and the table it probes upsert with
    text = re.sub(r"\bsqlite_utils_[0-9a-f]+\b", "sqlite_utils_?", text)
    text = re.sub(r"\bt[0-9a-f]{32}\b", "t?", text)
    return _ROWS.sub(r"\1", text)


_seen: set[str] = set()
_lock = threading.Lock()


def _sender() -> str:
    """server/<file>:<line> of the innermost frame in server/ outside the database plumbing."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(SERVER) and not name.endswith(("/db.py", "/sqlcensus.py")):
            return f"server{name[len(SERVER):]}:{frame.f_lineno}"
        frame = frame.f_back
    return "outside server/"


def _record(sql: str) -> None:
    found = shape(sql)
    if found in _seen:
        return
    with _lock:
        if found in _seen:
            return
        _seen.add(found)
    line = f"{found}\t{_sender()}\n".encode()
    # O_APPEND and one write per line: lines of several processes never interleave
    descriptor = os.open(FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


def watch(conn: sqlite3.Connection) -> None:
    """Trace `conn` into the census file, if there is one."""
    if FILE:
        conn.set_trace_callback(_record)
