"""The managers' pages in the system's Chromium against the real server process."""

import re

from playwright.sync_api import expect

from tests.live import ADMIN, CHROMIUM_ARGS, chromium
from tests.test_pwa import open_app, playwright, server  # noqa: F401

LAPTOP = {"viewport": {"width": 1280, "height": 900}}


def test_an_admin_signs_in_at_the_app_and_lands_on_the_managers_home(playwright, server, tmp_path):
    context = playwright.chromium.launch_persistent_context(tmp_path / "profile", executable_path=chromium(), args=CHROMIUM_ARGS, base_url=server.url, **LAPTOP)
    try:
        page = open_app(context)
        page.fill("#name", ADMIN)
        page.fill("#password", "boss-password-1")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/manage/$"))
        expect(page.get_by_role("heading", name="All regions")).to_be_visible()
        page.get_by_role("link", name=re.compile("^west$", re.I)).click()
        expect(page.get_by_role("heading", name=re.compile("^west$", re.I))).to_be_visible()
        page.get_by_role("link", name="Audits", exact=True).click()  # sort the ranking by a column
        expect(page.locator("th[aria-sort]")).to_contain_text("Audits")
        page.get_by_role("link", name="Auditors' app").click()
        expect(page.get_by_role("link", name=re.compile("Managers' pages"))).to_be_visible()  # and back again
        assert page.errors == []
    finally:
        context.close()
