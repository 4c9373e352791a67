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
    server.db.conn.commit()
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
