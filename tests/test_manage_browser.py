"""The managers' pages in the system's Chromium against the real server process: an admin on a
small seeded server, and a manager touring the demo's six months of audits (home, region,
sorting, a location, an audit report and its PDF)."""

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.live import ADMIN, CHROMIUM_ARGS, LiveServer, chromium
from tests.test_pwa import open_app, playwright, server  # noqa: F401

LAPTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


class DemoServer(LiveServer):
    """`touchpoint demo` built in a fresh data folder, then served: what a new user sees."""

    def __init__(self, folder):
        super().__init__(folder, seed=False)
        built = self.cli("demo", "--no-serve")
        self.manager_password = re.search(r"manager-east\s+(\S+)", built).group(1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    live = DemoServer(tmp_path_factory.mktemp("demo")).start()
    yield live
    live.stop()


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


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_a_manager_tours_the_demo_down_to_an_audit_and_its_pdf(playwright, demo, tmp_path, size):
    context = playwright.chromium.launch_persistent_context(tmp_path / "profile", executable_path=chromium(), args=CHROMIUM_ARGS, base_url=demo.url, **size)
    try:
        page = open_app(context)
        page.fill("#name", "manager-east")
        page.fill("#password", demo.manager_password)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/manage/$"))
        expect(page.get_by_role("heading", name="Your regions")).to_be_visible()
        assert page.get_by_role("link", name=re.compile("^west$", re.I)).count() == 0  # not one of hers
        page.get_by_role("link", name=re.compile("^east$", re.I)).click()
        expect(page.get_by_role("heading", name=re.compile("^east$", re.I))).to_be_visible()
        expect(page.locator("svg[role=img]").first).to_be_visible()  # the charts are drawn
        page.get_by_role("link", name="Score", exact=True).click()  # sort by score, highest first
        expect(page.locator("th[aria-sort]")).to_contain_text("Score")
        scores = [float(s) for s in page.locator("table.ranking tbody tr td:nth-child(4)").all_inner_texts() if s.strip() not in ("", "—")]
        assert scores == sorted(scores, reverse=True) and len(scores) >= 10
        page.locator("table.ranking tbody tr th a").first.click()  # the best-scoring location
        expect(page.locator("svg[aria-labelledby^=trend-score]")).to_be_visible()  # the 24-month trend chart
        page.locator("a[href^='/manage/audits/']").first.click()
        expect(page.get_by_role("heading", name="Pillars")).to_be_visible()
        location = page.locator(".report-head .sub").inner_text()
        with page.expect_download() as download:
            page.get_by_role("link", name="Download as PDF").click()
        reader = PdfReader(io.BytesIO(open(download.value.path(), "rb").read()))
        text = " ".join(p.extract_text() for p in reader.pages)
        assert location in text and "audit report" in text
        for question in page.locator("table.answers tbody th").all_inner_texts():
            first_line = question.split("\n")[0].replace(" critical", "").strip()
            assert re.sub(r"\s+", " ", first_line)[:40] in re.sub(r"\s+", " ", text), first_line
        assert page.errors == []
    finally:
        context.close()


def test_the_api_viewer_renders_from_our_own_files_under_the_policy(playwright, server, tmp_path):
    context = playwright.chromium.launch_persistent_context(tmp_path / "profile", executable_path=chromium(), args=CHROMIUM_ARGS, base_url=server.url, **LAPTOP)
    try:
        page = open_app(context, "/schema")
        outside = []
        page.on("requestfinished", lambda r: outside.append(r.url) if not r.url.startswith(server.url) and not r.url.startswith(("blob:", "data:")) else None)
        expect(page.get_by_role("heading", name=re.compile("^Touchpoint"))).to_be_visible(timeout=15_000)
        expect(page.get_by_text("/api/audits", exact=True).first).to_be_attached()  # the operations are listed
        assert outside == []  # nothing loaded from elsewhere
        # the one thing Redoc always asks for, its logo on cdn.redoc.ly, is refused by the policy
        assert [e for e in page.errors if "logo-mini.svg" not in e] == []
    finally:
        context.close()
