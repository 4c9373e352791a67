"""Campaigns ("call your own support line") over real HTTP and a real SQLite file: channels, the join
link, what a participant may do (one thing), revoking, the results worked out by hand, anonymity
in every response and export, and the comparison with an earlier campaign."""

import csv
import datetime as dt
import io
import re

import pytest
from litestar.testing import TestClient

from server.campaigns import stats
from tests.conftest import BRAND_YAML, CALL_YAML, VISIT_YAML, Server, audit_body, seed, write_brand

LINE_YAML = """\
id: line
title: Call the support line
mode: phone
sections:
  - id: s
    title: The call
    items:
      - id: rings
        text: Rings before a person answered
        type: number
        unit: rings
        bands: [{at_most: 3, score: 1}, {score: 0}]
        pillars: [fast]
      - id: hold
        text: Time on hold
        type: timer
        bands: [{at_most: 60, score: 1}, {at_most: 180, score: 0.5}, {score: 0}]
        pillars: [fast]
      - {id: transferred, text: Were you transferred?, type: yes_no, pass: "no", figure: Transferred, pillars: [easy]}
      - {id: resolved, text: Sorted on this call?, type: yes_no, figure: First-call resolution, pillars: [easy]}
      - {id: courtesy, text: How courteous?, type: scale, min: 1, max: 5, pillars: [friendly]}
      - {id: notes, text: What was it like?, type: text, required: false}
"""

# The built data set: five calls by three participants (Ann twice, an anonymous one twice, Bob once).
# Worked by hand (see the test): hold 0 30 60 120 300 -> median 60, p90 120 + 0.6 x 180 = 228.
CALLS = [
    ("ann", {"rings": 2, "hold": 30, "transferred": "no", "resolved": "yes", "courtesy": 5, "notes": "Quick and kind"}),
    ("anon", {"rings": 4, "hold": 120, "transferred": "yes", "resolved": "no", "courtesy": 3, "notes": "Put on hold twice"}),
    ("bob", {"rings": 1, "hold": 0, "transferred": "no", "resolved": "yes", "courtesy": 4}),
    ("ann", {"rings": 6, "hold": 300, "transferred": "yes", "resolved": "yes", "courtesy": 2}),
    ("anon", {"rings": 3, "hold": 60, "transferred": "no", "resolved": "no", "courtesy": 5}),
]


class Participant:
    """One phone: the session cookie the join set, and the CSRF token /api/me gives."""

    def __init__(self, client: TestClient, token: str, name: str = ""):
        client.cookies.clear()
        response = client.post(f"/join/{token}", data={"display_name": name}, follow_redirects=False)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/#/campaign"
        self.client, self.cookie = client, client.cookies.get("tp_session")
        client.cookies.clear()
        self.me = self.get("/api/me").json()
        assert self.me["role"] == "participant"

    def _kw(self, kw: dict) -> dict:
        self.client.cookies.clear()
        return {**kw, "cookies": {"tp_session": self.cookie}}

    def get(self, path: str, **kw):
        return self.client.get(path, **self._kw(kw))

    def send(self, answers: dict, location: str = "support", checklist: str = "line", finished: str | None = None):
        finished = finished or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        body = audit_body(answers, location=location, checklist=checklist, finished=finished, started_at=finished)
        return self.client.post("/api/audits", json=body, headers={"X-CSRF-Token": self.me["csrf_token"]}, **self._kw({}))


@pytest.fixture
def site(tmp_path):
    from server.app import create_app
    from server.settings import Settings

    checklists = tmp_path / "checklists"
    write_brand(checklists, {"brand.yaml": BRAND_YAML.replace("[visit, call]", "[visit, call, line]"), "visit.yaml": VISIT_YAML, "call.yaml": CALL_YAML, "line.yaml": LINE_YAML})
    settings = Settings(data=tmp_path / "data", checklists=checklists, audit_max_age_days=36_500, joins_per_minute=20)
    db, tokens = seed(settings)
    with TestClient(create_app(settings)) as client:
        server = Server(client, settings, db, tokens)
        made = server.post("/api/locations", "admin", json=[
            {"id": "support", "name": "Support line", "region": "r1", "kind": "phone", "contact": "+44 20 7946 0000"},
            {"id": "webshop", "name": "Web shop", "region": "r1", "kind": "website", "contact": "https://acme.example"},
            {"id": "r2-line", "name": "North line", "region": "r2", "kind": "phone", "contact": "+44 161 496 0000"},
        ])
        assert made.status_code == 201, made.text
        yield server
    db.conn.close()


