"""Migrations that cannot drift: the schema they make is the checked server/schema.sql, and a step
that has shipped imports no live code (editing that code would change what an old step does)."""

import ast
import difflib
from pathlib import Path

import sqlite_utils

from server import migrations
from server.migrations import REGENERATE, open_database, schema

SERVER = Path(migrations.__file__).parent
# infrastructure a step may use: opening the database. Nothing that holds a rule of the product.
# server.db opens connections; server.pgschema turns the head schema into PostgreSQL's, given only to
# an empty PostgreSQL database (never a step of the past: no step calls it)
ALLOWED = {"server.db", "server.pgschema"}


def test_the_migrations_make_the_checked_schema(tmp_path):
    db = open_database(tmp_path / "empty.db")
    made, checked = schema(db), (SERVER / "schema.sql").read_text()
    drift = "".join(difflib.unified_diff(checked.splitlines(True), made.splitlines(True), "server/schema.sql", "what the migrations make"))
    assert made == checked, (f"server/schema.sql is not what the migrations make. A new step changes the schema: "
                             f"run `{REGENERATE}` and commit both; a changed old step is the bug.\n{drift}")


def test_the_schema_text_does_not_depend_on_the_order_the_steps_ran():
    """Each table, then its indexes, sorted by name; indentation made even; SQLite's own rows left out."""
    statements = ["CREATE TABLE b (\n            id INTEGER PRIMARY KEY AUTOINCREMENT   \n        )", "CREATE INDEX b_id ON b(id)",
                  "CREATE TABLE a (id TEXT PRIMARY KEY)"]
    made = []
    for order in (statements, [statements[2], statements[0], statements[1]]):
        db = sqlite_utils.Database(memory=True)
        for statement in order:
            db.execute(statement)
        made.append(schema(db).removeprefix(migrations.SCHEMA_HEADER))
    assert made[0] == made[1] == ("CREATE TABLE a (id TEXT PRIMARY KEY);\n\n"
                                  "CREATE TABLE b (\n    id INTEGER PRIMARY KEY AUTOINCREMENT\n);\n\nCREATE INDEX b_id ON b(id);\n")


def imported(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, at any depth, relative ones made absolute."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(["server"] * bool(node.level) + ([node.module] if node.module else []))
            found += [(node.lineno, f"{base}.{alias.name}" if base == "server" else base) for alias in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__"):
            found.append((node.lineno, "a dynamic import"))
    return found


def live_imports(source: str) -> list[str]:
    return [f"server/migrations.py:{line}: imports {module}" for line, module in imported(ast.parse(source))
            if module == "a dynamic import" or (module.split(".")[0] == "server" and module not in ALLOWED)]


def test_no_step_imports_live_code():
    found = live_imports((SERVER / "migrations.py").read_text())
    assert found == [], ("a migration imports live code, so editing that code changes a step that has shipped; "
                         "give the step its own frozen copy beside it (as 0005 has _meaning_hash_0005):\n" + "\n".join(found))


def test_the_import_check_sees_an_import_inside_a_step():
    step = '''
from server import db as dbmod

@migrations(name="0099_x")
def m0099(db):
    from server.audits import meaning_hash
    from . import scoring
    import server.locations
    importlib.import_module("server.catalog")
'''
    assert live_imports(step) == ["server/migrations.py:6: imports server.audits", "server/migrations.py:7: imports server.scoring",
                                  "server/migrations.py:8: imports server.locations", "server/migrations.py:9: imports a dynamic import"]


def test_step_0005_hashes_as_it_shipped():
    """The frozen copy gives the digest the shipped function (commit 24f038a) gave for this audit:
    3.0 as 3, the answers sorted, no assignment."""
    answers = {"wait": (3.0, None, []), "greeted": (True, "a smile", ["p-1", "p-2"]), "notes": ("quick", None, []), "skipped": (None, None, [])}
    digest = migrations._meaning_hash_0005("bath-1", "checkout", None, "2026-01-05T10:00:00+00:00", "2026-01-05T10:12:00+00:00", answers)
    assert digest == "473c85c37496b1f2c7aa49be74fa813e3306de2fe81653a26a20c652c5a5934d"
