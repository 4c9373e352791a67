"""People over real HTTP and a real database: the list and its filters, who sees and manages whom,
edits and their refusals (API 422 naming the field; pages the form again), disable and enable,
the history (never an e-mail address), sign-ins recorded, your own tokens in the browser."""

import datetime as dt
import re

import pytest

from server.accounts import accounts
from server.db import write
from tests.engine import days_between
from tests.test_manage import text

ALL = ["admin", "auditor_a", "auditor_b", "manager_r1", "manager_r2", "staff_l1"]


def names(server, persona, query=""):
    answer = server.get(f"/api/people{query}", persona)
    assert answer.status_code == 200, answer.text
    return [p["name"] for p in answer.json()["people"]]


def pid(server, name):
    return server.db.execute("SELECT id FROM users WHERE name = ?", [name]).fetchone()[0]


def history(server, name):
    return server.db.execute("SELECT action, before, after, note, actor FROM history WHERE kind = 'person' AND subject = ? ORDER BY seq", [str(pid(server, name))]).fetchall()


def test_admins_see_everyone_a_manager_the_auditors_and_staff_of_their_regions(server):
    assert names(server, "admin") == ALL
    # manager_r1: staff of l1 (r1) managed; auditor_a works in every region: seen read-only; auditor_b (r2 only) not seen
    listed = {p["name"]: p["managed"] for p in server.get("/api/people", "manager_r1").json()["people"]}
    assert listed == {"auditor_a": False, "staff_l1": True}
    listed = {p["name"]: p["managed"] for p in server.get("/api/people", "manager_r2").json()["people"]}
    assert listed == {"auditor_a": False, "auditor_b": True}
    for persona in ("auditor_a", "staff_l1"):
        assert server.get("/api/people", persona).status_code == 403
    assert server.get(f"/api/people/{pid(server, 'staff_l1')}", "manager_r2").status_code == 403  # as another region's audit answers
    assert server.get(f"/api/people/{pid(server, 'manager_r1')}", "manager_r2").status_code == 403
    assert server.get("/api/people/99999", "admin").status_code == 404


def test_search_and_filters(server):
    with write(server.db):
        server.db.execute("UPDATE users SET email = 'bee@example.com' WHERE name = 'auditor_b'")
        old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=45)).isoformat()
        server.db.execute("UPDATE users SET last_sign_in_at = ? WHERE name = 'manager_r2'", [old])
        server.db.execute("UPDATE users SET last_sign_in_at = ? WHERE name = 'staff_l1'", [dt.datetime.now(dt.UTC).isoformat()])
        server.db.execute("UPDATE users SET disabled_at = ? WHERE name = 'manager_r1'", [old])
    code = server.db.execute("SELECT code FROM users WHERE name = 'auditor_a'").fetchone()[0]
    assert names(server, "admin", "?search=manager") == ["manager_r1", "manager_r2"]
    assert names(server, "admin", "?search=BEE@example") == ["auditor_b"]  # e-mail, any case
    assert names(server, "admin", f"?search={code.lower()}") == ["auditor_a"]
    assert names(server, "admin", "?search=%25") == []  # a LIKE wildcard is a character searched for
    assert names(server, "admin", "?role=auditor") == ["auditor_a", "auditor_b"]
    assert names(server, "admin", "?region=r1") == ["manager_r1", "staff_l1"]  # staff through their location's region
    assert names(server, "admin", "?region=r2") == ["auditor_b", "manager_r2"]
    assert names(server, "admin", "?state=disabled") == ["manager_r1"]
    assert names(server, "admin", "?state=active&role=manager") == ["manager_r2"]
    assert names(server, "admin", "?signed_in=over30") == ["manager_r2"]
    assert names(server, "admin", "?signed_in=within30") == ["staff_l1"]
    assert names(server, "admin", "?signed_in=never") == ["admin", "auditor_a", "auditor_b", "manager_r1"]
    page = server.get("/api/people?limit=2&offset=2", "admin").json()
    assert [p["name"] for p in page["people"]] == ["auditor_b", "manager_r1"] and page["total"] == 6
    assert server.get("/api/people?state=asleep", "admin").status_code == 400
    # the page: the same search and filters as plain GET forms
    shown = text(server.get("/manage/people?search=manager&state=active", "admin").text)
    assert "1 person." in shown and "manager_r2" in shown and "manager_r1" not in shown


