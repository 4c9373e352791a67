"""What one person may upload for audits that have not arrived, over real HTTP with real images:
a count and a size an hour (photos_per_hour, photo_mb_per_hour), refused beyond with 429 and
Retry-After, counted from the database so two server processes share it."""

import io
import random
import uuid

import msgspec
import pytest
from litestar.testing import TestClient
from PIL import Image

from server.app import create_app
from server.photos.store import photo_store
from server.settings import Settings
from tests import stores
from tests.conftest import GOOD_VISIT, Server, audit_body, make_server_files, seed
from tests.test_api_photos import put_photo
from tests.test_photo_processing import phone_jpeg


def serving(tmp_path, photos: dict | None = None, **limits):
    settings = msgspec.structs.replace(make_server_files(tmp_path, photos=photos), **limits)
    db, tokens = seed(settings)
    return settings, db, tokens


@pytest.fixture
def three_an_hour(tmp_path):
    settings, db, tokens = serving(tmp_path, photos_per_hour=3)
    with TestClient(create_app(settings)) as client:
        yield Server(client, settings, db, tokens)
    db.conn.close()


def test_beyond_the_hours_count_an_upload_for_an_audit_not_arrived_is_a_429_saying_the_limit(three_an_hour):
    server = three_an_hour
    audit = audit_body(GOOD_VISIT)
    sent = [put_photo(server, "auditor_a", phone_jpeg(800, 600, seed=n), audit["id"]) for n in range(3)]
    assert [r.status_code for r, _, _ in sent] == [201, 201, 201]
    refused, _, refused_id = put_photo(server, "auditor_a", phone_jpeg(800, 600, seed=3), audit["id"])
    assert refused.status_code == 429, refused.text
    assert 3590 <= int(refused.headers["Retry-After"]) <= 3601  # when the first of the three leaves the hour
    assert refused.json()["message"] == ("you have sent 3 photos in the last hour for audits that have not arrived; at most 3 an hour "
                                         "until their audits are sent: send the audits, or the photo again in 60 minutes")
    assert server.db.execute("SELECT count(*) FROM photos").fetchone()[0] == 3
    # a retry of a photo already stored is never refused
    again, _, _ = put_photo(server, "auditor_a", phone_jpeg(800, 600, seed=0), audit["id"], sent[0][2])
    assert again.status_code == 200
    # another person has an allowance of their own
    assert put_photo(server, "manager_r1", phone_jpeg(800, 600, seed=4))[0].status_code == 201
    # once the audit arrives, its photos are claimed and no longer count; photos for it are not limited
    audit["answers"]["greet"] = {"value": "yes", "photos": [p for _, _, p in sent]}
    assert server.post("/api/audits", "auditor_a", json=audit).status_code == 201
    assert put_photo(server, "auditor_a", phone_jpeg(800, 600, seed=3), photo_id=refused_id)[0].status_code == 201
    late = [put_photo(server, "auditor_a", phone_jpeg(640, 480, seed=n), audit["id"])[0].status_code for n in range(10, 14)]
    assert late == [201] * 4


