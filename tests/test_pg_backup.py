"""`touchpoint backup` and `restore` on PostgreSQL (issue 28): pg_dump of one snapshot and the photos
it names, in the same checked tar file as a SQLite backup; restored with pg_restore into a new empty
database and a new photo folder: the same rows, table by table, and the same photo bytes."""

import json
import tarfile

import msgspec
import psycopg
import pytest

from server.cli import main
from server.photos.store import photo_store
from tests import stores
from tests.conftest import GOOD_VISIT, _serve, audit_body
from tests.test_actions import FAILED, action_of, close, submit
from tests.test_photo_store import serves_the_same_images
from tests.test_api_photos import put_photo
from tests.test_photo_processing import phone_jpeg


def every_row(url: str) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, Touchpoint's steps table too."""
    with psycopg.connect(url) as conn:
        tables = [t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}


def images(folder) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*.jpg"))}


def stored(settings) -> dict[str, bytes]:
    """Every image of the installation's photo store (the folder or the bucket), by file name."""
    store = photo_store(settings)
    return {name.rpartition("/")[2]: store.read(name) for name, _ in store.listing()}


@pytest.fixture
def installation(request, tmp_path, postgres_cluster, monkeypatch):
    """A server on PostgreSQL with two audits, one photo and a closed action's photo; the photos in
    its data folder, or (parametrized "bucket") in a bucket, which the environment then names."""
    url = postgres_cluster.new_database()
    photos = stores.new_bucket(monkeypatch) if getattr(request, "param", "folder") == "bucket" else {}
    serving = _serve(tmp_path / "source", database_url=url, photos=photos)
    server = next(serving)
    body = audit_body(GOOD_VISIT)
    _, _, photo = put_photo(server, "auditor_a", phone_jpeg(640, 480, seed=7), body["id"])
    body["answers"]["greet"] = {"value": "yes", "photos": [photo]}
    assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
    action = action_of(server, submit(server, FAILED))["id"]
    assert close(server, action, "manager_r1", photo=phone_jpeg(640, 480, seed=8)).status_code == 200
    yield server, url, photo, action
    serving.close()
    postgres_cluster.drop_database(url)


@pytest.mark.parametrize("installation", ["folder", "bucket"], indirect=True)
def test_a_postgresql_installation_is_backed_up_and_restored_into_a_new_database_and_photo_folder(installation, postgres_url, tmp_path, monkeypatch, capsys):
    server, source_url, photo, action = installation
    archive = tmp_path / "touchpoint.tar"
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", source_url)
    assert main(["backup", str(archive), "--data", str(server.settings.data)]) == 0
    out = capsys.readouterr().out
    assert "pg_dump of 127.0.0.1:" in out and "touchpoint.tar: 2 audits, 1 photos (4 image files)" in out
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile("backup.json").read())
    assert "touchpoint.pgdump" in names and len([n for n in names if n.startswith("photos/")]) == 4  # display and thumbnail of two
    assert manifest["engine"] == "postgresql" and manifest["left_out"] == [] and manifest["schema"][-1] == "0023_photo_bytes"
    rows = every_row(source_url)

    restored = tmp_path / "restored"
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", postgres_url)  # a new empty database, and a new data folder for the photos
    for name in ("TOUCHPOINT_PHOTOS_URL", "TOUCHPOINT_S3_ENDPOINT"):  # a backup of a bucket restores into a folder too
        monkeypatch.delenv(name, raising=False)
    assert main(["restore", str(archive), "--data", str(restored)]) == 0
    assert f"restored into {postgres_url.rsplit('@', 1)[1]}: 2 audits and 1 photos" in capsys.readouterr().out
    again = every_row(postgres_url)
    assert set(again) == set(rows) and len(rows) == 49  # 48 of Touchpoint's and its steps
    for table in rows:
        assert again[table] == rows[table], table
    assert {name.rpartition("/")[2]: data for name, data in images(restored / "photos").items()} == stored(server.settings)
    assert len(stored(server.settings)) == 4

    # the app on the restored database and folder serves the same bytes (the tokens came back with the rows)
    settings = msgspec.structs.replace(server.settings, data=restored, database_url=postgres_url, photos_url="", s3_endpoint="")
    serves_the_same_images(settings, server, photo, action)

    # a second restore into the now full database is refused; so is a PostgreSQL backup without a PostgreSQL database
    assert main(["restore", str(archive), "--data", str(tmp_path / "other")]) == 2
    assert "holds 49 tables: restore into an empty PostgreSQL database of its own (createdb)" in capsys.readouterr().err
    monkeypatch.delenv("TOUCHPOINT_DATABASE_URL")
    assert main(["restore", str(archive), "--data", str(tmp_path / "other")]) == 2
    assert "is a backup of a PostgreSQL installation: set TOUCHPOINT_DATABASE_URL to an empty PostgreSQL database" in capsys.readouterr().err
    assert not (tmp_path / "other" / "touchpoint.db").exists()


