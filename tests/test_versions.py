"""What is published lives in the database; the checklists folder is a way in, by one rule
(server/checklists/versions.py): the same file changes nothing, an older file never replaces what
is published, new content is published unless the current version came from the browser; export
writes the current files byte for byte and importing them again changes nothing."""

import shutil

from litestar.testing import TestClient

from server import cli
from server.app import create_app
from server.checklists import load_brands, parse_checklist, versions
from server.checklists.catalog import Catalog
from server.migrations import open_database
from tests.conftest import make_server_files
from tests.engine import point_cli_at


def _edit(path, line: str) -> bytes:
    path.write_bytes(path.read_bytes() + f"# {line}\n".encode())
    return path.read_bytes()


def _current(db, checklist="visit") -> tuple[str, str]:
    return db.execute("""SELECT c.current_version, cv.via FROM checklists c JOIN checklist_versions cv
                         ON cv.brand = c.brand AND cv.checklist = c.id AND cv.version = c.current_version WHERE c.id = ?""", [checklist]).fetchone()


def test_the_folder_is_published_at_start_and_an_older_file_never_replaces_a_newer_version(tmp_path):
    settings = make_server_files(tmp_path)
    db = open_database(settings.store)
    visit = settings.checklists / "acme" / "visit.yaml"
    first = visit.read_bytes()
    catalog = Catalog.load(db, settings.checklists)
    v1 = catalog.brands["acme"].checklists["visit"].version
    assert _current(db) == (v1, "folder") and catalog.applied.published == ["acme/brand.yaml", "acme/visit.yaml", "acme/call.yaml"]
    assert Catalog.load(db, settings.checklists).applied.unchanged == ["acme"]  # the same files: nothing

    second = _edit(visit, "the second version")
    catalog = Catalog.load(db, settings.checklists)
    v2 = catalog.brands["acme"].checklists["visit"].version
    assert v2 != v1 and _current(db) == (v2, "folder") and catalog.applied.published == ["acme/visit.yaml"]

    visit.write_bytes(first)  # an old copy of the folder comes back
    catalog = Catalog.load(db, settings.checklists)
    assert catalog.brands["acme"].checklists["visit"].version == v2 and _current(db) == (v2, "folder")
    assert [str(r) for r in catalog.applied.refused] == [
        "acme/visit.yaml: an older version: the one published now replaced it (`touchpoint checklists export` writes the current one)"]
    assert catalog.brands["acme"].checklists["visit"].source == second  # what is served is what was published
    assert catalog.checklist(db, "acme", "visit", v1)[1].version == v1  # the old version is still there for the audits made with it


def test_a_version_published_in_the_browser_survives_a_restart_over_the_folder(tmp_path):
    settings = make_server_files(tmp_path)
    db = open_database(settings.store)
    Catalog.load(db, settings.checklists)
    edited = load_brands(settings.checklists)["acme"]
    source = edited.checklists["visit"].source.replace(b"title: ", b"title: Edited ", 1)
    browser = parse_checklist(source, edited.brand, "visit.yaml")
    versions.publish(db, type(edited)(brand=edited.brand, version=edited.version, source=edited.source, checklists={**edited.checklists, "visit": browser}),
                     "browser", note="the greeting weighs more")
    _edit(settings.checklists / "acme" / "visit.yaml", "edited on disk meanwhile")
    with TestClient(create_app(settings)) as client:  # a restart: the folder differs, the browser's version stays
        assert client.app.state.catalog.brands["acme"].checklists["visit"].version == browser.version
        assert client.app.state.catalog.brands["acme"].checklists["visit"].checklist.title.startswith("Edited ")
        assert [r.file for r in client.app.state.catalog.applied.refused] == ["visit.yaml"]
    assert _current(db) == (browser.version, "browser")
    row = db.execute("SELECT note, published_at IS NOT NULL FROM checklist_versions WHERE version = ?", [browser.version]).fetchone()
    assert row == ("the greeting weighs more", 1)


def test_export_writes_the_published_files_and_importing_them_again_changes_nothing(tmp_path, capsys, monkeypatch):
    settings = make_server_files(tmp_path)
    db = open_database(settings.store)
    Catalog.load(db, settings.checklists)
    edited = _edit(settings.checklists / "acme" / "visit.yaml", "second")
    Catalog.load(db, settings.checklists)
    where = ["--data", str(settings.data), "--checklists", str(settings.checklists)]
    point_cli_at(monkeypatch, settings)
    out = tmp_path / "exported"
    assert cli.main(["checklists", "export", str(out), *where]) == 0
    assert (out / "acme" / "visit.yaml").read_bytes() == edited  # byte for byte
    assert sorted(p.name for p in (out / "acme").iterdir()) == ["brand.yaml", "call.yaml", "visit.yaml"]
    assert cli.main(["checklists", "export", str(out), *where]) == 2  # never over a folder with files
    assert "is not an empty folder" in capsys.readouterr().err
    assert cli.main(["checklists", "import", str(out), *where]) == 0
    assert "acme: as published already" in capsys.readouterr().out

    # an edit of the export is published by the import, with its note
    (out / "acme" / "call.yaml").write_bytes((out / "acme" / "call.yaml").read_bytes() + b"# a new script\n")
    assert cli.main(["checklists", "import", str(out), *where, "--note", "the new script"]) == 0
    assert "acme/call.yaml: published" in capsys.readouterr().out
    version, via = _current(db, "call")
    assert via == "import" and db.execute("SELECT note FROM checklist_versions WHERE version = ?", [version]).fetchone() == ("the new script",)


def test_the_import_refuses_over_a_browser_edit_unless_told_to_replace_and_a_bad_folder_imports_nothing(tmp_path, capsys, monkeypatch):
    settings = make_server_files(tmp_path)
    db = open_database(settings.store)
    Catalog.load(db, settings.checklists)
    loaded = load_brands(settings.checklists)["acme"]
    renamed = parse_checklist(loaded.checklists["call"].source + b"# in the browser\n", loaded.brand, "call.yaml")
    versions.publish(db, type(loaded)(brand=loaded.brand, version=loaded.version, source=loaded.source, checklists={**loaded.checklists, "call": renamed}), "browser")
    where = ["--data", str(settings.data), "--checklists", str(settings.checklists)]
    point_cli_at(monkeypatch, settings)
    folder = tmp_path / "theirs"
    shutil.copytree(settings.checklists, folder)
    _edit(folder / "acme" / "call.yaml", "on disk")
    assert cli.main(["checklists", "import", str(folder), *where]) == 2
    err = capsys.readouterr().err
    assert f"{folder}/acme/call.yaml: differs from the version published in the browser, which no file holds" in err
    assert _current(db, "call") == (renamed.version, "browser")
    assert cli.main(["checklists", "import", str(folder), *where, "--replace"]) == 0
    assert _current(db, "call")[1] == "import"

    (folder / "acme" / "visit.yaml").write_text("id: visit\ntitle: [broken\n")
    before = db.execute("SELECT count(*) FROM checklist_versions").fetchone()
    assert cli.main(["checklists", "import", str(folder), *where]) == 2
    err = capsys.readouterr().err
    assert "acme/visit.yaml: not valid YAML" in err and err.rstrip().endswith("nothing was imported")
    assert db.execute("SELECT count(*) FROM checklist_versions").fetchone() == before
    monkeypatch.delenv("TOUCHPOINT_DATABASE_URL", raising=False)
    assert cli.main(["checklists", "export", str(tmp_path / "new"), "--data", str(tmp_path / "nowhere")]) == 2  # no data there: it says so
