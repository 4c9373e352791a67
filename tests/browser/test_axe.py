"""axe-core over every manager page and the auditors' app's main screens, as each role, at phone and
laptop size, in the system's Chromium against the demo: no serious or critical violation.

axe-core comes from npm (`npm install --prefix tests/.axe axe-core@4`, the README's one-time step)
and is injected through the browser's devtools protocol, so the pages keep their content security
policy: nothing is added to them, and a script the policy would refuse is still refused.
"""

import json

import pytest

from tests.live import REPO

AXE = REPO / "tests" / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
LAPTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
SIZES = {"laptop": LAPTOP, "phone": PHONE}
BAD = ("serious", "critical")


def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed ({AXE} is missing). Once, from the repository's root: npm install --prefix tests/.axe axe-core@4")
    return AXE.read_text()


def violations(page, source: str) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands, one readable line each."""
    cdp = page.context.new_cdp_session(page)
    try:
        loaded = cdp.send("Runtime.evaluate", {"expression": source, "returnByValue": True})
        assert "exceptionDetails" not in loaded, loaded["exceptionDetails"]
        run = cdp.send("Runtime.evaluate", {
            "expression": "axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations.map("
                          "v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))))",
            "awaitPromise": True, "returnByValue": True})
        assert "exceptionDetails" not in run, run["exceptionDetails"]
    finally:
        cdp.detach()
    found = json.loads(run["result"]["value"])
    return [f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['nodes'][:4])}{' …' if len(v['nodes']) > 4 else ''}"
            for v in found if v["impact"] in BAD]


def sign_in(context, demo, name: str) -> None:
    answer = context.request.post(demo.url + "/api/login", data={"name": name, "password": demo.passwords[name]})
    assert answer.ok, answer.text()


def first_link(page, path: str, prefix: str) -> str:
    """The first link on `path` whose address starts with `prefix`: a real id to visit next."""
    page.goto(path)
    href = page.locator(f"a[href^='{prefix}']").first.get_attribute("href")
    assert href, f"no link to {prefix}… on {path}"
    return href


def manager_pages(page) -> list[str]:
    location = first_link(page, "/manage/regions/east", "/manage/locations/")
    audit = first_link(page, location, "/manage/audits/")
    assignment = first_link(page, "/manage/assignments", "/manage/assignments/")
    action = first_link(page, "/manage/actions", "/manage/actions/")
    reviewing = first_link(page, "/manage/review", "/manage/audits/")  # with the review's forms
    flagged = first_link(page, "/manage/flags", "/manage/audits/")  # with a flag to explain
    return ["/manage/", "/manage/regions/east", location, audit, reviewing, flagged, "/manage/regions/east/items", "/manage/items",
            "/manage/review", "/manage/assignments", assignment, "/manage/flags", "/manage/actions", action,
            "/manage/campaigns", "/manage/regions/west", "/manage/nothing-here"]


def admin_pages(page) -> list[str]:
    campaign = first_link(page, "/manage/campaigns", "/manage/campaigns/")
    return ["/manage/", "/manage/regions/north", "/manage/items", "/manage/webhooks", "/manage/campaigns", campaign,
            campaign + "/screen", campaign + "/poster", "/manage/review", "/manage/assignments", "/manage/flags",
            "/manage/brands/", "/manage/brands/harbor/checklists/checkout", "/manage/brands/harbor/checklists/checkout/diff"]


def staff_pages(page) -> list[str]:
    page.goto("/manage/")
    location = "/" + page.url.split("/", 3)[3]
    audit = first_link(page, location, "/manage/audits/")
    action = first_link(page, "/manage/actions", "/manage/actions/")
    return [location, audit, "/manage/actions", action, "/manage/review", "/manage/regions/east", "/manage/nothing-here"]


PAGES = {"manager-east": manager_pages, "admin": admin_pages, "staff-whitby": staff_pages}


def check(page, source: str, paths: list[str]) -> list[str]:
    found = []
    for path in paths:
        page.goto(path)
        found += [f"{path}: {line}" for line in violations(page, source)]
    return found


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
@pytest.mark.parametrize("name", PAGES)
def test_every_managers_page_passes_axe(browser, demo, name, size):
    source = axe_source()
    context = browser.new_context(base_url=demo.url, **SIZES[size])
    try:
        sign_in(context, demo, name)
        page = context.new_page()
        paths = PAGES[name](page)
        found = check(page, source, paths)
        if name == "admin":  # the join page a participant opens, signed out
            page.goto(paths[5])
            join = "/join/" + page.locator("#join-url").input_value().split("/join/")[1]
            context.clear_cookies()
            found += check(page, source, [join])
        assert found == [], f"{len(found)} serious or critical axe violations as {name} ({size}):\n" + "\n".join(found)
    finally:
        context.close()


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_the_auditors_app_passes_axe(browser, demo, size):
    source = axe_source()
    context = browser.new_context(base_url=demo.url, **SIZES[size])
    try:
        page = context.new_page()
        page.goto("/#/signin")
        page.wait_for_selector("#name")
        found = [f"sign-in: {line}" for line in violations(page, source)]
        page.fill("#name", "ana")
        page.fill("#password", demo.passwords["ana"])
        page.click("button[type=submit]")
        page.wait_for_selector("#location input", state="attached")
        found += [f"start screen: {line}" for line in violations(page, source)]
        page.locator("#location label").first.click()
        page.locator("#touchpoints input, input[name=touchpoint]").first.check()
        page.get_by_role("button", name="Start visit").click()
        page.wait_for_selector("#step")
        found += [f"visit: {line}" for line in violations(page, source)]
        assert found == [], f"{len(found)} serious or critical axe violations in the auditors' app ({size}):\n" + "\n".join(found)
    finally:
        context.close()
