"""What people type and the days they name (issue 23): a declared limit refused with a 422 naming
the field, never cut short; no control characters anywhere text comes in; no 500 for a far date
or a huge number on the managers' pages and forms."""

import datetime as dt

import pytest

from tests.conftest import GOOD_VISIT, audit_body


def day(offset: int) -> str:
    return (dt.date.today() + dt.timedelta(days=offset)).isoformat()


def problems(response, status=422) -> dict:
    """The problems of an error answer (JSON or the error page) as {field: message}."""
    assert response.status_code == status, response.text
    if response.headers["content-type"].startswith("application/json"):
        return {p.get("field"): p["message"] for p in response.json()["problems"]}
    return {"page": response.text}


def notes(server) -> list[str]:
    return [n for (n,) in server.db.execute("SELECT note FROM assignments")]


def test_a_long_note_is_refused_with_its_limit_not_cut(server):
    """5,000 characters in a planned visit's note: before, the form kept the first 2,000 without a word."""
    body = {"location": "l1", "touchpoints": ["visit"], "starts": day(1), "ends": day(5), "note": "n" * 5000}
    assert problems(server.post("/api/assignments", "manager_r1", json=body)) == {"note": "at most 2,000 characters"}
    form = {"csrf_token": "", "location": "l1", "touchpoints": "visit", "starts": day(1), "ends": day(5), "note": "n" * 5000}
    page = server.post("/manage/assignments", "manager_r1", data=form)
    assert page.status_code == 422 and "note" in page.text and "at most 2,000 characters" in page.text
    assert notes(server) == []  # nothing stored, nothing cut
    assert server.post("/manage/assignments", "manager_r1", data={**form, "note": "n" * 2000}, follow_redirects=False).status_code == 303
    assert notes(server) == ["n" * 2000]


def test_a_long_note_in_a_csv_of_visits_is_named_by_line(server):
    csv = f"location,touchpoints,starts,ends,note\nl1,visit,{day(1)},{day(3)},{'x' * 2001}\n"
    refused = server.post("/api/assignments/import", "manager_r1", content=csv, headers={"Content-Type": "text/csv"})
    assert refused.status_code == 422
    assert [(p["line"], p["field"], p["message"]) for p in refused.json()["problems"]] == [(2, "note", "at most 2,000 characters, got 2,001")]


NUL = "Sam\x00 <hidden>"


@pytest.mark.parametrize("where", ["assignment note", "review note", "flag-free login name", "webhook url", "audit comment", "audit text"])
def test_nul_is_refused_in_the_api(server, where):
    """Before: NUL and the other control characters were stored in names, notes and URLs."""
    if where == "assignment note":
        response = server.post("/api/assignments", "manager_r1", json={"location": "l1", "touchpoints": ["visit"], "starts": day(1), "ends": day(2), "note": NUL})
        field = "note"
    elif where == "review note":
        audit = server.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT)).json()["id"]
        response = server.post(f"/api/audits/{audit}/review", "manager_r1", json={"action": "reject", "note": NUL})
        field = "note"
    elif where == "flag-free login name":
        response = server.client.post("/api/login", json={"name": "admin\x00", "password": "password-admin"})
        field = "name"
    elif where == "webhook url":
        response = server.post("/api/webhooks", "admin", json={"url": "https://hooks.example/\x00x", "events": ["audit.submitted"]})
        field = "url"
    elif where == "audit comment":
        response = server.post("/api/audits", "auditor_a", json=audit_body({**GOOD_VISIT, "greet": {"value": "yes", "comment": "a\x07b"}}))
        field = "answers.greet.comment"
    else:
        response = server.post("/api/audits", "auditor_a", json=audit_body({**GOOD_VISIT, "notes": "fine\x00"}))
        field = "answers.notes.value"
    found = problems(response)
    assert field in found and ("control character" in found[field]), found