def noise_jpeg(seed: int) -> bytes:
    """A photo that does not compress: random pixels, 1600 x 1200 (its stored display image is about 1.4 MB)."""
    image = Image.frombytes("RGB", (1600, 1200), random.Random(seed).randbytes(1600 * 1200 * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def test_beyond_the_hours_size_an_upload_is_a_429_saying_the_limit(tmp_path, photos_in):
    settings, db, tokens = serving(tmp_path, photos_in, photo_mb_per_hour=2)
    store = photo_store(settings)  # the folder, and a bucket

    def stored() -> int:
        return sum(store.size(name) for name, _ in store.listing())

    with TestClient(create_app(settings)) as client:
        server = Server(client, settings, db, tokens)
        first, _, photo = put_photo(server, "auditor_a", noise_jpeg(1))
        assert first.status_code == 201
        assert 1 * 2**20 < stored() < 2 * 2**20, stored()  # one photo: under the 2 MiB
        assert put_photo(server, "auditor_a", noise_jpeg(2))[0].status_code == 201  # now over 2 MiB
        refused = put_photo(server, "auditor_a", noise_jpeg(3))[0]
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 3500
        used = stored() / 2**20
        said = (f"your photos of the last hour for audits that have not arrived take {used:,.1f} MiB; at most 2 MiB an hour "
                "until their audits are sent: send the audits, or the photo again in 60 minutes")
        assert refused.json()["message"] == said
        # counted from the rows (photos.bytes, migration 0023), not by asking the store for each file:
        # with the images gone the hour is as full as before
        stores.lose_all(settings)
        again = put_photo(server, "auditor_a", noise_jpeg(4))[0]
        assert again.status_code == 429 and again.json()["message"] == said
    db.conn.close()


def test_the_allowance_holds_across_two_server_processes_sharing_the_database(tmp_path):
    settings, db, tokens = serving(tmp_path, photos_per_hour=3)
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        first, second = Server(one, settings, db, tokens), Server(two, settings, db, tokens)
        assert put_photo(first, "auditor_a", phone_jpeg(640, 480, seed=1))[0].status_code == 201
        assert put_photo(second, "auditor_a", phone_jpeg(640, 480, seed=2))[0].status_code == 201
        assert put_photo(first, "auditor_a", phone_jpeg(640, 480, seed=3))[0].status_code == 201
        assert put_photo(second, "auditor_a", phone_jpeg(640, 480, seed=4))[0].status_code == 429
        assert put_photo(first, "auditor_a", phone_jpeg(640, 480, seed=5))[0].status_code == 429
    db.conn.close()


def test_the_defaults_leave_a_real_auditors_day_alone(tmp_path):
    """Three visits of 30 photos each, all sent before their audits (the phone was offline), each
    a photo that does not compress (its display image about 1.4 MB, more than a real shop photo
    at 1600 px): 90 photos, about 125 MiB, all taken under the defaults (300 photos, 200 MiB)."""
    settings, db, tokens = serving(tmp_path)
    assert (settings.photos_per_hour, settings.photo_mb_per_hour) == (300, 200)
    with TestClient(create_app(settings)) as client:
        server = Server(client, settings, db, tokens)
        picture = noise_jpeg(0)
        visits = [str(uuid.uuid4()) for _ in range(3)]
        answers = [put_photo(server, "auditor_a", picture, visit)[0].status_code for visit in visits for _ in range(30)]
        assert answers == [201] * 90
        assert server.db.execute("SELECT count(*) FROM photos").fetchone()[0] == 90
    db.conn.close()


def test_a_campaign_participant_holding_only_the_join_link_is_bounded_too(tmp_path):
    """The probe's case: a participant stored 1,204 photos in 20 s under audit ids that never came."""
    from tests.conftest import write_brand
    from tests.test_campaigns import BRAND_YAML, CALL_YAML, LINE_YAML, VISIT_YAML, Participant, start, token_of

    checklists = tmp_path / "checklists"
    write_brand(checklists, {"brand.yaml": BRAND_YAML.replace("[visit, call]", "[visit, call, line]"), "visit.yaml": VISIT_YAML, "call.yaml": CALL_YAML, "line.yaml": LINE_YAML})
    settings = Settings(data=tmp_path / "data", checklists=checklists, audit_max_age_days=36_500, photos_per_hour=5)
    db, tokens = seed(settings)
    with TestClient(create_app(settings)) as client:
        site = Server(client, settings, db, tokens)
        assert site.post("/api/locations", "admin", json=[{"id": "support", "name": "Support line", "region": "r1", "kind": "phone", "contact": "+44 20 7946 0000"}]).status_code == 201
        eve = Participant(site.client, token_of(site, start(site)), "Eve")
        answers = []
        for n in range(8):
            answers.append(eve.client.put(f"/api/audits/{uuid.uuid4()}/photos/{uuid.uuid4()}", content=phone_jpeg(320, 240, seed=n),
                                          headers={"Content-Type": "image/jpeg", "X-CSRF-Token": eve.me["csrf_token"]}, **eve._kw({})))
        assert [a.status_code for a in answers] == [201] * 5 + [429] * 3
        assert "at most 5 an hour" in answers[-1].json()["message"] and int(answers[-1].headers["Retry-After"]) > 3500
        assert db.execute("SELECT count(*) FROM photos").fetchone()[0] == 5
    db.conn.close()


def test_the_allowance_reads_one_persons_hour_by_its_index(tmp_path):
    """Every upload for an audit not arrived counts its sender's hour: by uploader (migration 0014),
    never by scanning the whole installation's hour of photos."""
    settings, db, _ = serving(tmp_path)
    from server.db import on_postgres
    from server.photos.storage import PENDING

    if on_postgres(db):  # a few rows: the planner would scan them; with scans priced out it shows which index serves
        db.execute("SET enable_seqscan = off")
        plan = " ".join(row[0] for row in db.execute(f"EXPLAIN {PENDING}", ["2026-01-01", 1]))
    else:
        plan = " ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {PENDING}", ["2026-01-01", 1]))
    assert "photos_uploader" in plan, plan
    db.conn.close()
