"""Locations and regions managed in the browser and the API (issue 25, "places"): the list with its
search, filters and pages; adding, editing and moving a location; deactivating and activating it;
regions made and renamed; the CSV upload; and the history row of every change. Over real HTTP and
a real database."""

import re
from html import unescape

import msgspec

from tests.conftest import GOOD_VISIT, audit_body


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _history(server, kind, subject):
    """The subject's history but the rows of the test's own set-up (its locations imported by nobody)."""
    return [(action, msgspec.json.decode(before) if before else None, msgspec.json.decode(after) if after else None, note, actor)
            for action, before, after, note, actor in server.db.execute(
                "SELECT h.action, h.before, h.after, h.note, u.name FROM history h LEFT JOIN users u ON u.id = h.actor WHERE kind = ? AND subject = ? AND NOT (h.action = 'added' AND h.actor IS NULL) ORDER BY seq",
                [kind, subject])]


def _patch(server, path, persona, body):
    return server.client.patch(path, json=body, headers=server.auth(persona))


# --- the list ------------------------------------------------------------------------------------


def test_the_list_searches_by_id_name_and_address_and_filters_by_region_kind_and_state(server):
    assert server.post("/api/locations", "admin", json=[
        {"id": "harbour", "name": "Harbour Street", "region": "r2", "address": "1 Quay Road, Leith"},
        {"id": "line-2", "name": "Support line", "region": "r2", "kind": "phone", "contact": "+44 20 7946 0000"},
    ]).status_code == 201
    def names(query, persona="admin"):
        page = server.get(f"/manage/locations?{query}", persona)
        assert page.status_code == 200, page.text
        return re.findall(r'<th scope="row"><a href="/manage/locations/[^"]+">([^<]+)</a>', page.text)

    assert names("") == ["Harbour Street", "Shop 1", "Shop 2", "Shop 3", "Shop 4", "Support line"]  # by name
    assert names("q=quay") == ["Harbour Street"]  # the address, any case
    assert names("q=HARB") == ["Harbour Street"]  # the id and the name
    assert names("q=%25") == []  # a LIKE wildcard typed is a character, not "anything"
    assert names("region=r2") == ["Harbour Street", "Shop 4", "Support line"]
    assert names("kind=phone") == ["Support line"]
    assert names("q=shop&region=r1") == ["Shop 1", "Shop 2", "Shop 3"]
    # a manager sees the locations of their regions only, whatever the filter asks
    assert names("", "manager_r1") == ["Shop 1", "Shop 2", "Shop 3"]
    assert names("region=r2", "manager_r1") == []
    assert server.post("/api/locations/l3/deactivate", "admin").status_code == 200
    assert names("region=r1") == ["Shop 1", "Shop 2"]  # active ones by default
    assert names("region=r1&active=no") == ["Shop 3"] and names("region=r1&active=all") == ["Shop 1", "Shop 2", "Shop 3"]
    assert server.get("/manage/locations?active=maybe", "admin").status_code == 400
    assert server.get("/manage/locations?kind=shop", "admin").status_code == 400


def test_the_list_comes_in_pages_of_50(server):
    assert server.post("/api/locations", "admin", json=[{"id": f"p{i:03}", "name": f"Place {i:03}", "region": "r1"} for i in range(120)]).status_code == 201
    first = server.get("/manage/locations?q=place", "admin").text
    assert "120 locations: 1–50" in _text(first) and first.count('<th scope="row">') == 50
    assert 'href="/manage/locations?q=place&amp;active=yes&amp;offset=50" rel="next"' in first and 'rel="prev"' not in first
    last = server.get("/manage/locations?q=place&active=yes&offset=100", "admin").text
    assert "120 locations: 101–120" in _text(last) and last.count('<th scope="row">') == 20
    assert ">Place 100<" in last and ">Place 119<" in last and 'rel="next"' not in last
    assert 'offset=50" rel="prev"' in last


def test_staff_and_auditors_do_not_manage_locations(server):
    assert server.get("/manage/locations", "staff_l1").status_code == 403
    assert server.get("/manage/locations", "auditor_a", follow_redirects=False).status_code == 303
    assert server.post("/api/locations/l1/deactivate", "auditor_a").status_code == 403
    assert _patch(server, "/api/locations/l1", "staff_l1", {"name": "Mine"}).status_code == 403
    assert server.db.execute("SELECT name, deactivated_at FROM locations WHERE id = 'l1'").fetchone() == ("Shop 1", None)


