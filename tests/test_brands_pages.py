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
