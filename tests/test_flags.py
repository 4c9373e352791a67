"""Integrity flags over real HTTP and a real database: each raised on a case built to trigger it,
none on a clean audit, never a change of score; explained by a reviewer. Expected figures are
worked out by hand in the comments."""

import hashlib
import io
import uuid

import pytest
from PIL import ExifTags, Image

from server.migrations import migrate
from tests.conftest import GOOD_VISIT, VISIT_YAML, _serve, audit_body
from tests.engine import OLD_STEPS, sqlite_only
from tests.test_photo_processing import scene

# Shop 1 (l1) stands at 51.51 N, 0.12 W; the test photos are taken there unless a test moves them.
HERE = (51.51, -0.12)


def photo(seed=1, taken="2026:03:01 10:15:00", lat=(51.0, 30.0, 36.0), lng=(0.0, 7.0, 12.0), quality=90, size=(800, 600)) -> bytes:
    """A camera JPEG with capture time and GPS in its EXIF (51 30' 36" N = 51.51, 0 7' 12" W = -0.12)."""
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", lat
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "W", lng
    out = io.BytesIO()
    scene(*size, seed).save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def place(server, location, lat, lng):
    server.db.execute("UPDATE locations SET lat = ?, lng = ? WHERE id = ?", [lat, lng, location])


def send(server, persona="auditor_a", image: bytes | None = None, answers: dict | None = None, **body_extra) -> str:
    """An audit (GOOD_VISIT and `answers`, with a photo for `sms` when `image` is given), then its photo. Returns its id."""
    answers = {**GOOD_VISIT, **(answers or {})}
    photo_id = str(uuid.uuid4())
    if image is not None:
        answers["sms"] = {"value": "yes", "photos": [photo_id]}
    body = audit_body(answers, **body_extra)
    answer = server.post("/api/audits", persona, json=body)
    assert answer.status_code == 201, answer.text
    if image is not None:
        sent = server.client.put(f"/api/audits/{body['id']}/photos/{photo_id}", content=image, headers={**server.auth(persona), "Content-Type": "image/jpeg"})
        assert sent.status_code == 201, sent.text
    return body["id"]


def flags_of(server, audit_id, persona="manager_r1"):
    answer = server.get(f"/api/audits/{audit_id}/flags", persona)
    assert answer.status_code == 200, answer.text
    return answer.json()


def kinds(server, audit_id):
    return sorted(f["kind"] for f in flags_of(server, audit_id))


def test_a_clean_audit_raises_no_flag(server):
    place(server, "l1", *HERE)
    # 30 minutes for 11 items (at least 11 x 10 s = 1.8 min), a photo at the shop at 10:15 within
    # 10:00-10:30, a picture no other audit has, no long comment, the auditor's first visit
    audit = send(server, image=photo())
    assert flags_of(server, audit) == []
    assert server.get("/api/flags", "manager_r1").json() == []


def test_a_photo_far_from_the_location(server):
    # Shop 2 placed 0.09 degrees of latitude north of where the photo was taken:
    # 0.09 x pi / 180 x 6,371,008.8 m = 10,007.6 m, more than the default 300 m
    place(server, "l2", 51.60, -0.12)
    audit = send(server, image=photo(), location="l2")
    (flag,) = flags_of(server, audit)
    assert flag["kind"] == "photo_far"
    assert flag["evidence"]["distance_m"] == 10008 and flag["evidence"]["limit_m"] == 300
    assert flag["summary"] == "Photo taken 10.0 km from the location (more than 300 m)."


def test_a_photo_sent_before_its_audit_is_flagged_when_the_audit_arrives(server):
    place(server, "l2", 51.60, -0.12)
    audit_id, photo_id = str(uuid.uuid4()), str(uuid.uuid4())
    early = server.client.put(f"/api/audits/{audit_id}/photos/{photo_id}", content=photo(), headers={**server.auth("auditor_a"), "Content-Type": "image/jpeg"})
    assert early.status_code == 201
    body = audit_body({**GOOD_VISIT, "sms": {"value": "yes", "photos": [photo_id]}}, location="l2")
    body["id"] = audit_id
    assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
    assert kinds(server, audit_id) == ["photo_far"]


def test_a_photo_taken_outside_the_visit(server):
    place(server, "l1", *HERE)
    # the visit ran 12:00-12:30 (UTC, its own offset); the photo was taken at 10:15: 105 minutes
    # before it started, more than the 30 allowed
    audit = send(server, image=photo(), started_at="2026-03-01T12:00:00+00:00", finished="2026-03-01T12:30:00+00:00")
    (flag,) = flags_of(server, audit)
    assert flag["kind"] == "photo_time" and flag["evidence"]["minutes_outside"] == 105.0


