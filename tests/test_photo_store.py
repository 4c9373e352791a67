"""Photos in an S3-compatible bucket (TOUCHPOINT_PHOTOS_URL), against a real S3-protocol server on
loopback (moto in server mode, tests/stores.py): served exactly as from the folder, stored once
per content, kept under its prefix, refused at start with the setting named when the bucket
cannot be used, and restored into a bucket from a backup of either store."""

import hashlib
import io
import json
import tarfile
import socket
import uuid
from pathlib import Path

import boto3
import pytest
from litestar.testing import TestClient

from server.app import create_app
from server.cli import main
from server.photos import storage
from server.photos.processing import process
from server.photos.store import photo_store
from server.settings import Settings, SettingsError
from tests import stores
from tests.conftest import GOOD_VISIT, _serve, audit_body, make_server_files, seed
from tests.engine import point_cli_at, sqlite_only
from tests.test_actions import FAILED, action_of, close, submit
from tests.test_api_photos import put_photo
from tests.test_photo_processing import phone_jpeg

ROOT = Path(__file__).parent.parent
SAME = ("content-type", "content-length", "content-disposition", "cache-control", "x-content-type-options")


def test_the_same_picture_is_served_with_the_same_bytes_and_headers_from_the_folder_and_the_bucket(tmp_path, monkeypatch):
    folder = _serve(tmp_path / "folder")
    bucket = _serve(tmp_path / "bucket", photos=stores.new_bucket(monkeypatch))
    on_disk, in_bucket = next(folder), next(bucket)
    try:
        picture = phone_jpeg(2000, 1500)
        served = []
        for server in (on_disk, in_bucket):
            response, _, photo = put_photo(server, "auditor_a", picture)
            assert response.status_code == 201, response.text
            action = action_of(server, submit(server, FAILED))["id"]
            assert close(server, action, "manager_r1", photo=phone_jpeg(800, 600, seed=4)).status_code == 200
            served.append([server.get(path, persona) for path, persona in (
                (f"/api/photos/{photo}", "auditor_a"), (f"/api/photos/{photo}?size=thumb", "admin"),
                (f"/api/actions/{action}/photo", "staff_l1"), (f"/api/actions/{action}/photo?size=thumb", "manager_r1"))])
        for from_folder, from_bucket in zip(*served):
            assert (from_folder.status_code, from_bucket.status_code) == (200, 200)
            assert from_folder.content == from_bucket.content
            assert {h: from_folder.headers[h] for h in SAME} == {h: from_bucket.headers[h] for h in SAME}
            assert from_bucket.headers["content-disposition"] == 'inline; filename=""'  # as served from the folder before: no name
            # validators from each store's own record: a file's mtime and size, the object's MD5
            assert from_folder.headers["etag"] and from_folder.headers["last-modified"]
            assert from_bucket.headers["etag"] == f'"{hashlib.md5(from_bucket.content).hexdigest()}"'
            assert from_bucket.headers["last-modified"].endswith(" GMT")
        assert stores.files(on_disk.settings) == stores.files(in_bucket.settings)  # the same names, by content
    finally:
        for server in (folder, bucket):
            server.close()


def test_the_access_rules_are_decided_before_the_store_is_asked(photo_server):
    server = photo_server
    _, _, photo = put_photo(server, "auditor_a", phone_jpeg(600, 400))
    stores.lose_all(server.settings)
    assert server.get(f"/api/photos/{photo}", "auditor_b").status_code == 403  # not theirs: never "gone"
    assert server.client.get(f"/api/photos/{photo}").status_code == 401
    assert server.get(f"/api/photos/{photo}", "auditor_a").status_code == 410


@pytest.fixture
def bucket_server(tmp_path, monkeypatch):
    yield from _serve(tmp_path, photos=stores.new_bucket(monkeypatch))


def test_an_image_already_in_the_bucket_is_not_sent_again(bucket_server):
    server = bucket_server
    picture = phone_jpeg(1200, 900)
    assert put_photo(server, "auditor_a", picture)[0].status_code == 201
    stores.age(server.settings, 2)
    before = dict(photo_store(server.settings).listing())
    assert put_photo(server, "auditor_a", picture)[0].status_code == 201  # another photo id, the same picture
    assert server.db.execute("SELECT COUNT(DISTINCT id), COUNT(DISTINCT file) FROM photos").fetchone() == (2, 1)
    # a PUT would have made the objects new: they are as old as before, so nothing was sent
    assert dict(photo_store(server.settings).listing()) == before and len(before) == 2


