"""A refused manager form comes back as its own page: what was typed kept, each field's problem
beside it in a manager's words, nothing saved; never a bare "That did not work" page."""

import re
from html import unescape


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_a_refused_visit_plan_shows_the_form_again_with_each_fields_problem(server):
    typed = {"location": "l2", "touchpoints": "", "starts": "2027-01-08", "ends": "2027-01-04", "auditor": "auditor_a", "note": "Ask for the manager on duty"}
    page = server.post("/manage/assignments", "manager_r1", data=typed)
    assert page.status_code == 422
    html, text = page.text, _text(page.text)
    assert "That did not work" not in text and "Nothing was saved: correct the 2 things marked below." in text
    assert 'id="plan-touchpoints-problem">choose at least one touchpoint (visit, call)</span>' in html
    assert "2027-01-04 is before the first day (2027-01-08): the last day comes on or after it" in text
    assert 'name="ends" required value="2027-01-04" aria-invalid="true" aria-describedby="plan-ends-problem"' in html
    # what was typed is kept: the location chosen, the days, the auditor, the note
    assert '<option value="l2" selected>' in html and 'value="2027-01-08"' in html and "<option selected>auditor_a</option>" in html
    assert 'value="Ask for the manager on duty"' in html
    assert "touchpoints: ''" not in text and server.db.execute("SELECT COUNT(*) FROM assignments").fetchone()[0] == 0
    # a ticked touchpoint stays ticked when another field is wrong
    again = server.post("/manage/assignments", "manager_r1", data={**typed, "touchpoints": "call"})
    assert 'name="touchpoints" value="call" checked' in again.text and 'name="touchpoints" value="visit">' in again.text


def test_a_refused_schedule_and_import_say_what_to_correct(server):
    schedule = server.post("/manage/schedules", "manager_r1", data={"region": "r1", "touchpoints": "visit", "every": "month", "day": "window", "first": "2027-01-01", "periods": "forty"})
    assert schedule.status_code == 422
    assert 'id="schedule-periods-problem">expected a whole number from 1 to 24</span>' in schedule.text and 'value="forty"' in schedule.text
    csv = "location,touchpoints,starts,ends\nl1,visit,2027-01-04,2027-01-08\nl9,visit,2027-01-04,2027-01-08\n"
    imported = server.post("/manage/assignments/import", "manager_r1", files={"file": ("plan.csv", csv.encode(), "text/csv")})
    text = _text(imported.text)
    assert imported.status_code == 422 and 'id="import-refused"' in imported.text and "row 3: location: no location 'l9'" in text


def test_a_refused_campaign_and_webhook_keep_what_was_typed(server):
    made = server.post("/api/locations", "admin", json=[{"id": "line", "name": "Support line", "region": "r1", "kind": "phone", "contact": "+44 20 7946 0000"}])
    assert made.status_code == 201, made.text
    form = {"name": "", "instructions": "Ask about a refund", "starts": "2027-01-04T09:00", "ends": "2027-01-04T17:00", "zone": "Europe/London", "channels": "line:call"}
    page = server.post("/manage/campaigns", "manager_r1", data=form)
    assert page.status_code == 422 and 'id="campaign-name-problem">' in page.text and "That did not work" not in page.text
    assert 'value="line:call" checked' in page.text and ">Ask about a refund</textarea>" in page.text and 'value="2027-01-04T09:00"' in page.text
    hook = server.post("/manage/webhooks", "admin", data={"url": "https://hooks.example.com/tp"})
    assert hook.status_code == 422 and 'id="webhook-events-problem">choose at least one event</span>' in hook.text
    assert 'value="https://hooks.example.com/tp"' in hook.text


def test_a_refused_review_shows_the_report_again_with_the_form(reviewing):
    from tests.conftest import GOOD_VISIT, audit_body

    body = audit_body(GOOD_VISIT)
    assert reviewing.post("/api/audits", "auditor_a", json=body).status_code == 201
    page = reviewing.post(f"/manage/audits/{body['id']}/review", "manager_r1", data={"action": "return", "note": "  "})
    assert page.status_code == 422 and "That did not work" not in page.text
    assert 'id="review-note-problem">expected comments for the auditor</span>' in page.text and "Review" in page.text
    wrong = reviewing.post(f"/manage/audits/{body['id']}/review", "manager_r1", data={"action": "correct", "item": "wait", "value": "three", "reason": "The photo shows a queue"})
    assert wrong.status_code == 422 and 'id="correct-value-problem">' in wrong.text and "expected a number" in wrong.text
    assert '<option value="wait" selected>' in wrong.text and 'value="The photo shows a queue"' in wrong.text and "<details open" in wrong.text
    assert reviewing.get(f"/api/audits/{body['id']}", "admin").json()["status"] == "submitted"  # nothing changed


def test_closing_an_action_without_a_note_shows_its_page_again(server):
    from tests.conftest import GOOD_VISIT, audit_body

    body = audit_body({**GOOD_VISIT, "resolved": "no"})  # a failed critical item: an action opens
    assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
    (action,) = server.get("/api/actions", "manager_r1").json()
    page = server.post(f"/manage/actions/{action['id']}/close", "manager_r1", files={"note": (None, "   ")})
    assert page.status_code == 422 and "That did not work" not in page.text and "Close it" in page.text
    assert 'id="close-note-problem">' in page.text
    assert server.get(f"/api/actions/{action['id']}", "manager_r1").json()["state"] == "open"
