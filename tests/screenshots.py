"""Screenshots of the app's main screens at phone size, for the README and the manifest's install
dialog: `python tests/screenshots.py` writes pwa/screenshots/*.png from the real app and server."""

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.live import AUDITOR, AUDITOR_PASSWORD, CHROMIUM_ARGS, LOCATIONS_READY, REPO, LiveServer, camera_jpeg, choose_location, chromium  # noqa: E402

OUT = REPO / "pwa" / "screenshots"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp())
    server = LiveServer(folder).start()
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                folder / "profile", executable_path=chromium(), args=CHROMIUM_ARGS, base_url=server.url,
                viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True)
            page = context.new_page()
            page.goto("/#/")
            page.wait_for_selector("#name")
            page.fill("#name", AUDITOR)
            page.screenshot(path=OUT / "1-sign-in.png")
            page.fill("#password", AUDITOR_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector(LOCATIONS_READY, state="attached")
            page.fill("#location-search", "market")
            page.locator("#location label", has_text="Bath Market").click()
            page.get_by_label("Pay at the checkout").check()
            page.get_by_label("Visit the customer bathroom").check()
            page.screenshot(path=OUT / "2-start.png")
            page.get_by_role("button", name="Start visit").click()
            page.select_option("#step", index=4)
            page.locator("#a1-toilet_clean").get_by_text("No", exact=True).click()
            page.set_input_files("#a1-toilet_clean-photo", files=[{"name": "a.jpg", "mimeType": "image/jpeg", "buffer": camera_jpeg()}])
            page.wait_for_selector("#a1-toilet_clean figure img")
            page.locator("#a1-toilet_clean details", has_text="Hint").locator("summary").click()
            page.locator("#a1-sinks_mirrors label.choice").get_by_text("3", exact=True).click()
            page.evaluate("document.getElementById('a1-toilet_clean').scrollIntoView(); scrollBy(0, -140)")  # below the sticky bar: its name, and the count on a line of its own
            page.screenshot(path=OUT / "3-visit.png")
            page.select_option("#step", index=6)
            page.wait_for_selector("#missing")
            page.screenshot(path=OUT / "4-check.png")
            page.goto("/#/")
            choose_location(page, "bude-1")
            page.get_by_label("Call the customer support line").check()
            page.get_by_role("button", name="Start visit").click()
            watch = page.get_by_label("Call stopwatch")
            watch.get_by_role("button", name="Start: dialling").click()
            watch.get_by_role("button", name="Ring").click()
            watch.get_by_role("button", name="Ring").click()
            page.wait_for_timeout(2300)
            watch.get_by_role("button", name="A person answered").click()
            watch.get_by_role("button", name="Hold on").click()
            page.wait_for_timeout(1500)
            page.screenshot(path=OUT / "5-call.png")
            context.close()
    finally:
        server.stop()
    for path in sorted(OUT.glob("*.png")):
        print(f"{path.relative_to(REPO)}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