def start(server: Server, persona: str = "manager_r1", channels=("support:line",), hours=(-1, 2), name="December call-in", **extra) -> int:
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    form = {"name": name, "instructions": "Ask how to change a delivery address.", "zone": "UTC",
            "starts": (now + dt.timedelta(hours=hours[0])).strftime("%Y-%m-%dT%H:%M"), "ends": (now + dt.timedelta(hours=hours[1])).strftime("%Y-%m-%dT%H:%M"),
            "channels": list(channels), **extra}
    response = server.post("/manage/campaigns", persona, data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return int(re.search(r"/manage/campaigns/(\d+)", response.headers["location"]).group(1))


def token_of(server: Server, campaign: int) -> str:
    return server.db.execute("SELECT token FROM campaign_links WHERE campaign = ? ORDER BY id DESC LIMIT 1", [campaign]).fetchone()[0]


def test_channels_are_locations_without_gps_taken_by_the_import(site):
    listed = {l["id"]: l for l in site.get("/api/locations", "admin").json()}
    assert listed["support"]["kind"] == "phone" and listed["support"]["contact"] == "+44 20 7946 0000" and listed["support"]["lat"] is None
    assert listed["l1"]["kind"] == "place"
    refused = site.post("/api/locations", "admin", json=[{"id": "chat", "name": "Chat", "region": "r1", "kind": "chat", "lat": 51.5, "lng": -0.1}])
    assert refused.status_code == 422
    said = {(p["field"], p["message"]) for p in refused.json()["problems"]}
    assert ("[0].lat", "a chat channel has no GPS position: leave lat and lng empty") in said
    assert ("[0].contact", "a chat channel needs its address in contact") in said
    wrong_kind = site.post("/api/locations", "admin", json=[{"id": "x", "name": "X", "region": "r1", "kind": "fax", "contact": "1"}])
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["problems"] == [{"field": "[0].kind", "message": "expected one of place, phone, website, chat, email, got 'fax'"}]


def test_the_campaign_form_refuses_what_makes_no_sense(site):
    now = dt.datetime.now(dt.UTC)
    bad = site.post("/manage/campaigns", "manager_r1", data={
        "name": "", "zone": "Mars/Olympus", "starts": now.strftime("%Y-%m-%dT%H:%M"), "ends": "yesterday",
        "channels": ["support:line", "support:call", "r2-line:line", "l1:visit"]})
    assert bad.status_code == 422
    # the form again, each problem beside its field (several on one field joined with ";")
    for field, words in (("name", "expected a name of 1 to 120 characters"), ("zone", "expected a time zone such as Europe/London or UTC, got 'Mars/Olympus'"),
                         ("ends", "expected a date and time such as 2026-12-01T09:00, got 'yesterday'"), ("channels", "Support line: one checklist per channel, got line and call"),
                         ("channels", "'r2-line' is not a channel in your regions"), ("channels", "'l1' is not a channel in your regions")):
        beside = re.search(rf'id="campaign-{field}-problem">([^<]*)</span>', bad.text).group(1).replace("&#39;", "'")
        assert words in beside, (field, words)
    assert 'value="Mars/Olympus"' in bad.text and 'value="support:line" checked' in bad.text
    assert site.db.execute("SELECT COUNT(*) FROM campaigns").fetchone()[0] == 0


def test_a_participant_sends_only_to_its_campaign_and_only_while_it_runs(site):
    mine, other = start(site), start(site, channels=("webshop:line",), name="Web shop week")
    ann = Participant(site.client, token_of(site, mine), "Ann")
    assert ann.send(CALLS[0][1]).status_code == 201
    # the link grants nothing else: no other channel, no shop, no other checklist, no figures, no other campaign's audits
    assert ann.send(CALLS[0][1], location="webshop").status_code == 403
    assert ann.send(CALLS[0][1], location="l1", checklist="visit").status_code == 403
    wrong = ann.send({"q": "yes"}, checklist="call")
    assert wrong.status_code == 422 and "audits Support line with checklist 'line', not 'call'" in wrong.text
    assert [l["id"] for l in ann.get("/api/locations").json()] == ["support"]
    assert [c["id"] for c in ann.get("/api/checklists").json()] == ["line"]
    assert ann.get("/api/regions").json() == []
    assert ann.get("/api/checklists/visit").status_code == 404
    for path in ("/api/locations/l1/summary", "/api/regions/r1/summary", "/api/export/audits.csv", "/api/review", f"/manage/campaigns/{mine}/audits.csv"):
        assert ann.get(path, follow_redirects=False).status_code in (403, 303), path
    assert ann.get(f"/manage/campaigns/{other}", follow_redirects=False).headers["location"] == "/"
    campaign = ann.get("/api/campaign").json()
    assert campaign["name"] == "December call-in" and campaign["phase"] == "running" and campaign["display_name"] == "Ann"
    assert [c["location"] for c in campaign["channels"]] == ["support"]
    # no participant sees another's answers
    bob = Participant(site.client, token_of(site, mine), "Bob")
    sent = bob.send(CALLS[2][1])
    assert ann.get(f"/api/audits/{sent.json()['id']}").status_code == 403
    assert [a["id"] for a in bob.get("/api/audits").json()["items"]] == [sent.json()["id"]]
    # before the start and after the end: 409, the phone keeps the audit
    site.db.execute("UPDATE campaigns SET starts_at = ?, ends_at = ? WHERE id = ?", ["2027-01-04T09:00:00+00:00", "2027-01-04T17:00:00+00:00", mine])
    early = ann.send(CALLS[1][1])
    assert early.status_code == 409 and early.json()["message"].startswith("campaign starts at 2027-01-04 09:00 (UTC)")
    assert early.json()["code"] == "campaign_closed"  # the app keeps such an audit as "not taken" by this code (pwa/js/outbox.js)
    site.db.execute("UPDATE campaigns SET starts_at = ?, ends_at = ? WHERE id = ?", ["2026-01-04T09:00:00+00:00", "2026-01-04T17:00:00+00:00", mine])
    late = ann.send(CALLS[1][1])
    assert late.status_code == 409 and late.json()["message"].startswith("campaign ended at 2026-01-04 17:00 (UTC)") and late.json()["code"] == "campaign_closed"
    ended = site.client.get(f"/join/{token_of(site, mine)}")
    assert ended.status_code == 410 and "ended at 2026-01-04 17:00 (UTC)" in ended.text
    # campaign audits are kept apart: no review queue, no rollups, no main export
    assert site.db.execute("SELECT COUNT(*) FROM audits WHERE campaign IS NOT NULL AND counts = 0").fetchone()[0] == 2
    assert site.db.execute("SELECT COUNT(*) FROM rollups WHERE location = 'support'").fetchone()[0] == 0
    assert "support" not in site.get("/api/export/audits.csv?region=r1", "manager_r1").text


def test_a_revoked_link_stops_at_once_also_for_those_who_joined(site):
    campaign = start(site)
    token = token_of(site, campaign)
    ann = Participant(site.client, token, "Ann")
    assert ann.send(CALLS[0][1]).status_code == 201
    assert site.post(f"/manage/campaigns/{campaign}/revoke", "manager_r1", data={"csrf_token": ""}, follow_redirects=False).status_code == 303
    refused = ann.send(CALLS[1][1])
    assert refused.status_code == 401 and "was revoked" in refused.json()["message"] and "export any unsent audits" in refused.json()["message"]
    assert ann.get("/api/campaign").status_code == 401
    page = site.client.get(f"/join/{token}")
    assert page.status_code == 410 and "revoked this join link" in page.text
    site.client.cookies.clear()
    assert site.client.post(f"/join/{token}", data={"display_name": "Late"}).status_code == 410
    # renewed: a new link works, the old one and its participants stay stopped
    site.post(f"/manage/campaigns/{campaign}/renew", "manager_r1", data={"csrf_token": ""})
    fresh = token_of(site, campaign)
    assert fresh != token
    cara = Participant(site.client, fresh, "Cara")
    assert cara.send(CALLS[2][1]).status_code == 201
    assert ann.send(CALLS[3][1]).status_code == 401
    # a manager of another region may not revoke it
    assert site.post(f"/manage/campaigns/{campaign}/revoke", "manager_r2", data={"csrf_token": ""}).status_code == 403


def test_bad_links_and_names_are_told_apart(site):
    assert "This link is malformed" in site.client.get("/join/short").text
    assert site.client.get("/join/short").status_code == 400
    unknown = site.client.get("/join/AAAAAAAAAAAAAAAA")
    assert unknown.status_code == 404 and "No campaign has this join link" in unknown.text
    token = token_of(site, start(site))
    long = site.client.post(f"/join/{token}", data={"display_name": "x" * 61})
    assert long.status_code == 422 and "at most 60 characters, got 61" in long.text
    control = site.client.post(f"/join/{token}", data={"display_name": "Ann\x07"})
    assert control.status_code == 422 and "control character U+0007" in control.text
    backwards = site.client.post(f"/join/{token}", data={"display_name": "Ann\u202eevil"})
    assert backwards.status_code == 422
    for posing in ("manager_r1", "MANAGER_R1", "Admin", "the auditor", "Staff-Team"):  # before: taken as they came (issue 23)
        refused = site.client.post(f"/join/{token}", data={"display_name": posing})
        assert refused.status_code == 422 and "one of the program" in refused.text, posing
    assert site.db.execute("SELECT COUNT(*) FROM participants").fetchone()[0] == 0


def test_too_many_joins_from_one_address_wait(site):
    token = token_of(site, start(site))
    statuses = []
    for n in range(22):
        site.client.cookies.clear()
        statuses.append(site.client.post(f"/join/{token}", data={"display_name": f"P{n}"}, follow_redirects=False))
    assert [r.status_code for r in statuses] == [303] * 20 + [429, 429]
    assert 1 <= int(statuses[-1].headers["Retry-After"]) <= 60
    assert "wait" in statuses[-1].text


def test_two_server_processes_count_the_same_joins(site):
    """The limit is counted in the database: joins taken alternately by two apps on one folder stop
    at 20 in all, not 20 each (before: each process kept its own count in memory)."""
    from server.app import create_app

    token = token_of(site, start(site))
    with TestClient(create_app(site.settings)) as other:
        statuses = []
        for n in range(22):
            client = (site.client, other)[n % 2]
            client.cookies.clear()
            statuses.append(client.post(f"/join/{token}", data={"display_name": f"P{n}"}, follow_redirects=False))
    assert [r.status_code for r in statuses] == [303] * 20 + [429, 429]
    assert 1 <= int(statuses[-1].headers["Retry-After"]) <= 60 and 1 <= int(statuses[-2].headers["Retry-After"]) <= 60
    assert site.db.execute("SELECT count(*) FROM throttle WHERE key LIKE 'join:%'").fetchone()[0] == 20


def test_results_match_hand_worked_figures_and_anonymous_stays_anonymous(site):
    campaign = start(site)
    token = token_of(site, campaign)
    people = {"ann": Participant(site.client, token, "Ann"), "anon": Participant(site.client, token, ""), "bob": Participant(site.client, token, "Bob")}
    Participant(site.client, token, "  ")  # joined, never called: anonymous (a blank name is none)
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=30)
    for n, (who, answers) in enumerate(CALLS):
        assert people[who].send(answers, finished=(base + dt.timedelta(minutes=n)).isoformat()).status_code == 201
    from server.campaigns import campaigns, results

    found = results.read(site.db, site.client.app.state.catalog, campaigns.get(site.db, campaign))
    assert (found.participants, found.anonymous, found.callers, found.calls) == (4, 2, 3, 5)
    # scores: 100, 20, 95, 25, 80 (each of the five items worth 1; the text not scored) -> mean 64, kept 3 of 5
    assert found.score == pytest.approx(64.0) and found.kept == pytest.approx(0.6)
    line = found.channels[0]
    hold = next(t for t in line.timers if t.item == "hold")
    assert (hold.n, hold.median, hold.p90) == (5, 60.0, pytest.approx(228.0))
    assert [(b.low, b.high, b.count) for b in hold.bins] == [(0, 50, 2), (50, 100, 1), (100, 150, 1), (150, 200, 0), (200, 250, 0), (250, 300, 0), (300, 350, 1)]
    rings = next(t for t in line.timers if t.item == "rings")
    assert (rings.median, rings.p90, rings.unit) == (3.0, pytest.approx(5.2), "rings")
    rates = {r.item: (r.figure, r.yes, r.n) for r in line.rates}
    assert rates == {"transferred": ("Transferred", 2, 5), "resolved": ("First-call resolution", 3, 5)}
    # pillars, each call's first: fast = rings and hold: (1+1)/2, (0+0.5)/2, (1+1)/2, (0+0)/2, (1+1)/2 -> 100, 25, 100, 0, 100: 65, gap 85 - 65 = 20;
    # easy = transferred and resolved: 100, 0, 100, 50, 50 -> 60, gap 20; friendly = courtesy: 100, 50, 75, 25, 100 -> 70, gap 90 - 70 = 20
    assert {p.id: (p.score, p.gap) for p in found.pillars} == {"fast": (65.0, 20.0), "easy": (60.0, 20.0), "friendly": (70.0, 20.0)}
    assert (line.failing[0].item, line.failing[0].failed, line.failing[0].applicable) == ("courtesy", 3, 5)
    assert [(c.text, c.who) for c in found.comments] == [("Put on hold twice", "Anonymous"), ("Quick and kind", "Ann")]
    # the page says the same, and nobody is named who chose not to be
    page = site.get(f"/manage/campaigns/{campaign}", "manager_r1").text
    for words in ("Participants</dt><dd>4 <span class=\"muted\">2 anonymous", "median 60 s · 90th percentile 228 s", "First-call resolution</dt><dd>60 %",
                  "<td>60.0</td><td>80</td>", "20.0 short", "Put on hold twice</blockquote><p class=\"muted\">Anonymous"):
        assert words in page, words
    anonymous = site.db.execute("SELECT u.name, u.code FROM users u JOIN participants p ON p.person = u.id WHERE p.display_name IS NULL").fetchall()
    audits_csv = site.get(f"/manage/campaigns/{campaign}/audits.csv", "manager_r1").text
    answers_csv = site.get(f"/manage/campaigns/{campaign}/answers.csv", "manager_r1").text
    anon_audit = people["anon"].get("/api/audits").json()["items"][0]["id"]
    seen = [page, site.get(f"/manage/campaigns/{campaign}/screen", "manager_r1").text, audits_csv, answers_csv,
            site.get("/api/audits?location=support", "admin").text, site.get(f"/api/audits/{anon_audit}", "admin").text,
            site.get(f"/api/audits/{anon_audit}", "manager_r1").text, site.get(f"/manage/audits/{anon_audit}", "admin").text]
    for text in seen:
        for name, code in anonymous:
            assert name not in text and code not in text
    assert site.get(f"/api/audits/{anon_audit}", "admin").json()["auditor"] == "Anonymous (participant)"  # marked wherever the program's people are named
    rows = list(csv.DictReader(io.StringIO(audits_csv)))
    main_header = next(csv.reader(io.StringIO(site.get("/api/export/audits.csv", "admin").text)))
    assert list(rows[0].keys()) == main_header  # the main export's columns
    assert sorted(r["auditor"] for r in rows) == ["Ann (participant)", "Ann (participant)", "Anonymous (participant)", "Anonymous (participant)", "Bob (participant)"]
    assert next(csv.reader(io.StringIO(answers_csv))) == next(csv.reader(io.StringIO(site.get("/api/export/answers.csv", "admin").text)))
    assert len(list(csv.DictReader(io.StringIO(answers_csv)))) == 5 * 5 + 2  # five scored items a call, two notes


