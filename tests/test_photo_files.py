"""Image files in both stores (the folder, a bucket) over real HTTP: the prune keeps a file while anything references it (an
audit's photo, an action's photo), sweeps files nothing references once they are older than the
grace, and a file that is gone answers a clean 410 that never names where it was."""

import datetime as dt
import threading
import uuid

import pytest

from server.cli import main
from server.photos import storage
from server.photos.processing import process
from server.photos.store import photo_store
from tests import stores
from tests.engine import point_cli_at
from tests.test_actions import FAILED, action_of, close, submit
from tests.test_api_photos import files, put_photo
from tests.test_photo_processing import phone_jpeg


@pytest.fixture
def server(photo_server):
    """With photos in the folder, and in a bucket."""
    return photo_server


def age(server, hours: float) -> None:
    """Make every stored image `hours` old, as if written then."""
    stores.age(server.settings, hours)


def prune(server, capsys, monkeypatch) -> str:
    point_cli_at(monkeypatch, server.settings)
    assert main(["photos", "prune"]) == 0
    return capsys.readouterr().out.strip()


def test_an_actions_photo_survives_the_prune_of_the_same_picture_uploaded_for_an_audit_that_never_came(server, capsys, monkeypatch):
    picture = phone_jpeg(1200, 900)
    _, _, orphan = put_photo(server, "auditor_a", picture)  # its audit never arrives
    action = action_of(server, submit(server, FAILED))["id"]
    assert close(server, action, "manager_r1", photo=picture).status_code == 200
    assert len(files(server)) == 2  # one picture: its display image and thumbnail, shared
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).isoformat()
    server.db.execute("UPDATE photos SET received_at = ? WHERE id = ?", [long_ago, orphan])
    age(server, 2)

    said = prune(server, capsys, monkeypatch)
    assert said == "deleted 1 photo uploaded over 30 days ago for audits that never arrived (0 image files)"
    assert server.get(f"/api/photos/{orphan}", "admin").status_code == 404
    for size in ("display", "thumb"):
        image = server.get(f"/api/actions/{action}/photo?size={size}", "staff_l1")
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert len(files(server)) == 2


def test_image_files_nothing_references_are_swept_once_older_than_the_grace(server, capsys, monkeypatch):
    _, _, kept = put_photo(server, "auditor_a", phone_jpeg(800, 600, seed=1))  # referenced by its row
    stray = process(phone_jpeg(800, 600, seed=2))  # a process killed between the files and the row
    store = photo_store(server.settings)
    storage.write_files(store, stray)
    # half-written by another process (in a bucket: an object of that name someone left)
    store.put(storage.name(stray.sha256, "display").replace(".jpg", ".4242.part"), b"\xff\xd8half")
    age(server, 2)
    fresh = process(phone_jpeg(800, 600, seed=3))  # an upload in flight: files written, row not yet
    storage.write_files(store, fresh)
    assert len(files(server)) == 7

    said = prune(server, capsys, monkeypatch)
    assert said == "deleted 0 photos uploaded over 30 days ago for audits that never arrived (0 image files), and 3 image files nothing referenced"
    left = files(server)
    assert len(left) == 4 and not any(name.startswith(stray.sha256) for name in left)
    assert sum(name.startswith(fresh.sha256) for name in left) == 2  # within the grace: kept
    assert server.get(f"/api/photos/{kept}?size=thumb", "auditor_a").status_code == 200


def test_racing_closes_of_one_action_leave_the_losers_files_to_the_sweep(server, capsys, monkeypatch):
    action = action_of(server, submit(server, FAILED))["id"]
    pictures = [phone_jpeg(1000, 750, seed=n) for n in (5, 6, 7)]
    answers = []
    start = threading.Barrier(len(pictures))

    def racer(picture):
        start.wait()
        answers.append(close(server, action, "manager_r1", photo=picture).status_code)

    racers = [threading.Thread(target=racer, args=(p,)) for p in pictures]
    for thread in racers:
        thread.start()
    for thread in racers:
        thread.join()
    assert sorted(answers)[0] == 200 and answers.count(200) == 1  # one wins; the others 409
    kept = server.db.execute("SELECT photo FROM actions WHERE id = ?", [action]).fetchone()[0]
    written = {name.split(".")[0] for name in files(server)}
    assert kept in written and len(written) > 1, written  # the losers got as far as writing their files
    age(server, 2)

    prune(server, capsys, monkeypatch)
    assert {name.split(".")[0] for name in files(server)} == {kept}
    assert server.get(f"/api/actions/{action}/photo", "manager_r1").status_code == 200


def test_racing_uploads_of_one_photo_id_leave_the_losers_files_to_the_sweep(server, capsys, monkeypatch):
    audit_id, photo_id = str(uuid.uuid4()), str(uuid.uuid4())
    pictures = [phone_jpeg(1000, 750, seed=n) for n in (8, 9, 10)]
    answers = []
    start = threading.Barrier(len(pictures))

    def racer(picture):
        start.wait()
        answers.append(put_photo(server, "auditor_a", picture, audit_id, photo_id)[0].status_code)

    racers = [threading.Thread(target=racer, args=(p,)) for p in pictures]
    for thread in racers:
        thread.start()
    for thread in racers:
        thread.join()
    assert answers.count(201) == 1 and set(answers) <= {201, 409}
    kept = server.db.execute("SELECT file FROM photos WHERE id = ?", [photo_id]).fetchone()[0]
    written = {name.split(".")[0] for name in files(server)}
    assert kept in written and len(written) > 1, written  # the losers got as far as writing their files
    age(server, 2)

    prune(server, capsys, monkeypatch)
    assert {name.split(".")[0] for name in files(server)} == {kept}
    assert server.get(f"/api/photos/{photo_id}", "auditor_a").status_code == 200


def test_a_missing_image_file_is_a_410_that_names_no_path(server):
    _, _, photo = put_photo(server, "auditor_a", phone_jpeg(800, 600, seed=11))
    action = action_of(server, submit(server, FAILED))["id"]
    assert close(server, action, "manager_r1", photo=phone_jpeg(800, 600, seed=12)).status_code == 200
    stores.lose_all(server.settings)  # lost: deleted by hand, a disk or bucket restored without them

    for path, persona, what in ((f"/api/photos/{photo}", "auditor_a", f"photo {photo}"), (f"/api/actions/{action}/photo?size=thumb", "staff_l1", f"action {action}")):
        gone = server.get(path, persona)
        assert gone.status_code == 410, gone.text
        assert gone.json() == {"status": 410, "code": "gone", "message": f"the image of {what} is no longer on the server", "problems": []}
        assert str(server.settings.data) not in gone.text and ".jpg" not in gone.text and "s3:" not in gone.text
