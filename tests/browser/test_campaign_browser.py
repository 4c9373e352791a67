"""A campaign in the system's Chromium against `touchpoint demo` itself: the running campaign's QR
code decodes to its join link; three colleagues join from that link on phone-sized pages (one
anonymous, one offline), each runs the support line's checklist with the call stopwatch, and the
results page shows their figures once their phones are online."""

import io
import re

import pytest
from playwright.sync_api import expect

from tests.live import CHROMIUM_ARGS, chromium
from tests.browser.test_followup_browser import LAPTOP, PHONE
from tests.browser.test_pwa import next_section, outbox_says, pick

RUNNING = 2  # the demo's second campaign runs this week, on the support line and the web shop


def call_the_support_line(page, transferred: str, resolved: str, notes: str) -> None:
    page.locator("#campaign li", has_text="Support line").get_by_role("button", name="Start a call").click()
    watch = page.get_by_label("Call stopwatch")
    watch.get_by_role("button", name="Start: dialling").click()
    for _ in range(2):
        watch.get_by_role("button", name="Ring").click()
    page.wait_for_timeout(1100)
    watch.get_by_role("button", name="A person answered").click()
    watch.get_by_role("button", name="Hold on").click()
    page.wait_for_timeout(1100)
    watch.get_by_role("button", name="Hold off").click()
    watch.get_by_role("button", name="End call").click()
    expect(page.locator("#a0-rings-number")).to_have_value("2")
    assert int(page.locator("#a0-hold_seconds-number").input_value()) >= 1
    pick(page, "a0-menu_options", "Short and clear (three options or fewer)")
    next_section(page)
    for item, label in (("agent_name", "Yes"), ("courtesy", "4"), ("was_transferred", transferred)):
        pick(page, f"a0-{item}", label)
    if transferred == "Yes":
        pick(page, "a0-transfer_explained", "No")
        pick(page, "a0-repeated_details", "Yes")
    next_section(page)
    pick(page, "a0-resolved", resolved)
    pick(page, "a0-follow_up", "A call back at a time I chose")
    page.fill("#a0-call_notes-text", notes)
    next_section(page)
    page.get_by_role("button", name=re.compile("^Finish")).click()


