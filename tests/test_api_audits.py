"""Audit ingest and reading over HTTP: idempotent retries, conflicts, refusals, versions."""

import pytest

from tests.conftest import GOOD_VISIT, audit_body


@pytest.fixture
def server(spread_server):
    """Through the TestClient, and round-robin over three server processes (tests/conftest.py SPREAD)."""
    return spread_server

SCORE_GOOD = 7.75 / 9 * 100  # worked out in test_scoring: (3.25 + 4.5) / 9


def count(server, table):
    return server.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_first_post_is_201_with_the_scoring_result(server):
    body = audit_body(GOOD_VISIT)
    response = server.post("/api/audits", "auditor_a", json=body)
    assert response.status_code == 201, response.text
    audit = response.json()
    assert audit["id"] == body["id"]
    assert audit["auditor"] == "auditor_a"
    assert audit["result"]["score"] == pytest.approx(SCORE_GOOD)
    assert audit["result"]["sections"] == {"a": 81.25, "b": 90.0}
    assert len(audit["result"]["version"]) == 12
    assert count(server, "audits") == 1 and count(server, "answers") == len(GOOD_VISIT)


def test_a_retry_of_the_same_content_gives_the_same_answer_and_no_second_audit(server):
    body = audit_body(GOOD_VISIT)
    first = server.post("/api/audits", "auditor_a", json=body)
    again = server.post("/api/audits", "auditor_a", json=body)
    reordered = server.post("/api/audits", "auditor_a", json={**body, "answers": dict(reversed(list(body["answers"].items())))})
    assert (first.status_code, again.status_code, reordered.status_code) == (201, 200, 200)
    assert again.json() == first.json() == reordered.json()
    assert count(server, "audits") == 1


def test_the_same_id_with_other_content_is_409_saying_what_differs(server):
    body = audit_body(GOOD_VISIT)
    assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
    changed = {**body, "answers": {**body["answers"], "greet": {"value": "no"}}, "finished_at": "2026-03-01T10:31:00+00:00"}
    response = server.post("/api/audits", "auditor_a", json=changed)
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert "differs in finished_at, answers.greet" in response.json()["message"]
    assert server.get(f"/api/audits/{body['id']}", "auditor_a").json()["answers"]["greet"]["value"] == "yes"


def test_another_auditors_id_is_409(server):
    body = audit_body(GOOD_VISIT)
    assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
    response = server.post("/api/audits", "admin", json=body)
    assert response.status_code == 409
    assert "another auditor" in response.json()["message"]


def test_a_refused_audit_is_422_with_every_problem_and_stores_nothing(server):
    answers = {**GOOD_VISIT, "tidy": 9, "wait": -2, "bogus": "yes"}
    del answers["greet"]
    body = audit_body(answers)
    response = server.post("/api/audits", "auditor_a", json=body)
    assert response.status_code == 422
    error = response.json()
    assert error["code"] == "audit_refused"
    assert {p["item"]: p["message"] for p in error["problems"]} == {
        "bogus": "no such item in checklist 'visit' (version %s)" % server.get("/api/checklists/visit", "admin").json()["version"],
        "greet": "missing: this item is required",
        "wait": "expected a number >= 0, got -2",
        "tidy": "expected a whole number from 1 to 5, got 9",
    }
    assert count(server, "audits") == count(server, "answers") == count(server, "rollups") == 0
    assert server.get(f"/api/audits/{body['id']}", "admin").status_code == 404


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"location": "nowhere"}, "location", "no location 'nowhere'"),
        ({"checklist": "email"}, "checklist", "brand 'acme' has no checklist 'email'"),
        ({"version": "000000000000"}, "version", "no version '000000000000' of checklist 'visit'"),
        ({"finished_at": "2026-03-01T09:00:00+00:00"}, "finished_at", "is before started_at"),
    ],
)
def test_unknown_places_and_versions_are_422(server, change, field, message):
    response = server.post("/api/audits", "auditor_a", json={**audit_body(GOOD_VISIT), **change})
    assert response.status_code == 422
    assert response.json()["problems"] == [{"field": field, "message": message}]
    assert count(server, "audits") == 0


