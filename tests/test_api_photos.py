"""Photo upload and serving over HTTP, with real images made in the tests."""

import io
import uuid

import pytest
from PIL import Image

from tests.conftest import GOOD_VISIT, SPREAD, _serve, audit_body
from tests.stores import files as stored_files
from tests.test_photo_processing import _jpeg_with_comment, _png_bomb, _saved, phone_jpeg


@pytest.fixture(params=SPREAD)
def server(request, tmp_path, photos_in):
    """Through the TestClient, and round-robin over three server processes (tests/conftest.py SPREAD);
    each with photos in the folder and in a bucket (photos_in)."""
    yield from _serve(tmp_path, processes=1 if request.param == "one process" else 3, photos=photos_in)


def put_photo(server, persona, data, audit_id=None, photo_id=None):
    audit_id = audit_id or str(uuid.uuid4())
    photo_id = photo_id or str(uuid.uuid4())
    response = server.client.put(f"/api/audits/{audit_id}/photos/{photo_id}", content=data, headers={**server.auth(persona), "Content-Type": "image/jpeg"})
    return response, audit_id, photo_id


def files(server):
    """Every file in the photo store (half-written ones too), by name."""
    return stored_files(server.settings)


def test_an_upload_is_served_upright_without_exif_and_keeps_gps_as_data(server):
    response, audit_id, photo_id = put_photo(server, "auditor_a", phone_jpeg(2000, 1500))
    assert response.status_code == 201, response.text
    assert response.json()["width"] == 1200 and response.json()["height"] == 1600
    assert "lat" not in response.json() or response.json()["lat"] is None  # auditors do not get the photo's facts
    shown = server.get(f"/api/photos/{photo_id}", "auditor_a")
    assert shown.status_code == 200
    assert shown.headers["content-type"] == "image/jpeg"
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert shown.headers["cache-control"].startswith("private")
    image = Image.open(io.BytesIO(shown.content))
    assert image.size == (1200, 1600) and dict(image.getexif()) == {}
    red = image.getpixel((1200 - 20, 20))
    assert red[0] > 200 and red[1] < 60  # the stored top-left corner is the upright top-right
    thumb = Image.open(io.BytesIO(server.get(f"/api/photos/{photo_id}?size=thumb", "auditor_a").content))
    assert max(thumb.size) <= 320
    row = server.db.execute("SELECT lat, lng, camera, taken_at FROM photos WHERE id = ?", [photo_id]).fetchone()
    assert row == (pytest.approx(51.51), pytest.approx(-0.12), "Google Pixel 8", "2026:03:01 10:15:00")


