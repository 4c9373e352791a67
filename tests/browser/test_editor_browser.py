"""The checklist editor's pages in the system's Chromium against the demo, as its admin: the form
editor of harbor's checkout at a phone's 390 px and a laptop's 1280 px (nothing to scroll sideways,
each label above its field, every field and button 44 px tall or more, as the managers' pages have
them; a refused show_if named beside its item, inside it), the text editor's title, and axe-core over
the brands list, the draft page (unsaved, and saved with its publish form), the form (as it opens
and refused) and the text (as it opens and refused): no serious or critical violation."""

import pytest

from tests.browser.test_axe import LAPTOP, PHONE, axe_source, sign_in, violations

FORM = "/manage/brands/harbor/draft/checkout.yaml/form"
TEXT = "/manage/brands/harbor/draft/checkout.yaml"
SIZES = {390: PHONE, 1280: LAPTOP}

# every control of the form as drawn: its name, kind and box (a checkbox by the row of its label)
CONTROLS = """() => [...document.querySelectorAll('#form input:not([type=hidden]), #form select, #form button:not([aria-hidden=true])')].map(c => {
    const box = (c.type === 'checkbox' ? c.closest('label') : c).getBoundingClientRect();
    return {name: c.name || c.textContent.trim(), type: c.type, height: box.height, left: box.left, right: box.right}; })"""

# each item's labels with `for`, against the field they name: where the field starts and how wide it is
LABELLED = """() => [...document.querySelectorAll('fieldset.item > label[for]')].map(l => {
    const field = document.getElementById(l.htmlFor), set = l.closest('fieldset').getBoundingClientRect();
    const a = l.getBoundingClientRect(), b = field.getBoundingClientRect();
    return {for: l.htmlFor, below: b.top >= a.bottom - 1, share: b.width / (set.width - 26)}; })"""


def admin_page(browser, demo, width: int):
    context = browser.new_context(base_url=demo.url, **SIZES[width])
    sign_in(context, demo, "admin")
    return context, context.new_page()


def refuse_a_misspelt_show_if(page) -> None:
    """rewards_explained is shown only if rewards_asked = yes: typed with a letter missing, then saved."""
    page.goto(FORM)
    page.fill("[name='s2.i1.show_if']", "rewards_askd = yes")
    page.get_by_role("button", name="Save into the draft").click()
    page.wait_for_selector("#problems")


@pytest.mark.parametrize("width", SIZES)
def test_the_form_editor_fits_the_screen_with_labels_above_fields_and_tall_enough_targets(browser, demo, width):
    context, page = admin_page(browser, demo, width)
    try:
        page.goto(FORM)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        controls = page.evaluate(CONTROLS)
        assert len(controls) > 13 * 10  # 13 items of some ten controls each, and the add-an-item rows
        short = [(c["name"], c["type"], round(c["height"])) for c in controls if c["height"] < 44]
        assert short == [], short[:6]
        assert [c["name"] for c in controls if c["left"] < 0 or c["right"] > width] == []
        # the house fieldset is a wrapping row: the editor's set "Question" beside a 220 px box, the help under it
        labelled = page.evaluate(LABELLED)
        assert len(labelled) >= 13 * 3  # question, help and show_if of each item
        assert [l["for"] for l in labelled if not l["below"] or l["share"] < 0.9] == []
    finally:
        context.close()


@pytest.mark.parametrize("width", SIZES)
def test_a_refused_show_if_is_named_inside_its_item_readably_and_nothing_spills(browser, demo, width):
    context, page = admin_page(browser, demo, width)
    try:
        refuse_a_misspelt_show_if(page)
        item = page.locator("fieldset.item", has=page.locator(".field-problem"))
        assert item.count() == 1 and item.locator("> legend").inner_text().startswith("rewards_explained")
        said = item.locator(".field-problem li").inner_text()
        assert "section payment, item rewards_explained: show_if.item: 'rewards_askd'" in said and "did you mean 'rewards_asked'" in said
        box, inside = item.bounding_box(), item.locator(".field-problem").bounding_box()
        assert box["x"] <= inside["x"] and inside["x"] + inside["width"] <= box["x"] + box["width"]
        assert item.get_attribute("aria-describedby") == item.locator(".field-problem").get_attribute("id")
        size = item.locator(".field-problem code").evaluate("c => parseFloat(getComputedStyle(c).fontSize)")
        assert size >= 14  # .95rem of the house's 16 px
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.locator("[name='s2.i1.show_if']").input_value() == "rewards_askd = yes"  # what was typed is kept
    finally:
        context.close()


def test_the_text_editors_title_is_the_files_name_only(browser, demo):
    """The workbook's part once left its whole section inside the title block: the tab read
    'checkout.yaml · draft of harbor <section class="card" …'."""
    context, page = admin_page(browser, demo, 1280)
    try:
        page.goto(TEXT)
        assert page.title() == "checkout.yaml · draft of harbor · Touchpoint"
        assert page.locator("#workbook-title").count() == 1
    finally:
        context.close()


@pytest.mark.parametrize("width", SIZES)
def test_the_brands_pages_and_the_editors_pass_axe(browser, demo, width):
    source = axe_source()
    context, page = admin_page(browser, demo, width)
    try:
        found = []
        for path in ["/manage/brands/", "/manage/brands/harbor/draft", FORM, TEXT]:
            page.goto(path)
            found += [f"{path}: {line}" for line in violations(page, source)]
        refuse_a_misspelt_show_if(page)
        found += [f"{FORM} refused: {line}" for line in violations(page, source)]
        page.goto(TEXT)
        page.fill("#file-text", page.locator("#file-text").input_value().replace("    pillars: [fast]\n", "    pilars: [fast]\n", 1))
        page.get_by_role("button", name="Save into the draft").click()
        page.wait_for_selector("#problems")
        assert "pilars: unknown key (did you mean 'pillars'?)" in page.locator("#problems").inner_text()
        found += [f"{TEXT} refused: {line}" for line in violations(page, source)]
        page.goto(FORM)  # a saved draft: the draft page with its publish form and the change it asks to confirm
        page.fill("[name='s0.i0.weight']", "3")
        page.get_by_role("button", name="Save into the draft").click()
        page.wait_for_selector("#marked-changes")
        gap = page.evaluate("(b => b.firstElementChild.getBoundingClientRect().top - b.getBoundingClientRect().top)(document.getElementById('marked-changes'))")
        assert gap <= 20, gap  # its padding (16 px) and border: the paragraph's own 16 px margin made it 33
        found += [f"the draft page, to publish: {line}" for line in violations(page, source)]
        assert found == [], f"{len(found)} serious or critical axe violations ({width} px):\n" + "\n".join(found)
    finally:
        context.close()
