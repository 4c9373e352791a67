"""Who may do what: every route denies someone, and the denials are tested, not only the successes."""

import pytest

from tests.conftest import GOOD_VISIT, audit_body


@pytest.fixture
def server(spread_server):
    """Through the TestClient, and round-robin over three server processes (tests/conftest.py SPREAD)."""
    return spread_server

ROUTES_NEEDING_SIGN_IN = [
    ("GET", "/api/me"),
    ("GET", "/api/brands"),
    ("GET", "/api/checklists"),
    ("GET", "/api/checklists/visit"),
    ("GET", "/api/regions"),
    ("GET", "/api/locations"),
    ("GET", "/api/locations/l1"),
    ("POST", "/api/locations"),
    ("GET", "/api/locations/l1/summary"),
    ("GET", "/api/regions/r1/summary"),
    ("POST", "/api/audits"),
    ("GET", "/api/audits"),
    ("GET", "/api/audits/00000000-0000-4000-8000-000000000000"),
    ("POST", "/api/logout"),
]


@pytest.mark.parametrize("method, path", ROUTES_NEEDING_SIGN_IN)
def test_every_route_is_denied_without_credentials(server, method, path):
    response = server.client.request(method, path, json=[] if method == "POST" else None)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"
    forged = server.client.request(method, path, headers={"Authorization": "Bearer tp_forged"})
    assert forged.status_code == 401


def test_only_admins_import_locations(server):
    row = [{"id": "l9", "name": "Shop 9", "region": "r1"}]
    for persona in ("manager_r1", "auditor_a"):
        response = server.post("/api/locations", persona, json=row)
        assert response.status_code == 403, persona
        assert response.json()["code"] == "forbidden"
    assert server.post("/api/locations", "admin", json=row).status_code == 201


@pytest.mark.parametrize("path", ["/api/locations/l1/summary", "/api/regions/r1/summary"])
def test_summaries_are_for_managers_of_that_region_and_admins(server, path):
    assert server.get(path, "auditor_a").status_code == 403  # scores would bias the next visit
    assert server.get(path, "manager_r2").status_code == 403
    assert server.get(path, "manager_r1").status_code == 200
    assert server.get(path, "admin").status_code == 200


def test_managers_see_only_their_regions_locations(server):
    assert [loc["id"] for loc in server.get("/api/locations", "manager_r2").json()] == ["l4"]
    assert [r["id"] for r in server.get("/api/regions", "manager_r2").json()] == ["r2"]
    assert server.get("/api/locations/l1", "manager_r2").status_code == 403
    assert server.get("/api/locations/l4", "manager_r2").status_code == 200
    assert len(server.get("/api/locations", "admin").json()) == 4
    assert server.get("/api/locations/l99", "admin").status_code == 404


def test_auditors_see_the_locations_they_may_audit(server):
    assert len(server.get("/api/locations", "auditor_a").json()) == 4  # no regions: all
    assert [loc["id"] for loc in server.get("/api/locations", "auditor_b").json()] == ["l4"]


def test_an_auditor_cannot_read_another_auditors_audit(server):
    body = audit_body(GOOD_VISIT)
    server.post("/api/audits", "auditor_a", json=body)
    path = f"/api/audits/{body['id']}"
    assert server.get(path, "auditor_b").status_code == 403
    assert server.get(path, "auditor_a").status_code == 200
    assert server.get("/api/audits", "auditor_b").json()["items"] == []


def test_a_manager_cannot_read_another_regions_audits(server):
    body = audit_body(GOOD_VISIT)  # l1, region r1
    server.post("/api/audits", "auditor_a", json=body)
    path = f"/api/audits/{body['id']}"
    assert server.get(path, "manager_r2").status_code == 403
    assert server.get(path, "manager_r1").status_code == 200
    assert server.get("/api/audits", "manager_r2").json()["items"] == []
    assert len(server.get("/api/audits", "manager_r1").json()["items"]) == 1


def test_auditors_with_regions_cannot_audit_elsewhere(server):
    response = server.post("/api/audits", "auditor_b", json=audit_body(GOOD_VISIT, location="l1"))
    assert response.status_code == 403
    assert server.db.execute("SELECT COUNT(*) FROM audits").fetchone()[0] == 0
    assert server.post("/api/audits", "manager_r2", json=audit_body(GOOD_VISIT, location="l1")).status_code == 403


def test_checklists_are_for_anyone_signed_in(server):
    assert server.get("/api/checklists/visit", "auditor_b").status_code == 200
    assert server.get("/api/checklists/nope", "auditor_b").status_code == 404
    assert server.get("/api/checklists?brand=nope", "auditor_b").status_code == 404


def test_browser_sessions_need_the_csrf_token_for_writes(server):
    client = server.client
    assert client.post("/api/login", json={"name": "auditor_a", "password": "wrong password"}).status_code == 401
    assert client.post("/api/login", json={"name": "nobody", "password": "whatever!"}).status_code == 401
    response = client.post("/api/login", json={"name": "auditor_a", "password": "password-auditor_a"})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "tp_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # plain http here
    csrf = response.json()["csrf_token"]
    assert client.get("/api/me").json()["csrf_token"] == csrf
    no_token = client.post("/api/audits", json=audit_body(GOOD_VISIT))
    assert no_token.status_code == 403 and "X-CSRF-Token" in no_token.json()["message"]
    wrong = client.post("/api/audits", json=audit_body(GOOD_VISIT), headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    assert client.post("/api/audits", json=audit_body(GOOD_VISIT), headers={"X-CSRF-Token": csrf}).status_code == 201
    assert client.post("/api/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    client.cookies.clear()
    client.cookies.set("tp_session", cookie.split("tp_session=")[1].split(";")[0])
    assert client.get("/api/me").status_code == 401  # the session ended on the server, not only in the browser


def test_sessions_are_secure_over_https(server):
    from litestar.testing import TestClient

    with TestClient(server.client.app, base_url="https://testserver.local") as client:
        response = client.post("/api/login", json={"name": "admin", "password": "password-admin"})
        assert "Secure" in response.headers["set-cookie"]