def test_a_retry_never_makes_a_second_copy_and_other_bytes_conflict(server):
    data = phone_jpeg(1200, 900)
    first, audit_id, photo_id = put_photo(server, "auditor_a", data)
    again, _, _ = put_photo(server, "auditor_a", data, audit_id, photo_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert len(files(server)) == 2  # one display image and one thumbnail
    assert server.db.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 1
    other, _, _ = put_photo(server, "auditor_a", phone_jpeg(1200, 900, seed=9), audit_id, photo_id)
    assert other.status_code == 409


@pytest.mark.parametrize(
    "make, status",
    [
        (lambda: b"", 400),
        (lambda: b"<html>not an image</html>", 415),
        (lambda: phone_jpeg(800, 600)[:4000], 422),
        (lambda: _saved(Image.new("RGB", (64, 64)), "TIFF"), 415),
        (lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", 415),
        (lambda: _jpeg_with_comment(b"<script>alert(1)</script>"), 415),
        (lambda: _png_bomb(), 413),
    ],
    ids=["empty", "html", "truncated", "tiff", "eps", "polyglot", "png-bomb"],
)
def test_bad_uploads_are_refused_and_leave_nothing_behind(server, make, status):
    response, _, _ = put_photo(server, "auditor_a", make())
    assert response.status_code == status, response.text
    assert response.json()["code"] == "photo_refused"
    assert files(server) == []
    assert server.db.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 0


def test_uploads_over_the_limit_are_413(tmp_path):
    from litestar.testing import TestClient

    import msgspec

    from server.app import create_app
    from tests.conftest import Server, make_server_files, seed

    settings = msgspec.structs.replace(make_server_files(tmp_path), max_photo_bytes=50_000)
    db, tokens = seed(settings)
    with TestClient(create_app(settings)) as client:
        server = Server(client, settings, db, tokens)
        big = phone_jpeg(1600, 1200)
        assert len(big) > 50_000
        response, _, _ = put_photo(server, "auditor_a", big)
        assert response.status_code == 413
        assert files(server) == []


def test_photos_follow_their_audits_access_rules(server):
    body = audit_body(GOOD_VISIT)  # l1, region r1
    assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
    response, _, photo_id = put_photo(server, "auditor_a", phone_jpeg(600, 400), audit_id=body["id"])
    assert response.status_code == 201
    path = f"/api/photos/{photo_id}"
    assert server.get(path, "auditor_b").status_code == 403  # another auditor
    assert server.get(path, "manager_r2").status_code == 403  # another region
    assert server.get(path, "manager_r1").status_code == 200
    assert server.get(path, "admin").status_code == 200
    facts = server.client.put(f"/api/audits/{body['id']}/photos/{photo_id}", content=phone_jpeg(600, 400), headers=server.auth("auditor_a")).json()
    assert facts["lat"] is None  # the auditor's own answer carries no GPS
    stolen, _, _ = put_photo(server, "auditor_b", phone_jpeg(600, 400), audit_id=body["id"])
    assert stolen.status_code == 403  # photos are added by the audit's own auditor
    assert server.get("/api/photos/nope", "admin").status_code == 404
    assert server.client.get(path).status_code == 401
    assert put_photo(server, "auditor_a", b"x", audit_id="not-a-uuid")[0].status_code == 422


def test_an_audit_waits_for_its_photos_whichever_arrives_first(server):
    early_photo = str(uuid.uuid4())
    late_photo = str(uuid.uuid4())
    body = audit_body({**GOOD_VISIT, "sms": {"value": "yes", "photos": [early_photo]}, "greet": {"value": "yes", "photos": [late_photo]}})
    # the first photo arrives before its audit
    assert put_photo(server, "auditor_a", phone_jpeg(600, 400), audit_id=body["id"], photo_id=early_photo)[0].status_code == 201
    stored = server.post("/api/audits", "auditor_a", json=body)
    assert stored.status_code == 201
    assert stored.json()["status"] == "awaiting_photos"
    assert stored.json()["missing_photos"] == [late_photo]
    audit = server.get(f"/api/audits/{body['id']}", "auditor_a").json()
    assert (audit["status"], audit["missing_photos"]) == ("awaiting_photos", [late_photo])
    # the last one completes it
    assert put_photo(server, "auditor_a", phone_jpeg(600, 400, seed=5), audit_id=body["id"], photo_id=late_photo)[0].status_code == 201
    audit = server.get(f"/api/audits/{body['id']}", "auditor_a").json()
    assert (audit["status"], audit["missing_photos"]) == ("submitted", [])
    # a photo uploaded for another audit does not count for this one
    other = audit_body({**GOOD_VISIT, "sms": {"value": "yes", "photos": [early_photo]}})
    assert server.post("/api/audits", "auditor_a", json=other).json()["missing_photos"] == [early_photo]


def test_managers_see_where_a_photo_was_taken_and_how_far_from_the_shop(server):
    shop = [{"id": "l9", "name": "Shop 9", "region": "r1", "lat": 51.50, "lng": -0.12}]
    assert server.post("/api/locations", "admin", json=shop).status_code == 201
    photo_id = str(uuid.uuid4())
    body = audit_body({**GOOD_VISIT, "sms": {"value": "yes", "photos": [photo_id]}}, location="l9")
    assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
    assert put_photo(server, "auditor_a", phone_jpeg(600, 400), audit_id=body["id"], photo_id=photo_id)[0].status_code == 201
    (evidence,) = server.get(f"/api/audits/{body['id']}", "manager_r1").json()["photos"]
    # the photo says 51.51 N, the shop is at 51.50 N on the same meridian: 0.01 degree of latitude
    # = 6,371,008.8 m x pi / 180 x 0.01 = 1,111.95 m
    assert evidence["distance_m"] == pytest.approx(1111.95, abs=0.5)
    assert (evidence["lat"], evidence["camera"], evidence["taken_at"]) == (pytest.approx(51.51), "Google Pixel 8", "2026:03:01 10:15:00")
    assert server.get(f"/api/audits/{body['id']}", "auditor_a").json()["photos"] == []  # not for auditors
