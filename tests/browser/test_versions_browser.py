"""A checklist's versions in the system's Chromium against the demo: a weight changed and published
is marked on a location's trends, its label 12 px or more and inside its chart on a phone and a
laptop; the versions page reads without scrolling sideways."""

import pytest

from server.checklists import parse_checklist, versions
from server.db import connect, write
from tests.browser.test_manage_browser import SVG_TEXT, manager

MARKER = """() => [...document.querySelectorAll('svg.trend')].filter(s => s.getBoundingClientRect().width > 0).map(s => {
    const box = s.getBoundingClientRect(), label = s.querySelector('text.changed'), line = s.querySelector('line.changed');
    const l = label.getBoundingClientRect(), m = label.getScreenCTM();
    return {text: label.textContent, size: parseFloat(getComputedStyle(label).fontSize) * Math.hypot(m.a, m.b),
            inside: l.left >= box.left && l.right <= box.right && l.top >= box.top && l.bottom <= box.bottom,
            line: line.getBoundingClientRect().height}; })"""


@pytest.fixture(scope="module")
def changed(demo):
    """The demo with harbor's checkout published again, its first item's weight 2 made 3 (in the browser)."""
    db = connect(demo.store)
    loaded = versions.current(db)["harbor"]
    source = loaded.checklists["checkout"].source.replace(b"weight: 2", b"weight: 3", 1)
    edited = parse_checklist(source, loaded.brand, "checkout.yaml")
    with write(db):
        versions.publish(db, type(loaded)(brand=loaded.brand, version=loaded.version, source=loaded.source,
                                          checklists={**loaded.checklists, "checkout": edited}), "browser", note="a heavier first item")
    db.conn.close()
    return demo


@pytest.mark.parametrize("width", [390, 1280])
def test_a_weight_change_is_marked_on_the_trends_readably_and_the_versions_page_fits(playwright, changed, tmp_path, width):
    context = manager(playwright, changed, tmp_path, width)
    try:
        page = context.new_page()
        page.goto("/manage/regions/east")
        page.goto(page.locator("table.ranking tbody th a").first.get_attribute("href"))
        marks = page.evaluate(MARKER)
        assert len(marks) == 2  # the score's trend and the consistency's, in the drawing for this width
        for mark in marks:
            assert mark["text"].startswith("checklist changed: ") and mark["size"] >= 12 and mark["inside"] and mark["line"] > 100, mark
        assert "Pay at the checkout" in marks[0]["text"] or width < 500  # a phone's label may be cut; its title and the table keep it whole
        assert page.locator("details table td", has_text="checklist changed: Pay at the checkout").count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert [(text, round(size, 1)) for text, size in page.evaluate(SVG_TEXT) if size < 12] == []

        page.goto("/manage/brands/harbor/checklists/checkout/diff")
        assert page.locator("#changes li.changed").first.inner_text().startswith("changed: ")
        assert page.locator("#changes .tag.breaks").first.is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()