def test_state_is_forgotten_disabled_invited_or_active(server):
    from server.people.people import state

    assert [state("x", "x", "!"), state(None, "x", "!"), state(None, None, "!"), state(None, None, "$argon2")] == ["forgotten", "disabled", "invited", "active"]
    with write(server.db):
        server.db.execute("UPDATE users SET password_hash = '!' WHERE name = 'auditor_b'")
    assert names(server, "admin", "?state=invited") == ["auditor_b"]


def test_a_manager_edits_their_staff_and_the_history_keeps_no_address(server):
    staff = pid(server, "staff_l1")
    answer = server.client.patch(f"/api/people/{staff}", json={"email": "sam@example.com", "location": "l2"}, headers=server.auth("manager_r1"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["email"] == "sam@example.com" and answer.json()["location"] == "l2" and answer.json()["location_region"] == "r1"
    (action, before, after, note, actor), = history(server, "staff_l1")
    assert action == "edited" and actor == pid(server, "manager_r1")
    assert before == '{"location":"l1","email":"none"}' and after == '{"location":"l2","email":"changed"}'
    assert not [row for row in server.db.execute("SELECT before, after, note FROM history").fetchall() if "sam@" in repr(row)]
    # staff made an auditor of r1: their location goes with it
    answer = server.client.patch(f"/api/people/{staff}", json={"role": "auditor", "regions": ["r1"]}, headers=server.auth("manager_r1"))
    assert answer.status_code == 200 and answer.json()["location"] is None and answer.json()["regions"] == ["r1"]
    assert server.db.execute("SELECT role, location FROM users WHERE id = ?", [staff]).fetchone() == ("auditor", None)


@pytest.mark.parametrize("change, field, words", [
    ({"role": "manager", "regions": ["r1"]}, "role", "a manager manages only auditors and staff"),
    ({"role": "admin"}, "role", "only an admin"),
    ({"role": "auditor", "regions": ["r2"]}, "regions", "only regions you hold (r1), not r2"),
    ({"role": "auditor", "regions": []}, "regions", "every region"),
    ({"location": "l4"}, "location", "only a location of your regions (r1)"),
    ({"location": None}, "location", "staff need a location"),
    ({"location": "nowhere"}, "location", "no location 'nowhere'"),
    ({"email": "not-an-address"}, "email", "expected an address like name@example.com"),
    ({"email": "a@b"}, "email", "expected an address"),
])
def test_what_a_manager_may_not_give_is_a_422_naming_the_field(server, change, field, words):
    staff = pid(server, "staff_l1")
    answer = server.client.patch(f"/api/people/{staff}", json=change, headers=server.auth("manager_r1"))
    assert answer.status_code == 422, answer.text
    problems = answer.json()["problems"]
    assert any(p["field"] == field and words in p["message"] for p in problems), problems
    assert server.db.execute("SELECT role, location, email FROM users WHERE id = ?", [staff]).fetchone() == ("staff", "l1", None)  # nothing saved
    assert history(server, "staff_l1") == []


def test_a_manager_never_changes_an_auditor_of_every_region_nor_anyone_outside(server):
    for persona, name in (("manager_r1", "auditor_a"), ("manager_r1", "auditor_b"), ("manager_r1", "manager_r2"), ("manager_r2", "staff_l1")):
        answer = server.client.patch(f"/api/people/{pid(server, name)}", json={"email": "x@example.com"}, headers=server.auth(persona))
        assert answer.status_code == 403, (persona, name, answer.text)
        assert server.post(f"/api/people/{pid(server, name)}/disable", persona).status_code == 403
    assert server.get(f"/api/people/{pid(server, 'auditor_a')}", "manager_r1").json()["managed"] is False
    # an admin gives anything, but not to themselves here
    assert server.client.patch(f"/api/people/{pid(server, 'auditor_a')}", json={"role": "manager", "regions": ["r1", "r2"]}, headers=server.auth("admin")).status_code == 200
    assert server.client.patch(f"/api/people/{pid(server, 'admin')}", json={"role": "auditor"}, headers=server.auth("admin")).status_code == 403
    assert server.client.patch(f"/api/people/{pid(server, 'auditor_b')}", json={"role": "manager", "regions": []}, headers=server.auth("admin")).status_code == 422
    assert server.client.patch(f"/api/people/{pid(server, 'auditor_b')}", json={"colour": "red"}, headers=server.auth("admin")).status_code == 400


def test_disable_ends_sessions_and_tokens_at_once_and_enable_lets_them_in_again(server):
    staff = pid(server, "staff_l1")
    assert server.client.post("/api/login", json={"name": "staff_l1", "password": "password-staff_l1"}, headers={"User-Agent": "Phone/1.0"}).status_code == 200
    server.client.cookies.clear()
    shown = server.get(f"/api/people/{staff}", "manager_r1").json()
    assert [s["agent"] for s in shown["sessions"]] == ["Phone/1.0"] and shown["last_sign_in_at"] is not None
    assert [t["state"] for t in shown["tokens"]] == ["active"]
    answer = server.post(f"/api/people/{staff}/disable", "manager_r1")
    assert answer.status_code == 200 and answer.json()["state"] == "disabled" and answer.json()["sessions"] == []
    assert [t["state"] for t in answer.json()["tokens"]] == ["revoked"]
    assert server.get("/api/me", "staff_l1").status_code == 401
    assert server.post(f"/api/people/{staff}/enable", "manager_r1").json()["state"] == "active"
    assert server.client.post("/api/login", json={"name": "staff_l1", "password": "password-staff_l1"}).status_code == 200
    assert [(a, b, c) for a, b, c, *_ in history(server, "staff_l1")] == [
        ("disabled", '{"state":"active"}', '{"state":"disabled"}'), ("enabled", '{"state":"disabled"}', '{"state":"active"}')]
    assert history(server, "staff_l1")[0][3] == "1 session ended, 1 token revoked"


def test_a_sign_in_records_when_and_which_browser(server):
    before = dt.datetime.now(dt.UTC).isoformat()
    answer = server.client.post("/api/login", json={"name": "auditor_b", "password": "password-auditor_b"}, headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) Test"})
    assert answer.status_code == 200
    at, = server.db.execute("SELECT last_sign_in_at FROM users WHERE name = 'auditor_b'").fetchone()
    assert at >= before
    assert server.db.execute("SELECT agent FROM sessions WHERE person = ?", [pid(server, "auditor_b")]).fetchall() == [("Mozilla/5.0 (Linux; Android 14) Test",)]
    page = server.get(f"/manage/people/{pid(server, 'auditor_b')}", "manager_r2")
    assert "Mozilla/5.0 (Linux; Android 14) Test" in page.text


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]*)"', html).group(1)


