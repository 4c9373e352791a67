"""A program taken on without a shell, in the system's Chromium, as a new admin would: a fresh data
folder, `touchpoint serve`, the setup link it printed, the first admin; a manager invited by e-mail
(the mail arrives at a real SMTP server on loopback, its link works once); an auditor invited by QR
(decoded from the page's picture, opened on a phone-sized page); a forgotten password reset by QR,
the old session gone; a location added in the browser and audited; a CSV of 30 people, 30 cards."""

import email
import email.policy
import io
import re
import time

import httpx
import pytest
from aiosmtpd.controller import Controller
from PIL import Image
from playwright.sync_api import expect

from tests.live import CHROMIUM_ARGS, LiveServer, chromium, free_port

LAPTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
ADMIN, ADMIN_PASSWORD = "Grace Admin", "grace-runs-the-program"
MANAGER, MANAGER_PASSWORD = "Ola Manager", "ola-looks-after-west"
AUDITOR, AUDITOR_PASSWORD, AUDITOR_NEW_PASSWORD = "Sam Field", "sam-walks-the-shops", "sam-remembers-now-2"


class Inbox:
    """What the test's SMTP server received: each message parsed."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def wait_for(self, to: str, timeout: float = 30) -> email.message.EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if to in message["To"]:
                    return message
            time.sleep(0.1)
        raise AssertionError(f"no mail to {to} arrived within {timeout} s (got {[m['To'] for m in self.messages]})")


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def fresh(tmp_path, smtp):
    """`touchpoint serve` on an empty data folder, mail going to the test's SMTP server."""
    controller, _ = smtp
    live = LiveServer(tmp_path, seed=False)
    live.env.update({"TOUCHPOINT_SMTP_URL": f"smtp://127.0.0.1:{controller.port}", "TOUCHPOINT_MAIL_FROM": "Touchpoint <touchpoint@example.com>",
                     "TOUCHPOINT_PUBLIC_URL": live.url})
    live.start()
    yield live
    live.stop()


def decode_qr(page, selector: str) -> str:
    """The QR code as the screen shows it, read back from a screenshot."""
    import zxingcpp

    shot = page.locator(selector).first.screenshot()
    codes = [code.text for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))]
    assert len(codes) == 1, codes
    return codes[0]


def link_in(text: str, kind: str) -> str:
    found = re.search(rf"https?://\S+/{kind}/[A-Za-z0-9_-]+", text)
    assert found, f"no /{kind}/ link in {text!r}"
    return found.group(0)


def set_password(page, password: str, button: str = "Set the password and sign in") -> None:
    page.get_by_label("Password (at least 12 characters)").fill(password)
    page.get_by_label("The same password again").fill(password)
    page.get_by_role("button", name=button).click()


def invite(page, name: str, role: str, region: str, email: str = "") -> None:
    page.goto("/manage/people")
    page.get_by_role("link", name="Invite a person").click()
    page.get_by_label("Name (they sign in with it)").fill(name)
    page.get_by_label("Role").select_option(role)
    page.locator("#invite").get_by_label(region).check()
    if email:
        page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="Invite").click()
    expect(page.locator("#made-link")).to_be_visible()


