"""The program in the system's Chromium, against the real server process: a manager plans a visit on
a laptop-sized page and an auditor does it from the assignment list on a phone; the manager returns
the audit, the auditor fixes and resends it, the manager approves it and the region's figures change.

Worked by hand (checkout.yaml): the checkout answered as in test_pwa.answer_checkout earns 8.95 of
13 points (68.85); with the queue at 1 minute instead of 3 the first item earns 2 of 2 instead of
1.2, so 9.75 of 13: 75.0.
"""

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from tests.live import AUDITOR, AUDITOR_PASSWORD, LOCATIONS_READY, LiveServer
from tests.browser.test_pwa import PHONE, answer_checkout, outbox_says

MANAGER, MANAGER_PASSWORD = "mia", "mia-reviews-the-west"
LAPTOP = {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("program"))
    live.cli("user", "add", MANAGER, "--role", "manager", "--region", "west", "--password-stdin", input=MANAGER_PASSWORD + "\n")
    live.start()
    yield live
    live.stop()


def signed_in(browser, server, name: str, password: str, size: dict) -> Page:
    page = browser.new_context(base_url=server.url, **size).new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    page.goto("/#/")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    return page


def region_score(page: Page) -> str:
    page.goto("/manage/regions/west?period=30")
    return page.locator("table.ranking tbody tr", has_text="Bath Market").inner_text()


def test_a_planned_visit_done_returned_fixed_and_approved(browser, server):
    today = dt.date.today()
    manager = signed_in(browser, server, MANAGER, MANAGER_PASSWORD, LAPTOP)
    manager.wait_for_url("**/manage/")
    before = region_score(manager)
    assert "—" in before  # nothing counts at Bath Market yet

    # the manager plans an open visit to Bath Market's checkout for the next three days
    manager.goto("/manage/assignments")
    plan = manager.locator("#plan")
    plan.locator("select[name=location]").select_option("bath-1")
    plan.get_by_label("Pay at the checkout", exact=True).check()
    plan.get_by_label("From", exact=True).fill(today.isoformat())
    plan.get_by_label("To", exact=True).fill((today + dt.timedelta(days=3)).isoformat())
    plan.get_by_role("button", name="Plan the visit").click()
    expect(manager.locator("h1")).to_contain_text("Visit to Bath Market")
    expect(manager.locator("h1 .state")).to_have_text("due")
    assignment = manager.url.split("/manage/assignments/")[1].split("?")[0]

    # the auditor finds it among the open visits of their region, claims it, and it is theirs, first
    phone = signed_in(browser, server, AUDITOR, AUDITOR_PASSWORD, PHONE)
    phone.wait_for_selector(LOCATIONS_READY, state="attached")
    assert phone.locator("main section").first.get_attribute("id") == "visits"  # their visits come first
    expect(phone.locator("#visits")).to_contain_text("None planned for you: claim an open one below.")
    offered = phone.locator(f"#open-visits li[data-id='{assignment}']")
    expect(offered).to_contain_text("Bath Market")
    expect(offered.locator(".badge")).to_have_text("due")
    offered.get_by_role("button", name="Claim").click()
    row = phone.locator(f"#visits li[data-id='{assignment}']")
    expect(row).to_contain_text("Yours", timeout=15_000)
    row.get_by_role("button", name="Start").click()
    phone.wait_for_selector("#step")
    answer_checkout(phone)
    phone.get_by_role("button", name="Finish visit").click()
    outbox_says(phone, "Everything is sent.")
    held = server.api(f"/api/assignments/{assignment}").json()
    assert held["state"] == "done" and held["auditor"] == AUDITOR and len(held["audits"]) == 1
    audit_id = held["audits"][0]
    audit = server.api(f"/api/audits/{audit_id}").json()
    assert (audit["status"], audit["counts"], audit["assignment"]) == ("submitted", False, assignment)
    assert audit["result"]["score"] == pytest.approx(8.95 / 13 * 100)

    # the manager finds it in the review queue and returns it with a comment
    manager.goto("/manage/review")
    manager.locator("#queue").get_by_role("link", name=re.compile(r"\d{4}-\d\d-\d\d")).first.click()
    manager.fill("#note", "The queue time does not match your photo's clock: check it.")
    manager.get_by_role("button", name="Return to the auditor").click()
    expect(manager.locator("#not-counted")).to_contain_text("returned")

    # the auditor gets it back with the comment, fixes the queue time and sends it again
    phone.goto("/#/")
    phone.get_by_role("button", name="Refresh lists").click()
    back = phone.locator("#returned-list")
    expect(back).to_contain_text("does not match your photo's clock")
    back.get_by_role("button", name="Fix and resend").click()
    expect(phone.locator("#returned")).to_contain_text("does not match your photo's clock")
    phone.locator("#step").select_option(index=0)
    phone.fill("#a0-queue_minutes-number", "1")
    phone.locator("#step").select_option(index=phone.locator("#step option").count() - 1)
    phone.get_by_role("button", name="Finish visit").click()
    outbox_says(phone, "Everything is sent.")
    resent = server.api(f"/api/audits/{audit_id}").json()
    assert (resent["status"], resent["revision"]) == ("submitted", 2)
    assert resent["result"]["score"] == pytest.approx(9.75 / 13 * 100)

    # the manager approves it, and the region's figures change
    manager.goto(f"/manage/audits/{audit_id}")
    manager.get_by_role("button", name="Approve: it counts").click()
    expect(manager.locator(".notice")).to_contain_text("approved")
    after = region_score(manager)
    assert "75.0" in after and after != before
    assert [e["action"] for e in server.api(f"/api/audits/{audit_id}/history").json()] == ["submitted", "returned", "resubmitted", "approved"]
    assert not phone.errors and not manager.errors