def test_the_pages_edit_and_refuse_with_each_fields_message(server):
    staff = pid(server, "staff_l1")
    page = server.get(f"/manage/people/{staff}", "manager_r1")
    assert page.status_code == 200 and 'action="/manage/people/%d/forget"' % staff not in page.text  # forget is a link to its own page
    assert f'href="/manage/people/{staff}/forget"' in page.text and f'action="/manage/people/{staff}/reset"' in page.text
    refused = server.post(f"/manage/people/{staff}", "manager_r1", data={"role": "staff", "location": "l4", "email": "nope"})
    assert refused.status_code == 422
    shown = text(refused.text)
    assert "Nothing was saved: correct the 2 things marked below." in shown
    assert 'id="edit-location-problem"' in refused.text and 'id="edit-email-problem"' in refused.text
    assert "expected an address like name@example.com" in shown and 'value="nope"' in refused.text
    refused = server.post(f"/manage/people/{staff}", "manager_r1", data={"role": "manager", "regions": "r1", "location": ""})
    assert refused.status_code == 422 and 'id="edit-role-problem"' in refused.text
    assert server.db.execute("SELECT role, location, email FROM users WHERE id = ?", [staff]).fetchone() == ("staff", "l1", None)
    done = server.post(f"/manage/people/{staff}", "manager_r1", data={"role": "staff", "location": "l3", "email": "sam@example.com"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/manage/people/{staff}?said=edited"
    assert server.db.execute("SELECT location, email FROM users WHERE id = ?", [staff]).fetchone() == ("l3", "sam@example.com")
    # out of scope: the page refuses as the API does
    assert server.get(f"/manage/people/{staff}", "manager_r2").status_code == 403
    assert server.post(f"/manage/people/{staff}", "manager_r2", data={"role": "staff", "location": "l4"}).status_code == 403
    # read-only: an auditor of every region, on a manager's page
    ro = server.get(f"/manage/people/{pid(server, 'auditor_a')}", "manager_r1")
    assert ro.status_code == 200 and "read-only" in ro.text and f'action="/manage/people/{pid(server, "auditor_a")}/disable"' not in ro.text


def test_end_their_sessions_button(server):
    staff = pid(server, "staff_l1")
    for _ in range(2):
        assert server.client.post("/api/login", json={"name": "staff_l1", "password": "password-staff_l1"}).status_code == 200
        server.client.cookies.clear()
    done = server.post(f"/manage/people/{staff}/sessions/end", "manager_r1", data={"csrf_token": ""}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("said=ended+2")
    assert "Done: 2 sessions ended." in server.get(done.headers["location"], "manager_r1").text
    assert server.db.execute("SELECT count(*) FROM sessions WHERE person = ?", [staff]).fetchone()[0] == 0
    assert server.get("/api/me", "staff_l1").status_code == 200  # their token is not a session: it stays


def test_your_account_makes_lists_and_revokes_your_tokens_shown_once(server):
    client = server.client
    assert client.post("/manage/signin", data={"name": "staff_l1", "password": "password-staff_l1"}, follow_redirects=False).status_code == 303
    page = client.get("/account")
    assert page.status_code == 200 and "staff_l1" in page.text and '<a href="/account">Your account</a>' in page.text and 'href="/account/password"' in page.text
    made = client.post("/account/tokens", data={"csrf_token": _csrf(page.text), "label": "BI refresh", "days": "30"})
    assert made.status_code == 201
    secret = re.search(r'id="new-token">(tp_[^<]+)<', made.text).group(1)
    assert client.get("/account").text.count(secret) == 0  # shown on the answer only
    assert client.get("/api/me", headers={"Authorization": f"Bearer {secret}"}).json()["name"] == "staff_l1"
    token_id = server.db.execute("SELECT id FROM api_tokens WHERE label = 'BI refresh'").fetchone()[0]
    expires = days_between(*server.db.execute("SELECT created_at, expires_at FROM api_tokens WHERE id = ?", [token_id]).fetchone())
    assert round(expires) == 30
    refused = client.post("/account/tokens", data={"csrf_token": _csrf(page.text), "label": "x", "days": "forever"})
    assert refused.status_code == 422 and 'id="token-days-problem"' in refused.text and "tp_" not in re.sub(r"BI refresh", "", refused.text).split("API tokens")[0]
    # another person's token is not yours to revoke
    other = server.db.execute("SELECT id FROM api_tokens WHERE person = ?", [pid(server, "admin")]).fetchone()[0]
    assert client.post(f"/account/tokens/{other}/revoke", data={"csrf_token": _csrf(page.text)}).status_code == 404
    assert client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": _csrf(page.text)}, follow_redirects=False).status_code == 303
    assert client.get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": "forged"}).status_code == 403
    client.cookies.clear()
    assert client.get("/account", follow_redirects=False).headers["location"] == "/manage/signin?next=/account"


def test_accounts_new_session_records_the_sign_in(server):
    user = accounts.user_by_name(server.db, "admin")
    accounts.new_session(server.db, user, 1, "x" * 1000)
    assert server.db.execute("SELECT length(agent) FROM sessions WHERE person = ?", [user.id]).fetchone() == (300,)
    assert server.db.execute("SELECT last_sign_in_at IS NOT NULL FROM users WHERE id = ?", [user.id]).fetchone() == (1,)


def test_an_auditor_of_two_regions_is_read_only_to_a_manager_of_one(server):
    auditor = pid(server, "auditor_b")
    assert server.client.patch(f"/api/people/{auditor}", json={"regions": ["r1", "r2"]}, headers=server.auth("admin")).status_code == 200
    for persona in ("manager_r1", "manager_r2"):
        shown = server.get(f"/api/people/{auditor}", persona).json()
        assert shown["managed"] is False
        assert server.post(f"/api/people/{auditor}/disable", persona).status_code == 403


def test_a_token_made_without_days_works_for_90(server):
    client = server.client
    assert client.post("/manage/signin", data={"name": "auditor_a", "password": "password-auditor_a"}, follow_redirects=False).status_code == 303
    page = client.get("/account")
    assert page.status_code == 200 and 'value="90"' in page.text
    assert client.post("/account/tokens", data={"csrf_token": _csrf(page.text), "label": "", "days": ""}).status_code == 201
    days = days_between(*server.db.execute("SELECT created_at, expires_at FROM api_tokens WHERE person = ? ORDER BY id DESC", [pid(server, "auditor_a")]).fetchone())
    assert round(days) == 90
