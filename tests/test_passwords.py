"""Passwords: changing your own (the page and the API; your other sessions end), a forgotten one
(the same answer for every name, throttled in the database, mailed only with SMTP and an e-mail),
reset links made by a manager or an admin, and /reset/{secret} ending every session. Over the real
app and a real database."""

import datetime as dt
import re

import msgspec
import pytest
from litestar.testing import TestClient

from server.accounts import accounts, links
from server.app import create_app
from server.program import history

NEW = "a brand new passphrase"


def sign_in(client, name: str, password: str | None = None) -> tuple[str, str]:
    """A fresh cookie session: (its cookie, its CSRF token)."""
    client.cookies.clear()
    answer = client.post("/api/login", json={"name": name, "password": password or f"password-{name}"})
    assert answer.status_code == 200, answer.text
    cookie = client.cookies.get("tp_session")
    client.cookies.clear()
    return cookie, answer.json()["csrf_token"]


def me(client, cookie: str) -> int:
    client.cookies.clear()
    return client.get("/api/me", cookies={"tp_session": cookie}).status_code


def actions(db, name: str) -> list[tuple]:
    user = accounts.user_by_name(db, name)
    return [(e.actor, e.action) for e in history.entries(db, "person", str(user.id))]


# --- your own password -------------------------------------------------------------------------

