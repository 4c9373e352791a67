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
    for persona, named in (("manager_r1", f"auditor {code}"), (STAFF, "a mystery shopper")):  # staff never see even the code
        assert anonymous.get(f"/api/audits/{body['id']}", persona).json()["auditor"] == named
        assert anonymous.get("/api/audits?location=l1", persona).json()["items"][0]["auditor"] == named
        page = anonymous.get(f"/manage/audits/{body['id']}", persona).text
        assert named in page and "auditor_a" not in page
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
    assert bad.status_code == 422 and "before the first day" in bad.text and "Plan a visit" in bad.text  # the form again, the field marked
    foreign = client.post("/manage/assignments", data={**fields, "csrf_token": csrf}, headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert foreign.status_code == 403


def test_staff_never_learn_who_their_shoppers_are_on_any_route(tmp_path):
    """The brand does not set anonymous_auditors (as the demo's does not): managers see names, yet
    a shop's staff must never learn or work out who audited them. Every GET route staff can reach,
    each with real ids filled in, in every format (JSON, pages, the PDF, CSV): none carries the
    auditor's name, their code, the time of day, the visit's length, when it was sent, its visit
    or assignment."""
    import pypdf

    from tests.conftest import make_server_files, seed
    from litestar.testing import TestClient
    from server.app import create_app
    from tests.conftest import Server

    settings = make_server_files(tmp_path, "review: true\n")
    db, tokens = seed(settings)
    with TestClient(create_app(settings)) as client:
        site = Server(client, settings, db, tokens)
        planned = site.post("/api/assignments", "manager_r1", json={"location": "l1", "touchpoints": ["visit"], "starts": "2026-02-27", "ends": "2026-03-03", "auditor": "auditor_a"}).json()
        # a letdown (the critical item failed: an action opens), at 10:37 after 23 minutes, with a comment
        body = audit_body({**GOOD_VISIT, "resolved": "no", "greet": {"value": "yes", "comment": "Greeted at the door"}},
                          started_at="2026-03-01T10:14:00+00:00", finished="2026-03-01T10:37:00+00:00", visit="9a3c1e52-7d1b-4f0e-8a55-3b2c9d4e6f70", assignment=planned["id"])
        made = site.post("/api/audits", "auditor_a", json=body)
        assert made.status_code == 201, made.text
        received = made.json()["received_at"]
        approved = site.post(f"/api/audits/{body['id']}/review", "manager_r1", json={"action": "approve", "note": "Fine work, Ann"})
        assert approved.status_code == 200, approved.text
        assert site.get(f"/api/audits/{body['id']}", "manager_r1").json()["auditor"] == "auditor_a"  # managers: the name (no flag)
        code = db.execute("SELECT code FROM users WHERE name = 'auditor_a'").fetchone()[0]
        (action,) = site.get("/api/actions", STAFF).json()
        ids = {"audit_id": body["id"], "action_id": str(action["id"]), "location_id": "l1", "region_id": "r1", "assignment_id": planned["id"], "checklist_id": "visit"}
        secrets = ["auditor_a", code, "10:37", "10:14", "23 minutes", received[:16], received[11:16], body["visit"], planned["id"], "Fine work"]

        reached = []
        for route in client.app.routes:
            if "GET" not in getattr(route, "methods", ()) or route.path.startswith(("/schema", "/manage/static", "/icons", "/join")) or route.path in ("/{file_path:path}", "/sw.js", "/api/health"):  # health: the server's processes, public, no audit data (their start times may share the audit's minute)
                continue
            path = route.path
            for name, value in ids.items():
                path = re.sub(r"\{" + name + r":\w+\}", value, path)
            if "{" in path:
                continue  # a campaign's, a webhook's, a photo's: staff get no such ids (tested apart below)
            for url in ([path, path + ".pdf"] if path.startswith("/manage/audits/") else [path]):
                response = site.get(url, STAFF, follow_redirects=False)
                if response.status_code != 200:
                    continue
                text = response.text
                if response.headers["content-type"].startswith("application/pdf"):
                    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.content)).pages)
                reached.append(url)
                for secret in secrets:
                    assert secret not in text, f"{url} shows staff {secret!r}"
        # what staff reach, as they see it: their audit (on its day), its action, their location, its figures
        assert {f"/api/audits/{body['id']}", f"/manage/audits/{body['id']}", f"/manage/audits/{body['id']}.pdf", "/api/audits", "/api/actions",
                f"/api/actions/{action['id']}", f"/manage/actions/{action['id']}", "/manage/locations/l1", "/api/locations/l1/summary"} <= set(reached)
        seen = site.get(f"/api/audits/{body['id']}", STAFF).json()
        assert seen["auditor"] == "a mystery shopper" and seen["day"] == "2026-03-01" and seen["started_at"] is None and seen["finished_at"] is None
        assert seen["answers"]["greet"]["comment"] == "Greeted at the door"  # what was found stays
        assert "1 March 2026" in site.get(f"/manage/audits/{body['id']}", STAFF).text
        assert site.get("/api/actions", STAFF).json()[0]["opened_at"] == action["opened_at"][:10]
        # the exports and the program are not theirs at all
        for url in ("/api/export/audits.csv", "/api/export/answers.csv", "/api/review", f"/api/audits/{body['id']}/history", "/api/flags"):
            assert site.get(url, STAFF).status_code in (403, 404), url
    db.conn.close()
