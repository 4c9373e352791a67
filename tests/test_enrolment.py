"""The first start's setup link, invitations (the form, the API, re-send, revoke), enrolment through
the link, and the CSV of people that gives a sheet of enrolment cards: over the real app and a real
database; the setup link through a real `touchpoint serve` process."""

import re

import httpx
import msgspec
import pytest
from litestar.testing import TestClient

from server.accounts import accounts, links
from server.app import create_app
from server.program import history
from tests.live import LiveServer

PASSWORD = "a long enough passphrase"


def csrf(server, persona: str) -> str:
    """Sign the persona in by cookie on the client (as a browser does) and give their CSRF token."""
    server.client.cookies.clear()
    answer = server.client.post("/api/login", json={"name": persona, "password": f"password-{persona}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["csrf_token"]


def secret_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def invite(server, persona="admin", **body):
    return server.post("/api/invitations", persona, json={"name": "nia", "role": "auditor", "regions": ["r1"], **body})


def history_of(server, person: int) -> list:
    return [(e.actor, e.action, e.note) for e in history.entries(server.db, "person", str(person))]


# --- the first start ---------------------------------------------------------------------------

def _setup_link(log) -> list[str]:
    return re.findall(r"http://127\.0\.0\.1:\d+/setup/[A-Za-z0-9_-]+", log.read_text())


def test_serve_prints_a_setup_link_that_makes_the_first_admin_once(tmp_path):
    live = LiveServer(tmp_path, seed=False)
    live.start()
    try:
        first = _setup_link(live.log)
        assert len(first) == 1, live.log.read_text()
        live.stop()
        live.start()  # a restart prints a new link; the first stops working
        printed = _setup_link(live.log)
        assert len(printed) == 2 and printed[0] != printed[1]
        old = httpx.get(printed[0])
        assert old.status_code == 410 and "withdrawn" in old.text
        page = httpx.get(printed[1])
        assert page.status_code == 200 and "Make the first admin" in page.text
        weak = httpx.post(printed[1], data={"name": "ada", "password": "short", "again": "short"})
        assert weak.status_code == 422 and "at least 12 characters" in weak.text
        made = httpx.post(printed[1], data={"name": "ada", "password": PASSWORD, "again": PASSWORD})
        assert made.status_code == 303 and made.headers["location"] == "/manage/"
        cookie = made.cookies["tp_session"]
        me = httpx.get(live.url + "/api/me", cookies={"tp_session": cookie})
        assert me.json()["name"] == "ada" and me.json()["role"] == "admin"
        again = httpx.get(printed[1])
        assert again.status_code == 409 and "set up already" in again.text
        assert httpx.post(printed[1], data={"name": "eve", "password": PASSWORD, "again": PASSWORD}).status_code == 409
        live.stop()
        live.start()  # an admin now: nothing printed
        assert len(_setup_link(live.log)) == 2
    finally:
        live.stop()


def test_an_unknown_setup_link_says_so(server):
    assert server.client.get("/setup/nothing-like-it").status_code == 409  # an admin exists: closed, whatever the secret


def test_setup_refuses_a_name_and_mismatched_passwords_and_keeps_the_link(tmp_path):
    from litestar.testing import TestClient

    from server.accounts import onboarding
    from server.app import create_app
    from tests.conftest import make_server_files
    from tests.databases import migrated_database

    settings = make_server_files(tmp_path)
    db = migrated_database(settings.store)
    secret = onboarding.setup_link(db)
    with TestClient(create_app(settings)) as client:
        differ = client.post(f"/setup/{secret}", data={"name": "ada", "password": PASSWORD, "again": PASSWORD + "!"})
        assert differ.status_code == 422 and "the two passwords differ" in differ.text
        blank = client.post(f"/setup/{secret}", data={"name": " ", "password": PASSWORD, "again": PASSWORD})
        assert blank.status_code == 422 and "expected a non-empty name" in blank.text
        assert client.get(f"/setup/{secret}").status_code == 200  # still open
        assert client.get("/setup/unknown").status_code == 404
        done = client.post(f"/setup/{secret}", data={"name": "ada", "password": PASSWORD, "again": PASSWORD}, follow_redirects=False)
        assert done.status_code == 303
    assert db.execute("SELECT role, password_hash != '!' FROM users WHERE name = 'ada'").fetchone() == ("admin", 1)
    assert [e.action for e in history.entries(db, "person", str(accounts.user_by_name(db, "ada").id))] == ["set up"]


# --- invitations -------------------------------------------------------------------------------

def test_an_invitation_by_the_api_makes_the_person_their_link_mail_and_history(server):
    made = invite(server, email="nia@example.com")
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["name"] == "nia" and body["role"] == "auditor" and body["mailed"] is True
    assert body["link"].startswith("http://testserver.local/enrol/")
    person = body["person"]
    assert server.db.execute("SELECT password_hash, email FROM users WHERE id = ?", [person]).fetchone() == ("!", "nia@example.com")
    link = links.of_person(server.db, person)[0]
    assert link.kind == "invitation" and link.expires_at[:10] > link.created_at[:10]
    import datetime as dt
    assert dt.datetime.fromisoformat(link.expires_at) - dt.datetime.fromisoformat(link.created_at) == dt.timedelta(days=7)
    # only the secret's hash is stored
    assert server.db.execute("SELECT count(*) FROM links WHERE token_hash = ?", [secret_of(body["link"])]).fetchone()[0] == 0
    mail = server.db.execute("SELECT to_address, subject, body, kind, state, link FROM mail").fetchall()
    assert len(mail) == 1
    to, subject, text, kind, state, link_id = mail[0]
    assert (to, kind, state, link_id) == ("nia@example.com", "invitation", "held", link.id)  # no SMTP set: held for /manage/mail
    assert subject == "admin invited you to Touchpoint" and body["link"] in text and "expires on" in text
    assert history_of(server, person) == [("admin", "invited", "mailed")]
    # nobody signs in as an invited person until they enrol
    assert server.client.post("/api/login", json={"name": "nia", "password": "!"}).status_code == 401


@pytest.mark.parametrize("persona, body, field, status", [
    ("manager_r1", {"role": "manager", "regions": ["r1"]}, "role", 422),
    ("manager_r1", {"role": "admin", "regions": []}, "role", 422),
    ("manager_r1", {"regions": ["r2"]}, "regions", 422),
    ("manager_r1", {"regions": []}, "regions", 422),  # an auditor of every region: only an admin makes one
    ("manager_r1", {"role": "staff", "regions": [], "location": "l4"}, "location", 422),
    ("admin", {"role": "staff", "regions": []}, "location", 422),
    ("admin", {"name": "auditor_a"}, "name", 422),
    ("admin", {"email": "not-an-address"}, "email", 422),
    ("admin", {"role": "owner"}, "role", 422),
    ("auditor_a", {}, None, 403),
    ("staff_l1", {}, None, 403),
])
def test_invitations_refused_name_the_field_and_make_nothing(server, persona, body, field, status):
    answer = invite(server, persona, **body)
    assert answer.status_code == status, answer.text
    if field:
        assert [p["field"] for p in answer.json()["problems"]] == [field]
    assert server.db.execute("SELECT count(*) FROM users WHERE name = 'nia'").fetchone()[0] == 0
    assert server.db.execute("SELECT count(*) FROM links").fetchone()[0] == 0
    assert server.db.execute("SELECT count(*) FROM mail").fetchone()[0] == 0


def test_a_manager_invites_staff_of_their_region(server):
    answer = invite(server, "manager_r1", name="sal", role="staff", regions=[], location="l2")
    assert answer.status_code == 201, answer.text
    assert accounts.user_by_name(server.db, "sal").location == "l2"


def test_the_invite_form_shows_the_link_and_qr_once_and_refuses_with_the_form(server):
    token = csrf(server, "manager_r1")
    page = server.client.get("/manage/people/invite")
    assert page.status_code == 200 and 'value="manager"' not in page.text  # a manager is offered auditor and staff only
    refused = server.client.post("/manage/people/invite", data={"csrf_token": token, "name": "nia", "role": "auditor", "regions": "r2", "email": "x"})
    assert refused.status_code == 422
    assert "only your regions (r1)" in refused.text and 'value="nia"' in refused.text
    made = server.client.post("/manage/people/invite", data={"csrf_token": token, "name": "nia", "role": "auditor", "regions": "r1"})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    url = re.search(r'value="(http://testserver.local/enrol/[^"]+)"', made.text).group(1)
    assert "<svg" in made.text and "Enrolment link" not in made.text and "Invitation as a QR code" in made.text
    assert "shown <strong>once</strong>" in made.text
    assert server.client.post("/manage/people/invite", data={"csrf_token": "wrong", "name": "x", "role": "auditor", "regions": "r1"}).status_code == 403
    person = accounts.user_by_name(server.db, "nia").id
    assert history_of(server, person) == [("manager_r1", "invited", "")]
    assert server.client.get("/enrol/" + secret_of(url)).status_code == 200


def test_send_again_revokes_the_old_link_and_mails_the_new_one(server):
    first = invite(server, email="nia@example.com").json()
    token = csrf(server, "admin")
    again = server.client.post(f"/manage/people/{first['person']}/invite", data={"csrf_token": token})
    assert again.status_code == 200
    second = re.search(r'value="(http://testserver.local/enrol/[^"]+)"', again.text).group(1)
    assert second != first["link"]
    old = server.client.get("/enrol/" + secret_of(first["link"]))
    assert old.status_code == 410 and "withdrawn" in old.text
    assert server.client.get("/enrol/" + secret_of(second)).status_code == 200
    mails = [body for (body,) in server.db.execute("SELECT body FROM mail ORDER BY created_at")]
    assert len(mails) == 2 and second in mails[1]
    revoked = server.client.post(f"/manage/people/{first['person']}/invite/revoke", data={"csrf_token": token}, follow_redirects=False)
    assert revoked.status_code == 303
    assert server.client.get("/enrol/" + secret_of(second)).status_code == 410
    assert [a for _, a, _ in history_of(server, first["person"])] == ["invited", "invited again", "invitation revoked"]


def _invited_page_note(server, **form) -> tuple[str, str]:
    token = csrf(server, "admin")
    made = server.client.post("/manage/people/invite", data={"csrf_token": token, "role": "auditor", "regions": "r1", **form})
    assert made.status_code == 200, made.text
    (state,) = server.db.execute("SELECT state FROM mail ORDER BY created_at DESC LIMIT 1").fetchone() if form.get("email") else ("",)
    return re.search(r"<p>([^<]*)</p>\s*<p><a href=\"/manage/people/\d+\">", made.text).group(1), state


def test_the_invited_page_says_a_mail_was_sent_only_when_this_server_sends_mail(server, tmp_path):
    # was "The invitation was mailed to sam@example.org too." on a server without SMTP, where the mail is held, never sent
    assert _invited_page_note(server, name="sam", email="sam@example.org") == (
        "This server sends no mail (TOUCHPOINT_SMTP_URL is not set), so nothing goes to sam@example.org: hand over the link or let them scan the code.", "held")
    assert _invited_page_note(server, name="ida") == ("No e-mail was given: hand over the link or let them scan the code.", "")
    person = accounts.user_by_name(server.db, "sam").id
    again = server.client.post(f"/manage/people/{person}/invite", data={"csrf_token": csrf(server, "admin")})
    assert "The earlier link no longer works. This server sends no mail (TOUCHPOINT_SMTP_URL is not set), so nothing goes to them" in again.text
    from tests.conftest import Server, make_server_files, seed

    settings = msgspec.structs.replace(make_server_files(tmp_path / "mailing"), smtp_url="smtp://127.0.0.1:2525")
    db, tokens = seed(settings)
    try:
        with TestClient(create_app(settings)) as client:
            mailing = Server(client, settings, db, tokens)
            assert _invited_page_note(mailing, name="sam", email="sam@example.org") == ("The invitation is mailed to sam@example.org too.", "pending")
    finally:
        db.conn.close()


def test_another_regions_manager_cannot_resend_or_revoke(server):  # 403, as the people pages answer for a person out of reach
    person = invite(server).json()["person"]
    token = csrf(server, "manager_r2")
    assert server.client.post(f"/manage/people/{person}/invite", data={"csrf_token": token}).status_code == 403
    assert server.client.post(f"/manage/people/{person}/invite/revoke", data={"csrf_token": token}).status_code == 403
    assert server.client.post(f"/manage/people/{person}/reset", data={"csrf_token": token}).status_code == 403


# --- enrolment ---------------------------------------------------------------------------------

def test_enrolment_sets_the_password_signs_in_and_lands_an_auditor_in_the_app(server):
    made = invite(server).json()
    secret = secret_of(made["link"])
    server.client.cookies.clear()
    page = server.client.get(f"/enrol/{secret}")
    assert page.status_code == 200 and "Welcome, nia" in page.text and 'autocomplete="new-password"' in page.text
    differ = server.client.post(f"/enrol/{secret}", data={"password": PASSWORD, "again": "something else entirely"})
    assert differ.status_code == 422 and "the two passwords differ" in differ.text
    weak = server.client.post(f"/enrol/{secret}", data={"password": "password1234", "again": "password1234"})
    assert weak.status_code == 422 and "common passwords" in weak.text
    done = server.client.post(f"/enrol/{secret}", data={"password": PASSWORD, "again": PASSWORD}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/#/signed-in"
    assert server.client.get("/api/me").json()["name"] == "nia"  # the cookie signs in
    assert accounts.check_password(server.db, "nia", PASSWORD) is not None
    used = server.client.get(f"/enrol/{secret}")
    assert used.status_code == 410 and "This invitation was used on " in used.text
    twice = server.client.post(f"/enrol/{secret}", data={"password": PASSWORD + "x", "again": PASSWORD + "x"})
    assert twice.status_code == 410 and "was used on" in twice.text
    assert accounts.check_password(server.db, "nia", PASSWORD) is not None  # unchanged by the second use
    assert [a for _, a, _ in history_of(server, made["person"])] == ["invited", "enrolled"]


def test_a_manager_lands_on_the_managers_pages(server):
    made = invite(server, name="meg", role="manager").json()
    done = server.client.post(f"/enrol/{secret_of(made['link'])}", data={"password": PASSWORD, "again": PASSWORD}, follow_redirects=False)
    assert done.headers["location"] == "/manage/"


def test_an_expired_or_unknown_link_says_which(server):
    made = invite(server).json()
    server.db.execute("UPDATE links SET expires_at = '2020-01-01T00:00:00+00:00'")
    expired = server.client.get(f"/enrol/{secret_of(made['link'])}")
    assert expired.status_code == 410 and "expired" in expired.text
    posted = server.client.post(f"/enrol/{secret_of(made['link'])}", data={"password": PASSWORD, "again": PASSWORD})
    assert posted.status_code == 410 and "expired" in posted.text
    unknown = server.client.get("/enrol/not-a-link-at-all")
    assert unknown.status_code == 404 and "not known" in unknown.text


# --- the CSV of people -------------------------------------------------------------------------

def test_thirty_people_give_thirty_cards_each_with_only_its_link(server):
    token = csrf(server, "admin")
    rows = "\n".join(f"person{i:02},auditor,r1,,p{i}@example.com" for i in range(30))
    answer = server.client.post("/manage/people/import", data={"csrf_token": token},
                                files={"file": ("people.csv", f"name,role,regions,location,email\n{rows}\n".encode(), "text/csv")})
    assert answer.status_code == 200, answer.text
    assert answer.text.count('class="enrol-card"') == 30
    assert answer.text.count("<svg") == 30
    assert "size: A4" in server.client.get("/manage/static/manage.css").text
    for i in (0, 29):
        assert f"person{i:02}" in answer.text
    made = server.db.execute("SELECT count(*) FROM users WHERE name LIKE 'person%' AND password_hash = '!'").fetchone()[0]
    assert made == 30
    assert server.db.execute("SELECT count(*) FROM mail WHERE kind = 'invitation'").fetchone()[0] == 30
    # each card's code decodes to that person's open enrolment link, and to nothing else
    cards = re.findall(r'<li class="enrol-card">.*?</li>', answer.text, re.S)
    for card in cards:
        name = re.search(r'class="card-name">([^<]+)<', card).group(1)
        (decoded,) = decode_svg_qr(card)
        assert decoded.startswith("http://testserver.local/enrol/")
        user = server.db.execute("SELECT person FROM links WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL",
                                 [links.digest(secret_of(decoded))]).fetchone()[0]
        assert accounts.user_by_id(server.db, user).name == name
        assert secret_of(decoded) not in card  # the secret is only in the drawn code, never in the page's text
    assert len(cards) == 30


def decode_svg_qr(svg: str) -> list[str]:
    """What a segno SVG code reads as: its path (rows of "h" runs) drawn into an image, read by zxing."""
    import zxingcpp
    from PIL import Image, ImageDraw

    size = int(re.search(r'viewBox="0 0 (\d+) ', svg).group(1)) // int(re.search(r"scale\((\d+)\)", svg).group(1))
    image = Image.new("L", (size * 4, size * 4), 255)
    draw = ImageDraw.Draw(image)
    x = y = 0.0
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", re.search(r' d="([^"]+)"', svg).group(1)):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            draw.rectangle((x * 4, (y - 0.5) * 4, (x + float(a)) * 4 - 1, (y + 0.5) * 4 - 1), fill=0)
            x += float(a)
    return [found.text for found in zxingcpp.read_barcodes(image)]


def test_a_csv_of_people_is_all_or_nothing_with_rows_and_columns(server):
    token = csrf(server, "manager_r1")
    text = ("name,role,regions,location,email\n"
            "ok1,auditor,r1,,\n"
            ",auditor,r1,,\n"                 # line 3: no name
            "ok2,manager,r1,,\n"              # line 4: a manager may not make managers
            "ok3,auditor,r2,,\n"              # line 5: not their region
            "ok1,auditor,r1,,\n"              # line 6: the same name again
            "ok4,staff,,l1,bad-address\n")    # line 7: the e-mail's shape
    answer = server.client.post("/manage/people/import", data={"csrf_token": token}, files={"file": ("p.csv", text.encode(), "text/csv")})
    assert answer.status_code == 422
    for expected in ("row 3: name: expected a non-empty name", "row 4: role: a manager invites auditors and staff",
                     "row 5: regions: only your regions (r1)", "row 6: name: a user called &#39;ok1&#39; already exists",
                     "row 7: email: expected an address"):
        assert expected in answer.text, expected
    assert server.db.execute("SELECT count(*) FROM users WHERE name LIKE 'ok%'").fetchone()[0] == 0
    assert server.db.execute("SELECT count(*) FROM links").fetchone()[0] == 0
    header = server.client.post("/manage/people/import", data={"csrf_token": token}, files={"file": ("p.csv", b"name,colour\nx,red\n", "text/csv")})
    assert header.status_code == 422 and "missing column role; unknown column colour" in header.text
    binary = server.client.post("/manage/people/import", data={"csrf_token": token}, files={"file": ("p.csv", b"\xff\xfe\x00", "text/csv")})
    assert binary.status_code == 422 and "expected a CSV file saved as UTF-8" in binary.text
