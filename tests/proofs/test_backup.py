"""touchpoint backup while the server takes audits, and touchpoint restore into a fresh folder."""

import tarfile
import threading
import time
import uuid

import pytest
from litestar.testing import TestClient

from server.cli import main
from server.photos.store import photo_store
from tests.conftest import GOOD_VISIT, _serve, audit_body
from tests.engine import sqlite_only
from tests.figures import FIGURES
from tests.test_api_photos import put_photo
from tests.test_photo_processing import phone_jpeg

pytestmark = sqlite_only("the backup of a SQLite file; PostgreSQL's (pg_dump of a snapshot and the photos it names) is tests/test_pg_backup.py")


@pytest.fixture
def running(tmp_path, monkeypatch, photos_in):
    """The server, with photos in its folder and in a bucket (photos_in)."""
    monkeypatch.setenv("TOUCHPOINT_CHECKLISTS", str(tmp_path / "site" / "checklists"))  # where _serve writes the brand
    yield from _serve(tmp_path / "site", photos=photos_in)


def submit_with_photo(server, n: int) -> str:
    body = audit_body(GOOD_VISIT, id=str(uuid.uuid4()))
    response, _, photo_id = put_photo(server, "auditor_a", phone_jpeg(640, 480, seed=n), body["id"])
    assert response.status_code == 201
    body["answers"]["greet"] = {"value": "yes", "photos": [photo_id]}
    assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
    return body["id"]


def test_a_backup_made_while_audits_arrive_restores_into_a_fresh_folder_equal(running, tmp_path, capsys, monkeypatch):
    server = running
    for n in range(5):
        submit_with_photo(server, n)
    more, stop = [], threading.Event()

    def keep_submitting():  # the server goes on taking audits while the backup runs
        while not stop.is_set() and len(more) < 40:
            more.append(submit_with_photo(server, 100 + len(more)))

    sender = threading.Thread(target=keep_submitting)
    sender.start()
    while len(more) < 3:  # under way before the backup starts, and going on while it runs
        time.sleep(0.01)
    archive = tmp_path / "backups" / "touchpoint.tar"
    try:
        assert main(["backup", str(archive), "--data", str(server.settings.data)]) == 0
    finally:
        stop.set()
        sender.join()
    said = capsys.readouterr().out
    assert "checked: database whole, every photo present" in said

    restored = tmp_path / "restored"
    for name in ("TOUCHPOINT_PHOTOS_URL", "TOUCHPOINT_S3_ENDPOINT"):  # a backup of a bucket restores into a folder too
        monkeypatch.delenv(name, raising=False)
    assert main(["restore", str(archive), "--data", str(restored)]) == 0
    assert f"restored into {restored}" in capsys.readouterr().out
    from server.db import connect

    copy = connect(restored / "touchpoint.db")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kept = {row[0]: row[1:] for row in copy.execute("SELECT id, score, content_hash FROM audits")}
    live = {row[0]: row[1:] for row in server.db.execute("SELECT id, score, content_hash FROM audits")}
    assert len(kept) >= 5 and all(live[audit] == row for audit, row in kept.items())  # the snapshot: a moment of the live data
    live_photos = photo_store(server.settings)
    for (file,) in copy.execute("SELECT file FROM photos"):
        for size in ("display", "thumb"):
            name = f"{file[:2]}/{file}.{size}.jpg"
            assert (restored / "photos" / name).read_bytes() == live_photos.read(name)
    # the restored folder serves: an audit and its photo read back as the original does
    from server.app import create_app
    from server.settings import Settings

    audit_id = next(iter(kept))
    with TestClient(create_app(Settings(data=restored, checklists=server.settings.checklists, audit_max_age_days=36_500))) as client:
        headers = server.auth("admin")
        again = client.get(f"/api/audits/{audit_id}", headers=headers).json()
        assert again == server.get(f"/api/audits/{audit_id}", "admin").json()
        photo = again["answers"]["greet"]["photos"][0]
        assert client.get(f"/api/photos/{photo}", headers=headers).content == server.get(f"/api/photos/{photo}", "admin").content
    copy.conn.close()
    FIGURES[f"backup ({'bucket' if server.settings.photos_url else 'folder'})"] = f"made while audits with photos kept arriving ({len(more)} in all); restored into a fresh folder: {len(kept)} audits and their photos equal, byte for byte, and served"


def test_backup_and_restore_refuse_what_would_lose_data(running, tmp_path, capsys):
    server = running
    submit_with_photo(server, 1)
    archive = tmp_path / "b.tar"
    assert main(["backup", str(archive), "--data", str(server.settings.data)]) == 0
    assert main(["backup", str(archive), "--data", str(server.settings.data)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["restore", str(archive), "--data", str(server.settings.data)]) == 2  # over live data: never
    assert "restore into an empty data folder" in capsys.readouterr().err
    # a damaged backup is refused with the reason, and nothing is restored
    broken = tmp_path / "broken.tar"
    with tarfile.open(archive) as src, tarfile.open(broken, "w") as dst:
        for member in src.getmembers():
            if member.name.endswith(".thumb.jpg"):
                continue  # a photo file lost
            dst.addfile(member, src.extractfile(member))
    assert main(["restore", str(broken), "--data", str(tmp_path / "fresh")]) == 2
    assert "photo files the database lists are missing" in capsys.readouterr().err
    assert not (tmp_path / "fresh" / "touchpoint.db").exists()
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all")
    assert main(["restore", str(tmp_path / "junk.tar"), "--data", str(tmp_path / "fresh")]) == 2
    assert "not a whole Touchpoint backup" in capsys.readouterr().err
    assert main(["backup", str(tmp_path / "x.tar"), "--data", str(tmp_path / "nothing")]) == 2
    assert "no Touchpoint data" in capsys.readouterr().err