def test_campaigns_on_the_same_channel_line_up_with_a_test_of_each_change(site):
    before = start(site, hours=(-30, -26), name="Autumn")
    site.db.execute("UPDATE campaigns SET ends_at = ? WHERE id = ?", [(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat(), before])
    old = Participant(site.client, token_of(site, before), "Old")
    for hold in (200, 240, 260, 300, 310, 320):
        assert old.send({**CALLS[0][1], "hold": hold, "resolved": "no"}).status_code == 201
    now = start(site, hours=(-1, 2), name="Winter")
    new = Participant(site.client, token_of(site, now), "New")
    for hold in (10, 20, 25, 30, 40, 50):
        assert new.send({**CALLS[0][1], "hold": hold}).status_code == 201
    page = site.get(f"/manage/campaigns/{now}", "manager_r1").text
    assert "Compared with earlier campaigns" in page and ">Autumn</a>" in page
    # hold medians 280 -> 27.5: every new call shorter than every old one; Mann-Whitney U = 0, exact two-sided p = 2/924
    expected = stats.values_change([200, 240, 260, 300, 310, 320], [10, 20, 25, 30, 40, 50], lambda v: stats.percentile(v, 0.5))
    assert (expected.before, expected.after) == (280.0, 27.5)
    assert expected.p == pytest.approx(2 / 924)
    assert "-252.5 s" in page and "larger than chance" in page
    # first-call resolution 0 of 6 -> 6 of 6: Fisher's exact p = 2 / C(12, 6) = 2/924
    assert stats.rate_change(0, 6, 6, 6).p == pytest.approx(2 / 924)


def test_the_qr_code_and_poster(site):
    import zxingcpp
    from PIL import Image

    campaign = start(site)
    png = site.get(f"/manage/campaigns/{campaign}/qr.png", "manager_r1")
    assert png.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert [d.text for d in decoded] == [f"http://testserver.local/join/{token_of(site, campaign)}"]
    svg = site.get(f"/manage/campaigns/{campaign}/qr.svg", "manager_r1")
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.startswith("<svg")
    poster = site.get(f"/manage/campaigns/{campaign}/poster", "manager_r1")
    assert poster.status_code == 200 and "size: A4" not in poster.text and "<svg" in poster.text and token_of(site, campaign) in poster.text
    assert site.get(f"/manage/campaigns/{campaign}/poster", "manager_r2").status_code == 403
    assert site.get(f"/manage/campaigns/{campaign}", "staff_l1").status_code == 403
    assert site.get(f"/manage/campaigns/{campaign}", "auditor_a", follow_redirects=False).status_code == 303


def test_a_participant_can_never_sign_in_with_a_password(site):
    """Participants are signed in by their join's session alone. An older demo gave them passwords:
    even a real password hash in their row must not open /api/login (told like an unknown name)."""
    from server.accounts import accounts

    Participant(site.client, token_of(site, start(site)), "Ann")
    name = site.db.execute("SELECT name FROM users WHERE role = 'participant'").fetchone()[0]
    site.db.execute("UPDATE users SET password_hash = ? WHERE name = ?", [accounts._hasher.hash("a password long enough"), name])
    site.client.cookies.clear()
    refused = site.client.post("/api/login", json={"name": name, "password": "a password long enough"})
    assert refused.status_code == 401 and refused.json()["message"] == "wrong name or password"
    with pytest.raises(accounts.AccountError, match="participants have no password"):
        accounts.set_password(site.db, name, None)


def test_links_that_leave_the_server_use_the_public_address(tmp_path):
    """Posters and QR codes carry TOUCHPOINT_PUBLIC_URL, not the address the admin browses with; without
    it the campaign page warns; a malformed one is refused naming the setting."""
    import zxingcpp
    from PIL import Image

    from server.app import create_app
    from server.settings import Settings, SettingsError

    checklists = tmp_path / "checklists"
    write_brand(checklists, {"brand.yaml": BRAND_YAML.replace("[visit, call]", "[visit, call, line]"), "visit.yaml": VISIT_YAML, "call.yaml": CALL_YAML, "line.yaml": LINE_YAML})
    for public, link, warned in (("https://shops.example.com/tp/", "https://shops.example.com/tp/join/", False), ("", "http://testserver.local/join/", True)):
        settings = Settings(data=tmp_path / f"data{int(warned)}", checklists=checklists, audit_max_age_days=36_500, public_url=public)
        db, tokens = seed(settings)
        with TestClient(create_app(settings)) as client:
            site = Server(client, settings, db, tokens)
            assert site.post("/api/locations", "admin", json=[{"id": "support", "name": "Support line", "region": "r1", "kind": "phone", "contact": "+44 20 7946 0000"}]).status_code == 201
            campaign = start(site)
            token = token_of(site, campaign)
            page = site.get(f"/manage/campaigns/{campaign}", "manager_r1").text
            assert f'value="{link}{token}"' in page and ('id="address-warning"' in page) == warned
            assert "checklist “Call the support line”" in page and "checklist line" not in page  # its title, not its id
            assert link + token in site.get(f"/manage/campaigns/{campaign}/poster", "manager_r1").text
            png = site.get(f"/manage/campaigns/{campaign}/qr.png", "manager_r1").content
            assert [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))] == [link + token]
        db.conn.close()
    for bad in ("shops.example.com", "ftp://shops.example.com", "https://shops.example.com/?a=1", "https:///path"):
        with pytest.raises(SettingsError, match="TOUCHPOINT_PUBLIC_URL / --public-url: expected an address like https://"):
            Settings.from_env(public_url=bad)
