"""Assignments over real HTTP and a real database: planning, states, claims (first wins), audits made
for them, CSV import all-or-nothing, repeating schedules, and the history of each change."""

import datetime as dt

from tests.conftest import GOOD_VISIT, STAFF, audit_body

TODAY = dt.date.today()


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def plan(server, persona="manager_r1", **fields):
    body = {"location": "l1", "touchpoints": ["visit"], "starts": day(-1), "ends": day(5), **fields}
    return server.post("/api/assignments", persona, json=body)


def test_states_follow_the_window(server):
    made = {name: plan(server, starts=s, ends=e).json() for name, s, e in
            [("planned", day(3), day(9)), ("due", day(-2), day(2)), ("overdue", day(-9), day(-1))]}
    assert {name: a["state"] for name, a in made.items()} == {"planned": "planned", "due": "due", "overdue": "overdue"}
    listed = server.get("/api/assignments", "auditor_a").json()
    assert [a["state"] for a in listed] == ["overdue", "due", "planned"]  # due soonest first
    cancelled = server.post(f"/api/assignments/{made['planned']['id']}/cancel", "manager_r1")
    assert cancelled.json()["state"] == "cancelled"
    assert server.post(f"/api/assignments/{made['planned']['id']}/cancel", "manager_r1").status_code == 409
    assert [a["state"] for a in server.get("/api/assignments", "auditor_a").json()] == ["overdue", "due"]
    assert [a["state"] for a in server.get("/api/assignments?state=cancelled", "admin").json()] == ["cancelled"]


def test_bad_plans_name_the_field(server):
    bad = plan(server, touchpoints=["visit", "bathroom"], starts=day(3), ends=day(1), auditor="manager_r2")
    assert bad.status_code == 422
    fields = {p["field"] for p in bad.json()["problems"]}
    assert fields == {"touchpoints", "ends", "auditor"}
    assert plan(server, location="l4").status_code == 403  # manager_r1 does not plan region r2
    assert plan(server, persona="auditor_a").status_code == 403
    assert server.get("/api/assignments", STAFF).status_code == 403  # staff never learn of a planned visit


def test_first_claim_wins(server):
    open_one = plan(server, persona="manager_r2", location="l4").json()
    assert server.get(f"/api/assignments/{open_one['id']}", "auditor_b").json()["auditor"] is None
    taken = server.post(f"/api/assignments/{open_one['id']}/claim", "auditor_b")
    assert taken.status_code == 200 and taken.json()["auditor"] == "auditor_b"
    assert server.post(f"/api/assignments/{open_one['id']}/claim", "auditor_b").status_code == 200  # sent twice from a phone: harmless
    late = server.post(f"/api/assignments/{open_one['id']}/claim", "auditor_a")
    assert late.status_code == 409 and late.json()["message"] == "already claimed"
    managed = server.post(f"/api/assignments/{open_one['id']}/claim", "manager_r2", json={"auditor": "auditor_a"})
    assert managed.status_code == 409 and managed.json()["message"] == "already claimed by auditor_b"
    # an auditor of region r2 only never sees region r1's open visits
    r1 = plan(server).json()
    assert server.post(f"/api/assignments/{r1['id']}/claim", "auditor_b").status_code == 404
    assert server.get(f"/api/assignments/{r1['id']}", "auditor_b").status_code == 404


def test_an_auditor_lists_only_the_open_visits_they_may_claim(server):
    """The app's start screen shows what this listing holds (issue 23): an auditor of region r2 gets
    their own visits and r2's open ones, never r1's they could not claim; an auditor given no region
    works in all of them, so gets every open one."""
    r1_open, r2_open = plan(server).json()["id"], plan(server, persona="manager_r2", location="l4").json()["id"]
    assert plan(server, auditor="auditor_b").status_code == 422
    r2_theirs = plan(server, persona="manager_r2", location="l4", auditor="auditor_b").json()["id"]
    listed = {a["id"] for a in server.get("/api/assignments", "auditor_b").json()}
    assert {r2_open, r2_theirs} <= listed and r1_open not in listed
    assert all(a["region"] == "r2" for a in server.get("/api/assignments", "auditor_b").json())
    everywhere = {a["id"] for a in server.get("/api/assignments", "auditor_a").json()}
    assert {r1_open, r2_open} <= everywhere and r2_theirs not in everywhere  # another auditor's visit stays theirs


