"""What a new auditor trips over, in the system's Chromium against the real server: local days,
pages that are not the app, touch targets, the stopwatch's stray taps, finding a shop, and the
small things met on every visit."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.live import CHROMIUM_ARGS, chromium
from tests.browser.test_pwa import PHONE, answer_checkout, next_section, outbox_says, pick, sign_in, start_visit


@pytest.fixture
def phone(playwright, server, tmp_path):
    """phone(**options) -> a phone's browser with a profile of its own (a time zone, a position); closed after the test."""
    made = []

    def launch(**extra):
        made.append(playwright.chromium.launch_persistent_context(
            tmp_path / f"profile-{len(made)}", executable_path=chromium(), args=CHROMIUM_ARGS, base_url=server.url, **PHONE, **extra))
        return made[-1]

    yield launch
    for context in made:
        context.close()


@pytest.mark.parametrize("zone, local, location, day, utc_day", [
    ("America/New_York", "2026-11-22T20:05:04-05:00", "bath-1", "2026-11-22", "2026-11-23"),  # 01:05 the next day in UTC
    ("Asia/Kolkata", "2026-11-24T00:30:00+05:30", "bude-1", "2026-11-24", "2026-11-23"),  # 19:00 the day before in UTC
])
def test_an_audit_counts_on_the_day_where_it_was_done(phone, server, zone, local, location, day, utc_day):
    context = phone(timezone_id=zone)
    page = sign_in(context)
    page.clock.set_fixed_time(dt.datetime.fromisoformat(local))
    start_visit(page, location, "Pay at the checkout")
    answer_checkout(page)
    page.get_by_role("button", name="Finish visit").click()
    outbox_says(page, "Everything is sent.")
    mine = [a for a in server.api(f"/api/audits?location={location}&from={day}&to={day}").json()["items"]]
    assert len(mine) == 1
    audit = server.api(f"/api/audits/{mine[0]['id']}").json()
    assert audit["finished_at"] == local and audit["started_at"] == local  # the phone's offset, kept
    server.approve(mine[0]["id"])  # the brand reviews audits: it counts once approved
    assert server.api(f"/api/locations/{location}/summary?from={day}&to={day}").json()["n"] == 1
    assert server.api(f"/api/locations/{location}/summary?from={utc_day}&to={utc_day}").json()["n"] == 0


def test_pages_that_are_not_the_app_go_to_the_server(phone):
    context = phone()
    page = sign_in(context)
    response = page.goto("/schema/openapi.json")
    assert not response.from_service_worker and response.headers["content-type"].startswith("application/")
    response = page.goto("/schema")
    assert not response.from_service_worker and page.locator("#main").count() == 0  # the API docs, not the app shell
    response = page.goto("/")
    assert response.from_service_worker  # the app itself still opens from the worker


# Every control on a 360 px screen: a button, link, summary, select, text box, or the label of a
# radio, checkbox or file input (the label is what the thumb hits).
SMALL_TARGETS = """() => [...document.querySelectorAll('button, a, summary, select, textarea, input')].map((el) => {
    const target = ['radio', 'checkbox', 'file'].includes(el.type) ? el.closest('label') : el;
    if (!target || target.getClientRects().length === 0 || getComputedStyle(target).visibility === 'hidden') return null;
    const box = target.getBoundingClientRect();
    return box.width < 48 || box.height < 48 ? `${target.outerHTML.slice(0, 80)}: ${Math.round(box.width)} x ${Math.round(box.height)}` : null;
}).filter(Boolean)"""


