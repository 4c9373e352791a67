"""Follow-up in the system's Chromium against `touchpoint demo` itself (built and served by the one
command a new user runs): the demo's webhook receiver gets signed deliveries; a reviewer sees a
flagged audit with its evidence and explains the flag; a manager closes an action with a photo."""

import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from tests.live import CHROMIUM_ARGS, LiveServer, camera_jpeg, chromium
from tests.test_pwa import open_app, playwright  # noqa: F401

LAPTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    live = LiveServer(folder, seed=False).start("demo")
    out = live.log.read_text()
    live.passwords = dict(re.findall(r"^  (\S+)\s+(\S+)$", out, re.M))
    live.admin_token = live.cli("token", "add", "admin").strip().split()[-1]
    yield live
    live.stop()


def sign_in(context, name, password):
    page = open_app(context)
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/manage/"))
    return page


def test_the_demo_starts_a_receiver_that_gets_signed_deliveries(demo):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "(signature verified)" not in demo.log.read_text():
        time.sleep(0.2)
    log = demo.log.read_text()
    assert "webhook receiver: flag.raised (signature verified)" in log and "REFUSED" not in log
    (hook,) = demo.api("/api/webhooks").json()
    assert hook["url"].startswith("http://127.0.0.1:") and hook["delivered"] >= 5 and hook["failed"] == 0
    deliveries = demo.api(f"/api/webhooks/{hook['id']}/deliveries").json()
    assert all(d["tries"][-1]["status"] == 204 for d in deliveries if d["state"] == "delivered")


def test_a_reviewer_sees_a_flagged_audit_with_its_evidence_and_explains_the_flag(playwright, demo, tmp_path):
    context = playwright.chromium.launch_persistent_context(tmp_path / "profile", executable_path=chromium(), args=CHROMIUM_ARGS, base_url=demo.url, **LAPTOP)
    try:
        page = sign_in(context, "manager-east", demo.passwords["manager-east"])
        expect(page.locator("#flagged")).to_contain_text("integrity flag")
        page.get_by_role("link", name="Review", exact=True).click()
        page.locator("a.bad[href*='#flags']").first.click()  # the queue marks the flagged audit
        flags = page.locator("#flags")
        expect(flags).to_contain_text("Visit too fast")
        expect(flags).to_contain_text("Visit finished in 1.5 min; 13 items need at least 2.2 min.")
        flags.get_by_label("Why it is no cause for concern").fill("Called the shopper: the till was closed, a short visit by design.")
        flags.get_by_role("button", name="Mark as explained").click()
        expect(page.locator("#flags .tag")).to_have_text("explained")
        expect(page.locator("#flags")).to_contain_text("Explained by manager-east")
        expect(page.locator("#flags")).to_contain_text("the till was closed")
        page.goto("/manage/flags?show=all")
        expect(page.get_by_role("heading", name="By auditor")).to_be_visible()
        expect(page.locator("table.list").first).to_contain_text("dev")
    finally:
        context.close()


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_a_manager_closes_an_action_with_a_photo(playwright, demo, tmp_path, size):
    context = playwright.chromium.launch_persistent_context(tmp_path / "profile", executable_path=chromium(), args=CHROMIUM_ARGS, base_url=demo.url, **size)
    try:
        page = sign_in(context, "admin", demo.passwords["admin"])
        expect(page.locator("#actions-notice")).to_contain_text("overdue")
        page.locator("#actions-notice a").click()
        rows = page.locator("table.list tbody tr")
        before = rows.count()
        rows.first.locator("th a").click()
        expect(page.get_by_role("heading", name="What failed")).to_be_visible()
        page.get_by_label("What was done (required)").fill("Deep-cleaned and added a check to the rota.")
        photo = tmp_path / "done.jpg"
        photo.write_bytes(camera_jpeg(1200, 900))
        page.get_by_label("A photo of it (optional)").set_input_files(str(photo))
        page.get_by_role("button", name="Close the action").click()
        expect(page.get_by_role("status")).to_have_text("Done: the action is closed.")
        expect(page.get_by_role("img", name="Photo of what was done")).to_be_visible()
        page.goto("/manage/actions")
        assert page.locator("table.list tbody tr").count() == before - 1
        closed = httpx.get(f"{demo.url}/api/actions?state=closed&limit=500", headers={"Authorization": f"Bearer {demo.admin_token}"}).json()
        assert any(a["note"] == "Deep-cleaned and added a check to the rota." and a["photo"] for a in closed)
    finally:
        context.close()
