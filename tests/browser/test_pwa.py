"""The auditor's app in a real headless Chromium (the system's), against the real server process.

"Offline" here is the real thing: the server process is stopped and the browser context is set
offline, so nothing but the service worker and IndexedDB can answer.
"""

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.live import AUDITOR, AUDITOR_PASSWORD, CHROMIUM_ARGS, LOCATIONS_READY, REPO, camera_jpeg, choose_location, chromium

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture
def context(playwright, server, tmp_path):
    """A phone's browser with a profile of its own (not incognito, where apps cannot be installed)."""
    path = chromium()  # fails, never skips, when Chromium is missing, saying how to install it
    context = playwright.chromium.launch_persistent_context(tmp_path / "profile", executable_path=path, args=CHROMIUM_ARGS, base_url=server.url, **PHONE)
    yield context
    context.close()


def open_app(context, path: str = "/#/") -> Page:
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # anything the content security policy blocks is an error too (the browser only logs it)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Content Security Policy" in m.text else None)
    page.errors = errors
    page.goto(path)
    return page


def sign_in(context) -> Page:
    page = open_app(context)
    page.fill("#name", AUDITOR)
    page.fill("#password", AUDITOR_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(LOCATIONS_READY, state="attached")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")  # the shell is cached
    return page


def stored(page: Page, store: str) -> list:
    """Every record of one of the app's IndexedDB stores, as the page sees it."""
    return page.evaluate("""store => new Promise(r => { const q = indexedDB.open('touchpoint'); q.onsuccess = () => {
        const g = q.result.transaction(store).objectStore(store).getAll();
        g.onsuccess = () => r(JSON.parse(JSON.stringify(g.result, (k, v) => v instanceof Blob ? { type: v.type, size: v.size } : v))); }; })""", store)


def start_visit(page: Page, location: str, *touchpoints: str) -> None:
    if not page.url.endswith("#/"):
        page.goto("/#/")
    choose_location(page, location)
    for title in touchpoints:
        page.get_by_label(title).check()
    page.get_by_role("button", name="Start visit").click()
    page.wait_for_selector("#step")  # the visit screen (the start screen has fieldsets too)


def pick(page: Page, key: str, label: str) -> None:
    page.locator(f"#{key} label.choice").get_by_text(label, exact=True).click()


def next_section(page: Page) -> None:
    page.get_by_role("button", name=re.compile("^(Next|Check)$")).click()


def answer_checkout(page: Page, a: int = 0) -> None:
    """Worked by hand (weights from checkout.yaml): earned 8.95 of 13 possible = 68.85."""
    k = f"a{a}"
    page.fill(f"#{k}-queue_minutes-number", "3")  # band <= 4: 0.6 x weight 2 = 1.2 of 2
    pick(page, f"{k}-extra_till_opened", "N/A")  # nothing
    next_section(page)
    pick(page, f"{k}-greeted_10s", "Yes")  # 2 of 2
    pick(page, f"{k}-eye_contact", "No")  # 0 of 1
    pick(page, f"{k}-conversation", "Polite but scripted")  # 0.5 x 2 = 1 of 2
    pick(page, f"{k}-queue_kept_moving", "Yes")  # 1 of 1
    next_section(page)
    pick(page, f"{k}-rewards_asked", "Yes")
    expect(page.locator(f"#{k}-rewards_explained")).to_be_visible()  # show_if holds
    pick(page, f"{k}-rewards_asked", "No")  # 0 of 1
    expect(page.locator(f"#{k}-rewards_explained")).to_be_hidden()  # and no longer does
    pick(page, f"{k}-total_correct", "Yes")  # critical, passed: 1 of 1
    pick(page, f"{k}-receipt_offered", "Yes")  # 1 of 1
    pick(page, f"{k}-thanked", "Yes")  # 1 of 1
    pick(page, f"{k}-counter_tidy", "4")  # (4-1)/(5-1) = 0.75 of 1
    page.fill(f"#{k}-checkout_notes-text", "Quick, but the cashier never looked up.")
    next_section(page)


def answer_bathroom(page: Page, a: int, photo: bytes) -> None:
    """Worked by hand (weights from bathroom.yaml): earned 11.5 of 14 possible = 82.14."""
    k = f"a{a}"
    pick(page, f"{k}-signposted", "Yes")  # 1 of 1
    pick(page, f"{k}-open_for_customers", "Yes")  # 1 of 1
    next_section(page)
    pick(page, f"{k}-toilet_clean", "Yes")  # critical, weight 3: 3 of 3
    page.set_input_files(f"#{k}-toilet_clean-photo", files=[{"name": "IMG_0042.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    expect(page.locator(f"#{k}-toilet_clean figure img")).to_have_count(1)
    pick(page, f"{k}-sinks_mirrors", "5")  # weight 2: 2 of 2
    pick(page, f"{k}-floor_dry", "Yes")  # 1 of 1
    pick(page, f"{k}-smell", "No")  # 0 of 1
    pick(page, f"{k}-soap", "Yes")  # 1 of 1
    pick(page, f"{k}-paper", "Yes")  # 1 of 1
    pick(page, f"{k}-drying", "Yes")  # 1 of 1
    pick(page, f"{k}-cleaning_log", "N/A")  # nothing
    next_section(page)
    pick(page, f"{k}-bag_shelf", "No")  # 0 of 1
    pick(page, f"{k}-brand_decor", "Plain but pleasant")  # 0.5 of 1
    pick(page, f"{k}-baby_change", "N/A")  # nothing
    next_section(page)


def outbox_says(page: Page, text: str, timeout: float = 20_000) -> None:
    expect(page.locator("#outbox-status")).to_contain_text(text, timeout=timeout)


def visit_audits(server, visit_id: str) -> list[dict]:
    listed = server.api("/api/audits?limit=200").json()["items"]
    full = [server.api(f"/api/audits/{a['id']}").json() for a in listed]
    return sorted((a for a in full if a["visit"] == visit_id), key=lambda a: a["checklist"])


def test_installable_manifest_service_worker_and_icons(context):
    page = sign_in(context)
    cdp = context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == []
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    icons = page.evaluate("fetch('/manifest.json').then(r => r.json()).then(m => m.icons)")
    for icon in icons:
        response = page.request.get(icon["src"])
        assert response.status == 200 and response.headers["content-type"] == "image/png"
    assert page.errors == []


def test_visit_of_two_touchpoints_done_offline_arrives_once_with_the_right_scores(context, server):
    page = sign_in(context)
    server.stop()
    context.set_offline(True)
    page.close()
    page = open_app(context)  # a new tab with no network: the service worker opens the app
    expect(page.get_by_role("heading", name=f"Hello, {AUDITOR}")).to_be_visible()

    start_visit(page, "bath-1", "Pay at the checkout", "Visit the customer bathroom")
    visit_id = page.evaluate("location.hash.split('/')[2]")
    answer_checkout(page)
    page.close()  # the tab is closed half-way: every answer is already in IndexedDB
    page = open_app(context, "/#/")
    page.get_by_role("link", name="Continue").click()
    expect(page.locator("#a0-queue_minutes-number")).to_have_count(0)  # it reopens where the auditor was
    page.select_option("#step", label="1. Waiting to pay")
    expect(page.locator("#a0-queue_minutes-number")).to_have_value("3")
    page.select_option("#step", label="4. Finding it")
    answer_bathroom(page, 1, camera_jpeg())
    expect(page.locator("#missing")).to_have_count(0)
    page.get_by_role("button", name="Finish visit").click()
    outbox_says(page, "2 audits wait to be sent")
    kept = [(p["width"], p["height"], p["blob"]["type"]) for p in stored(page, "photos")]
    assert kept == [(1200, 1600, "image/jpeg")]  # shrunk and turned upright on the phone, before sending

    page.close()
    page = open_app(context)  # closed and reopened, still offline: still waiting
    outbox_says(page, "2 audits wait to be sent")

    server.start()
    context.set_offline(False)  # the browser says "online": the outbox sends itself
    # within 60 s: a send refused while the server is still starting its processes is tried again
    # after 5, then 10, then 20 s (pwa/js/outbox.js backoff), which a loaded machine can need
    outbox_says(page, "Everything is sent.", timeout=60_000)
    assert page.errors == []

    audits = visit_audits(server, visit_id)
    assert [a["checklist"] for a in audits] == ["bathroom", "checkout"]
    bathroom, checkout = audits
    assert checkout["result"]["score"] == pytest.approx(100 * 8.95 / 13, abs=0.01)
    assert bathroom["result"]["score"] == pytest.approx(100 * 11.5 / 14, abs=0.01)
    assert checkout["answers"]["checkout_notes"]["value"] == "Quick, but the cashier never looked up."
    assert "rewards_explained" not in checkout["answers"]
    assert bathroom["status"] == "submitted" and bathroom["missing_photos"] == []
    [photo] = bathroom["photos"]
    assert photo["lat"] == pytest.approx(51.3811, abs=1e-4) and photo["lng"] == pytest.approx(-2.359, abs=1e-4)
    assert photo["distance_m"] < 5  # GPS carried over from the camera file, though the phone shrank it
    assert photo["camera"] == "Field Phone 7"
    shown = server.api(f"/api/photos/{photo['id']}")
    assert shown.status_code == 200
    upright = Image.open(io.BytesIO(shown.content))
    assert upright.size == (1200, 1600)  # 2400 x 1800 turned upright, shrunk on the phone to 1600 long
    top, bottom = upright.getpixel((1100, 40)), upright.getpixel((100, 1500))
    assert top[1] < 100 < bottom[1]  # the red band (green 40), stored on the left, now runs along the top


def finished_checkout(context) -> tuple[Page, str]:
    page = sign_in(context)
    start_visit(page, "bude-1", "Pay at the checkout")
    [draft] = stored(page, "drafts")
    audit_id = draft["audits"][0]["id"]
    answer_checkout(page)
    return page, audit_id


def test_a_captive_portal_page_does_not_count_as_sent(context, server):
    page, audit_id = finished_checkout(context)
    portal = '<html><body><h1>Welcome to Station Wi-Fi</h1><a href="/login">Sign in to continue</a></body></html>'
    page.route("**/api/**", lambda route: route.fulfill(status=200, content_type="text/html", body=portal))
    page.get_by_role("button", name="Finish visit").click()
    outbox_says(page, "1 audit waits to be sent")
    expect(page.locator("#outbox")).to_contain_text("not Touchpoint")
    with page.expect_download() as download:  # the last resort: unsent audits to a file
        page.get_by_role("button", name="Export unsent").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert [a["audit"]["id"] for a in exported["audits"]] == [audit_id]
    assert exported["audits"][0]["audit"]["answers"]["counter_tidy"] == {"value": 4}
    assert server.api(f"/api/audits/{audit_id}").status_code == 404
    page.unroute("**/api/**")
    page.get_by_role("button", name="Send now").click()
    outbox_says(page, "Everything is sent.")
    assert server.api(f"/api/audits/{audit_id}").status_code == 200


def test_a_retry_after_a_dropped_connection_makes_no_duplicate(context, server):
    page, audit_id = finished_checkout(context)
    dropped = []

    def drop_the_answer(route):
        if not dropped:
            route.fetch()  # the server receives and stores the audit...
            dropped.append(True)
            route.abort("connectionreset")  # ...but its answer never reaches the phone
        else:
            route.continue_()

    page.route("**/api/audits", drop_the_answer)
    page.get_by_role("button", name="Finish visit").click()
    outbox_says(page, "1 audit waits to be sent")  # shown once queued: the send may still be under way
    for _ in range(200):  # the route handler runs while Playwright has the thread: give it turns
        if dropped:
            break
        page.wait_for_timeout(50)
    assert server.api(f"/api/audits/{audit_id}").status_code == 200  # stored already
    page.get_by_role("button", name="Send now").click()
    outbox_says(page, "Everything is sent.")
    matching = [a for a in server.api("/api/audits?location=bude-1&limit=200").json()["items"] if a["id"] == audit_id]
    assert len(matching) == 1


def refuse_in_outbox(page: Page, audit_id: str, item: str) -> None:
    """A rule the phone did not know of: its outbox copy of the audit loses a required answer that
    the server insists on. Edited under the outbox's own lock, so no retry in flight writes it back."""
    page.evaluate("""([id, item]) => navigator.locks.request('touchpoint-outbox', () => new Promise(r => {
        const q = indexedDB.open('touchpoint'); q.onsuccess = () => {
        const t = q.result.transaction('outbox', 'readwrite'), s = t.objectStore('outbox');
        s.get(id).onsuccess = (e) => { const entry = e.target.result; delete entry.body.answers[item]; s.put(entry); };
        t.oncomplete = r; }; }))""", [audit_id, item])


def test_a_refused_audit_goes_back_to_a_draft_to_correct_and_send(context, server):
    page, audit_id = finished_checkout(context)
    page.route("**/api/**", lambda route: route.abort("internetdisconnected"))
    page.get_by_role("button", name="Finish visit").click()
    outbox_says(page, "1 audit waits to be sent")
    refuse_in_outbox(page, audit_id, "total_correct")
    page.unroute("**/api/**")
    page.get_by_role("button", name="Send now").click()
    expect(page.locator("#outbox")).to_contain_text("refused by the server")
    expect(page.locator("#outbox .problem")).to_contain_text("Was the total right, with every offer on the shelf applied? — missing: this item is required")
    assert server.api(f"/api/audits/{audit_id}").status_code == 404

    page.get_by_role("button", name="Correct it").click()
    expect(page.locator("#refused")).to_contain_text("The server refused Pay at the checkout")
    assert stored(page, "outbox") == []
    page.get_by_role("button", name=re.compile("total")).click()  # the phone's own check lists it, linked to the item
    pick(page, "a0-total_correct", "Yes")
    page.locator("#step").select_option(index=page.locator("#step option").count() - 1)  # "Check and finish"
    page.get_by_role("button", name="Finish visit").click()
    outbox_says(page, "Everything is sent.")
    sent = server.api(f"/api/audits/{audit_id}").json()  # the same id: the server had stored nothing
    assert sent["result"]["score"] == pytest.approx(100 * 8.95 / 13, abs=0.01)  # as worked by hand in answer_checkout
    assert sent["answers"]["counter_tidy"]["value"] == 4 and sent["answers"]["total_correct"]["value"] == "yes"
    assert stored(page, "drafts") == []


def test_a_401_keeps_the_outbox_and_asks_to_sign_in_again(context, server):
    page, audit_id = finished_checkout(context)
    context.clear_cookies()  # the session is gone, as after it expires
    page.get_by_role("button", name="Finish visit").click()
    expect(page.locator("#notices")).to_contain_text("Sign in again to send the 1 waiting audit")
    outbox_says(page, "1 audit waits to be sent")
    page.get_by_role("link", name="Sign in again").click()
    page.fill("#password", AUDITOR_PASSWORD)
    page.click("button[type=submit]")
    outbox_says(page, "Everything is sent.")
    assert server.api(f"/api/audits/{audit_id}").status_code == 200


def test_two_refused_audits_of_one_visit_are_corrected_in_one_draft_one_tab_at_a_time(context, server):
    page = sign_in(context)
    start_visit(page, "bude-1", "Pay at the checkout", "Visit the customer bathroom")
    [draft] = stored(page, "drafts")
    checkout_id, bathroom_id = (a["id"] for a in draft["audits"])
    answer_checkout(page)
    answer_bathroom(page, 1, camera_jpeg())
    page.route("**/api/**", lambda route: route.abort("internetdisconnected"))
    page.get_by_role("button", name="Finish visit").click()
    outbox_says(page, "2 audits wait to be sent")
    refuse_in_outbox(page, checkout_id, "total_correct")
    refuse_in_outbox(page, bathroom_id, "floor_dry")
    page.unroute("**/api/**")
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("button", name="Correct it")).to_have_count(2)

    page.get_by_role("button", name="Correct it").first.click()  # this tab now has the visit open
    expect(page.locator("#refused")).to_have_count(1)
    other = open_app(context)
    other.get_by_role("button", name="Correct it").click()
    expect(other.get_by_text("This visit is open in another tab")).to_be_visible()
    assert len(stored(other, "outbox")) == 1  # nothing moved while the other tab holds the draft
    page.goto("/#/")  # leaving the visit lets go of it
    other.get_by_role("button", name="Correct it").click()
    expect(other.locator("#refused")).to_have_count(2)  # the same visit's draft, both audits in it
    for item, question in (("total_correct", "Was the total right"), ("floor_dry", "Was the floor dry")):
        other.get_by_role("button", name=re.compile(question)).click()  # the phone's own check links to the item
        other.locator(f"[id$='-{item}']").get_by_text("Yes", exact=True).click()
        other.locator("#step").select_option(index=other.locator("#step option").count() - 1)
    other.get_by_role("button", name="Finish visit").click()
    outbox_says(other, "Everything is sent.")
    bathroom = server.api(f"/api/audits/{bathroom_id}").json()
    assert server.api(f"/api/audits/{checkout_id}").json()["answers"]["total_correct"]["value"] == "yes"
    assert bathroom["answers"]["floor_dry"]["value"] == "yes" and bathroom["status"] == "submitted" and len(bathroom["photos"]) == 1


def app_version(page: Page) -> str:
    """The version of the service worker that controls the page, as it says itself."""
    return page.evaluate("""() => new Promise(r => {
        navigator.serviceWorker.addEventListener('message', e => r(e.data.version), { once: true });
        navigator.serviceWorker.controller.postMessage('version'); })""")


def test_a_new_release_is_offered_and_taken_without_losing_the_draft(context, server, tmp_path):
    page = sign_in(context)
    start_visit(page, "bath-1", "Pay at the checkout")
    page.fill("#a0-queue_minutes-number", "3")
    before = app_version(page)
    release = tmp_path / "release"  # the next release: the same server, its app changed by one line
    for part in ("server", "pwa"):
        shutil.copytree(REPO / part, release / part, ignore=shutil.ignore_patterns("__pycache__"))
    (release / "pwa" / "app.css").write_text((REPO / "pwa" / "app.css").read_text() + "\n/* the next release */\n")
    try:
        server.restart(release)
        [draft] = stored(page, "drafts")  # saved as typed, long before the restart is over
        assert draft["audits"][0]["answers"]["queue_minutes"]["value"] == 3
        page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")  # what a browser does by itself
        expect(page.get_by_text("A new version of Touchpoint is ready")).to_be_visible(timeout=20_000)
        assert app_version(page) == before  # it waits: the visit on screen is not pulled away
        with page.expect_event("load"):
            page.get_by_role("button", name="Use it now").click()
        page.wait_for_selector("#step")
        expect(page.locator("#a0-queue_minutes-number")).to_have_value("3")  # the draft came through
        assert app_version(page) != before
        assert page.errors == []
    finally:
        server.restart(REPO)


def test_a_draft_open_in_two_tabs_is_edited_in_one(context):
    first = sign_in(context)
    start_visit(first, "bath-1", "Visit the customer bathroom")
    address = first.evaluate("location.href")
    second = open_app(context, address)
    expect(second.get_by_role("heading", name="This visit is open in another tab")).to_be_visible()
    expect(second.locator("fieldset.item")).to_have_count(0)
    first.goto("/#/")  # leaving the visit lets it go, and it opens in the second tab by itself
    expect(second.locator("fieldset.item").first).to_be_visible()
    expect(first.get_by_role("heading", name=f"Hello, {AUDITOR}")).to_be_visible()


def test_required_items_and_photos_are_flagged_before_finishing(context):
    page = sign_in(context)
    start_visit(page, "bath-1", "Visit the customer bathroom")
    pick(page, "a0-signposted", "Yes")
    next_section(page)
    pick(page, "a0-toilet_clean", "No")  # answered, but its photo is required
    for name in ("first.jpg", "second.jpg"):  # two photos, then one deleted: none left
        page.set_input_files("#a0-toilet_clean-photo", files=[{"name": name, "mimeType": "image/jpeg", "buffer": camera_jpeg(800, 600)}])
    expect(page.locator("#a0-toilet_clean figure img")).to_have_count(2)
    page.once("dialog", lambda dialog: dialog.dismiss())  # a stray tap, taken back at the question
    page.get_by_role("button", name="Delete photo 2").click()
    expect(page.locator("#a0-toilet_clean figure img")).to_have_count(2)
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete photo 2").click()
    expect(page.locator("#a0-toilet_clean figure img")).to_have_count(1)
    page.get_by_role("button", name="Delete photo 1").click()
    expect(page.locator("#a0-toilet_clean figure img")).to_have_count(0)
    assert stored(page, "photos") == []
    page.select_option("#step", label="4. Check and finish")
    problems = page.locator("#main .problem")
    expect(problems.filter(has_text="Were the toilets clean, flushed and free of marks?: needs a photo")).to_have_count(1)
    expect(problems.filter(has_text="Was it open for customers, without needing a key or a code from staff?: not answered")).to_have_count(1)
    expect(page.get_by_role("button", name="Finish visit")).to_be_disabled()
    page.get_by_role("button", name=re.compile("^Was it open for customers")).click()
    item = page.locator("#a0-open_for_customers")
    expect(item).to_be_visible()  # the link goes to the item,
    expect(item).to_have_class(re.compile(r"\bmissing\b"))  # marks it,
    expect(item.locator("input").first).to_be_focused()  # and the keyboard is on its first answer


def test_the_call_stopwatch_fills_the_timers_and_survives_a_reload(context):
    page = sign_in(context)
    start_visit(page, "bath-1", "Call the customer support line")
    watch = page.get_by_label("Call stopwatch")
    watch.get_by_role("button", name="Start: dialling").click()
    for _ in range(3):
        watch.get_by_role("button", name="Ring").click()
    page.wait_for_timeout(1200)
    watch.get_by_role("button", name="A person answered").click()
    expect(page.locator("#a0-rings-number")).to_have_value("3")
    to_person = int(page.locator("#a0-seconds_to_person-number").input_value())
    assert 1 <= to_person <= 3
    watch.get_by_role("button", name="Hold on").click()
    expect(watch.get_by_role("button", name="Hold off")).to_be_visible()
    # the draft is saved to IndexedDB asynchronously: a reload in the very same milliseconds as a tap
    # can lose that tap (a loaded CI run did); a person's reload comes later than that
    page.wait_for_timeout(300)
    page.reload()  # the tab reloads while the caller is on hold
    watch = page.get_by_label("Call stopwatch")
    expect(watch).to_contain_text("(now)")
    page.wait_for_timeout(2100)
    watch.get_by_role("button", name="Hold off").click()
    hold = int(page.locator("#a0-hold_seconds-number").input_value())
    assert 2 <= hold <= 5
    page.fill("#a0-hold_seconds-number", "240")  # corrected by hand
    watch.get_by_role("button", name="End call").click()  # ending re-fills hold from the watch
    assert int(page.locator("#a0-hold_seconds-number").input_value()) == hold


def test_phone_width_keyboard_and_labels(context):
    page = sign_in(context)
    no_overflow = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(no_overflow)
    start_visit(page, "bath-1", "Pay at the checkout", "Call the customer support line")
    unlabelled = """() => [...document.querySelectorAll('input, select, textarea, button')].filter(el => {
        if (el.type === 'hidden') return false;
        const named = el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (el.textContent || '').trim();
        return !named; }).map(el => el.outerHTML)"""
    steps = 3 + 3 + 1  # the sections of both checklists, then the check
    expect(page.locator("#step option")).to_have_count(steps)
    for step in range(steps):
        page.select_option("#step", index=step)
        assert page.evaluate(no_overflow), f"horizontal scrolling on step {step}"
        assert page.evaluate(unlabelled) == []
    page.select_option("#step", index=1)
    # keyboard only: focus the first yes/no, choose with the arrow keys
    page.locator("#a0-greeted_10s input").first.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#a0-greeted_10s input[value='no']")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.locator("#a0-greeted_10s summary").first).to_be_focused()  # the hint, one key away
