"""Confidentiality over real HTTP: staff see their location's counting audits and nothing of the
program; a brand with anonymous auditors shows managers and staff a code, never the name; the
program's HTML forms need the session's CSRF token."""

import csv
import io
import re

import pytest

from tests.conftest import GOOD_VISIT, STAFF, _serve, audit_body


@pytest.fixture
def anonymous(tmp_path):
    yield from _serve(tmp_path, "review: true\nanonymous_auditors: true\n")


def test_staff_see_only_their_locations_counting_audits(reviewing):
    waiting = audit_body(GOOD_VISIT)
    assert reviewing.post("/api/audits", "auditor_a", json=waiting).status_code == 201
    elsewhere = audit_body(GOOD_VISIT, location="l2")
    assert reviewing.post("/api/audits", "auditor_a", json=elsewhere).status_code == 201
    assert reviewing.get(f"/api/audits/{waiting['id']}", STAFF).status_code == 404  # before approval it does not exist for them
    assert reviewing.get("/api/audits", STAFF).json()["items"] == []
    assert reviewing.get(f"/manage/audits/{waiting['id']}", STAFF).status_code == 404
    for audit in (waiting, elsewhere):
        assert reviewing.post(f"/api/audits/{audit['id']}/review", "manager_r1", json={"action": "approve"}).status_code == 200
    assert reviewing.get(f"/api/audits/{waiting['id']}", STAFF).status_code == 200
    assert [a["id"] for a in reviewing.get("/api/audits", STAFF).json()["items"]] == [waiting["id"]]
    assert reviewing.get(f"/api/audits/{elsewhere['id']}", STAFF).status_code == 404  # another location's
    assert reviewing.get("/api/locations/l1/summary", STAFF).json()["n"] == 1
    assert reviewing.get("/api/locations/l2/summary", STAFF).status_code == 403
    assert [loc["id"] for loc in reviewing.get("/api/locations", STAFF).json()] == ["l1"]


def test_staff_never_learn_of_a_planned_visit(reviewing):
    planned = reviewing.post("/api/assignments", "manager_r1", json={"location": "l1", "touchpoints": ["visit"], "starts": "2027-01-04", "ends": "2027-01-08", "auditor": "auditor_a"}).json()
    assert reviewing.get("/api/assignments", STAFF).status_code == 403
    assert reviewing.get(f"/api/assignments/{planned['id']}", STAFF).status_code == 403
    assert reviewing.get("/manage/assignments", STAFF).status_code == 403
    page = reviewing.get("/manage/locations/l1", STAFF)
    assert page.status_code == 200
    assert "2027-01-04" not in page.text and "auditor_a" not in page.text and "Assignments" not in page.text
    home = reviewing.get("/manage/", STAFF, follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, "/manage/locations/l1")


def test_anonymous_auditors_are_a_code_to_managers_and_staff(anonymous):
    body = audit_body(GOOD_VISIT)
    assert anonymous.post("/api/audits", "auditor_a", json=body).status_code == 201
    code = anonymous.db.execute("SELECT code FROM users WHERE name = 'auditor_a'").fetchone()[0]
    assert re.fullmatch(r"[0-9A-F]{8}", code)
    queued = anonymous.get("/api/review", "manager_r1").json()["items"][0]
    assert queued["auditor"] == f"auditor {code}"
    assert anonymous.post(f"/api/audits/{body['id']}/review", "manager_r1", json={"action": "approve"}).json()["auditor"] == f"auditor {code}"
    for persona in ("manager_r1", STAFF):
        assert anonymous.get(f"/api/audits/{body['id']}", persona).json()["auditor"] == f"auditor {code}"
        assert anonymous.get("/api/audits?location=l1", persona).json()["items"][0]["auditor"] == f"auditor {code}"
        page = anonymous.get(f"/manage/audits/{body['id']}", persona).text
        assert f"auditor {code}" in page and "auditor_a" not in page
    rows = list(csv.DictReader(io.StringIO(anonymous.get("/api/export/audits.csv?region=r1", "manager_r1").text)))
    assert [r["auditor"] for r in rows] == [f"auditor {code}"]
    assert anonymous.get(f"/api/audits/{body['id']}", "admin").json()["auditor"] == "auditor_a"  # admins still see names
    assert anonymous.get(f"/api/audits/{body['id']}", "auditor_a").json()["auditor"] == "auditor_a"


def test_program_forms_need_the_sessions_csrf_token(reviewing):
    client = reviewing.client
    signed = client.post("/api/login", json={"name": "manager_r1", "password": "password-manager_r1"})
    csrf = signed.json()["csrf_token"]
    fields = {"location": "l1", "touchpoints": "visit", "starts": "2027-01-04", "ends": "2027-01-08"}
    refused = client.post("/manage/assignments", data=fields, follow_redirects=False)
    assert refused.status_code == 403 and "reload the page" in refused.text
    done = client.post("/manage/assignments", data={**fields, "csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/manage/assignments/")
    bad = client.post("/manage/assignments", data={**fields, "ends": "2027-01-01", "csrf_token": csrf}, follow_redirects=False)
    assert bad.status_code == 422 and "ends" in bad.text and "before starts" in bad.text  # an error page naming the field
    foreign = client.post("/manage/assignments", data={**fields, "csrf_token": csrf}, headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert foreign.status_code == 403
