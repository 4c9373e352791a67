"""Follow-up actions over real HTTP and a real database: opened by a counting audit that failed a
critical item or fell under the threshold, owned, due, closed with a note (and a photo); refused
to those whose action it is not."""

import datetime as dt

from tests.conftest import GOOD_VISIT, _serve, audit_body
from tests.test_photo_processing import phone_jpeg

FAILED = {**GOOD_VISIT, "resolved": "no"}  # the critical item failed: capped at 0 (acme's critical_cap)
# under the threshold without a critical failure: greet no (0 of 2), wait 3 (0.5), tidy 1 (0), transferred no (1),
# resolved yes (3), channel none (0): 4.5 of 9 points = 50.0 < 80
POOR = {**GOOD_VISIT, "greet": "no", "tidy": 1, "channel": "none"}


def submit(server, answers, persona="auditor_a", location="l1") -> str:
    body = audit_body(answers, location=location)
    answer = server.post("/api/audits", persona, json=body)
    assert answer.status_code == 201, answer.text
    return body["id"]


def action_of(server, audit_id, persona="admin"):
    found = [a for a in server.get("/api/actions?limit=500", persona).json() if a["audit"] == audit_id]
    return found[0] if found else None


def close(server, action_id, persona, note="Re-trained the team on callbacks; checked on Friday.", photo: bytes | None = None):
    files = {"note": (None, note), **({"photo": ("done.jpg", photo, "image/jpeg")} if photo else {})}  # multipart, as the phone's FormData
    return server.post(f"/api/actions/{action_id}/close", persona, files=files)


def test_a_failed_critical_item_opens_an_action_owned_by_the_regions_manager(server):
    audit = submit(server, FAILED)
    action = action_of(server, audit)
    today = dt.datetime.now(dt.UTC).date()
    assert action["state"] == "open" and action["location"] == "l1" and action["owner"] == "manager_r1"
    assert action["reasons"] == {"score": 0.0, "threshold": 80.0, "critical_failed": ["resolved"]}
    assert action["due"] == (today + dt.timedelta(days=7)).isoformat()


def test_a_score_under_the_threshold_opens_one_and_a_good_audit_does_not(server):
    poor, good = submit(server, POOR), submit(server, GOOD_VISIT)  # 50.0 and 86.1 (7.75 of 9)
    assert action_of(server, poor)["reasons"] == {"score": 50.0, "threshold": 80.0, "critical_failed": []}
    assert action_of(server, good) is None


def test_closing_needs_a_note_and_the_right_person(server):
    action = action_of(server, submit(server, FAILED))["id"]
    assert close(server, action, "manager_r1", note="  ").status_code == 422
    assert close(server, action, "manager_r2").status_code == 403  # another region's manager
    assert close(server, action, "auditor_a").status_code == 403
    other = action_of(server, submit(server, FAILED, location="l2"))["id"]
    assert close(server, other, "staff_l1").status_code == 403  # staff of another location
    assert server.get(f"/api/actions/{other}", "staff_l1").status_code == 404
    done = close(server, action, "staff_l1")  # the location's own staff
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "closed" and done.json()["closed_by"] == "staff_l1"
    assert done.json()["note"] == "Re-trained the team on callbacks; checked on Friday."
    assert close(server, action, "manager_r1").status_code == 409  # closed already
    assert server.get("/api/actions?state=open", "staff_l1").json() == []


def test_closing_with_a_photo_taken_with_the_phone(server):
    action = action_of(server, submit(server, FAILED))["id"]
    done = close(server, action, "manager_r1", photo=phone_jpeg(1200, 900))
    assert done.status_code == 200 and done.json()["photo"] is True
    image = server.get(f"/api/actions/{action}/photo?size=thumb", "staff_l1")
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg" and b"Pixel 8" not in image.content
    assert server.get(f"/api/actions/{action}/photo", "manager_r2").status_code == 404


def test_overdue_and_the_location_closing_speed(server):
    late, early = (action_of(server, submit(server, FAILED))["id"] for _ in range(2))
    # opened 10 days ago, due 3 days ago: overdue; the other opened 4 days ago and closed now (4.0 days, on time)
    opened = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    server.db.execute("UPDATE actions SET opened_at = ?, due = ? WHERE id = ?", [opened.isoformat(), (opened.date() + dt.timedelta(days=7)).isoformat(), late])
    server.db.execute("UPDATE actions SET opened_at = ? WHERE id = ?", [(dt.datetime.now(dt.UTC) - dt.timedelta(days=4)).isoformat(), early])
    assert close(server, early, "manager_r1").status_code == 200
    assert [a["id"] for a in server.get("/api/actions?state=overdue", "manager_r1").json()] == [late]
    page = server.get("/manage/locations/l1", "manager_r1").text
    assert "1 overdue" in page and "4.0 days" in page and "1 of 1 closed by the due date" in page


def test_with_review_the_action_opens_on_approval_and_goes_when_returned(tmp_path):
    generator = _serve(tmp_path, "review: true\n")
    server = next(generator)
    try:
        audit = submit(server, FAILED)
        assert action_of(server, audit) is None  # waiting: it does not count yet
        assert server.post(f"/api/audits/{audit}/review", "manager_r1", json={"action": "approve"}).status_code == 200
        assert action_of(server, audit)["state"] == "open"
        assert server.post(f"/api/audits/{audit}/review", "manager_r1", json={"action": "return", "note": "Photo of the till, please"}).status_code == 200
        assert action_of(server, audit)["state"] == "withdrawn"
    finally:
        generator.close()


def test_the_brand_can_give_new_actions_to_the_locations_staff(tmp_path):
    generator = _serve(tmp_path, "actions: {owner: staff, due_days: 3}\n")
    server = next(generator)
    try:
        at_l1, at_l2 = submit(server, FAILED), submit(server, FAILED, location="l2")  # l2 has no staff: its manager
        assert action_of(server, at_l1)["owner"] == "staff_l1" and action_of(server, at_l2)["owner"] == "manager_r1"
        assert action_of(server, at_l1)["due"] == (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)).isoformat()
    finally:
        generator.close()