def test_the_bucket_holds_images_under_its_prefix_and_the_sweep_touches_nothing_else(bucket_server, capsys, monkeypatch):
    server = bucket_server
    store = photo_store(server.settings)
    _, _, kept = put_photo(server, "auditor_a", phone_jpeg(800, 600, seed=1))
    client = boto3.client("s3", endpoint_url=store.endpoint)
    other = "elsewhere/ab/" + "ab" * 32 + ".display.jpg"  # someone else's object, of the same shape, beside the prefix
    client.put_object(Bucket=store.bucket, Key=other, Body=b"\xff\xd8not ours")
    storage.write_files(store, stray := process(phone_jpeg(800, 600, seed=2)))  # ours, and nothing references it
    stores.age(server.settings, 2)
    file = server.db.execute("SELECT file FROM photos WHERE id = ?", [kept]).fetchone()[0]
    ours = [f"photos/{name[:2]}/{name}.{size}.jpg" for name in (file, stray.sha256) for size in storage.SIZES]
    assert sorted(found["Key"] for found in client.list_objects_v2(Bucket=store.bucket)["Contents"]) == sorted([other, *ours])

    point_cli_at(monkeypatch, server.settings)
    assert main(["photos", "prune"]) == 0
    assert capsys.readouterr().out.strip() == "deleted 0 photos uploaded over 30 days ago for audits that never arrived (0 image files), and 2 image files nothing referenced"
    assert sorted(found["Key"] for found in client.list_objects_v2(Bucket=store.bucket)["Contents"]) == sorted([other, *ours[:2]])


def test_a_bucket_with_no_prefix_keeps_images_at_its_top(tmp_path, monkeypatch):
    gen = _serve(tmp_path, photos=stores.new_bucket(monkeypatch, prefix=""))
    server = next(gen)
    try:
        _, _, photo = put_photo(server, "auditor_a", phone_jpeg(640, 480))
        store = photo_store(server.settings)
        file = server.db.execute("SELECT file FROM photos WHERE id = ?", [photo]).fetchone()[0]
        assert (store.prefix, sorted(name for name, _ in store.listing())) == ("", [f"{file[:2]}/{file}.display.jpg", f"{file[:2]}/{file}.thumb.jpg"])
        assert server.get(f"/api/photos/{photo}", "auditor_a").status_code == 200
    finally:
        gen.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed


def test_a_missing_bucket_or_an_unreachable_store_stops_the_start_naming_the_setting(tmp_path, monkeypatch, capsys):
    endpoint = stores.S3.start()
    for name, value in stores.CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    settings = make_server_files(tmp_path)
    missing = Settings(**{**_fields(settings), "photos_url": "s3://touchpoint-no-such-bucket/photos", "s3_endpoint": endpoint})
    with pytest.raises(SettingsError) as refused:
        create_app(missing)
    assert str(refused.value) == f"TOUCHPOINT_PHOTOS_URL: there is no bucket 'touchpoint-no-such-bucket' in s3://touchpoint-no-such-bucket at {endpoint}: make it first, or correct the name"
    nobody = f"http://127.0.0.1:{_closed_port()}"
    unreachable = Settings(**{**_fields(settings), "photos_url": "s3://touchpoint-photos", "s3_endpoint": nobody})
    with pytest.raises(SettingsError) as refused:
        create_app(unreachable)
    assert str(refused.value).startswith(f"TOUCHPOINT_PHOTOS_URL: cannot reach s3://touchpoint-photos at {nobody} (TOUCHPOINT_S3_ENDPOINT): ")
    assert not settings.database.exists()  # refused before anything was made

    # the command line says it in one line, no traceback, and exits 2
    point_cli_at(monkeypatch, settings)
    monkeypatch.setenv("TOUCHPOINT_CHECKLISTS", str(settings.checklists))
    monkeypatch.setenv("TOUCHPOINT_PHOTOS_URL", "s3://touchpoint-no-such-bucket/photos")
    monkeypatch.setenv("TOUCHPOINT_S3_ENDPOINT", endpoint)
    for command in (["serve", "--port", str(_closed_port())], ["photos", "prune"], ["backup", str(tmp_path / "b.tar")],
                    ["restore", str(tmp_path / "b.tar"), "--data", str(tmp_path / "fresh")]):
        if command[0] == "photos":
            seed(settings)[0].conn.close()  # the commands that need data find it
        assert main(command) == 2, command
        err = capsys.readouterr().err
        assert "TOUCHPOINT_PHOTOS_URL" in err and "Traceback" not in err, (command, err)
    demo = tmp_path / "demo"
    assert main(["demo", "--data", str(demo), "--checklists", str(ROOT / "checklists"), "--port", str(_closed_port())]) == 2
    assert "TOUCHPOINT_PHOTOS_URL: there is no bucket" in capsys.readouterr().err
    assert not (demo / "touchpoint.db").exists()  # refused before the demo made anything


