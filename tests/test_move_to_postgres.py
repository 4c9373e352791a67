"""`touchpoint move-to-postgres` (issue 28): the demo, built on SQLite as `touchpoint demo --no-serve`
builds it, moved into an empty PostgreSQL database of the tests' own cluster. What the command says
it checked is checked here again independently: every table's rows read from both engines and
compared as sorted lists, then the app started on the PostgreSQL URL answering the same figures as
on the SQLite file."""

import contextlib
import io
import json
import re
import shutil
import sqlite3
import uuid
from pathlib import Path

import psycopg
import pytest

from server.cli import main

ROOT = Path(__file__).resolve().parent.parent
CHECKLISTS = ROOT / "checklists"
REGIONS = ["north", "south", "east", "west"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's data folder, built once for the module (about 15 s), and its printed passwords."""
    data = tmp_path_factory.mktemp("demo") / "data"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["demo", "--data", str(data), "--checklists", str(CHECKLISTS), "--no-serve"]) == 0
    return data, dict(re.findall(r"^  (\S+)\s+(\S+)$", out.getvalue(), re.M))


@pytest.fixture
def folder(demo, tmp_path):
    """A copy of the demo's data folder for one test (a move never writes its source, but a test may)."""
    copy = tmp_path / "data"
    shutil.copytree(demo[0], copy)
    return copy


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def sqlite_rows(database: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(database)
    try:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")]
        return {t: sorted((conn.execute(f'SELECT * FROM "{t}"').fetchall()), key=repr) for t in tables if t != "_sqlite_migrations"}
    finally:
        conn.close()


def postgres_rows(url: str, columns_of: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """Each table's rows, its columns in SQLite's order; bytea as bytes, as SQLite returns a BLOB."""
    with psycopg.connect(url) as conn:
        return {t: sorted((tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                           for row in conn.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "{t}"')), key=repr)
                for t, cols in columns_of.items()}


def sqlite_columns(database: Path, tables) -> dict[str, list[str]]:
    conn = sqlite3.connect(database)
    try:
        return {t: [row[1] for row in conn.execute(f'PRAGMA table_info("{t}")')] for t in tables}
    finally:
        conn.close()


def figures(settings, passwords: dict[str, str]) -> dict:
    """What the app answers of the four regions: the API's summaries and the region pages' status."""
    from litestar.testing import TestClient

    from server.app import create_app

    with TestClient(create_app(settings)) as client:
        signed = client.post("/api/login", json={"name": "admin", "password": passwords["admin"]})
        assert signed.status_code in (200, 201), signed.text
        answers = {region: client.get(f"/api/regions/{region}/summary").json() for region in REGIONS}
        page = client.get("/manage/regions/east")
        assert page.status_code == 200
        answers["page"] = re.sub(r'name="csrf_token" value="[^"]*"', "", page.text)  # a new one each sign-in; all else the same
    return answers


def test_the_demo_moves_to_postgresql_whole_and_serves_the_same_figures(demo, folder, postgres_url):
    from server.settings import Settings

    database = folder / "touchpoint.db"
    before = sqlite_rows(database)
    code, out, err = run("move-to-postgres", "--data", str(folder), postgres_url)
    assert code == 0, err
    # progress a table at a time, then the comparison: 48 tables (the 49 of SQLite but sqlite-utils' own record of the steps)
    assert "  audits: 1,275 rows copied" in out and "  answers: 14,588 rows copied" in out
    assert out.index("  locations: ") < out.index("  audits: ") < out.index("  answers: ")  # foreign-key order
    table = [line.split() for line in out.splitlines() if re.match(r"^\w+ +[\d,]+ +[\d,]+ +[0-9a-f]{16} +(yes|NO)$", line)]
    assert len(table) == 48 and all(row[-1] == "yes" and row[1] == row[2] for row in table)
    assert "All 48 tables equal" in out
    assert sum(int(row[1].replace(",", "")) for row in table) == sum(len(rows) for rows in before.values())

    # independently of the command's checksums: every table's rows, sorted, the same on both engines
    assert sqlite_rows(database) == before  # the source is as it was
    after = postgres_rows(postgres_url, sqlite_columns(database, before))
    assert set(after) == set(before) and len(before) == 48
    for name in before:
        assert after[name] == before[name], name
    assert len(before["audits"]) == 1275 and len(before["photos"]) == 728

    # a second move into the now full target is refused, and writes nothing
    code, out, err = run("move-to-postgres", "--data", str(folder), postgres_url)
    assert code == 2
    assert "the target already holds data: brands (1 row), checklists (4 rows)" in err and "nothing was written" in err
    assert postgres_rows(postgres_url, sqlite_columns(database, before)) == after

    # the app on the PostgreSQL URL, with the same data folder (its photos stay there), answers the same
    on_sqlite = Settings(data=folder, checklists=CHECKLISTS)
    on_postgres = Settings(data=folder, checklists=CHECKLISTS, database_url=postgres_url)
    passwords = demo[1]
    same = figures(on_sqlite, passwords)
    assert figures(on_postgres, passwords) == same
    assert same["east"]["score"] is not None and len(same["east"]["ranking"]) == 10


def test_a_new_audit_after_the_move_gets_the_next_numbers(demo, folder, postgres_url, monkeypatch):
    from litestar.testing import TestClient

    from server.app import create_app
    from server.settings import Settings

    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", postgres_url)  # the URL the server will be given: the default target
    assert run("move-to-postgres", "--data", str(folder))[0] == 0
    with psycopg.connect(postgres_url) as conn:
        (last_seq,) = conn.execute("SELECT max(seq) FROM audits").fetchone()
        (last_history,) = conn.execute("SELECT max(seq) FROM history").fetchone()
    body = json.loads((CHECKLISTS / "harbor" / "examples" / "phone-call.json").read_text()) | {"id": str(uuid.uuid4())}
    with TestClient(create_app(Settings(data=folder, checklists=CHECKLISTS, database_url=postgres_url))) as client:
        signed = client.post("/api/login", json={"name": "admin", "password": demo[1]["admin"]})
        sent = client.post("/api/audits", json=body, headers={"X-CSRF-Token": signed.json()["csrf_token"]})
        assert sent.status_code == 201, sent.text
    with psycopg.connect(postgres_url) as conn:
        (seq,) = conn.execute("SELECT seq FROM audits WHERE id = %s", [body["id"]]).fetchone()
        (history,) = conn.execute("SELECT max(seq) FROM history").fetchone()
    assert last_seq == 1275 and seq == last_seq + 1  # the identity went on past the copied numbers, no clash
    assert history > last_history


def test_a_source_behind_the_head_is_refused_before_anything_is_written(folder, postgres_url):
    conn = sqlite3.connect(folder / "touchpoint.db")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0023_photo_bytes'")  # as if made by the Touchpoint before it
    conn.commit()
    conn.close()
    code, out, err = run("move-to-postgres", "--data", str(folder), postgres_url)
    assert code == 2
    assert "is 1 schema step behind this Touchpoint (first: 0023_photo_bytes): start the server on it once (touchpoint serve)" in err
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").fetchone() == (0,)


def test_a_folder_a_server_serves_is_refused(folder, postgres_url):
    from server.db import serving

    held, first = serving(folder / "touchpoint.db")  # what `touchpoint serve` holds while it runs
    try:
        code, out, err = run("move-to-postgres", "--data", str(folder), postgres_url)
    finally:
        held.close()
    assert first and code == 2
    assert f"a Touchpoint server serves {folder} now: stop it first: what it wrote after the copy would be left behind" in err


def test_what_is_wrong_is_said(tmp_path, postgres_url, monkeypatch):
    monkeypatch.delenv("TOUCHPOINT_DATABASE_URL", raising=False)
    code, _, err = run("move-to-postgres", "--data", str(tmp_path / "none"))
    assert code == 2 and "give the empty PostgreSQL database to move into" in err
    code, _, err = run("move-to-postgres", "--data", str(tmp_path / "none"), "mysql://db/touchpoint")
    assert code == 2 and "TOUCHPOINT_DATABASE_URL: expected a PostgreSQL database" in err
    code, _, err = run("move-to-postgres", "--data", str(tmp_path / "none"), postgres_url)
    assert code == 2 and "no Touchpoint data in" in err and "--data DIR" in err
    assert not (tmp_path / "none").exists()


def test_the_checksum_is_of_the_rows_whatever_their_order_and_of_their_values_by_column_type():
    from server.move import Compared, _fingerprint, report

    columns = [("id", "bigint"), ("score", "double precision"), ("note", "text"), ("source", "bytea")]
    rows = [(1, 87.5, "ok", b"id: x"), (2, None, "", b"")]
    count, checksum = _fingerprint(rows, columns)
    assert count == 2 and _fingerprint(reversed(rows), columns) == (2, checksum)  # the order rows come in does not count
    # as PostgreSQL returns what SQLite held: an integer in a float column as a float, BLOB text as bytes
    assert _fingerprint([(1, 87.5, "ok", "id: x"), (2, None, "", memoryview(b""))], columns) == (2, checksum)
    assert _fingerprint([(True, 87.5, "ok", b"id: x"), (2, None, "", b"")], columns) == (2, checksum)  # a flag is 0 or 1
    assert _fingerprint([(1, 87.0, "ok", b"id: x")], columns)[1] == _fingerprint([(1, 87, "ok", b"id: x")], columns)[1]
    for changed in [(1, 87.5, "ok", b"id: y"), (1, 87.5000001, "ok", b"id: x"), (1, 87.5, "ok ", b"id: x"), (1, 87.5, None, b"id: x"),
                    (3, 87.5, "ok", b"id: x")]:
        assert _fingerprint([changed, rows[1]], columns)[1] != checksum, changed
    assert _fingerprint([(2, None, "", b"")], columns)[1] != _fingerprint([(2, None, None, b"")], columns)[1]  # '' is not NULL
    assert _fingerprint([], columns) == (0, "0" * 64)
    shown = report([Compared("audits", 2, 2, checksum, checksum), Compared("photos", 3, 3, "a" * 64, "b" * 64)]).splitlines()
    assert shown[0].split() == ["table", "SQLite", "rows", "PostgreSQL", "rows", "checksum", "equal"]
    assert shown[1].split() == ["audits", "2", "2", checksum[:16], "yes"]
    assert shown[2].split() == ["photos", "3", "3", "aaaaaaa/bbbbbbbb", "NO"]