def test_line_breaks_stay_allowed_in_notes_but_not_in_names(server):
    body = {"location": "l1", "touchpoints": ["visit"], "starts": day(1), "ends": day(2), "note": "Ask for Sam.\n\tThen leave."}
    assert server.post("/api/assignments", "manager_r1", json=body).status_code == 201
    assert problems(server.post("/api/assignments", "manager_r1", json={**body, "auditor": "auditor_a\nx"})) == {"auditor": "control characters (such as NUL, U+0000) are not text: remove them"}


def test_nul_is_refused_in_the_forms(server):
    plan = {"csrf_token": "", "location": "l1", "touchpoints": "visit", "starts": day(1), "ends": day(2), "note": "a\x00b"}
    assert server.post("/manage/assignments", "manager_r1", data=plan).status_code == 422
    hook = server.post("/manage/webhooks", "admin", data={"csrf_token": "", "url": "https://hooks.example/\x1b[2J", "events": "audit.submitted"})
    assert hook.status_code == 422 and "url" in hook.text
    campaign = server.post("/manage/campaigns", "admin", data={"csrf_token": "", "name": "Spring\x00", "starts": f"{day(1)}T09:00", "ends": f"{day(2)}T09:00", "zone": "UTC"})
    assert campaign.status_code == 422 and "control character U+0000" in campaign.text
    assert server.db.execute("SELECT COUNT(*) FROM assignments").fetchone()[0] == 0
    assert server.db.execute("SELECT COUNT(*) FROM webhooks").fetchone()[0] == 0


def test_nul_in_a_user_name_or_a_location_is_refused(server):
    from server.accounts import accounts

    with pytest.raises(accounts.AccountError, match="control character U\\+0000"):
        accounts.add_user(server.db, "eve\x00", "auditor", [], "a long enough password")
    refused = server.post("/api/locations", "admin", json=[{"id": "l9", "name": "Shop\x00 nine", "region": "r1"}])
    assert "control characters (such as NUL, U+0000)" in refused.json()["message"] and refused.status_code == 422


# --- far dates and huge numbers on the managers' pages and forms (before: six 500s) --------------


@pytest.mark.parametrize("path", ["/manage/", "/manage/regions/r1", "/manage/locations/l1"])
def test_a_period_from_year_one_to_9999_is_a_400_naming_from(server, path):
    response = server.get(f"{path}?from=0001-01-01&to=9999-12-31", "admin")
    assert response.status_code == 400
    assert "from: expected a day from 2000-01-01" in response.text


def test_a_period_to_9999_is_named_to(server):
    response = server.get(f"/manage/?from={day(-30)}&to=9999-12-31", "admin")
    assert response.status_code == 400 and "to: expected a day from 2000-01-01" in response.text


def test_a_review_offset_of_ten_to_the_twentieth_is_a_400(server):
    response = server.get(f"/manage/review?offset={10**20}", "admin")
    assert response.status_code == 400 and "offset" in response.text
    assert server.get("/manage/review?offset=5", "admin").status_code == 200


def test_a_schedule_from_9999_is_refused_naming_first(server):
    form = {"csrf_token": "", "region": "r1", "touchpoints": "visit", "every": "month", "day": "window", "first": "9999-12-01", "periods": "12"}
    response = server.post("/manage/schedules", "manager_r1", data=form)
    assert response.status_code == 422 and "first" in response.text and "not a day to plan for" in response.text
    api = server.post("/api/schedules", "manager_r1", json={"region": "r1", "touchpoints": ["visit"], "every": "quarter", "first": "9999-10-01", "periods": 24})
    assert "first" in problems(api)


def test_a_visit_window_in_2020_is_refused_naming_starts(server):
    body = {"location": "l1", "touchpoints": ["visit"], "starts": "2020-03-02", "ends": "2020-03-06"}
    found = problems(server.post("/api/assignments", "manager_r1", json=body))
    assert found["starts"].startswith("2020-03-02 is not a day to plan for: expected ")
    assert server.post("/api/assignments", "manager_r1", json={**body, "starts": day(-30), "ends": day(-25)}).status_code == 201  # late, but a plan