def test_a_photo_in_the_visits_own_time_zone_is_not_flagged(server):
    place(server, "l1", *HERE)
    # 11:00-11:30 at +01:00 is 10:00-10:30 UTC; the camera wrote 11:15, its local time: inside
    audit = send(server, image=photo(taken="2026:03:01 11:15:00"), started_at="2026-03-01T11:00:00+01:00", finished="2026-03-01T11:30:00+01:00")
    assert flags_of(server, audit) == []


def test_a_photo_reused_from_another_audit(server):
    place(server, "l1", *HERE)
    first = send(server, image=photo(seed=1))
    other_picture = send(server, image=photo(seed=2), persona="admin")
    same_file = send(server, image=photo(seed=1), persona="auditor_b", location="l4")  # l4 has no GPS: no distance to check
    reencoded = send(server, image=photo(seed=1, quality=60, size=(640, 480)), persona="admin")
    assert flags_of(server, first) == [] and flags_of(server, other_picture) == []
    (flag,) = flags_of(server, same_file, "admin")
    assert flag["kind"] == "photo_reused" and flag["evidence"]["other_audit"] == first and flag["evidence"]["bits"] == 0
    (flag,) = flags_of(server, reencoded, "admin")  # smaller and re-compressed: the same picture, a few bits apart at most
    assert flag["kind"] == "photo_reused" and flag["evidence"]["bits"] <= 5


def test_a_visit_faster_than_its_checklist_allows(server):
    # 11 items x 10 s = 110 s = 1.83 min at least; finished in 1 minute
    audit = send(server, finished="2026-03-01T10:01:00+00:00")
    (flag,) = flags_of(server, audit)
    assert flag["kind"] == "too_fast"
    assert flag["evidence"] == {"kind": "too_fast", "minutes": 1.0, "min_minutes": 1.83, "items": 11}
    assert send(server, finished="2026-03-01T10:02:00+00:00", persona="admin") and kinds(server, _last(server)) == []


def _last(server):
    return server.db.execute("SELECT id FROM audits ORDER BY seq DESC LIMIT 1").fetchone()[0]


def test_a_checklists_min_minutes_wins(tmp_path):
    generator = _serve(tmp_path, visit=VISIT_YAML.replace("mode: in_person\n", "mode: in_person\nmin_minutes: 8\n"))
    server = next(generator)
    try:
        audit = send(server, finished="2026-03-01T10:05:00+00:00")  # 5 minutes: enough by the default (1.83), not by the checklist's 8
        assert flags_of(server, audit)[0]["evidence"] == {"kind": "too_fast", "minutes": 5.0, "min_minutes": 8.0, "items": 11}
    finally:
        generator.close()


def test_a_comment_copied_word_for_word(server):
    text = "The assistant was very friendly and explained the return policy clearly."  # 73 characters
    first = send(server, answers={"notes": text})
    copied = send(server, persona="admin", answers={"notes": "  the assistant was VERY friendly and explained\nthe return policy clearly. "})
    short = send(server, persona="auditor_b", location="l4", answers={"notes": "Very friendly."})
    short_again = send(server, persona="admin", answers={"notes": "Very friendly."})
    assert flags_of(server, first) == [] and flags_of(server, short, "admin") == [] and flags_of(server, short_again, "admin") == []
    (flag,) = flags_of(server, copied)
    assert flag["kind"] == "comment_copied" and flag["evidence"]["other_audit"] == first and flag["evidence"]["item"] == "notes"


def test_a_comment_that_casefolding_lengthens_is_compared(server):
    text = "Grüße: die Straße, groß und süß, weiß."  # 38 characters; casefolded each of its 5 "ß" is "ss": 43, over the 40
    first = send(server, answers={"notes": text})
    copied = send(server, persona="admin", answers={"notes": text.upper()})  # "GRÜSSE: DIE STRASSE, ..." folds to the same words
    assert flags_of(server, first) == [] and [f["evidence"]["other_audit"] for f in flags_of(server, copied)] == [first]


