"""The brands and checklists pages (issue 26): what is published, each checklist's file and versions;
managers read, staff are refused, auditors go to their app."""

import re
from html import unescape


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_brands_page_lists_what_is_published_with_how_it_came(server):
    page = server.get("/manage/brands/", "manager_r1")
    assert page.status_code == 200
    text = _text(page.text)
    assert "Brands and checklists" in text and "(acme)" in text
    version = server.db.execute("SELECT current_version FROM checklists WHERE id = 'visit'").fetchone()[0]
    assert re.search(rf"visit .* {version} folder, \d{{4}}-\d\d-\d\d", text)
    assert server.get("/manage/brands/", "staff_l1").status_code == 403
    assert server.get("/manage/brands/", "auditor_a", follow_redirects=False).headers["location"] == "/"


def test_a_checklists_page_shows_its_file_and_versions(server):
    page = server.get("/manage/brands/acme/checklists/visit", "admin")
    assert page.status_code == 200
    source = server.db.execute("SELECT cv.source FROM checklists c JOIN checklist_versions cv ON cv.brand = c.brand AND cv.checklist = c.id AND cv.version = c.current_version WHERE c.id = 'visit'").fetchone()[0]
    assert unescape(page.text.split('<pre class="source" tabindex="0">')[1].split("</pre>")[0]) == source.decode()
    assert 'id="versions"' in page.text and "current" in _text(page.text.split('id="versions"')[1])
    assert server.get("/manage/brands/acme/checklists/nothing", "admin").status_code == 404
    assert server.get("/manage/brands/other/checklists/visit", "admin").status_code == 404


def _draft_file(server, persona, file="visit.yaml"):
    page = server.get(f"/manage/brands/acme/draft/{file}", persona)
    assert page.status_code == 200, page.text
    text = unescape(page.text.split('name="text"')[1].split(">", 1)[1].split("</textarea>")[0])
    revision = int(re.search(r'name="revision" value="(\d+)"', page.text).group(1))
    return text, revision