def test_a_program_is_taken_on_in_the_browser_without_a_shell(playwright, fresh, smtp, tmp_path):
    from tests.browser.test_pwa import answer_checkout, outbox_says, start_visit

    _, inbox = smtp
    server = fresh
    launch = {"executable_path": chromium(), "args": CHROMIUM_ARGS, "base_url": server.url}

    # 1. the first start printed a one-time setup link; the first admin is made through it
    printed = server.log.read_text()
    assert "No admin yet. Open this one-time setup link" in printed
    setup = link_in(printed, "setup")
    admin = playwright.chromium.launch_persistent_context(tmp_path / "admin", **launch, **LAPTOP)
    page = admin.new_page()
    page.goto(setup)
    expect(page.get_by_role("heading", name="Set up Touchpoint")).to_be_visible()
    page.get_by_label("Your name (you sign in with it)").fill(ADMIN)
    set_password(page, ADMIN_PASSWORD, "Make the admin and sign in")
    page.wait_for_url(server.url + "/manage/")
    page.goto(setup)  # used: it says so, and makes no second admin
    expect(page.get_by_role("heading", name="Touchpoint is set up already")).to_be_visible()

    # 2. a region and a location, in the browser
    page.goto("/manage/locations")
    region = page.locator("#region")
    region.get_by_label("Id").fill("west")
    region.get_by_label("Name").fill("West")
    region.get_by_role("button", name="Make the region").click()
    expect(page.get_by_role("status")).to_contain_text("the region was made")
    add = page.locator("#add")
    add.get_by_label("Id").fill("harbour-1")
    add.get_by_label("Name").fill("Harbour Street")
    add.get_by_label("Region").select_option("west")
    add.get_by_label("Latitude").fill("51.3811")
    add.get_by_label("Longitude").fill("-2.3590")
    add.get_by_role("button", name="Add the location").click()
    page.wait_for_url(re.compile(r"/manage/locations/harbour-1/edit\?said=added$"))

    # 3. a manager invited by e-mail: the mail arrives over SMTP, its link works once
    invite(page, MANAGER, "manager", "West", "ola@example.com")
    mail = inbox.wait_for("ola@example.com")
    enrol = link_in(mail.get_body(preferencelist=("plain",)).get_content(), "enrol")
    assert enrol.startswith(server.url + "/enrol/")
    manager = playwright.chromium.launch_persistent_context(tmp_path / "manager", **launch, **LAPTOP)
    desk = manager.new_page()
    desk.goto(enrol)
    expect(desk.get_by_role("heading", name=f"Welcome, {MANAGER}")).to_be_visible()
    set_password(desk, MANAGER_PASSWORD)
    desk.wait_for_url(server.url + "/manage/")
    other = playwright.chromium.launch_persistent_context(tmp_path / "other", **launch, **LAPTOP).new_page()
    other.goto(enrol)
    expect(other.get_by_role("heading", name="This link was used")).to_be_visible()

    # 4. the manager invites an auditor by QR: read off the screen, opened on a phone
    invite(desk, AUDITOR, "auditor", "West")
    shown = desk.locator("#made-link").input_value()
    scanned = decode_qr(desk, ".qr-big svg")
    assert scanned == shown and "/enrol/" in scanned
    phone = playwright.chromium.launch_persistent_context(tmp_path / "phone", **launch, **PHONE)
    app = phone.new_page()
    app.goto(scanned)
    expect(app.get_by_role("heading", name=f"Welcome, {AUDITOR}")).to_be_visible()
    assert app.evaluate("document.documentElement.scrollWidth") <= 360
    set_password(app, AUDITOR_PASSWORD)
    app.wait_for_url(server.url + "/#/")
    try:
        app.wait_for_selector("#location input[value='harbour-1']", state="attached")  # the app's start screen, with the region's location
    except Exception:
        app.screenshot(path="/tmp/adm.png"); open("/tmp/adm.txt", "w").write(app.inner_text("body") + app.url)
        raise
    assert app.evaluate("fetch('/api/me').then(r => r.status)") == 200

    # 5. forgotten: the manager makes a reset QR, the auditor resets on another phone, the old session is gone
    desk.goto("/manage/people")
    desk.get_by_role("link", name=AUDITOR).click()
    desk.get_by_role("button", name="Make a password reset link").click()
    reset = decode_qr(desk, ".qr-big svg")
    assert "/reset/" in reset and reset == desk.locator("#made-link").input_value()
    second = playwright.chromium.launch_persistent_context(tmp_path / "second-phone", **launch, **PHONE)
    again = second.new_page()
    again.goto(reset)
    expect(again.get_by_role("heading", name=f"A new password for {AUDITOR}")).to_be_visible()
    set_password(again, AUDITOR_NEW_PASSWORD)
    again.wait_for_url(server.url + "/#/")
    assert app.evaluate("fetch('/api/me').then(r => r.status)") == 401  # the first phone's session ended
    assert again.evaluate("fetch('/api/me').then(r => r.json()).then(me => me.name)") == AUDITOR
    assert httpx.post(server.url + "/api/login", json={"name": AUDITOR, "password": AUDITOR_PASSWORD}, timeout=10).status_code == 401

    # 6. the admin adds a location in the browser; the auditor audits it in the app
    page.goto("/manage/locations")
    add = page.locator("#add")
    add.get_by_label("Id").fill("quay-2")
    add.get_by_label("Name").fill("Quay Market")
    add.get_by_label("Region").select_option("west")
    add.get_by_label("Address", exact=True).fill("2 The Quay")
    add.get_by_role("button", name="Add the location").click()
    page.wait_for_url(re.compile(r"/manage/locations/quay-2/edit\?said=added$"))
    again.goto("/#/")
    again.reload()
    again.wait_for_selector("#location input[value='quay-2']", state="attached")  # the app fetched its lists again on opening
    start_visit(again, "quay-2", "Pay at the checkout")
    answer_checkout(again)
    again.get_by_role("button", name="Finish visit").click()
    outbox_says(again, "Everything is sent.")
    page.goto("/manage/locations/quay-2")
    expect(page.locator("main")).to_contain_text("Quay Market")
    audits = page.evaluate("fetch('/api/audits?location=quay-2').then(r => r.json())")
    assert [(a["location"], a["checklist"]) for a in audits["items"]] == [("quay-2", "checkout")]

    # 7. a CSV of 30 people gives 30 cards, each with its own QR
    rows = "\n".join(f"Team {i:02d},auditor,west" for i in range(30))
    page.goto("/manage/people/import")
    page.get_by_label("CSV file (UTF-8)").set_input_files({"name": "team.csv", "mimeType": "text/csv", "buffer": f"name,role,regions\n{rows}\n".encode()})
    page.get_by_role("button", name="Invite them and make the cards").click()
    expect(page.locator(".enrol-card")).to_have_count(30)
    assert page.locator(".enrol-card svg").count() == 30
    first = decode_qr(page, ".enrol-card .qr")
    assert "/enrol/" in first
    assert len(set(page.locator(".enrol-card").all_inner_texts())) == 30