def test_every_control_is_at_least_48_px_square_on_a_phone(phone):
    context = phone()
    page = sign_in(context)
    page.evaluate("() => document.querySelector('#sync').hidden = false")
    assert page.evaluate(SMALL_TARGETS) == []
    start_visit(page, "bath-1", "Visit the customer bathroom", "Call the customer support line")
    steps = page.locator("#step option").count()
    for step in range(steps):
        page.select_option("#step", index=step)
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")  # hints and comment boxes
        if step == 1:
            page.set_input_files("#a0-toilet_clean-photo", files=[{"name": "p.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}])
            expect(page.locator("#a0-toilet_clean figure img")).to_have_count(1)
        assert page.evaluate(SMALL_TARGETS) == [], f"step {step}"


def _jpeg() -> bytes:
    from tests.live import camera_jpeg

    return camera_jpeg(400, 300)


def test_a_stray_end_call_is_undone_and_a_call_back_adds_its_hold(phone):
    context = phone()
    page = sign_in(context)
    start_visit(page, "bath-1", "Call the customer support line")
    watch = page.get_by_label("Call stopwatch")
    watch.get_by_role("button", name="Start: dialling").click()
    watch.get_by_role("button", name="Ring").click()
    ring, end = watch.get_by_role("button", name="Ring").bounding_box(), watch.get_by_role("button", name="End call").bounding_box()
    assert end["y"] - (ring["y"] + ring["height"]) >= 24  # End call sits well apart from Ring
    watch.get_by_role("button", name="End call").click()  # the stray tap
    expect(watch).to_contain_text("Call 1 ended.")
    watch.get_by_role("button", name="Undo: the call goes on").click()
    watch.get_by_role("button", name="Ring").click()  # the call went on, rings and all
    watch.get_by_role("button", name="A person answered").click()
    expect(page.locator("#a0-rings-number")).to_have_value("2")
    watch.get_by_role("button", name="Hold on").click()
    page.wait_for_timeout(1100)
    watch.get_by_role("button", name="End call").click()  # ending closes the hold
    first_hold = int(page.locator("#a0-hold_seconds-number").input_value())
    assert 1 <= first_hold <= 3
    page.wait_for_timeout(300)
    watch.get_by_role("button", name="Start another call (a call back)").click()  # also ends the chance to undo
    expect(watch.get_by_role("button", name=re.compile("Undo"))).to_be_hidden()
    watch.get_by_role("button", name="A person answered").click()
    watch.get_by_role("button", name="Hold on").click()
    page.wait_for_timeout(2100)
    watch.get_by_role("button", name="Hold off").click()
    total = int(page.locator("#a0-hold_seconds-number").input_value())
    assert first_hold + 2 <= total <= first_hold + 3  # hold over both calls
    expect(page.locator("#a0-rings-number")).to_have_value("2")  # rings stay the first call's
    expect(watch).to_contain_text("Calls2")


def test_finding_a_shop_by_search_and_nearest_first(phone):
    bude = {"latitude": 50.8301, "longitude": -4.5433}  # by the Strand in Bude
    context = phone(geolocation=bude, permissions=["geolocation"])
    page = sign_in(context)
    names = page.locator("#location label.choice")
    expect(names).to_have_text([re.compile("^Bath Market"), re.compile("^Bude Market")])  # names, not ids
    expect(page.locator("#location")).not_to_contain_text("bath-1")
    page.fill("#location-search", "strand")  # by its address
    expect(names).to_have_text([re.compile("^Bude Market")])
    page.fill("#location-search", "")
    page.get_by_role("button", name="Nearest first").click()
    expect(names.first).to_contain_text("Bude Market")
    expect(names.first).to_contain_text(re.compile(r"\d+ m"))  # a few metres away
    expect(names.nth(1)).to_contain_text(re.compile(r"1\d\d\.\d km"))  # Bath is about 150 km off


def test_what_an_auditor_meets_on_every_visit(phone):
    context = phone()
    page = sign_in(context)
    start_visit(page, "bude-1", "Pay at the checkout", "Call the customer support line")
    # 11 required items apply to a fresh checkout (13, less the optional notes and the rewards
    # follow-up that shows only after a yes), 9 to the call (13, less its optional notes and three
    # follow-ups shown only after a transfer or an email)
    progress = page.locator(".progress")
    expect(progress).to_contain_text("0 of 20 required answered")
    width = """() => { const s = document.getElementById('step'), c = document.createElement('canvas').getContext('2d');
        c.font = getComputedStyle(s).font; return c.measureText(s.selectedOptions[0].text).width <= s.clientWidth - 40; }"""
    for step in range(page.locator("#step option").count()):
        page.select_option("#step", index=step)
        assert page.evaluate(width), f"the section picker cuts step {step} off"
    page.select_option("#step", index=4)  # the call's second section: the scale's ends are in sight
    expect(page.locator("#a1-courtesy .ends")).to_have_text(re.compile(r"1 = Curt or impatient.*3 = Polite.*5 = Warm, patient, used your name"))
    expect(page.locator("#a1-courtesy .ends")).to_be_visible()
    page.select_option("#step", index=0)
    answer_checkout(page)  # every required answer of the checkout; it moves on to the call
    expect(progress).to_contain_text("11 of 20 required answered")
    context.set_offline(True)
    for item, value in (("rings", "2"), ("seconds_to_person", "20"), ("hold_seconds", "0")):
        page.fill(f"#a1-{item}-number", value)
    pick(page, "a1-menu_options", "No menu, straight to a person")
    next_section(page)
    for item, label in (("agent_name", "Yes"), ("courtesy", "5"), ("was_transferred", "No")):
        pick(page, f"a1-{item}", label)
    next_section(page)
    pick(page, "a1-resolved", "Yes")
    pick(page, "a1-follow_up", "A call back at a time I chose")
    expect(progress).to_contain_text("All required answered")  # the optional notes left blank
    next_section(page)
    page.get_by_role("button", name="Finish visit").click()
    expect(page.locator("#notices")).to_contain_text("Visit to Bude Market finished: 2 audits are in the outbox and will be sent when the phone is online.")
    expect(page.locator("#outbox")).to_contain_text("Pay at the checkout at Bude Market")  # names, not ids
    context.set_offline(False)
    outbox_says(page, "Everything is sent.")
    sent = page.locator("#sent")
    expect(sent.locator("li").filter(has_text="Call the customer support line at Bude Market").first).to_contain_text("received")
    expect(sent.locator("li").filter(has_text="Pay at the checkout at Bude Market").first).to_contain_text("received")
