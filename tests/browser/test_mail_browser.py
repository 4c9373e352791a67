"""The mail outbox page (/manage/mail) in the system's Chromium: a held mail with a long link and a
failed one with a long error fit a 360 px phone, the held mail's link is there to copy once its
details are opened, and axe-core finds no serious or critical violation."""

import pytest

from tests.browser.test_axe import axe_source, violations
from tests.live import chromium, CHROMIUM_ARGS

LINK = "https://touchpoint.example.com/enrol/" + "Zq3vW9xK2mN8pL4rT6yB1cD5fG7hJ0aS" * 2


@pytest.fixture(scope="module")
def outbox(demo):
    """A held invitation and a failed reset written into the demo's outbox, as the links part's queue writes them."""
    from server.db import connect, write
    from server.mail import outbox
    from server.settings import Settings

    db = connect(demo.store)
    with write(db):
        held = outbox.queue(db, Settings(), to_address="a.very.long.address.of.somebody@subdomain.example.org", subject="Your invitation to Touchpoint",
                            body=f"Hello,\n\nSet your password at {LINK}\n\nThe link works once, within 7 days.", kind="test")
        failed = outbox.queue(db, Settings(), to_address="zoe@example.org", subject="Reset your password", body="Reset it here: [link]", kind="test")
        db.execute("UPDATE mail SET state = 'failed', attempts = 8, error = ? WHERE id = ?",
                   ["answered 550 5.1.1 <zoe@example.org>: Recipient address rejected: User unknown in virtual mailbox table" * 2, failed])
    db.conn.close()
    return held, failed


@pytest.mark.parametrize("width", [360, 1280])
def test_the_outbox_fits_the_screen_and_shows_a_held_mail_s_link(playwright, demo, outbox, tmp_path, width):
    held, failed = outbox
    context = playwright.chromium.launch_persistent_context(tmp_path / "profile", executable_path=chromium(), args=CHROMIUM_ARGS, base_url=demo.url,
                                                            viewport={"width": width, "height": 844}, is_mobile=width < 500, has_touch=width < 500)
    try:
        assert context.request.post(demo.url + "/api/login", data={"name": "admin", "password": demo.admin_password}).ok
        page = context.new_page()
        page.goto("/manage/mail")
        assert "No SMTP server is set" in page.locator("#smtp").inner_text()
        page.locator(f"#mail-{held} summary").click()
        assert LINK in page.locator(f"#mail-{held} pre.body").inner_text()
        assert page.locator(f"#mail-{failed} .state").inner_text().startswith("failed")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.locator(f"#mail-{held} pre.body").bounding_box()["width"] <= width
        assert violations(page, axe_source()) == []
    finally:
        context.close()