def test_an_audit_made_for_it_claims_and_completes_it(reviewing):
    a = plan(reviewing, touchpoints=["visit", "call"]).json()
    wrong = reviewing.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT, location="l2", assignment=a["id"]))
    assert wrong.status_code == 422 and wrong.json()["problems"][0]["field"] == "assignment"
    visit = audit_body(GOOD_VISIT, assignment=a["id"])
    stored = reviewing.post("/api/audits", "auditor_a", json=visit)
    assert stored.status_code == 201 and stored.json()["assignment"] == a["id"]
    now = reviewing.get(f"/api/assignments/{a['id']}", "manager_r1").json()
    assert (now["auditor"], now["state"], now["audits"]) == ("auditor_a", "due", [visit["id"]])
    other = reviewing.post("/api/audits", "admin", json=audit_body({"q": "yes"}, checklist="call", assignment=a["id"]))
    assert other.status_code == 409  # held by auditor_a now
    call = audit_body({"q": "yes"}, checklist="call", assignment=a["id"])
    assert reviewing.post("/api/audits", "auditor_a", json=call).status_code == 201
    assert reviewing.get(f"/api/assignments/{a['id']}", "manager_r1").json()["state"] == "done"
    assert reviewing.post(f"/api/audits/{call['id']}/review", "manager_r1", json={"action": "reject", "note": "not a real call"}).status_code == 200
    assert reviewing.get(f"/api/assignments/{a['id']}", "manager_r1").json()["state"] == "due"  # a rejection reopens it
    log = reviewing.get(f"/api/assignments/{a['id']}/history", "admin").json()
    assert [(e["action"], e["actor"]) for e in log] == [("planned", "manager_r1"), ("claimed", "auditor_a"), ("done", None), ("reopened", None)]
    assert reviewing.get(f"/api/assignments/{a['id']}/history", "manager_r1").status_code == 403


CSV_GOOD = f"""location,touchpoints,starts,ends,auditor,announced,note
l1,visit call,{day(1)},{day(7)},auditor_a,no,Ask about the returns desk
l2,visit,{day(1)},{day(7)},,yes,
"""
CSV_BAD = f"""location,touchpoints,starts,ends,auditor,announced,note
l1,visit,{day(1)},{day(7)},,,
l9,visit,{day(1)},{day(7)},,,
l2,bathroom,someday,{day(7)},,maybe,
"""


def test_csv_import_is_all_or_nothing(server):
    csv_headers = {"Content-Type": "text/csv"}
    refused = server.post("/api/assignments/import", "manager_r1", content=CSV_BAD.encode(), headers=csv_headers)
    assert refused.status_code == 422
    named = {(p["line"], p.get("field")) for p in refused.json()["problems"]}
    assert named == {(3, "location"), (4, "starts"), (4, "announced")}
    assert server.get("/api/assignments", "admin").json() == []  # row 2 was sound, and nothing was imported
    made = server.post("/api/assignments/import", "manager_r1", content=CSV_GOOD.encode(), headers=csv_headers)
    assert made.status_code == 201 and made.json()["made"] == 2
    rows = {a["location"]: a for a in server.get("/api/assignments", "admin").json()}
    assert rows["l1"]["touchpoints"] == ["visit", "call"] and rows["l1"]["auditor"] == "auditor_a" and rows["l1"]["note"] == "Ask about the returns desk"
    assert rows["l2"]["auditor"] is None and rows["l2"]["announced"] is True
    header = server.post("/api/assignments/import", "manager_r1", content=b"place,when\nl1,x\n", headers=csv_headers)
    assert header.status_code == 422 and header.json()["problems"][0]["line"] == 1


def test_schedules_repeat_for_every_location(server):
    monthly = server.post("/api/schedules", "manager_r1", json={"region": "r1", "touchpoints": ["visit"], "every": "month", "first": "2027-01-15", "periods": 3})
    assert monthly.status_code == 201 and monthly.json()["made"] == 9  # 3 locations x 3 months
    found = server.get("/api/assignments?state=planned", "manager_r1").json()
    windows = sorted({(a["starts"], a["ends"]) for a in found})
    assert windows == [("2027-01-01", "2027-01-31"), ("2027-02-01", "2027-02-28"), ("2027-03-01", "2027-03-31")]
    quarterly = server.post("/api/schedules", "manager_r1", json={"region": "r1", "touchpoints": ["call"], "every": "quarter", "day": "random", "first": "2027-05-02", "periods": 2}).json()
    drawn = [a for a in server.get("/api/assignments?state=planned", "manager_r1").json() if a["schedule"] == quarterly["id"]]
    assert len(drawn) == 6
    for a in drawn:
        assert a["starts"] == a["ends"]  # one random day ...
        assert "2027-04-01" <= a["starts"] <= "2027-06-30" or "2027-07-01" <= a["starts"] <= "2027-09-30"  # ... inside its quarter
    assert server.post("/api/schedules", "manager_r1", json={"region": "r2", "touchpoints": ["visit"], "every": "month", "first": "2027-01-01"}).status_code == 403
    cancelled = server.post(f"/api/schedules/{quarterly['id']}/cancel", "manager_r1")
    assert cancelled.json() == {"cancelled": 6}
