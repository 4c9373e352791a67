"""Enrolment on a phone, in the system's Chromium against the real server: the invitation's page fits
360 px, its fields are labelled and 48 px tall, axe finds nothing serious; setting the password
signs the auditor in and lands them in the app; the link then says it was used. The forgotten
password's page and the app's sign-in screen with its link, alike."""

import httpx
from playwright.sync_api import expect

from tests.browser.test_axe import axe_source, violations
from tests.live import CHROMIUM_ARGS, LOCATIONS_READY, chromium

NARROW = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
PASSWORD = "a phone-typed passphrase"


def invite(server, name: str) -> str:
    made = httpx.post(server.url + "/api/invitations", json={"name": name, "role": "auditor", "regions": ["west"]},
                      headers={"Authorization": f"Bearer {server.admin_token}"}, timeout=10)
    assert made.status_code == 201, made.text
    return made.json()["link"]


def fits(page) -> None:
    """Nothing to scroll sideways at 360 px; every field and button at least 48 px tall."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for control in page.locator("input:not([type=hidden]):not([hidden]), button").all():
        box = control.bounding_box()
        assert box["height"] >= 48 and box["x"] >= 0 and box["x"] + box["width"] <= 360, (control.get_attribute("name"), box)


def test_an_invited_auditor_enrols_on_a_phone_and_lands_in_the_app(playwright, server, tmp_path):
    link = invite(server, "nina")
    context = playwright.chromium.launch_persistent_context(tmp_path / "phone", executable_path=chromium(), args=CHROMIUM_ARGS, base_url=server.url, **NARROW)
    source = axe_source()
    try:
        page = context.new_page()
        page.goto(link)
        expect(page.get_by_role("heading", name="Welcome, nina")).to_be_visible()
        fits(page)
        assert violations(page, source) == []
        page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
        page.get_by_label("The same password again").fill(PASSWORD + "?")
        page.get_by_role("button", name="Set the password and sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
        expect(page.locator("#password-again-problem")).to_have_text("the two passwords differ: type the same one twice")
        fits(page)
        assert violations(page, source) == []  # the refused form too
        page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
        page.get_by_label("The same password again").fill(PASSWORD)
        page.get_by_role("button", name="Set the password and sign in").click()
        page.wait_for_url(server.url + "/#/")
        page.wait_for_selector(LOCATIONS_READY)  # the app's start screen, signed in as nina
        assert page.evaluate("fetch('/api/me').then(r => r.json()).then(me => me.name)") == "nina"
        page.goto(link)
        expect(page.get_by_role("heading", name="This link was used")).to_be_visible()
        expect(page.locator("main")).to_contain_text("This invitation was used on ")
        fits(page)
        assert violations(page, source) == []
    finally:
        context.close()


def test_forgot_and_the_apps_sign_in_fit_a_phone(playwright, server, tmp_path):
    context = playwright.chromium.launch_persistent_context(tmp_path / "forgot", executable_path=chromium(), args=CHROMIUM_ARGS, base_url=server.url, **NARROW)
    source = axe_source()
    try:
        page = context.new_page()
        page.goto("/#/signin")
        page.get_by_role("link", name="Forgot your password?").click()
        page.wait_for_url(server.url + "/forgot")
        fits(page)
        assert violations(page, source) == []
        page.get_by_label("Your name (the one you sign in with)").fill("ann")
        page.get_by_role("button", name="Send me a reset link").click()
        expect(page.get_by_role("status")).to_contain_text("This server sends no mail: ask your manager")
        fits(page)
        assert violations(page, source) == []
    finally:
        context.close()