@pytest.mark.parametrize("starts,ends,field", [
    ("9999-12-31T09:00", "9999-12-31T10:00", "starts"),  # before: a 500
    (None, "9999-12-31T10:00", "ends"),  # before: accepted, then every join failed
    ("2020-01-01T09:00", "2020-01-02T09:00", "starts"),
])
def test_campaign_times_far_away_are_refused(server, starts, ends, field):
    starts = starts or f"{day(1)}T09:00"
    location = "l1"
    server.db.execute("UPDATE locations SET kind = 'phone', contact = '+44 20 7946 0000' WHERE id = ?", [location])
    response = server.post("/manage/campaigns", "admin", data={"csrf_token": "", "name": "Far", "starts": starts, "ends": ends, "zone": "Europe/London",
                                                               "channels": f"{location}:call"})
    assert response.status_code == 422, response.text
    assert f"<strong>{field}</strong>" in response.text or f"{field}:" in response.text or field in response.text
    assert server.db.execute("SELECT COUNT(*) FROM campaigns").fetchone()[0] == 0


# --- notices: only what the server wrote -----------------------------------------------------------


def test_said_shows_only_notices_the_server_made(server):
    """Before: ?said= put any text into a "Done: ..." notice on a trusted page (phishing)."""
    bait = "your account is locked: call +44 20 7946 0000"
    for path in ("/manage/assignments", "/manage/webhooks"):
        page = server.get(f"{path}?said={bait}", "admin")
        assert page.status_code == 200 and "account is locked" not in page.text and 'class="notice"' not in page.text
    assert "Done: 12 visits scheduled." in server.get("/manage/assignments?said=scheduled+12", "admin").text
    assert 'class="notice"' not in server.get("/manage/assignments?said=scheduled+twelve", "admin").text
    assert "Done: the webhook was removed." in server.get("/manage/webhooks?said=removed", "admin").text
    assert 'class="notice"' not in server.get("/manage/webhooks?said=removed+by+the+bank", "admin").text


def test_every_redirect_notice_is_one_the_pages_know(server):
    """Each `said=` a form's answer sends is in the notices table (a form with a notice the page drops would say nothing)."""
    import pathlib
    import re

    from server.notices import NOTICES

    known = {key for page in NOTICES.values() for key in page}
    sent = set()
    for source in pathlib.Path("server").rglob("*.py"):
        sent |= set(re.findall(r"said=([a-z_]+)", source.read_text()))
    assert sent - {"said"} <= known, sent - known


def test_the_openapi_document_declares_each_limit_as_the_server_holds_it(server):
    """A JSON Schema reader must read the control-character rule as the server does: the pattern is
    written in escapes (before, raw characters let schemathesis draw C1 controls as schema-valid)."""
    import re

    from server.text import LINE_PATTERN, PROSE_PATTERN

    raw = server.client.get("/schema/openapi.json").text
    assert "\x00" not in raw and "\\u0000-" in raw
    schemas = server.client.get("/schema/openapi.json").json()["components"]["schemas"]
    note = schemas["AssignmentIn"]["properties"]["note"]
    assert note["maxLength"] == 2000 and note["pattern"] == PROSE_PATTERN
    assert schemas["Login"]["properties"]["name"] == {"type": "string", "minLength": 1, "maxLength": 200, "pattern": LINE_PATTERN}
    for drawn in ("\x85", "\x1b", "\u202e", "\x00"):
        assert not re.search(LINE_PATTERN, f"a{drawn}b") and not re.search(PROSE_PATTERN, f"a{drawn}b")
    assert re.search(PROSE_PATTERN, "a\n\tb") and not re.search(LINE_PATTERN, "a\tb")
    parameters = {p["name"]: p["schema"] for p in server.client.get("/schema/openapi.json").json()["paths"]["/api/export/audits.csv"]["get"]["parameters"]}
    assert "date" in str(parameters["from"]) and "date" in str(parameters["to"])  # before: any text, refused as text