# --- adding and editing ------------------------------------------------------------------------------


def test_a_manager_adds_a_location_in_their_region_with_its_history(server):
    page = server.post("/manage/locations", "manager_r1", data={"id": "dock", "name": "Dock Shop", "region": "r1", "brand": "acme", "kind": "place",
                                                                 "address": "2 Dock Road", "lat": "51.5072", "lng": "-0.1276"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/manage/locations/dock/edit?said=added"
    assert server.get("/api/locations/dock", "manager_r1").json() == {
        "id": "dock", "name": "Dock Shop", "region": "r1", "brand": "acme", "address": "2 Dock Road", "lat": 51.5072, "lng": -0.1276,
        "kind": "place", "contact": "", "deactivated_at": None}
    assert _history(server, "location", "dock") == [("added", None, {"name": "Dock Shop", "region": "r1", "brand": "acme", "address": "2 Dock Road",
                                                                      "lat": 51.5072, "lng": -0.1276, "kind": "place", "contact": ""}, "", "manager_r1")]
    edit = server.get("/manage/locations/dock/edit?said=added", "manager_r1").text
    assert "Done: the location was added." in edit and "added" in _text(edit.split('id="history-title"')[1]) and "manager_r1" in edit


def test_a_refused_location_comes_back_with_each_fields_problem_and_nothing_saved(server):
    typed = {"id": "l1", "name": "", "region": "r2", "brand": "acme", "kind": "phone", "address": "", "lat": "north", "lng": "", "contact": ""}
    page = server.post("/manage/locations", "manager_r1", data=typed)
    assert page.status_code == 422
    html = page.text
    # a number that is not one is refused first (before the rest can be checked); then the name by its declared limit; then the rest, each beside its field
    assert 'id="add-lat-problem">expected a number of degrees, such as 51.5072, got &#39;north&#39;</span>' in html
    typed["lat"] = "51.5"
    page = server.post("/manage/locations", "manager_r1", data=typed)
    assert page.status_code == 422 and 'id="add-name-problem"' in page.text
    typed["name"] = "Copy"
    page = server.post("/manage/locations", "manager_r1", data=typed)
    html, text = page.text, _text(page.text)
    assert page.status_code == 422
    assert 'id="add-id-problem">&#39;l1&#39; is the id of a location already: choose another</span>' in html
    assert 'id="add-region-problem">region &#39;r2&#39; is not one of yours</span>' in html
    assert "a phone channel has no GPS position" in text and "a phone channel needs its number in contact" in text
    assert 'value="Copy"' in html and 'name="lat" placeholder="51.5072" value="51.5" aria-invalid="true"' in html  # what was typed is kept
    assert server.db.execute("SELECT name FROM locations WHERE id = 'l1'").fetchone() == ("Shop 1",)
    assert server.db.execute("SELECT count(*) FROM history WHERE kind = 'location' AND action = 'added' AND actor IS NOT NULL").fetchone()[0] == 0
    reserved = server.post("/manage/locations", "admin", data={**typed, "id": "import", "region": "r1", "kind": "place", "lat": "", "contact": ""})
    assert reserved.status_code == 422 and "is taken by a page&#39;s address" in reserved.text


def test_editing_a_location_by_the_api_and_the_page_writes_before_and_after(server):
    changed = _patch(server, "/api/locations/l2", "manager_r1", {"name": "Shop Two", "address": "9 High St", "lat": 55.95, "lng": -3.19})
    assert changed.status_code == 200, changed.text
    assert changed.json() | {} == {**changed.json(), "name": "Shop Two", "address": "9 High St", "lat": 55.95, "lng": -3.19, "region": "r1"}
    assert _history(server, "location", "l2") == [
        ("edited", {"name": "Shop 2", "address": "", "lat": None, "lng": None}, {"name": "Shop Two", "address": "9 High St", "lat": 55.95, "lng": -3.19}, "", "manager_r1")]
    # the page: clearing the position and making it a phone line (no position, a number)
    form = {"name": "Shop Two", "region": "r1", "brand": "acme", "kind": "phone", "address": "", "lat": "", "lng": "", "contact": "+44 131 496 0000"}
    saved = server.post("/manage/locations/l2/edit", "manager_r1", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/manage/locations/l2/edit?said=saved"
    assert _history(server, "location", "l2")[-1][:3] == ("edited", {"address": "9 High St", "lat": 55.95, "lng": -3.19, "kind": "place", "contact": ""},
                                                           {"address": "", "lat": None, "lng": None, "kind": "phone", "contact": "+44 131 496 0000"})
    # nothing changed: no history row
    assert server.post("/manage/locations/l2/edit", "manager_r1", data=form, follow_redirects=False).status_code == 303
    assert len(_history(server, "location", "l2")) == 2
    # the edit page shows the history
    page = _text(server.get("/manage/locations/l2/edit", "manager_r1").text)
    assert "History" in page and page.count("manager_r1") >= 2 and "+44 131 496 0000" in page
    # refused: the form again, with the field's problem
    bad = server.post("/manage/locations/l2/edit", "manager_r1", data={**form, "contact": ""})
    assert bad.status_code == 422 and 'id="edit-contact-problem">a phone channel needs its number in contact</span>' in bad.text
    assert _patch(server, "/api/locations/l2", "manager_r1", {"kind": "fax"}).json()["problems"] == [{"field": "kind", "message": "expected one of place, phone, website, chat, email, got 'fax'"}]
    assert _patch(server, "/api/locations/l2", "manager_r1", {"colour": "red"}).status_code == 400  # an unknown field is a typo
    assert _patch(server, "/api/locations/nowhere", "admin", {"name": "X"}).status_code == 404


def test_a_brand_stays_once_a_location_is_audited(tmp_path):
    from litestar.testing import TestClient

    from server.app import create_app
    from tests.conftest import BRAND_YAML, Server, make_server_files, seed, write_brand

    settings = make_server_files(tmp_path)
    write_brand(settings.checklists, {"brand.yaml": BRAND_YAML.replace("id: acme", "id: other").replace("Acme Stores", "Other"),
                                      "visit.yaml": open(settings.checklists / "acme" / "visit.yaml").read(),
                                      "call.yaml": open(settings.checklists / "acme" / "call.yaml").read()}, "other")
    db, tokens = seed(settings)
    with TestClient(create_app(settings)) as client:
        server = Server(client, settings, db, tokens)
        assert server.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT, location="l1")).status_code == 201
        refused = _patch(server, "/api/locations/l1", "admin", {"brand": "other"})
        assert refused.status_code == 422 and refused.json()["problems"] == [
            {"field": "brand", "message": "it has 1 audit against brand 'acme': a location keeps its brand once audited"}]
        assert _patch(server, "/api/locations/l2", "admin", {"brand": "other"}).json()["brand"] == "other"  # never audited
    db.conn.close()


def test_a_manager_never_moves_a_location_outside_their_regions(server):
    refused = _patch(server, "/api/locations/l1", "manager_r1", {"region": "r2"})
    assert refused.status_code == 422 and refused.json()["problems"] == [{"field": "region", "message": "region 'r2' is not one of yours"}]
    assert _patch(server, "/api/locations/l4", "manager_r1", {"name": "Theirs"}).status_code == 403  # not theirs to edit at all
    assert server.get("/manage/locations/l4/edit", "manager_r1").status_code == 403
    assert _patch(server, "/api/locations/l1", "admin", {"region": "r9"}).json()["problems"] == [{"field": "region", "message": "no region 'r9': an admin makes it first"}]
    assert server.db.execute("SELECT region FROM locations WHERE id = 'l1'").fetchone() == ("r1",)


# --- moving: past audits move with the location --------------------------------------------------------


def test_a_moved_location_takes_its_past_audits_to_its_new_region(server):
    """Worked by hand: a call audit scores 100 (sorted on the first call) or 0. l1 (r1) 100, l2 (r1) 0,
    l4 (r2) 100. A region's score is the mean of its audited locations' scores: r1 = (100 + 0) / 2 = 50,
    r2 = 100. Moving l2 to r2: r1 = 100 (l1 alone), r2 = (100 + 0) / 2 = 50, and l2's audit is counted
    in r2 now, where its follow-up action went too."""
    for persona, location, answer in (("auditor_a", "l1", "yes"), ("auditor_a", "l2", "no"), ("auditor_b", "l4", "yes")):
        assert server.post("/api/audits", persona, json=audit_body({"q": answer}, location=location, checklist="call")).status_code == 201

    def score(region):
        found = server.get(f"/api/regions/{region}/summary", "admin").json()
        return found["score"], [(r["location"], r["n"]) for r in found["ranking"] if r["n"]]

    assert score("r1") == (50.0, [("l1", 1), ("l2", 1)]) and score("r2") == (100.0, [("l4", 1)])
    moved = _patch(server, "/api/locations/l2", "admin", {"region": "r2"})
    assert moved.status_code == 200 and moved.json()["region"] == "r2"
    assert score("r1") == (100.0, [("l1", 1)]) and (score("r2")[0], sorted(score("r2")[1])) == (50.0, [("l2", 1), ("l4", 1)])
    assert _history(server, "location", "l2") == [("moved", {"region": "r1"}, {"region": "r2"}, "", "admin")]
    # its managers follow: r2's manager now sees l2 and its audit; r1's no longer
    assert server.get("/api/locations/l2", "manager_r2").status_code == 200 and server.get("/api/locations/l2", "manager_r1").status_code == 403
    assert server.db.execute("SELECT DISTINCT region FROM actions WHERE location = 'l2'").fetchall() in ([], [("r2",)])


def test_the_page_says_a_move_and_the_import_moves_too(server):
    moved = server.post("/manage/locations/l3/edit", "admin", data={"name": "Shop 3", "region": "r2", "brand": "acme", "kind": "place"}, follow_redirects=False)
    assert moved.headers["location"] == "/manage/locations/l3/edit?said=moved"
    assert "Done: the location was moved to its new region, its audits with it." in server.get(moved.headers["location"], "admin").text
    assert server.post("/api/locations", "admin", json=[{"id": "l3", "name": "Shop 3", "region": "r1"}]).json() == {"imported": 1, "added": 0, "updated": 1}
    assert [h[:3] for h in _history(server, "location", "l3")] == [("moved", {"region": "r1"}, {"region": "r2"}), ("moved", {"region": "r2"}, {"region": "r1"})]
    assert _history(server, "location", "l3")[-1][3] == "by an import"


def test_a_deactivated_location_takes_no_new_visit_and_keeps_its_audits(server):
    """Deactivating: auditors no longer get it, its open visits are cancelled with the note, no visit is
    planned there, its audits and history stay; an audit done there on a phone that had not heard yet
    still arrives (nothing an auditor did is lost). Activating opens it again."""
    done_before = audit_body(GOOD_VISIT, location="l1")
    assert server.post("/api/audits", "auditor_a", json=done_before).status_code == 201
    planned = [server.post("/api/assignments", "admin", json={"location": "l1", "touchpoints": ["visit"], "starts": "2027-01-04", "ends": "2027-01-08"}).json()["id"]
               for _ in range(2)]
    assert "l1" in [p["id"] for p in server.get("/api/locations", "auditor_a").json()]
    page = server.post("/manage/locations/l1/deactivate", "manager_r1", data={"note": "closed for a refit"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/manage/locations/l1/edit?said=deactivated+2"
    assert "Done: the location is deactivated and 2 open assignments there were cancelled." in _text(server.get(page.headers["location"], "manager_r1").text)
    assert "l1" not in [p["id"] for p in server.get("/api/locations", "auditor_a").json()]  # the app no longer offers it
    assert "l1" in [p["id"] for p in server.get("/api/locations", "manager_r1").json()]  # managers still see it, and its figures
    for assignment in planned:
        assert server.db.execute("SELECT cancelled_at IS NOT NULL FROM assignments WHERE id = ?", [assignment]).fetchone() == (1,)
        assert _history(server, "assignment", assignment)[-1] == ("cancelled", {"cancelled": False}, {"cancelled": True}, "its location l1 was deactivated: closed for a refit", "manager_r1")
    again = server.post("/api/assignments", "admin", json={"location": "l1", "touchpoints": ["visit"], "starts": "2027-02-01", "ends": "2027-02-05"})
    assert again.status_code == 422 and "was deactivated on" in again.json()["problems"][0]["message"]
    late = audit_body(GOOD_VISIT, location="l1")
    assert server.post("/api/audits", "auditor_a", json=late).status_code == 201
    assert server.get(f"/api/audits/{done_before['id']}", "manager_r1").status_code == 200
    assert server.post("/api/locations/l1/deactivate", "admin").status_code == 409
    assert _history(server, "location", "l1") == [("deactivated", {"active": True}, {"active": False}, "closed for a refit", "manager_r1")]
    assert server.post("/api/locations/l1/activate", "manager_r1").json()["deactivated_at"] is None
    assert "l1" in [p["id"] for p in server.get("/api/locations", "auditor_a").json()]
    assert server.db.execute("SELECT count(*) FROM assignments WHERE location = 'l1' AND cancelled_at IS NULL").fetchone()[0] == 0  # they stay cancelled
    assert _history(server, "location", "l1")[-1] == ("activated", {"active": False}, {"active": True}, "", "manager_r1")


def test_regions_are_made_and_renamed_by_admins_with_their_history(server):
    made = server.post("/manage/regions", "admin", data={"id": "coast", "name": "The Coast"}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/manage/locations?said=region_made"
    assert {"id": "coast", "name": "The Coast"}.items() <= next(r for r in server.get("/api/regions", "admin").json() if r["id"] == "coast").items()
    again = server.post("/manage/regions", "admin", data={"id": "coast", "name": "Another"})
    assert again.status_code == 422 and "&#39;coast&#39; is the id of a region already: choose another" in again.text
    assert server.post("/api/regions", "admin", json={"id": "coast", "name": "Another"}).status_code == 422
    renamed = server.post("/manage/regions/coast/rename", "admin", data={"name": "Coast and Islands"}, follow_redirects=False)
    assert renamed.status_code == 303
    assert server.client.patch("/api/regions/coast", json={"name": "Coast & Isles"}, headers=server.auth("admin")).json()["name"] == "Coast & Isles"
    assert server.client.patch("/api/regions/nowhere", json={"name": "X"}, headers=server.auth("admin")).status_code == 404
    assert server.post("/manage/regions", "manager_r1", data={"id": "mine", "name": "Mine"}).status_code == 403  # only admins make regions
    assert server.db.execute("SELECT count(*) FROM regions WHERE id = 'mine'").fetchone()[0] == 0
    assert _history(server, "region", "coast") == [("made", None, {"id": "coast", "name": "The Coast"}, "", "admin"),
                                                   ("renamed", {"name": "The Coast"}, {"name": "Coast and Islands"}, "", "admin"),
                                                   ("renamed", {"name": "Coast and Islands"}, {"name": "Coast & Isles"}, "", "admin")]


def test_the_upload_in_the_browser_has_exactly_the_command_lines_problems_and_imports_all_or_nothing(server, tmp_path, monkeypatch, capsys):
    from server import cli

    bad = "id,name,region,lat,lng\nnew1,New One,r1,51.5,-0.1\nnew2,,r1,,\nnew1,Twice,r2,,\nnew3,Far,r1,95,0\n"
    page = server.post("/manage/locations/import", "admin", files={"file": ("places.csv", bad.encode(), "text/csv")})
    assert page.status_code == 422 and "Nothing was imported: correct the" in page.text
    shown = [tuple(unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<td>(.*?)</td>", row))
             for row in re.findall(r"<tr>(.*?)</tr>", page.text.split('id="problems"')[1].split("</table>")[0])[1:]]
    (tmp_path / "places.csv").write_text(bad)
    code = cli.main(["locations", "import", str(tmp_path / "places.csv"), "--data", str(server.settings.data), "--checklists", str(server.settings.checklists)])
    told = capsys.readouterr().err.splitlines()
    assert code == 2 and told[-1] == "nothing was imported"
    printed = [re.match(r".*places\.csv: line (\d+) (\w*): (.*)$", line).groups() for line in told[:-1]]
    assert shown == printed  # the same problems, in the same order
    assert [p[:2] for p in shown] == [("3", "name"), ("4", "id"), ("5", "lat")]
    assert server.db.execute("SELECT count(*) FROM locations WHERE id LIKE 'new%'").fetchone()[0] == 0
    good = "id,name,region\nnew1,New One,r1\nl2,Shop Two,r1\n"
    done = server.post("/manage/locations/import", "admin", files={"file": ("places.csv", good.encode(), "text/csv")})
    assert done.status_code == 200 and "Done: 2 locations imported: 1 added, 1 updated." in _text(done.text)
    assert server.post("/manage/locations/import", "admin", files={"file": ("places.csv", "\xff\xfe".encode("latin-1"), "text/csv")}).status_code == 422
    assert server.post("/manage/locations/import", "manager_r1", files={"file": ("places.csv", good.encode(), "text/csv")}).status_code == 403