@sqlite_only(OLD_STEPS)
def test_a_comment_fingerprinted_before_migration_0013_still_finds_its_copy(server):
    text = "The assistant was very friendly and explained the return policy clearly."
    first = send(server, answers={"notes": text, "greet": "no"})  # greet failed: a row of item_failures, which 0013 rebuilds
    failures = server.db.execute("SELECT * FROM item_failures").fetchall()
    assert ("greet", "l1", 1) in [row[3:] for row in failures]
    # the table as 0011 made it: the print as 32 hex characters of BLAKE2b-128, by the audit's UUID
    words = " ".join(text.casefold().split()).encode()
    server.db.execute("DROP TABLE comment_prints")
    server.db.execute("DROP INDEX audits_location_day")
    server.db.execute("CREATE INDEX audits_location_day ON audits(location, day)")
    server.db.execute("CREATE TABLE comment_prints (print TEXT NOT NULL, audit TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (print, audit, item)) WITHOUT ROWID")
    server.db.execute("CREATE INDEX comment_prints_audit ON comment_prints(audit)")
    server.db.execute("INSERT INTO comment_prints (print, audit, item) VALUES (?, ?, 'notes')", [hashlib.blake2b(words, digest_size=16).hexdigest(), first])
    server.db.execute("DELETE FROM _sqlite_migrations WHERE name = '0013_ingest_speed'")
    migrate(server.db)
    seq = server.db.execute("SELECT seq FROM audits WHERE id = ?", [first]).fetchone()[0]
    prefix = int.from_bytes(hashlib.blake2b(words, digest_size=16).digest()[:8], "big", signed=True)
    assert server.db.execute("SELECT print, audit, item FROM comment_prints").fetchall() == [(prefix, seq, "notes")]
    assert server.db.execute("SELECT * FROM item_failures").fetchall() == failures  # kept, now keyed location before item:
    assert {row[1]: row[5] for row in server.db.execute("PRAGMA table_info(item_failures)")} == {
        "day": 1, "brand": 2, "checklist": 3, "item": 5, "location": 4, "failed": 0}
    copied = send(server, persona="admin", answers={"notes": text})
    assert [f["evidence"]["other_audit"] for f in flags_of(server, copied)] == [first]


def test_too_many_visits_of_one_location_by_one_auditor(server):
    days = ["2026-03-01", "2026-03-10", "2026-03-20", "2026-03-30"]
    sent = [send(server, started_at=f"{d}T10:00:00+00:00", finished=f"{d}T10:30:00+00:00") for d in days]
    # at most 3 in 30 days: the 4th (30 March; the window is 1-30 March) is one too many
    assert [kinds(server, a) for a in sent] == [[], [], [], ["visits_repeated"]]
    flag = flags_of(server, sent[3])[0]
    assert flag["evidence"]["visits"] == 4 and flag["evidence"]["audits"] == sent[:3]
    # another auditor at the same shop, and the same auditor 31 days after the first: not flagged
    assert kinds(server, send(server, persona="admin", started_at="2026-03-30T11:00:00+00:00", finished="2026-03-30T11:30:00+00:00")) == []


def test_flags_never_change_scores_and_thresholds_come_from_brand_yaml(tmp_path):
    generator = _serve(tmp_path, "integrity: {seconds_per_item: 0, max_visits_per_auditor: 1}\n")
    server = next(generator)
    try:
        fast = send(server, finished="2026-03-01T10:01:00+00:00")  # no minimum now
        again = send(server, started_at="2026-03-02T10:00:00+00:00", finished="2026-03-02T10:30:00+00:00")
        assert kinds(server, fast) == [] and kinds(server, again) == ["visits_repeated"]
        scores = {a: server.get(f"/api/audits/{a}", "admin").json()["result"]["score"] for a in (fast, again)}
        assert scores[fast] == scores[again] == pytest.approx(86.11, abs=0.01)  # 7.75 / 9 points, flagged or not
    finally:
        generator.close()


def test_a_reviewer_explains_a_flag(server):
    audit = send(server, finished="2026-03-01T10:01:00+00:00")
    (flag,) = flags_of(server, audit)
    url = f"/api/flags/{flag['id']}/explain"
    assert server.post(url, "manager_r1", json={"note": "  "}).status_code == 422
    assert server.post(url, "auditor_a", json={"note": "I was quick"}).status_code == 403
    assert server.post(url, "manager_r2", json={"note": "fine"}).status_code == 404  # not in their region
    assert server.post(url, "staff_l1", json={"note": "fine"}).status_code == 403
    done = server.post(url, "manager_r1", json={"note": "A one-item re-check agreed with the area manager."})
    assert done.status_code == 200, done.text
    assert done.json()["explained_by"] == "manager_r1" and done.json()["explanation"] == "A one-item re-check agreed with the area manager."
    assert server.get("/api/flags?open=true", "manager_r1").json() == []
    (row,) = server.get("/api/flags/auditors", "manager_r1").json()
    assert row == {"auditor": "auditor_a", "audits": 1, "flagged_audits": 1, "open": 0, "kinds": {"too_fast": 1}}


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from server.followup.integrity import band_keys, hash_distance, search_keys  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**64 - 1), st.sets(st.integers(0, 63), max_size=8), st.integers(0, 8))
def test_the_band_index_finds_every_hash_within_the_distance(value, flipped, bits):
    """Pigeonhole: a hash within `bits` of another shares at least one of the keys the search looks up."""
    other = value
    for bit in flipped:
        other ^= 1 << bit
    a, b = f"{value:016x}", f"{other:016x}"
    assert hash_distance(a, b) == len(flipped)
    if len(flipped) <= bits:
        assert set(band_keys(b)) & set(search_keys(a, bits))