@pytest.mark.parametrize(
    "change, field",
    [
        ({"id": "not-a-uuid"}, "id"),
        ({"started_at": "2026-03-01T10:00:00"}, "started_at"),  # no UTC offset
        ({"answers": {"greet": {"valeu": "yes"}}}, "answers.greet"),
        ({"colour": "red"}, None),
    ],
)
def test_a_badly_shaped_body_is_400_naming_the_field(server, change, field):
    response = server.post("/api/audits", "auditor_a", json={**audit_body(GOOD_VISIT), **change})
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "bad_request"
    assert error["problems"], error
    if field:
        assert error["problems"][0]["field"] == field
    if field == "answers.greet":
        assert error["problems"][0]["message"] == "valeu: unknown key (did you mean 'value'?)"


def test_version_missing_means_current_and_old_versions_still_score(server, tmp_path):
    from litestar.testing import TestClient

    from server.app import create_app

    old = server.get("/api/checklists/visit", "admin").json()["version"]
    visit = server.settings.checklists / "acme" / "visit.yaml"
    visit.write_text(visit.read_text().replace("weight: 2, pillars: [friendly]", "weight: 4, pillars: [friendly]"))
    with TestClient(create_app(server.settings)) as client:
        auth = server.auth("auditor_a")
        new = client.get("/api/checklists/visit", headers=auth).json()["version"]
        assert new != old
        current = client.post("/api/audits", headers=auth, json=audit_body(GOOD_VISIT)).json()
        pinned = client.post("/api/audits", headers=auth, json=audit_body(GOOD_VISIT, version=old)).json()
        assert (current["version"], pinned["version"]) == (new, old)
        # greet now weighs 4: (5.25 + 4.5) / 11 against 7.75 / 9 on the old version
        assert current["result"]["score"] == pytest.approx(9.75 / 11 * 100)
        assert pinned["result"]["score"] == pytest.approx(SCORE_GOOD)
        assert client.get(f"/api/checklists/visit?version={old}", headers=auth).json()["definition"]["sections"][0]["items"][0]["weight"] == 2
    versions = server.db.execute("SELECT COUNT(*) FROM checklist_versions WHERE checklist = 'visit'").fetchone()[0]
    assert versions == 2


def test_the_day_is_the_local_date_of_finished_at(server):
    body = audit_body(GOOD_VISIT, finished="2026-03-01T23:30:00-05:00")  # 04:30 UTC on 2 March
    server.post("/api/audits", "auditor_a", json=body)
    assert server.db.execute("SELECT day FROM audits").fetchone()[0] == "2026-03-01"


def test_reading_audits_back_with_filters_and_pages(server):
    ids = []
    for day in range(1, 6):
        body = audit_body(GOOD_VISIT, finished=f"2026-03-0{day}T12:00:00+00:00", started_at=f"2026-03-0{day}T11:00:00+00:00")
        ids.append(body["id"])
        assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
    server.post("/api/audits", "auditor_b", json=audit_body({"q": "yes"}, location="l4", checklist="call"))
    page = server.get("/api/audits?limit=2", "auditor_a").json()
    assert [a["id"] for a in page["items"]] == [ids[4], ids[3]]  # newest first
    assert page["next_offset"] == 2
    last = server.get("/api/audits?limit=2&offset=4", "auditor_a").json()
    assert [a["id"] for a in last["items"]] == [ids[0]] and last["next_offset"] is None
    window = server.get("/api/audits?from=2026-03-02&to=2026-03-03", "admin").json()["items"]
    assert sorted(a["id"] for a in window) == sorted(ids[1:3])
    assert len(server.get("/api/audits?location=l4", "admin").json()["items"]) == 1
    assert len(server.get("/api/audits?checklist=call", "admin").json()["items"]) == 1
    assert server.get("/api/audits?limit=0", "admin").status_code == 400
    one = server.get(f"/api/audits/{ids[0]}", "auditor_a").json()
    assert one["answers"]["tidy"] == {"value": 4, "comment": None, "photos": []}
