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
    assert "Done: the draft is saved" in draft and "visit.yaml changed" in draft and "1 file changed: visit.yaml" in draft
    assert server.get("/api/checklists/visit", "auditor_a").json()["version"] == before
    # a second editor who opened revision 0 is told, and keeps their text
    clash = server.post("/manage/brands/acme/draft/visit.yaml", "admin", data={"text": text + "# mine\n", "revision": "0"})
    assert clash.status_code == 409 and "the draft changed since you opened it: saved by admin" in _text(clash.text) and "# mine" in clash.text
    # managers read, never save or publish
    assert server.post("/manage/brands/acme/draft/visit.yaml", "manager_r1", data={"text": text, "revision": "1"}).status_code == 403
    assert server.post("/manage/brands/acme/publish", "manager_r1", data={"note": "x", "revision": "1"}).status_code == 403
    # published with a note: current for everyone at once, the draft gone, the history written
    done = server.post("/manage/brands/acme/publish", "admin", data={"note": "the greeting weighs more", "revision": "1"}, follow_redirects=False)
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
