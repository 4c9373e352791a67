"""Screenshots of the managers' pages over the demo's data, at laptop and phone size, for the README:
`python tests/screenshots_manage.py` writes server/reports/screenshots/*.png from the real server;
`python tests/screenshots_manage.py brands` only the brands' pages (the editor, a diff)."""

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.live import CHROMIUM_ARGS, CLI, REPO, chromium, free_port  # noqa: E402

OUT = REPO / "server" / "reports" / "screenshots"
SIZES = {"laptop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
A4 = {"width": 794, "height": 1123}  # A4 at 96 dpi
TEAM = "\n".join(["name,role,regions,location,email"] + [  # a briefing's worth of new auditors and staff: 12 cards
    f"{name},auditor,{region},,{name.split('-')[0]}@example.org" for name, region in [
        ("maya-okafor", "east"), ("tom-reilly", "east"), ("ines-duarte", "east;north"), ("kwame-mensah", "north"),
        ("lena-vogel", "north"), ("omar-haddad", "south"), ("sofia-marin", "south"), ("jack-pearce", "west"),
        ("aiko-tanaka", "west"), ("ruth-bell", "west")]] + [
    "nina-shaw,staff,,east-cromer,", "dev-patel,staff,,south-lewes,"]) + "\n"


def signed_in(browser, url: str, viewport: dict, name: str, password: str, **options):
    """A new browser context signed in as `name` through the sign-in form, on the managers' home."""
    page = browser.new_context(viewport=viewport, base_url=url, device_scale_factor=1, **options).new_page()
    page.goto("/")  # the app's sign-in sends a manager or admin on to their pages
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/manage/$"))
    return page


def brands(browser, url: str, admin: str) -> None:
    """The admin's brands pages: the list, the form editor refusing a misspelt show_if beside its item
    (laptop and phone), the text editor refusing a misspelt key, then a second version of harbor's
    checkout made in the form (an item added, a weight changed, a question reworded), published with a
    note and the confirmation ticked, and its diff."""
    form = "/manage/brands/harbor/draft/checkout.yaml/form"
    for size, viewport in SIZES.items():
        page = signed_in(browser, url, viewport, "admin", admin, is_mobile=size == "phone")
        page.goto("/manage/brands/")
        page.screenshot(path=OUT / f"brands-{size}.png", full_page=False)
        page.goto(form)
        page.fill("[name='s2.i1.show_if']", "rewards_askd = yes")  # rewards_explained, shown only if the card was asked about
        page.get_by_role("button", name="Save into the draft").click()
        page.wait_for_selector("#problems")
        page.locator("fieldset.item", has=page.locator(".field-problem")).evaluate("f => f.scrollIntoView()")
        page.evaluate("scrollBy(0, -8)")
        page.screenshot(path=OUT / f"form-refused-{size}.png", full_page=False)
        if size == "laptop":
            page.goto("/manage/brands/harbor/draft/checkout.yaml")
            text = page.locator("#file-text").input_value()
            page.fill("#file-text", text.replace("    pillars: [fast]\n", "    pilars: [fast]\n", 1))
            page.get_by_role("button", name="Save into the draft").click()
            page.wait_for_selector("#problems")
            page.screenshot(path=OUT / "file-refused-laptop.png", full_page=False)
    page = signed_in(browser, url, SIZES["laptop"], "admin", admin)
    page.goto(form)  # the issue's own example: a question about the bag shelf, added to "Paying"
    page.fill("[name='new2.id']", "bag_shelf_clear")
    page.fill("[name='new2.text']", "Was the bag shelf clear for your shopping?")
    page.get_by_role("button", name="Add the item").nth(2).click()
    page.wait_for_url(re.compile(r"/form"))
    page.fill("[name='s0.i0.weight']", "3")  # queue_minutes: 2 -> 3
    page.fill("[name='s1.i1.text']", "Did the cashier look at you while greeting you?")  # eye_contact: a wording change, never breaking
    page.get_by_role("button", name="Save into the draft").click()
    page.wait_for_url(re.compile(r"/draft\?said=saved"))
    page.fill("#publish-note", "The wait counts for more; a question about the bag shelf")
    page.locator("input[name=confirm]").check()
    page.locator("#marked-changes").evaluate("m => m.scrollIntoView()")
    page.screenshot(path=OUT / "publish-laptop.png", full_page=False)
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(re.compile(r"/manage/brands/\?said=published"))
    for size, viewport in SIZES.items():
        page = signed_in(browser, url, viewport, "admin", admin, is_mobile=size == "phone")
        page.goto("/manage/brands/harbor/checklists/checkout/diff")
        page.locator("#diff").evaluate("d => d.scrollIntoView()")
        page.screenshot(path=OUT / f"diff-{size}.png", full_page=False)


def main(only: str | None = None) -> None:
    OUT.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp())
    port = free_port()
    env = {"TOUCHPOINT_DATA": str(folder / "data"), "TOUCHPOINT_CHECKLISTS": str(REPO / "checklists"), "TOUCHPOINT_PORT": str(port), "PATH": ""}
    log = folder / "demo.log"  # `touchpoint demo` builds, prints the passwords, starts its webhook receiver and serves
    server = subprocess.Popen([*CLI, "demo"], env=env, cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        built = log.read_text()
        password = re.search(r"manager-east\s+(\S+)", built).group(1)
        auditor = re.search(r"\bana\s+(\S+)", built).group(1)
        admin = re.search(r"\badmin\s+(\S+)", built).group(1)
        staff = re.search(r"staff-whitby\s+(\S+)", built).group(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            if only != "brands":  # the brands' pages last: their publish adds a version the other pages would show
                for size, viewport in SIZES.items():
                    page = browser.new_context(viewport=viewport, base_url=url, device_scale_factor=1).new_page()
                    page.goto("/")
                    page.fill("#name", "manager-east")
                    page.fill("#password", password)
                    page.click("button[type=submit]")
                    page.wait_for_url(re.compile(r"/manage/$"))
                    page.screenshot(path=OUT / f"home-{size}.png", full_page=True)
                    page.goto("/manage/regions/east?period=365")
                    page.screenshot(path=OUT / f"region-{size}.png", full_page=True)
                    page.goto("/manage/regions/east/items?period=365")
                    page.screenshot(path=OUT / f"items-{size}.png", full_page=False)
                    page.goto("/manage/locations/east-wells?period=365")
                    page.screenshot(path=OUT / f"location-{size}.png", full_page=True)
                    page.locator("a[href^='/manage/audits/']").first.click()
                    page.screenshot(path=OUT / f"audit-{size}.png", full_page=True)
                    page.goto("/manage/review")
                    page.screenshot(path=OUT / f"review-{size}.png", full_page=False)
                    page.locator("#queue a[href^='/manage/audits/']").first.click()
                    page.locator("#review").scroll_into_view_if_needed()
                    page.screenshot(path=OUT / f"reviewing-{size}.png", full_page=False)
                    page.goto("/manage/assignments")
                    page.screenshot(path=OUT / f"assignments-{size}.png", full_page=False)
                    page.goto("/manage/review")
                    page.locator("a.bad[href*='#flags']").first.click()
                    page.locator("#flags").scroll_into_view_if_needed()
                    page.screenshot(path=OUT / f"flagged-{size}.png", full_page=False)
                    page.goto("/manage/flags?show=all")
                    page.screenshot(path=OUT / f"flags-{size}.png", full_page=False)
                    page.goto("/manage/actions")
                    page.screenshot(path=OUT / f"actions-{size}.png", full_page=False)
                    page.locator("table.list a[href^='/manage/actions/']").first.click()
                    page.screenshot(path=OUT / f"action-{size}.png", full_page=True)
                page = browser.new_context(viewport=SIZES["laptop"], base_url=url, device_scale_factor=1).new_page()
                page.goto("/")
                page.fill("#name", "admin")
                page.fill("#password", admin)
                page.click("button[type=submit]")
                page.wait_for_url(re.compile(r"/manage/$"))
                time.sleep(2)  # the demo's receiver has had the deliveries
                page.goto("/manage/webhooks")
                page.screenshot(path=OUT / "webhooks-laptop.png", full_page=False)
                page.goto("/manage/campaigns/2")  # the demo's running campaign
                page.screenshot(path=OUT / "campaign-laptop.png", full_page=False)
                join = page.locator("input[aria-label='Join link']").input_value()
                page.goto("/manage/campaigns/2/poster")
                page.set_viewport_size(A4)
                page.screenshot(path=OUT / "campaign-poster.png", full_page=False)
                page.goto("/manage/campaigns/2/screen")
                page.set_viewport_size({"width": 1920, "height": 1080})  # the meeting room's screen
                page.screenshot(path=OUT / "campaign-screen.png", full_page=False)
                page = signed_in(browser, url, SIZES["phone"], "manager-east", password, is_mobile=True)
                page.goto("/manage/people/invite")  # a manager invites an auditor of their region; the answer shows the link and QR once
                page.fill("#invite-name", "sam-rivera")
                page.locator("input[name=regions][value=east]").check()
                page.fill("#invite-email", "sam@example.org")
                page.get_by_role("button", name="Invite").click()
                page.wait_for_selector(".qr-big svg")
                page.locator("h1").evaluate("h => h.scrollIntoView()")  # the heading, the shown-once notice, the QR and the link
                page.screenshot(path=OUT / "invited-phone.png", full_page=False)
                page = signed_in(browser, url, A4, "admin", admin)
                page.goto("/manage/people/import")
                page.set_input_files("#import-file", files=[{"name": "team.csv", "mimeType": "text/csv", "buffer": TEAM.encode()}])
                page.get_by_role("button", name="Invite them and make the cards").click()
                page.wait_for_selector(".card-sheet")
                page.emulate_media(media="print")  # as it prints: A4, 8 cards a sheet, the hint hidden
                page.screenshot(path=OUT / "cards-a4.png", full_page=True)
                for size, viewport in SIZES.items():  # people and places as the admin sees them, the team just invited among them
                    page = signed_in(browser, url, viewport, "admin", admin)
                    page.goto("/manage/people")
                    page.screenshot(path=OUT / f"people-{size}.png", full_page=False)
                    page.goto("/manage/locations")
                    if size == "phone":  # past the nav and the rule: the filters and the first locations
                        page.locator("form[role=search]").evaluate("f => f.scrollIntoView()")
                    page.screenshot(path=OUT / f"locations-{size}.png", full_page=False)
                    if size == "laptop":
                        page.goto("/manage/people?search=ines")
                        page.get_by_role("link", name="ines-duarte", exact=True).click()
                        page.screenshot(path=OUT / "person-laptop.png", full_page=False)
                        page.goto("/manage/locations/east-wells/edit")
                        page.screenshot(path=OUT / "location-edit-laptop.png", full_page=False)
                guest = browser.new_context(viewport=SIZES["phone"], base_url=url, device_scale_factor=1, is_mobile=True).new_page()
                guest.goto(join)
                guest.screenshot(path=OUT / "join-phone.png", full_page=False)
                guest.fill("#display-name", "Priya in finance")
                guest.get_by_role("button", name="Join and open the checklist").click()
                guest.wait_for_selector("#campaign li")
                guest.screenshot(path=REPO / "pwa" / "screenshots" / "9-campaign.png", full_page=False)
                phone = browser.new_context(viewport=SIZES["phone"], base_url=url, device_scale_factor=1, is_mobile=True).new_page()
                phone.goto("/")
                phone.fill("#name", "ana")
                phone.fill("#password", auditor)
                phone.click("button[type=submit]")
                phone.wait_for_selector("#open-visits")
                phone.locator("#open-visits summary").click()  # the open visits, folded below "Start a visit"
                phone.locator("#open-visits li").first.get_by_role("button", name="Claim").click()
                phone.wait_for_selector("#visits li")  # the claim moves it up among hers
                phone.evaluate("document.getElementById('open-visits').scrollIntoView(); scrollBy(0, -75)")
                phone.screenshot(path=REPO / "pwa" / "screenshots" / "6-visits.png", full_page=False)
                phone.evaluate("scrollTo(0, 0)")  # what she came for first: her visits, then the audits returned to her
                phone.screenshot(path=REPO / "pwa" / "screenshots" / "7-returned.png", full_page=False)
                shop = browser.new_context(viewport=SIZES["phone"], base_url=url, device_scale_factor=1, is_mobile=True).new_page()
                shop.goto("/")
                shop.fill("#name", "staff-whitby")
                shop.fill("#password", staff)
                shop.click("button[type=submit]")
                shop.wait_for_selector("#actions li")
                shop.screenshot(path=REPO / "pwa" / "screenshots" / "8-actions.png", full_page=False)
            brands(browser, url, admin)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    for path in sorted(OUT.glob("*.png")):
        print(f"{path.relative_to(REPO)}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main(*sys.argv[1:2])