def test_a_damaged_dump_and_absent_programs_are_told(installation, postgres_url, tmp_path, monkeypatch, capsys):
    server, source_url, _, _ = installation
    archive = tmp_path / "touchpoint.tar"
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", source_url)
    monkeypatch.setenv("TOUCHPOINT_PG_BIN", str(tmp_path / "nowhere"))
    assert main(["backup", str(archive), "--data", str(server.settings.data)]) == 2
    assert (f"backup: a PostgreSQL installation is backed up and restored with pg_dump and pg_restore: no pg_dump and pg_restore "
            f"in {tmp_path / 'nowhere'}: install PostgreSQL's programs") in capsys.readouterr().err
    assert not archive.exists()
    monkeypatch.delenv("TOUCHPOINT_PG_BIN")
    assert main(["backup", str(archive), "--data", str(server.settings.data)]) == 0
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "touchpoint.pgdump":
                data = data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1:]
            dst.addfile(member, __import__("io").BytesIO(data))
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", postgres_url)
    capsys.readouterr()
    assert main(["restore", str(damaged), "--data", str(tmp_path / "restored")]) == 2
    assert "the database dump does not match the hash its manifest recorded" in capsys.readouterr().err
    with psycopg.connect(postgres_url) as conn:  # nothing restored
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").fetchone() == (0,)


def test_a_photo_of_an_audit_that_never_arrived_gone_from_the_folder_is_left_out_and_its_rows_go_at_restore(installation, postgres_url, tmp_path, monkeypatch, capsys):
    """As when pruning takes it between the snapshot and the copy: the dump still names it, the
    manifest lists it as left out, and the restored database has no row of it."""
    server, source_url, _, _ = installation
    response, _, orphan = put_photo(server, "auditor_a", phone_jpeg(640, 480, seed=9))  # for an audit never sent
    assert response.status_code == 201
    file = server.db.execute("SELECT file FROM photos WHERE id = ?", [orphan]).fetchone()[0]
    for image in (server.settings.data / "photos").rglob(f"{file}.*"):
        image.unlink()
    archive = tmp_path / "touchpoint.tar"
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", source_url)
    assert main(["backup", str(archive), "--data", str(server.settings.data)]) == 0
    assert "2 audits, 1 photos (4 image files)" in capsys.readouterr().out
    with tarfile.open(archive) as tar:
        assert json.loads(tar.extractfile("backup.json").read())["left_out"] == [file]
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", postgres_url)
    assert main(["restore", str(archive), "--data", str(tmp_path / "restored")]) == 0
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM photos WHERE file = %s", [file]).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM photos").fetchone() == (1,)
    # a photo of a stored audit gone from the folder is no such case: the backup is refused
    kept = server.db.execute("SELECT file FROM photos WHERE audit IS NOT NULL AND file != ?", [file]).fetchone()
    assert kept is not None
    for image in (server.settings.data / "photos").rglob(f"{kept[0]}.*"):
        image.unlink()
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", source_url)
    assert main(["backup", str(tmp_path / "after-loss.tar"), "--data", str(server.settings.data)]) == 2
    assert "1 photos of stored audits have no image file in the photos folder: the folder is incomplete" in capsys.readouterr().err
    assert not (tmp_path / "after-loss.tar").exists() and not (tmp_path / "after-loss.tar.part").exists()


def test_a_backup_made_while_audits_arrive_is_one_moment_of_the_live_data(installation, postgres_url, tmp_path, monkeypatch, capsys):
    """pg_dump and the list of photos read one snapshot: the server is never blocked, and what the
    restored database holds is a moment of the live data, with every image it names."""
    import threading
    import time
    import uuid

    server, source_url, _, _ = installation
    more, stop = [], threading.Event()

    def keep_submitting():  # the server goes on taking audits with photos while the backup runs
        while not stop.is_set() and len(more) < 40:
            body = audit_body(GOOD_VISIT, id=str(uuid.uuid4()))
            _, _, photo = put_photo(server, "auditor_a", phone_jpeg(640, 480, seed=100 + len(more)), body["id"])
            body["answers"]["greet"] = {"value": "yes", "photos": [photo]}
            assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
            more.append(body["id"])

    sender = threading.Thread(target=keep_submitting)
    sender.start()
    while len(more) < 3:
        time.sleep(0.01)
    archive = tmp_path / "touchpoint.tar"
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", source_url)
    try:
        assert main(["backup", str(archive), "--data", str(server.settings.data)]) == 0
    finally:
        stop.set()
        sender.join()
    monkeypatch.setenv("TOUCHPOINT_DATABASE_URL", postgres_url)
    restored = tmp_path / "restored"
    assert main(["restore", str(archive), "--data", str(restored)]) == 0
    with psycopg.connect(postgres_url) as copy, psycopg.connect(source_url) as live:
        kept = {row[0]: row[1:] for row in copy.execute("SELECT id, score, content_hash FROM audits")}
        now = {row[0]: row[1:] for row in live.execute("SELECT id, score, content_hash FROM audits")}
        assert len(kept) >= 5 and all(now[audit] == row for audit, row in kept.items())
        files = [file for (file,) in copy.execute("SELECT file FROM photos")]
    assert len(files) >= len(kept) - 1  # each audit's photo (the closed action's failed audit has none), and any uploaded for one not yet sent
    for file in files:
        for size in ("display", "thumb"):
            name = f"{file[:2]}/{file}.{size}.jpg"
            assert (restored / "photos" / name).read_bytes() == (server.settings.data / "photos" / name).read_bytes()
    print(f"\npg backup while audits arrived: {len(more)} sent meanwhile, {len(kept)} audits restored, each as the live one")