def _fields(settings: Settings) -> dict:
    import msgspec

    return {f.name: getattr(settings, f.name) for f in msgspec.structs.fields(settings)}


@pytest.mark.parametrize("variables, said", [
    ({"TOUCHPOINT_PHOTOS_URL": "https://bucket.example.com/photos"}, "TOUCHPOINT_PHOTOS_URL: expected s3://bucket or s3://bucket/prefix; the scheme must be s3, got 'https'"),
    ({"TOUCHPOINT_PHOTOS_URL": "s3://key:secret@bucket/photos"}, "TOUCHPOINT_PHOTOS_URL: expected s3://bucket or s3://bucket/prefix (no credentials, port or query"),
    ({"TOUCHPOINT_PHOTOS_URL": "s3:///photos"}, "TOUCHPOINT_PHOTOS_URL: expected s3://bucket or s3://bucket/prefix (no credentials"),
    ({"TOUCHPOINT_PHOTOS_URL": "s3://b/p", "TOUCHPOINT_S3_ENDPOINT": "127.0.0.1:9000"}, "TOUCHPOINT_S3_ENDPOINT: expected the S3 server's address like http://127.0.0.1:9000"),
    ({"TOUCHPOINT_S3_ENDPOINT": "http://127.0.0.1:9000"}, "TOUCHPOINT_S3_ENDPOINT is set but TOUCHPOINT_PHOTOS_URL is not"),
], ids=["not-s3", "credentials-in-url", "no-bucket", "endpoint-no-scheme", "endpoint-alone"])
def test_a_photos_url_or_endpoint_that_cannot_be_is_refused_saying_what_was_expected(monkeypatch, variables, said):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env()
    assert str(refused.value).startswith(said), str(refused.value)



def serves_the_same_images(settings, server, photo: str, action: int) -> None:
    """The app on `settings` (a restored installation) serves the audit photo's and the closed
    action's photo's images in both sizes, byte for byte as `server` (the one backed up) does."""
    with TestClient(create_app(settings)) as client:
        for size in ("display", "thumb"):
            for path in (f"/api/photos/{photo}?size={size}", f"/api/actions/{action}/photo?size={size}"):
                again = client.get(path, headers=server.auth("admin"))
                assert again.status_code == 200 and again.content == server.get(path, "admin").content, path

@sqlite_only("the backup of a SQLite installation; PostgreSQL's (pg_dump and the photos it names, folder and bucket) is tests/test_pg_backup.py")
def test_a_backup_of_either_store_restores_into_a_bucket_and_serves_the_same_bytes(photo_server, tmp_path, monkeypatch, capsys):
    server = photo_server
    body = audit_body(GOOD_VISIT)
    _, _, photo = put_photo(server, "auditor_a", phone_jpeg(640, 480, seed=7), body["id"])
    body["answers"]["greet"] = {"value": "yes", "photos": [photo]}
    assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
    action = action_of(server, submit(server, FAILED))["id"]  # and a closed action's photo, which a backup keeps too
    assert close(server, action, "manager_r1", photo=phone_jpeg(640, 480, seed=8)).status_code == 200
    archive = tmp_path / "touchpoint.tar"
    assert main(["backup", str(archive), "--data", str(server.settings.data)]) == 0

    into = stores.new_bucket(monkeypatch, prefix="restored")  # the environment now names the new bucket
    restored = tmp_path / "restored"
    assert main(["restore", str(archive), "--data", str(restored)]) == 0
    assert f"restored into {restored}: 2 audits and 1 photos" in capsys.readouterr().out
    assert not (restored / "photos").exists()  # the images went to the bucket
    settings = Settings(**{**_fields(server.settings), "data": restored, **into})
    assert stores.files(settings) == stores.files(server.settings)
    serves_the_same_images(settings, server, photo, action)
    # a second restore of the same backup into another folder finds its images there already
    assert main(["restore", str(archive), "--data", str(tmp_path / "again")]) == 0
    assert stores.files(settings) == stores.files(server.settings)


