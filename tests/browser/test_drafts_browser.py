"""A checklist changed in the browser, as a program admin would (issue 26), in the system's Chromium
against the real server: a weight changed and an item added in the form editor, a misspelt show_if
named as `touchpoint check` names it, the draft's test QR opened on a phone-sized page, a test
audit made and scored, published with a note; the auditor's app shows the new item after a refresh
while a visit begun before keeps the old one; the region's figures unchanged by the test audit; the
versions page shows the difference."""

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.test_administration import PHONE, decode_qr
from tests.browser.test_pwa import answer_checkout, open_app, pick, start_visit
from tests.live import ADMIN, AUDITOR, AUDITOR_PASSWORD, CHROMIUM_ARGS, LOCATIONS_READY, chromium

LAPTOP = {"viewport": {"width": 1280, "height": 900}}
ADMIN_PASSWORD = "boss-password-1"
FORM = "/manage/brands/harbor/draft/checkout.yaml/form"


def test_an_admin_changes_a_checklist_tries_it_on_a_phone_and_publishes_it(playwright, server, tmp_path):
    launch = {"executable_path": chromium(), "args": CHROMIUM_ARGS, "base_url": server.url}
    region = lambda: server.api("/api/regions/west/summary").json()  # noqa: E731
    before = region()

    # the auditor starts a visit with the published checklist, and leaves it half done
    field = playwright.chromium.launch_persistent_context(tmp_path / "auditor", **launch, **PHONE)
    app = open_app(field)
    app.fill("#name", AUDITOR)
    app.fill("#password", AUDITOR_PASSWORD)
    app.click("button[type=submit]")
    app.wait_for_selector(LOCATIONS_READY, state="attached")
    start_visit(app, "bath-1", "Pay at the checkout")
    begun = app.evaluate("location.hash.split('/')[2]")
    app.goto("/#/")

    # the admin: a weight and a new item in the form editor; a misspelt show_if first
    desk = playwright.chromium.launch_persistent_context(tmp_path / "admin", **launch, **LAPTOP)
    page = desk.new_page()
    page.goto("/manage/signin")
    page.fill("#signin-name", ADMIN)
    page.fill("#signin-password", ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/manage/"))
    page.goto(FORM)
    page.locator('[name="s0.i0.weight"]').fill("3")  # queue_minutes: 2 -> 3
    page.locator('[name="s0.i1.show_if"]').fill("queue_minutez = 3")
    page.locator('[name="new0.id"]').fill("bag_shelf_tidy")
    page.locator('[name="new0.text"]').fill("Was the shelf for bags by the till tidy?")
    page.get_by_role("button", name="Add the item").first.click()
    expect(page.locator("#problems")).to_be_visible()
    beside = page.locator('[id="s0.i1-problems"]')
    expect(beside).to_contain_text("harbor/checkout.yaml:")
    expect(beside).to_contain_text("section queue, item extra_till_opened: show_if.item: 'queue_minutez' must name an item that comes earlier in this checklist (did you mean 'queue_minutes'?)")
    assert page.locator('[name="s0.i0.weight"]').input_value() == "3"  # what was typed stays
    page.locator('[name="s0.i1.show_if"]').fill("")
    page.locator('[name="new0.id"]').fill("bag_shelf_tidy")
    page.locator('[name="new0.text"]').fill("Was the shelf for bags by the till tidy?")
    page.get_by_role("button", name="Add the item").first.click()
    page.wait_for_url(re.compile(r"/form"))
    expect(page.locator('[name="s0.i2.text"]')).to_have_value("Was the shelf for bags by the till tidy?")

    # the draft's test QR, on the admin's phone: a test visit with the new item, scored with the draft
    page.goto("/manage/brands/harbor/draft")
    link = decode_qr(page, ".qr-big svg")
    assert link == page.locator("#try-link").input_value() and link.endswith("/#/try/harbor")
    tester = playwright.chromium.launch_persistent_context(tmp_path / "tester", **launch, **PHONE)
    phone = open_app(tester, link.removeprefix(server.url))
    expect(phone.locator("#notices")).to_contain_text("Sign in as an admin or a manager to try the draft")
    phone.fill("#name", ADMIN)
    phone.fill("#password", ADMIN_PASSWORD)
    phone.click("button[type=submit]")
    expect(phone.get_by_role("heading", name="Test mode: the draft of harbor")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.get_by_label("Pay at the checkout").check()
    phone.get_by_role("button", name="Start a test visit").click()
    phone.wait_for_selector("#step")
    pick(phone, "a0-bag_shelf_tidy", "Yes")  # the new item is there
    answer_checkout(phone)
    phone.get_by_role("button", name="Finish visit").click()
    expect(phone.get_by_role("heading", name="Test mode: the draft of harbor")).to_be_visible()  # back to the test mode, to try again
    for _ in range(100):  # the outbox sends it to the draft's test audits
        if httpx.get(server.url + "/api/drafts/harbor/test-audits", headers={"Authorization": f"Bearer {server.admin_token}"}).json():
            break
        phone.wait_for_timeout(200)
    expect(phone.get_by_role("button", name="All sent")).to_be_visible()
    assert phone.errors == []
    page.reload()
    tried = page.locator("#test-audits tbody tr")
    expect(tried).to_have_count(1)
    # worked by hand: 8.95 of 13 with the published weights; queue_minutes 0.6 x 3 (not x 2), and 1 of 1 for the new item
    assert float(tried.locator("td").nth(3).inner_text()) == pytest.approx(100 * (8.95 - 1.2 + 1.8 + 1) / (13 + 1 + 1), abs=0.05)
    assert region() == before  # the test audit counts nowhere

    # published with a note: the weight change breaks comparison, so it is confirmed
    page.get_by_label("What changed, and why").fill("the queue matters more; the bag shelf")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#publish-refused")).to_contain_text("tick the box to confirm them")
    page.get_by_label("I mean these changes").check()
    page.get_by_label("What changed, and why").fill("the queue matters more; the bag shelf")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status")).to_contain_text("the draft is published")
    assert httpx.get(server.url + "/api/drafts/harbor/test-audits", headers={"Authorization": f"Bearer {server.admin_token}"}).json() == []

    # the auditor: after a refresh a new visit has the new item; the visit begun before keeps the old version
    app.evaluate("document.querySelector('#location').dataset.old = 'yes'")
    app.get_by_role("button", name="Refresh lists").click()
    app.wait_for_selector("#location:not([data-old])", state="attached")  # the start screen drawn again, from the new lists
    start_visit(app, "bath-1", "Pay at the checkout")
    expect(app.locator("#a0-bag_shelf_tidy")).to_be_visible()
    app.goto(f"/#/visit/{begun}")
    app.wait_for_selector("#step")
    expect(app.locator("#a0-queue_minutes-number")).to_be_visible()
    expect(app.locator("#a0-bag_shelf_tidy")).to_have_count(0)

    # the versions page shows the difference
    page.goto("/manage/brands/harbor/checklists/checkout/diff")
    main = page.locator("main")
    expect(main).to_contain_text("bag_shelf_tidy")
    expect(main).to_contain_text("weight")
    expect(main).to_contain_text("breaks comparison")
    for context in (field, desk, tester):
        context.close()