def test_three_colleagues_join_by_the_link_call_and_see_their_figures(playwright, demo, tmp_path):  # noqa: F811
    import zxingcpp
    from PIL import Image

    url = re.search(r'value="([^"]+)" aria-label="Join link"', demo.api(f"/manage/campaigns/{RUNNING}").text).group(1)
    assert url.startswith(f"{demo.url}/join/")
    png = demo.api(f"/manage/campaigns/{RUNNING}/qr.png").content
    assert [code.text for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))] == [url]
    before = demo.api(f"/manage/campaigns/{RUNNING}").text
    participants_before = int(re.search(r"Participants</dt><dd>(\d+)", before).group(1))

    phones = []
    for n, (name, transferred, resolved, notes) in enumerate((
            ("Priya in finance", "No", "Yes", "Straight through, and they changed the address while I waited."),
            ("", "Yes", "No", "Transferred twice; nobody could change the address."),
            ("Tom", "No", "Yes", "Called from the train with no signal: sent later."))):
        context = playwright.chromium.launch_persistent_context(tmp_path / f"phone{n}", executable_path=chromium(), args=CHROMIUM_ARGS, base_url=demo.url, **PHONE)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(url)
        expect(page.get_by_role("heading", level=1)).to_have_text("Customer week: call us, order from us")
        page.fill("#display-name", name)
        page.get_by_role("button", name="Join and open the checklist").click()
        expect(page.locator("#campaign")).to_contain_text("Support line")
        expect(page.locator("#campaign")).to_contain_text("Hello, Priya in finance" if n == 0 else "anonymously" if n == 1 else "Hello, Tom")
        if n == 2:
            context.set_offline(True)  # no signal from here on
        call_the_support_line(page, transferred, resolved, notes)
        outbox_says(page, "1 audit waits to be sent" if n == 2 else "Everything is sent.")
        if n == 0:  # it survives a reload, and a second call is a new report
            page.reload()
            expect(page.locator("#campaign")).to_contain_text("Support line")
        phones.append((context, page))

    results = demo.api(f"/manage/campaigns/{RUNNING}").text
    assert f"Participants</dt><dd>{participants_before + 3} " in results
    assert "they changed the address while I waited.</blockquote><p class=\"muted\">Priya in finance · Support line" in results
    assert "nobody could change the address.</blockquote><p class=\"muted\">Anonymous · Support line" in results
    assert "sent later" not in results  # Tom's phone is still offline

    context, page = phones[2]
    context.set_offline(False)  # back in signal: the app sends what waited
    outbox_says(page, "Everything is sent.", timeout=30_000)
    results = demo.api(f"/manage/campaigns/{RUNNING}").text
    assert "Called from the train with no signal: sent later.</blockquote><p class=\"muted\">Tom · Support line" in results

    laptop = playwright.chromium.launch_persistent_context(tmp_path / "laptop", executable_path=chromium(), args=CHROMIUM_ARGS, base_url=demo.url,
                                                            extra_http_headers={"Authorization": f"Bearer {demo.admin_token}"}, **LAPTOP)
    try:
        page = laptop.new_page()
        page.goto(f"/manage/campaigns/{RUNNING}")
        expect(page.locator(".wall li").first).to_contain_text("sent later")  # newest first... by when the call finished
        expect(page.locator("svg.histogram").first).to_be_visible()
        page.goto(f"/manage/campaigns/{RUNNING}/screen")
        expect(page.locator("body")).to_have_attribute("data-refresh", "20")  # it reloads itself every 20 s ...
        page.get_by_role("button", name="Pause updates").click()  # ... until someone pauses it (WCAG 2.2.1)
        expect(page.locator("#every")).to_have_text("paused")
        page.wait_for_timeout(200)
        page.reload()
        expect(page.get_by_role("button", name="Resume updates")).to_be_visible()  # still paused after a reload
    finally:
        laptop.close()
        for context, _ in phones:
            context.close()


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_the_join_page_fits_a_phone_and_a_laptop(playwright, demo, tmp_path, size):  # noqa: F811
    url = re.search(r'value="([^"]+)" aria-label="Join link"', demo.api(f"/manage/campaigns/{RUNNING}").text).group(1)
    context = playwright.chromium.launch_persistent_context(tmp_path / size, executable_path=chromium(), args=CHROMIUM_ARGS, base_url=demo.url,
                                                            **(PHONE if size == "phone" else LAPTOP))
    try:
        page = context.new_page()
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"]  # nothing to scroll sideways
        box = page.get_by_role("button", name="Join and open the checklist").bounding_box()
        assert box["height"] >= 48
        page.fill("#display-name", "x" * 61)
        page.get_by_role("button", name="Join and open the checklist").click()
        expect(page.get_by_role("alert")).to_contain_text("at most 60 characters, got 61")
    finally:
        context.close()


def test_a_call_sent_after_its_campaign_ended_stays_on_the_phone_as_not_taken(playwright, demo, tmp_path):  # noqa: F811
    """The app tells a campaign's late audit apart by its error code (`campaign_closed`, in
    pwa/js/outbox.js): kept on the phone and said why, not shown as refused, never sent again on its own."""
    import datetime as dt

    from server.db import connect, write

    url = re.search(r'value="([^"]+)" aria-label="Join link"', demo.api(f"/manage/campaigns/{RUNNING}").text).group(1)
    database = connect(demo.store)
    (ends_at,) = database.execute("SELECT ends_at FROM campaigns WHERE id = ?", [RUNNING]).fetchone()
    context = playwright.chromium.launch_persistent_context(tmp_path / "late", executable_path=chromium(), args=CHROMIUM_ARGS, base_url=demo.url, **PHONE)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(url)
        page.fill("#display-name", "Late Lou")
        page.get_by_role("button", name="Join and open the checklist").click()
        expect(page.locator("#campaign")).to_contain_text("Support line")
        context.set_offline(True)
        call_the_support_line(page, "No", "Yes", "Called on the last evening; the phone found signal the next day.")
        outbox_says(page, "1 audit waits to be sent")
        ended = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat(timespec="seconds")
        with write(database):
            database.execute("UPDATE campaigns SET ends_at = ? WHERE id = ?", [ended, RUNNING])
        context.set_offline(False)
        page.get_by_role("button", name="Send now").click()
        outbox = page.locator("#outbox")
        expect(outbox).to_contain_text("not taken: kept on this phone (export it)", timeout=30_000)
        expect(outbox).to_contain_text("campaign ended at")
        outbox_says(page, "1 audit waits to be sent")
        assert "refused by the server" not in outbox.inner_text()
    finally:
        with write(database):
            database.execute("UPDATE campaigns SET ends_at = ? WHERE id = ?", [ends_at, RUNNING])
        database.conn.close()
        context.close()
