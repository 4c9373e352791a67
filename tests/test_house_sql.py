"""The server's SQL is written in one dialect that SQLite and PostgreSQL both accept (README,
"One SQL for both engines"). This reads every string in `server/` that is SQL (by `ast`, so a
statement split over lines or built in an f-string is read as it is written) and refuses the
SQLite-only forms, naming the file, the line and what to write instead. The schema's own steps
(`server/migrations.py`) are SQLite's history and are not read."""

import ast
import re
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "server"
SQL = re.compile(r"\b(SELECT|INSERT(\s+OR\s+\w+)?\s+INTO|UPDATE \w+ SET|DELETE FROM)\b")
FORMS = {
    "INSERT OR IGNORE / OR REPLACE: write INSERT ... ON CONFLICT (its key) DO NOTHING / DO UPDATE":
        re.compile(r"\bINSERT\s+OR\s+\w+", re.I),
    "ON CONFLICT without its key: name the columns, ON CONFLICT (a, b) DO ...":
        re.compile(r"\bON\s+CONFLICT\s+DO\b", re.I),
    "rowid: PostgreSQL has none; use the table's own key (RETURNING it from an INSERT)":
        re.compile(r"(?<![\w.])(\w+\.)?(rowid|_rowid_|oid)\b", re.I),
    "an INSERT without its column list: name the columns, so the two schemas' column order never matters":
        re.compile(r"\bINSERT\s+INTO\s+\w+\s+(VALUES|SELECT)\b", re.I),
    "a column named user (a reserved word in PostgreSQL): the column is person":
        re.compile(r"(?<![\w'\"])(\w+\.)?user(?![\w'\"(])"),
    "a bare column on the right of DO UPDATE SET: PostgreSQL finds it ambiguous; write table.column + excluded.column":
        re.compile(r"\bDO\s+UPDATE\s+SET\b.*?(?<![\w.])(\w+)\s*=\s*\1\s*[-+*/]", re.I | re.S),
    "IS ? / IS NOT ? with a parameter: PostgreSQL allows IS only before NULL, TRUE or FALSE":
        re.compile(r"\bIS\s+(NOT\s+)?\?", re.I),
}
WORDS = re.compile(r"'[^']*'")  # string literals inside the SQL: their words are not SQL
UNNAMED = "a subquery in FROM or JOIN without a name: PostgreSQL 15 requires one, (SELECT ...) AS x"
KEYWORDS = {"WHERE", "GROUP", "ORDER", "UNION", "ON", "LIMIT", "JOIN", "LEFT", "CROSS", "INNER", "HAVING", "WINDOW", "EXCEPT", "INTERSECT"}


def unnamed_subqueries(sql: str) -> list[str]:
    """Each `FROM (` or `JOIN (` whose closing parenthesis is followed by no name."""
    found = []
    for m in re.finditer(r"\b(FROM|JOIN)\s*\(", sql, re.I):
        depth, i = 1, m.end()
        while i < len(sql) and depth:
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            i += 1
        after = re.match(r"\s*(\w+)", sql[i:])
        if after is None or after.group(1).upper() in KEYWORDS:
            found.append(sql[m.start():i][:60])
    return found


def sql_strings():
    """(file, line, text) of every string in server/ that holds a statement (an f-string whole, what it
    puts in read as one name: a fragment of server/dialect.py, a list of conditions)."""
    for path in sorted(SERVER.rglob("*.py")):
        if path.name == "migrations.py":
            continue
        tree = ast.parse(path.read_text(), str(path))
        parts = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):  # an f-string read whole, each {...} as one name
                text = "".join(part.value if isinstance(part, ast.Constant) else "x" for part in node.values)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
                text = node.value
            else:
                continue
            if SQL.search(text):
                yield path.relative_to(SERVER.parent), node.lineno, text


def test_the_server_sends_no_sqlite_only_sql():
    found = [(f"{file}:{line}", why, m.group(0)) for file, line, text in sql_strings()
             for why, form in FORMS.items() for m in form.finditer(WORDS.sub("''", text))]
    found += [(f"{file}:{line}", UNNAMED, what) for file, line, text in sql_strings() for what in unnamed_subqueries(WORDS.sub("''", text))]
    assert not found, "SQL only SQLite accepts:\n" + "\n".join(f"  {where}: {what!r}: {why}" for where, why, what in found)


def test_the_reading_finds_what_it_looks_for():
    """Each form is found in a statement that has it, and not in its house form: the test above is not blind."""
    bad = {
        "INSERT OR IGNORE / OR REPLACE": "INSERT OR IGNORE INTO flags (audit) VALUES (?)",
        "ON CONFLICT without its key": "INSERT INTO t (a) VALUES (?) ON CONFLICT DO UPDATE SET a = excluded.a",
        "rowid": "DELETE FROM login_failures WHERE rowid = ?",
        "an INSERT without its column list": "INSERT INTO t VALUES (?, ?)",
        "a column named user": "SELECT region FROM user_regions WHERE user = ?",
        "IS ? / IS NOT ?": "DELETE FROM sessions WHERE token_hash IS NOT ?",
        "a bare column on the right of DO UPDATE SET": "INSERT INTO g (name, n) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET n = n + 1",
    }
    good = ["INSERT INTO flags (audit) VALUES (?) ON CONFLICT (audit) DO NOTHING RETURNING id",
            "INSERT INTO g (name, n) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET n = g.n + excluded.n, at = excluded.at",
            "SELECT region FROM user_regions WHERE person = ? AND note = 'the user said so'",
            "SELECT u.name FROM users u WHERE u.id IS NOT NULL"]
    for start, statement in bad.items():
        (why,) = [w for w in FORMS if w.startswith(start)]
        assert SQL.search(statement), statement
        assert FORMS[why].search(WORDS.sub("''", statement)), statement
    for statement in good:
        assert not any(form.search(WORDS.sub("''", statement)) for form in FORMS.values()), statement
    assert unnamed_subqueries("SELECT COUNT(*) FROM (SELECT at FROM t WHERE key = ? LIMIT ?)") == ["FROM (SELECT at FROM t WHERE key = ? LIMIT ?)"]
    assert unnamed_subqueries("SELECT a FROM t LEFT JOIN (SELECT DISTINCT b FROM u) WHERE 1") == ["JOIN (SELECT DISTINCT b FROM u)"]
    assert unnamed_subqueries("SELECT x FROM (SELECT 1) AS one LEFT JOIN (SELECT n FROM t ORDER BY d LIMIT 1) p ON true") == []
    assert unnamed_subqueries("SELECT 1 FROM t WHERE id IN (SELECT id FROM u)") == []
    assert sum(1 for _ in sql_strings()) > 300  # the server's statements are all read (about 400 today)