def test_a_bucket_that_stops_answering_is_a_503_with_retry_after_and_nothing_is_stored(tmp_path, monkeypatch):
    from moto.server import ThreadedMotoServer

    own = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)  # one this test may stop
    own.start()
    host, port = own.get_host_and_port()
    for name, value in stores.CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=(bucket := f"touchpoint-{uuid.uuid4().hex[:16]}"))
    gen = _serve(tmp_path, photos={"photos_url": f"s3://{bucket}/photos", "s3_endpoint": endpoint})
    server = next(gen)
    try:
        _, _, photo = put_photo(server, "auditor_a", phone_jpeg(640, 480))
        own.stop()  # the bucket's server goes away
        for answer in (server.get(f"/api/photos/{photo}", "auditor_a"), put_photo(server, "auditor_a", phone_jpeg(640, 480, seed=2))[0]):
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "60"
            assert answer.json()["message"] == "the photo store did not answer: nothing was stored, send it again in a minute"
        assert server.db.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 1  # only the first
    finally:
        gen.close()


@sqlite_only("the backup of a SQLite installation; PostgreSQL's (pg_dump and the photos it names, folder and bucket) is tests/test_pg_backup.py")
def test_a_backup_leaves_out_no_closed_actions_photo_and_one_made_before_that_still_restores(server, tmp_path, monkeypatch, capsys):
    action = action_of(server, submit(server, FAILED))["id"]
    assert close(server, action, "manager_r1", photo=phone_jpeg(640, 480, seed=9)).status_code == 200
    file = server.db.execute("SELECT photo FROM actions WHERE id = ?", [action]).fetchone()[0]
    archive = tmp_path / "now.tar"
    assert main(["backup", str(archive), "--data", str(server.settings.data)]) == 0
    with tarfile.open(archive) as tar:
        assert {f"photos/{file[:2]}/{file}.{size}.jpg" for size in storage.SIZES} <= set(tar.getnames())
        manifest = json.loads(tar.extractfile("backup.json").read())
    assert manifest["action_photos"] is True and manifest["files"] == 2

    def without_the_actions_images(target, manifest_fields):
        with tarfile.open(archive) as src, tarfile.open(target, "w") as dst:
            for member in src.getmembers():
                if member.name.startswith(f"photos/{file[:2]}/{file}."):
                    continue
                data = src.extractfile(member).read()
                if member.name == "backup.json":
                    data = json.dumps({k: v for k, v in manifest.items() if k in manifest_fields}).encode()
                    member.size = len(data)
                dst.addfile(member, io.BytesIO(data))

    older = tmp_path / "older.tar"  # as a backup of before this change: no action_photos, no action images
    without_the_actions_images(older, set(manifest) - {"action_photos"})
    assert main(["restore", str(older), "--data", str(tmp_path / "from-older")]) == 0
    capsys.readouterr()
    damaged = tmp_path / "damaged.tar"  # says it holds them, but they are gone
    without_the_actions_images(damaged, set(manifest))
    assert main(["restore", str(damaged), "--data", str(tmp_path / "from-damaged")]) == 2
    assert "2 photo files the database lists are missing" in capsys.readouterr().err
    # and a store that lost an action's images is not backed up as if whole
    for size in storage.SIZES:
        assert photo_store(server.settings).delete(storage.name(file, size))
    assert main(["backup", str(tmp_path / "after-loss.tar"), "--data", str(server.settings.data)]) == 2
    assert "1 closed actions' photos have no image in the photo store: it is incomplete" in capsys.readouterr().err
    assert not (tmp_path / "after-loss.tar").exists() and not (tmp_path / "after-loss.tar.part").exists()
