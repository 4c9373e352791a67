"""Follow-up in the system's Chromium against `touchpoint demo` itself (built and served by the one
command a new user runs): the demo's webhook receiver gets signed deliveries; a reviewer sees a
flagged audit with its evidence and explains the flag; a manager closes an action with a photo."""

import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from tests.live import CHROMIUM_ARGS, LiveServer, camera_jpeg, chromium
from tests.browser.test_pwa import open_app

LAPTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`touchpoint demo` itself, building and serving in one command (its webhook receiver too), as a new user runs it."""
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
    assert log.count("(signature verified)") == 1 and "REFUSED" not in log  # the first delivery is said, the rest counted quietly
    # quiet: no library's informational lines (httpx's per request, fontTools' per PDF) bury the passwords,
    # which come last and once more when the server is ready
    audit = demo.api("/api/audits?limit=1").json()["items"][0]["id"]
    assert demo.api(f"/manage/audits/{audit}.pdf").headers["content-type"] == "application/pdf"
    log = demo.log.read_text()
    assert "INFO" not in log and "HTTP Request" not in log and "subset" not in log.lower(), log[-3000:]
    ready = log.index("Touchpoint is ready on")
    before = log[:ready].rstrip().splitlines()
    told = next(n for n in range(len(before) - 1, -1, -1) if before[n].startswith("Sign in as"))
    assert len(before) - told == 14 and before[-1].endswith("the desktop browser works as it is.")  # the passwords are the last block
    assert log[ready:].count(f"  admin           {demo.passwords['admin']}") == 1
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


def test_staff_close_their_shops_action_in_the_phone_app_offline_then_online(playwright, demo, tmp_path):
    import json
    import uuid

    from server.db import connect

    # a failed critical item at Whitby, made and approved over the API: it opens an action
    db = connect(demo.store)
    rows = db.execute("SELECT id, result FROM audits WHERE status = 'approved' AND checklist = 'phone' ORDER BY id").fetchall()
    source = next(id for id, result in rows if json.loads(result)["critical_failed"])
    db.conn.close()
    tokens = {name: demo.cli("token", "add", name).strip().split()[-1] for name in ("ana", "manager-north")}
    audit = demo.api(f"/api/audits/{source}").json()
    body = {"id": str(uuid.uuid4()), "location": "north-whitby", "checklist": audit["checklist"], "version": audit["version"],
            "started_at": audit["started_at"], "finished_at": audit["finished_at"], "answers": audit["answers"]}
    for answer in body["answers"].values():  # its photos first, as new ones (a photo id belongs to one audit)
        answer["photos"] = [str(uuid.uuid4()) for _ in answer.get("photos", [])]
        for photo_id in answer["photos"]:
            put = httpx.put(f"{demo.url}/api/audits/{body['id']}/photos/{photo_id}", content=camera_jpeg(800, 600),
                            headers={"Authorization": f"Bearer {tokens['ana']}", "Content-Type": "image/jpeg"})
            assert put.status_code == 201, put.text
    assert httpx.post(f"{demo.url}/api/audits", json=body, headers={"Authorization": f"Bearer {tokens['ana']}"}).status_code == 201
    approved = httpx.post(f"{demo.url}/api/audits/{body['id']}/review", json={"action": "approve"}, headers={"Authorization": f"Bearer {tokens['manager-north']}"})
    assert approved.status_code == 200, approved.text
    action = next(a for a in demo.api("/api/actions?state=open&location=north-whitby").json() if a["audit"] == body["id"])

    context = playwright.chromium.launch_persistent_context(tmp_path / "profile", executable_path=chromium(), args=CHROMIUM_ARGS, base_url=demo.url, **PHONE)
    try:
        page = open_app(context)
        page.fill("#name", "staff-whitby")
        page.fill("#password", demo.passwords["staff-whitby"])
        page.click("button[type=submit]")
        card = page.locator(f"#action-{action['id']}")
        expect(card).to_contain_text(f"due {action['due']}")
        context.set_offline(True)
        card.get_by_label("What was done").fill("New soap dispensers fitted; the rota now checks them hourly.")
        photo = tmp_path / "fixed.jpg"
        photo.write_bytes(camera_jpeg(1600, 1200))
        card.get_by_label("A photo of it (optional)").set_input_files(str(photo))
        card.get_by_role("button", name="Close the action").click()
        expect(card.get_by_role("status")).to_have_text("Closed on this phone; it is sent when the phone is online.")
        assert demo.api(f"/api/actions/{action['id']}").json()["state"] == "open"  # nothing sent yet
        context.set_offline(False)
        expect(page.locator(f"#action-{action['id']}")).to_have_count(0, timeout=15_000)
        closed = demo.api(f"/api/actions/{action['id']}").json()
        assert closed["state"] == "closed" and closed["closed_by"] == "staff-whitby" and closed["photo"] is True
        assert closed["note"] == "New soap dispensers fitted; the rota now checks them hourly."
        assert page.errors == []
    finally:
        context.close()