def test_changing_your_password_on_the_page_ends_your_other_sessions_only(server):
    other, _ = sign_in(server.client, "manager_r1")
    this, csrf = sign_in(server.client, "manager_r1")
    client = server.client
    client.cookies.set("tp_session", this)
    page = client.get("/account/password")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.text
    wrong = client.post("/account/password", data={"csrf_token": csrf, "old_password": "not it at all", "password": NEW, "again": NEW})
    assert wrong.status_code == 422 and "not your current password" in wrong.text
    weak = client.post("/account/password", data={"csrf_token": csrf, "old_password": "password-manager_r1", "password": "short", "again": "short"})
    assert weak.status_code == 422 and "at least 12 characters" in weak.text
    differ = client.post("/account/password", data={"csrf_token": csrf, "old_password": "password-manager_r1", "password": NEW, "again": NEW + "?"})
    assert differ.status_code == 422 and "the two passwords differ" in differ.text
    assert client.post("/account/password", data={"csrf_token": "forged", "old_password": "password-manager_r1", "password": NEW, "again": NEW}).status_code == 403
    done = client.post("/account/password", data={"csrf_token": csrf, "old_password": "password-manager_r1", "password": NEW, "again": NEW}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/account/password?done=1"
    assert "1 other session ended" in client.get("/account/password?done=1").text
    assert me(client, this) == 200 and me(client, other) == 401
    assert accounts.check_password(server.db, "manager_r1", NEW) is not None
    assert actions(server.db, "manager_r1") == [("manager_r1", "password changed")]
    row = server.db.execute("SELECT before, after, note FROM history WHERE action = 'password changed'").fetchone()
    assert row == (None, None, "1 other session ended")  # never the password


def test_the_api_changes_your_password_for_the_app(server):
    other, _ = sign_in(server.client, "auditor_a")
    this, csrf = sign_in(server.client, "auditor_a")
    client = server.client
    client.cookies.set("tp_session", this)
    refused = client.post("/api/me/password", json={"old_password": "wrong one", "password": NEW}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "old_password"
    assert client.post("/api/me/password", json={"old_password": "password-auditor_a", "password": NEW}).status_code == 403  # no CSRF header
    done = client.post("/api/me/password", json={"old_password": "password-auditor_a", "password": NEW}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200 and done.json() == {"sessions_ended": 1}
    assert me(client, this) == 200 and me(client, other) == 401
    # by token: every session ends (a token is no session to keep), the token stays
    token = server.post("/api/me/password", "auditor_a", json={"old_password": NEW, "password": NEW + "!"})
    assert token.status_code == 200 and token.json() == {"sessions_ended": 1}


def test_signed_out_the_password_page_goes_to_the_sign_in(server):
    server.client.cookies.clear()
    answer = server.client.get("/account/password", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/manage/signin?next=/account/password"


# --- a forgotten password ----------------------------------------------------------------------

@pytest.fixture
def mailing(tmp_path):
    """The test server with SMTP set up (nothing is sent here: the mail part sends; this part queues)."""
    from tests.conftest import Server, make_server_files, seed

    settings = msgspec.structs.replace(make_server_files(tmp_path), smtp_url="smtp://127.0.0.1:2525")
    db, tokens = seed(settings)
    db.execute("UPDATE users SET email = 'ann@example.com' WHERE name = 'auditor_a'")
    with TestClient(create_app(settings)) as client:
        yield Server(client, settings, db, tokens)
    db.conn.close()


def test_forgot_answers_the_same_for_every_name_and_mails_only_a_known_address(mailing):
    answers = {}
    for name in ("auditor_a", "auditor_b", "nobody-at-all"):  # an e-mail on file; none; no such person
        answer = mailing.client.post("/forgot", data={"name": name})
        assert answer.status_code == 200
        answers[name] = answer.text.replace(name, "NAME")
    assert len(set(answers.values())) == 1
    assert "a link to choose a new password is on its way" in answers["auditor_a"]
    mails = mailing.db.execute("SELECT to_address, subject, body, kind, state FROM mail").fetchall()
    assert len(mails) == 1
    to, subject, body, kind, state = mails[0]
    assert (to, kind, state) == ("ann@example.com", "reset", "pending")
    link = re.search(r"http://testserver.local/reset/\S+", body).group(0)
    assert "expires on" in body and "signs you out everywhere" in body
    made = links.find(mailing.db, link.rsplit("/", 1)[1], "reset")
    assert dt.datetime.fromisoformat(made.expires_at) - dt.datetime.fromisoformat(made.created_at) == dt.timedelta(hours=1)
    assert actions(mailing.db, "auditor_a") == [(None, "reset link made")]
    assert link.rsplit("/", 1)[1] not in str(mailing.db.execute("SELECT * FROM history").fetchall())


def test_a_hundred_requests_for_one_name_send_at_most_three_mails(mailing):
    statuses = [mailing.client.post("/forgot", data={"name": "auditor_a"}).status_code for _ in range(100)]
    assert statuses[:3] == [200, 200, 200] and set(statuses[3:]) == {429}
    assert mailing.db.execute("SELECT count(*) FROM mail").fetchone()[0] == 3
    # the newest link is the one that works: each revokes the one before
    assert mailing.db.execute("SELECT count(*) FROM links WHERE kind = 'reset' AND revoked_at IS NULL").fetchone()[0] == 1
    # an unknown name is throttled alike: nothing tells the two apart
    unknown = [mailing.client.post("/forgot", data={"name": "nobody"}).status_code for _ in range(4)]
    assert unknown == [200, 200, 200, 429]


def test_without_smtp_forgot_says_to_ask_the_manager_and_mails_nothing(server):
    server.db.execute("UPDATE users SET email = 'ann@example.com' WHERE name = 'auditor_a'")
    answer = server.client.post("/forgot", data={"name": "auditor_a"})
    assert answer.status_code == 200 and "ask your manager" in answer.text
    assert server.db.execute("SELECT count(*) FROM mail").fetchone()[0] == 0
    assert server.db.execute("SELECT count(*) FROM links").fetchone()[0] == 0


def test_the_sign_in_pages_link_to_forgot(server):
    assert 'href="/forgot"' in server.client.get("/manage/signin").text
    assert 'href: "/forgot"' in server.client.get("/js/app.js").text


# --- reset links made by a manager or an admin -------------------------------------------------

def test_a_manager_makes_a_reset_link_and_qr_and_the_reset_ends_every_session(server):
    old, _ = sign_in(server.client, "auditor_b")
    _, csrf = sign_in(server.client, "manager_r2")
    person = accounts.user_by_name(server.db, "auditor_b").id
    server.client.cookies.clear()
    made = server.post(f"/manage/people/{person}/reset", "manager_r2", data={"csrf_token": csrf})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    assert "<svg" in made.text and "Password reset link as a QR code" in made.text
    url = re.search(r'value="(http://testserver.local/reset/[^"]+)"', made.text).group(1)
    secret = url.rsplit("/", 1)[1]
    page = server.client.get(f"/reset/{secret}")
    assert page.status_code == 200 and "A new password for auditor_b" in page.text
    done = server.client.post(f"/reset/{secret}", data={"password": NEW, "again": NEW}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/#/signed-in"
    assert me(server.client, old) == 401  # the old session cookie is refused
    assert accounts.check_password(server.db, "auditor_b", NEW) is not None
    used = server.client.get(f"/reset/{secret}")
    assert used.status_code == 410 and "This password reset link was used on " in used.text
    assert actions(server.db, "auditor_b") == [("manager_r2", "reset link made"), ("auditor_b", "password reset")]


def test_reset_links_are_made_for_whom_one_manages_only(server):
    ids = {name: accounts.user_by_name(server.db, name).id for name in ("auditor_a", "auditor_b", "manager_r2", "staff_l1", "admin")}
    cases = {  # auditor_a works in every region: only an admin manages them; out of reach: 403, nobody: 404
        ("manager_r1", "auditor_a"): 403, ("manager_r2", "auditor_b"): 200, ("manager_r1", "auditor_b"): 403,
        ("manager_r1", "staff_l1"): 200, ("manager_r2", "staff_l1"): 403, ("manager_r1", "manager_r2"): 403,
        ("admin", "manager_r2"): 200, ("admin", "auditor_a"): 200, ("auditor_b", "staff_l1"): 303, ("staff_l1", "auditor_b"): 403,
    }
    got = {(by, whom): server.post(f"/manage/people/{ids[whom]}/reset", by, data={"csrf_token": ""}, follow_redirects=False).status_code
           for by, whom in cases}
    assert got == cases
    assert server.post("/manage/people/99999/reset", "admin", data={"csrf_token": ""}).status_code == 404


def test_an_expired_reset_link_says_so(server):
    person = accounts.user_by_name(server.db, "auditor_b").id
    made = server.post(f"/manage/people/{person}/reset", "admin", data={"csrf_token": ""})
    secret = re.search(r'value="http://testserver.local/reset/([^"]+)"', made.text).group(1)
    server.db.execute("UPDATE links SET expires_at = '2020-01-01T00:00:00+00:00'")
    answer = server.client.post(f"/reset/{secret}", data={"password": NEW, "again": NEW})
    assert answer.status_code == 410 and "expired" in answer.text
    assert accounts.check_password(server.db, "auditor_b", "password-auditor_b") is not None


def test_an_invited_person_gets_no_reset_link_and_a_disabled_ones_link_opens_nothing(server):
    invited = server.post("/api/invitations", "admin", json={"name": "nia", "role": "auditor", "regions": ["r1"]}).json()["person"]
    answer = server.post(f"/manage/people/{invited}/reset", "admin", data={"csrf_token": ""})
    assert answer.status_code == 409 and "send the invitation again" in answer.text
    person = accounts.user_by_name(server.db, "auditor_b").id
    made = server.post(f"/manage/people/{person}/reset", "admin", data={"csrf_token": ""})
    secret = re.search(r'value="http://testserver.local/reset/([^"]+)"', made.text).group(1)
    accounts.disable_user(server.db, "auditor_b")
    assert server.client.post(f"/reset/{secret}", data={"password": NEW, "again": NEW}).status_code == 410