def test_an_admin_edits_a_file_in_the_draft_sees_the_problems_as_check_prints_them_and_publishes(server):
    text, revision = _draft_file(server, "admin")
    assert revision == 0 and text == server.db.execute("SELECT cv.source FROM checklists c JOIN checklist_versions cv ON cv.brand = c.brand AND cv.checklist = c.id AND cv.version = c.current_version WHERE c.id = 'visit'").fetchone()[0].decode()
    before = server.get("/api/checklists/visit", "auditor_a").json()["version"]
    # a typo: refused with the problem as `touchpoint check` prints it, nothing kept, the text kept in the form
    broken = text.replace("weight: 2", "wieght: 2", 1)
    assert broken != text
    page = server.post("/manage/brands/acme/draft/visit.yaml", "admin", data={"text": broken, "revision": "0"})
    assert page.status_code == 422
    assert re.search(r"<code>acme/visit\.yaml:\d+: section \w+, item \w+: wieght: unknown key \(did you mean &#39;weight&#39;\?\)</code>", page.text), page.text[:3000]
    assert "wieght: 2" in unescape(page.text)
    assert server.db.execute("SELECT count(*) FROM drafts").fetchone()[0] == 0
    # fixed: saved into the draft; auditors still get the published version
    heavier = text.replace("weight: 2", "weight: 3", 1)
    saved = server.post("/manage/brands/acme/draft/visit.yaml", "admin", data={"text": heavier, "revision": "0"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/manage/brands/acme/draft?said=saved"
    draft = _text(server.get(saved.headers["location"], "admin").text)
    assert "Done: the draft is saved" in draft and "visit.yaml ( in the form ) changed" in draft and "1 file changed: visit.yaml" in draft
    assert server.get("/api/checklists/visit", "auditor_a").json()["version"] == before
    # a second editor who opened revision 0 is told, and keeps their text
    clash = server.post("/manage/brands/acme/draft/visit.yaml", "admin", data={"text": text + "# mine\n", "revision": "0"})
    assert clash.status_code == 409 and "the draft changed since you opened it: saved by admin" in _text(clash.text) and "# mine" in clash.text
    # managers read, never save or publish
    assert server.post("/manage/brands/acme/draft/visit.yaml", "manager_r1", data={"text": text, "revision": "1"}).status_code == 403
    assert server.post("/manage/brands/acme/publish", "manager_r1", data={"note": "x", "revision": "1"}).status_code == 403
    # published with a note: current for everyone at once, the draft gone, the history written
    draft = _text(server.get("/manage/brands/acme/draft", "admin").text)
    assert "1 change breaks comparison with earlier audits" in draft and "visit: " in draft and "weight" in draft  # named before publishing
    unconfirmed = server.post("/manage/brands/acme/publish", "admin", data={"note": "the greeting weighs more", "revision": "1"})
    assert unconfirmed.status_code == 409 and "tick the box to confirm them" in _text(unconfirmed.text)
    assert server.get("/api/checklists/visit", "auditor_a").json()["version"] == before
    done = server.post("/manage/brands/acme/publish", "admin", data={"note": "the greeting weighs more", "revision": "1", "confirm": "yes"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/manage/brands/?said=published+1"
    after = server.get("/api/checklists/visit", "auditor_a").json()
    assert after["version"] != before and after["version"] == server.db.execute("SELECT current_version FROM checklists WHERE id = 'visit'").fetchone()[0]
    assert server.db.execute("SELECT via, note FROM checklist_versions WHERE version = ?", [after["version"]]).fetchone() == ("browser", "the greeting weighs more")
    assert server.db.execute("SELECT count(*) FROM drafts").fetchone()[0] == 0
    assert [a for (a,) in server.db.execute("SELECT action FROM history WHERE kind = 'brand' ORDER BY seq")] == ["draft saved", "published"]
    assert server.post("/manage/brands/acme/publish", "admin", data={"note": "", "revision": "1"}).status_code == 409  # nothing left to publish


def test_a_publish_in_one_server_process_reaches_another_within_half_a_second(server):
    import time

    from litestar.testing import TestClient

    from server.app import create_app
    from server.checklists.catalog import CHECK_SECONDS

    with TestClient(create_app(server.settings)) as other:  # a second server process on the same data
        headers = server.auth("auditor_a")
        before = other.get("/api/checklists/visit", headers=headers).json()["version"]
        text, revision = _draft_file(server, "admin")
        assert server.post("/manage/brands/acme/draft/visit.yaml", "admin", data={"text": text + "# new\n", "revision": str(revision)}).status_code == 200
        assert server.post("/manage/brands/acme/publish", "admin", data={"note": "", "revision": str(revision + 1)}).status_code == 200
        published = server.get("/api/checklists/visit", "auditor_a").json()["version"]  # the publishing process: at once
        assert published != before
        time.sleep(CHECK_SECONDS + 0.1)
        assert other.get("/api/checklists/visit", headers=headers).json()["version"] == published
        assert CHECK_SECONDS <= 0.5
def _publish_visit(server, old: bytes, new: bytes, note: str) -> str:
    """Publish `new` in place of `old` in acme's visit checklist, as the browser's publish would; its version."""
    from server.checklists import parse_checklist, versions
    from server.db import write

    loaded = server.client.app.state.catalog.brands["acme"]
    source = loaded.checklists["visit"].source.replace(old, new, 1)
    assert source != loaded.checklists["visit"].source
    edited = parse_checklist(source, loaded.brand, "visit.yaml")
    with write(server.db):
        versions.publish(server.db, type(loaded)(brand=loaded.brand, version=loaded.version, source=loaded.source,
                                                 checklists={**loaded.checklists, "visit": edited}), "browser", note=note)
    return edited.version


def test_the_versions_page_shows_the_difference_between_two_versions_item_by_item(server):
    first = server.db.execute("SELECT current_version FROM checklists WHERE id = 'visit'").fetchone()[0]
    second = _publish_visit(server, b"{id: greet, text: Greeted?, type: yes_no, weight: 2,", b"{id: greet, text: Greeted warmly?, type: yes_no, weight: 3,",
                            "the greeting weighs more")
    page = server.get("/manage/brands/acme/checklists/visit/diff", "manager_r1")  # by default: the previous version to the current one
    assert page.status_code == 200
    text = _text(page.text)
    assert f"From {first} to {second}" in text
    row = _text(page.text.split('id="changes">')[1].split("</ol>")[0])
    assert row.startswith("changed : greet Greeted warmly? (Arriving)")
    assert "text : Greeted? → Greeted warmly?" in row and "weight : 2 → 3 breaks comparison" in row
    assert row.count("breaks comparison") == 1  # the wording is not marked
    assert "item greet: weight 2 → 3" in _text(page.text.split('id="marked"')[1].split("</ul>")[0])
    # the checklist's page offers the form, with the two versions picked
    own = server.get("/manage/brands/acme/checklists/visit", "admin").text
    form = own.split('id="diff-form"')[1].split("</form>")[0]
    assert re.search(rf'name="from">\s*<option value="{second}"[^>]*>.*<option value="{first}" selected', form, re.S)
    assert re.search(rf'name="to">\s*<option value="{second}" selected', form, re.S)

    # the other way round, picked with the form's own fields
    back = _text(server.get(f"/manage/brands/acme/checklists/visit/diff?from={second}&to={first}", "admin").text)
    assert "weight : 3 → 2 breaks comparison" in back
    same = server.get(f"/manage/brands/acme/checklists/visit/diff?from={first}&to={first}", "admin")
    assert same.status_code == 200 and "No difference: this is the same version." in _text(same.text) and 'id="changes"' not in same.text
    assert server.get("/manage/brands/acme/checklists/visit/diff?from=0123456789ab", "admin").status_code == 404
    assert server.get(f"/manage/brands/acme/checklists/visit/diff?to=nothing&from={first}", "admin").status_code == 404
    assert server.get("/manage/brands/acme/checklists/nothing/diff", "admin").status_code == 404
    assert server.get("/manage/brands/acme/checklists/visit/diff", "staff_l1").status_code == 403


def test_the_versions_page_names_a_refused_type_change(server):
    """Nothing publishes such a version (the editor refuses it); a version kept from before that rule is still shown honestly."""
    _publish_visit(server, b"{id: tidy, text: Tidy?, type: scale, min: 1, max: 5,", b"{id: tidy, text: Tidy?, type: yes_no,", "tidy becomes a yes/no")
    page = _text(server.get("/manage/brands/acme/checklists/visit/diff", "admin").text)
    assert "Refused (this could never be published): item tidy: was a scale item and would be a yes_no item" in page
    assert "type : scale → yes_no" in page and "min : 1 → — max : 5 → —" in page


def test_a_change_that_breaks_comparison_is_marked_on_the_locations_trend_from_its_month(server):
    """A weight change published in February is marked at February on both trends of an acme
    location (line and label, in the description and the table too); a wording change published
    in March is not marked."""
    from server.checklists.versions import current, marked_changes

    first = server.db.execute("SELECT current_version FROM checklists WHERE id = 'visit'").fetchone()[0]
    second = _publish_visit(server, b"weight: 2, pillars: [friendly]}", b"weight: 4, pillars: [friendly]}", "the greeting weighs more")
    server.client.app.state.catalog.brands["acme"] = current(server.db)["acme"]  # the next edit starts from it, as after a publish
    third = _publish_visit(server, b"{id: greet, text: Greeted?,", b"{id: greet, text: Greeted at the door?,", "wording")
    for version, day in ((first, "2026-01-05"), (second, "2026-02-10"), (third, "2026-03-05")):
        server.db.execute("UPDATE checklist_versions SET published_at = ? WHERE version = ?", [f"{day}T09:00:00+00:00", version])
    assert [(m.day.isoformat(), m.checklist, m.title, m.version) for m in marked_changes(server.db, "acme")] == [("2026-02-10", "visit", "Visit the shop", second)]

    html = server.get("/manage/locations/l1?from=2026-03-01&to=2026-03-31", "manager_r1").text
    svgs = re.findall(r'<svg role="img" aria-labelledby="trend-score(?:-n)?-t.*?</svg>', html, re.S)
    assert len(svgs) == 2
    # 24 months from Apr 2024: February 2026 is the 23rd point (index 22). Wide: x = 40 + 22 * 590 / 23 = 604.3;
    # narrow: x = 34 + 22 * 276 / 23 = 298.0; both past the middle, so the label ends 4 units before the line.
    for svg, x, anchor in ((svgs[0], "604.3", "600.3"), (svgs[1], "298.0", "294.0")):
        assert svg.count('<line x1="') - svg.count('class="grid"') == 1
        assert f'<line x1="{x}" x2="{x}" y1="10" y2="176" class="changed"/>' in svg
        assert f'<text x="{anchor}" y="24" text-anchor="end" class="changed">checklist changed: Visit the shop</text>' in svg
        assert "<title>Feb 2026: checklist changed: Visit the shop</title>" in svg
        assert "Feb 2026: no audits, region none; checklist changed: Visit the shop." in svg
    table = _text(unescape(html).split("Promise score by month, with the region's as a table", 1)[1].split("</table>", 1)[0])
    assert "Feb 2026 — — 0 checklist changed: Visit the shop" in table and "Mar 2026 — — 0 Apr" not in table
    assert table.count("checklist changed") == 1
    # two charts (score, consistency), each: two drawings x (label, title, description), and its table
    assert _text(html).count("checklist changed: Visit the shop") == 2 * (2 * 3 + 1)


def test_a_checklist_goes_out_as_a_workbook_and_comes_back_into_the_draft(server):
    import io

    from openpyxl import load_workbook

    download = server.get("/manage/brands/acme/draft/visit.yaml/workbook", "manager_r1")
    assert download.status_code == 200 and download.headers["content-disposition"] == 'attachment; filename="acme-visit.xlsx"'
    upload = {"revision": "0"}
    # unchanged: the same checklist, nothing saved, the text and its version stay
    same = server.post("/manage/brands/acme/draft/visit.yaml/workbook", "admin", data=upload, files={"file": ("visit.xlsx", download.content)}, follow_redirects=False)
    assert same.status_code == 303 and same.headers["location"] == "/manage/brands/acme/draft?said=unchanged"
    assert server.db.execute("SELECT count(*) FROM drafts").fetchone()[0] == 0
    # a weight changed in the spreadsheet, and one typed wrong: the problem by sheet, row and column, nothing saved
    book = load_workbook(io.BytesIO(download.content))
    items = book["items"]
    header = [c.value for c in items[1]]
    weight = header.index("weight") + 1
    items.cell(row=2, column=weight, value="heavy")
    bad = io.BytesIO()
    book.save(bad)
    refused = server.post("/manage/brands/acme/draft/visit.yaml/workbook", "admin", data=upload, files={"file": ("visit.xlsx", bad.getvalue())})
    assert refused.status_code == 422 and "visit.xlsx: items, row 2, column weight: expected a number" in unescape(refused.text)
    items.cell(row=2, column=weight, value=4)
    good = io.BytesIO()
    book.save(good)
    saved = server.post("/manage/brands/acme/draft/visit.yaml/workbook", "admin", data=upload, files={"file": ("visit.xlsx", good.getvalue())}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/manage/brands/acme/draft?said=saved"
    text, revision = _draft_file(server, "admin")
    assert revision == 1 and "weight: 4" in text
    assert server.post("/manage/brands/acme/draft/visit.yaml/workbook", "admin", data=upload, files={"file": ("visit.xlsx", b"id: visit\n")}).status_code == 422  # not a workbook
    assert server.post("/manage/brands/acme/draft/visit.yaml/workbook", "manager_r1", data={"revision": "1"}, files={"file": ("visit.xlsx", good.getvalue())}).status_code == 403
    assert server.get("/manage/brands/acme/draft/brand.yaml/workbook", "admin").status_code == 404


def test_the_form_editor_changes_a_weight_adds_an_item_and_names_a_misspelt_show_if_beside_it(server):
    page = server.get("/manage/brands/acme/draft/visit.yaml/form", "admin")
    assert page.status_code == 200
    fields = dict(re.findall(r'type="text"[^>]*? name="(s\d+\.(?:title|i\d+\.\w+))" value="([^"]*)"', page.text))
    fields |= dict(re.findall(r'<select name="(s\d+\.i\d+\.photo)">.*?<option selected>(\w+)</option>', page.text))
    checked = re.findall(r'name="(s\d+\.i\d+\.\w+)" value="yes" checked', page.text)
    form = {**{k: unescape(v) for k, v in fields.items()}, **{k: "yes" for k in checked}, "revision": "0"}
    for name, value in re.findall(r'name="(s\d+\.i\d+\.pillars)" value="(\w+)" checked', page.text):
        form.setdefault(name + "[]", []).append(value)
    pillars = {k[:-2]: v for k, v in form.items() if k.endswith("[]")}
    form = {k: v for k, v in form.items() if not k.endswith("[]")} | pillars
    first = next(k for k in form if k.endswith(".weight"))
    item = first.rsplit(".", 1)[0]
    form[first] = "5"
    # a misspelt show_if: refused, named as `touchpoint check` names it, beside its item; nothing saved
    show_if = f"{item}.show_if"
    later = next(k for k in form if k.endswith(".show_if") and k != show_if and k > show_if)
    form[later] = "greeet = no"
    refused = server.post("/manage/brands/acme/draft/visit.yaml/form", "admin", data={**form, "action": "save"})
    assert refused.status_code == 422, refused.text[:500]
    beside = unescape(refused.text.split(f'id="{later.rsplit(".", 1)[0]}-problems"')[1].split("</ul>")[0])
    assert re.search(r"acme/visit\.yaml:\d+: section \w+, item \w+: show_if\.item: 'greeet' must name an item that comes earlier in this checklist \(did you mean 'greet'\?\)", beside), beside
    assert server.db.execute("SELECT count(*) FROM drafts").fetchone()[0] == 0
    assert 'value="greeet = no"' in refused.text  # what was typed stays
    form[later] = ""
    # an item added to the first section, saved with the weight
    form.update({"new0.id": "bag_shelf_tidy", "new0.type": "yes_no", "new0.text": "Is the bag shelf tidy?", "new0.weight": "2"})
    added = server.post("/manage/brands/acme/draft/visit.yaml/form", "admin", data={**form, "action": "add:0"}, follow_redirects=False)
    assert added.status_code == 303, re.findall(r"<code>(.*?)</code>", added.text)
    assert added.headers["location"].startswith("/manage/brands/acme/draft/visit.yaml/form")
    text, revision = _draft_file(server, "admin")
    assert revision == 1 and "bag_shelf_tidy" in text and "Is the bag shelf tidy?" in text
    from server.checklists import parse_brand, parse_checklist

    brand = parse_brand(server.db.execute("SELECT bv.source FROM brands b JOIN brand_versions bv ON bv.brand = b.id AND bv.version = b.current_version").fetchone()[0])
    checklist = parse_checklist(text.encode(), brand, "visit.yaml").checklist
    first_item = checklist.sections[0].items[0]
    assert first_item.weight == 5  # the weight changed in the form
    new = checklist.sections[0].items[-1]
    assert (new.id, new.text, new.weight, type(new).__name__) == ("bag_shelf_tidy", "Is the bag shelf tidy?", 2, "YesNoItem")
    assert server.post("/manage/brands/acme/draft/visit.yaml/form", "manager_r1", data={**form, "action": "save"}).status_code == 403


def test_a_test_audit_is_scored_with_the_draft_shown_to_its_editors_and_never_counted(server):
    from tests.conftest import GOOD_VISIT, audit_body

    text, _ = _draft_file(server, "admin")
    assert server.post("/manage/brands/acme/draft/visit.yaml", "admin", data={"text": text + "# a test\n", "revision": "0"}).status_code == 200
    shown = server.get("/api/drafts/acme", "manager_r1").json()
    visit = next(c for c in shown["checklists"] if c["id"] == "visit")
    assert shown["revision"] == 1 and visit["version"] != server.get("/api/checklists/visit", "auditor_a").json()["version"]
    assert server.get("/api/drafts/acme", "auditor_a").status_code == 403 and server.get("/api/drafts/acme", "staff_l1").status_code == 403
    counted = server.db.execute("SELECT count(*) FROM audits").fetchone()[0]
    rollups = list(server.db.execute("SELECT * FROM rollup_months ORDER BY 1, 2, 3, 4"))
    body = {**audit_body(GOOD_VISIT, location="l1"), "version": visit["version"]}
    made = server.post("/api/drafts/acme/test-audits", "manager_r1", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["score"] == server.post("/api/drafts/acme/test-audits", "manager_r1", json=body).json()["score"]  # the same id: the same answer
    assert server.post("/api/drafts/acme/test-audits", "manager_r1", json=body).status_code == 200
    # never counted: no audit, no rollup, no flag, no action, no delivery
    assert server.db.execute("SELECT count(*) FROM audits").fetchone()[0] == counted
    assert list(server.db.execute("SELECT * FROM rollup_months ORDER BY 1, 2, 3, 4")) == rollups
    assert server.db.execute("SELECT (SELECT count(*) FROM flags) + (SELECT count(*) FROM actions) + (SELECT count(*) FROM deliveries)").fetchone()[0] == 0
    html = server.get("/manage/brands/acme/draft", "admin").text
    page = _text(html)
    assert "Try it on a phone" in page and 'value="http://testserver.local/#/try/acme"' in html and "<svg" in html.split('id="try-title"')[1]
    assert re.search(r"visit manager_r1 \d+\.\d (kept|broken)", page)  # the editor sees its score
    assert server.post("/api/drafts/acme/test-audits", "auditor_a", json={**body, "id": "00000000-0000-4000-8000-000000000001"}).status_code == 403
    stale = server.post("/api/drafts/acme/test-audits", "admin", json={**body, "id": "00000000-0000-4000-8000-000000000002", "version": "0123456789ab"})
    assert stale.status_code == 409 and "changed since this test began" in stale.json()["message"]
    # published: the test audits are gone
    assert server.post("/manage/brands/acme/publish", "admin", data={"note": "", "revision": "1"}).status_code == 200
    assert server.db.execute("SELECT count(*) FROM test_audits").fetchone()[0] == 0


def test_the_brand_form_edits_the_promise_targets_and_rules_with_the_same_checks(server):
    page = server.get("/manage/brands/acme/draft/brand.yaml/form", "admin")
    assert page.status_code == 200
    values = {n: unescape(v) for n, v in re.findall(r'type="text"[^>]*? name="([\w.]+)" value="([^"]*)"', page.text)}
    promise = unescape(page.text.split('name="promise" rows="3">')[1].split("</textarea>")[0])
    form = {**values, "promise": promise, "revision": "0", "actions.owner": "manager"}
    bad = server.post("/manage/brands/acme/draft/brand.yaml/form", "admin", data={**form, "threshold": "120"})
    assert bad.status_code == 422 and re.search(r"acme/brand\.yaml:\d+: threshold: expected a number from 0 to 100", unescape(bad.text)), _text(bad.text)[:600]
    assert server.db.execute("SELECT count(*) FROM drafts").fetchone()[0] == 0
    saved = server.post("/manage/brands/acme/draft/brand.yaml/form", "admin", data={**form, "threshold": "75", "promise": "Every guest feels expected.", "review": "yes"},
                        follow_redirects=False)
    assert saved.status_code == 303
    text = unescape(server.get("/manage/brands/acme/draft/brand.yaml", "admin").text.split('name="text"')[1].split(">", 1)[1].split("</textarea>")[0])
    import msgspec.yaml

    brand = msgspec.yaml.decode(text.encode())
    assert (brand["threshold"], brand["promise"], brand["review"], brand["id"]) == (75, "Every guest feels expected.", True, "acme")
    assert server.post("/manage/brands/acme/draft/brand.yaml/form", "manager_r1", data=form).status_code == 403


def test_a_new_brand_starts_as_a_copy_of_another(server):
    made = server.post("/manage/brands/acme/copy", "admin", data={"id": "acme_outlet", "name": "Acme Outlet"}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/manage/brands/acme_outlet/draft?said=copied"
    brands = {b["id"]: b for b in server.get("/api/brands", "admin").json()}
    assert brands["acme_outlet"]["name"] == "Acme Outlet" and brands["acme_outlet"]["touchpoints"] == brands["acme"]["touchpoints"]
    assert brands["acme_outlet"]["promise"] == brands["acme"]["promise"]
    assert server.db.execute("SELECT via, note FROM brand_versions WHERE brand = 'acme_outlet'").fetchone() == ("browser", "a copy of acme")
    again = server.post("/manage/brands/acme/copy", "admin", data={"id": "acme_outlet", "name": "Twice"})
    assert again.status_code == 422 and "&#39;acme_outlet&#39; is the id of a brand already" in again.text
    assert server.post("/manage/brands/acme/copy", "manager_r1", data={"id": "mine", "name": "Mine"}).status_code == 403


def test_the_brand_files_versions_are_listed_and_an_over_long_file_is_refused_whole(server):
    text, _ = _draft_file(server, "admin", "brand.yaml")
    assert server.post("/manage/brands/acme/draft/brand.yaml", "admin", data={"text": text + "# the brand, again\n", "revision": "0"}).status_code == 200
    assert server.post("/manage/brands/acme/publish", "admin", data={"note": "a brand note", "revision": "1"}).status_code == 200
    listed = _text(server.get("/manage/brands/", "admin").text.split('id="brand-versions-acme"')[1].split("</details>")[0])
    assert "The brand file's 2 versions" in listed and "browser by admin: a brand note" in listed and "current" in listed
    huge = server.post("/manage/brands/acme/draft/visit.yaml", "admin", data={"text": "#" * 1_000_001, "revision": "0"})
    assert huge.status_code == 413 and "a file may hold at most 1,000,000 bytes" in _text(huge.text)
    assert server.db.execute("SELECT count(*) FROM drafts").fetchone()[0] == 0
