"""Review before an audit counts, over real HTTP and a real database: every transition, corrections,
the history each writes, the queue, role denials, and figures that always equal a recomputation
from the counting audits (a property-based test over random sequences of reviewer actions).

Scores are worked out by hand: GOOD_VISIT earns 7.75 of 9 points (greet 2, wait 3 minutes 0.5,
tidy 4 of 1-5 0.75, not transferred 1, resolved 3, callback 0.5); wait 1 minute earns 1 instead
of 0.5 (8.25 / 9); greet "no" earns 0 instead of 2 (5.75 / 9).
"""


import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import GOOD_VISIT, STAFF, audit_body
from tests.engine import IntegrityError

GOOD = 7.75 / 9 * 100
FASTER = 8.25 / 9 * 100
RUDE = 5.75 / 9 * 100


def summary(server, location="l1"):
    return server.get(f"/api/locations/{location}/summary", "admin").json()


def submit(server, answers=GOOD_VISIT, persona="auditor_a", **extra):
    body = audit_body(answers, **extra)
    response = server.post("/api/audits", persona, json=body)
    assert response.status_code == 201, response.text
    return body


def review(server, audit_id, action, persona="manager_r1", **extra):
    return server.post(f"/api/audits/{audit_id}/review", persona, json={"action": action, **extra})


def actions(server, audit_id):
    return [e["action"] for e in server.get(f"/api/audits/{audit_id}/history", "admin").json()]


def test_submitted_waits_then_approved_counts(reviewing):
    body = submit(reviewing)
    stored = reviewing.get(f"/api/audits/{body['id']}", "auditor_a").json()
    assert (stored["status"], stored["counts"]) == ("submitted", False)
    assert summary(reviewing)["n"] == 0  # waiting for review: in no figure
    approved = review(reviewing, body["id"], "approve")
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["counts"]) == ("approved", True)
    s = summary(reviewing)
    assert s["n"] == 1 and s["score"] == pytest.approx(GOOD)
    again = review(reviewing, body["id"], "approve")
    assert again.status_code == 409 and "approved" in again.json()["message"]
    assert actions(reviewing, body["id"]) == ["submitted", "approved"]


def test_rejected_never_counts(reviewing):
    body = submit(reviewing)
    missing = review(reviewing, body["id"], "reject")
    assert missing.status_code == 422 and missing.json()["problems"][0]["field"] == "note"
    assert review(reviewing, body["id"], "reject", note="The shop was closed that day: invented visit").status_code == 200
    assert summary(reviewing)["n"] == 0
    late = review(reviewing, body["id"], "approve")
    assert late.status_code == 409 and "rejected" in late.json()["message"]
    history = reviewing.get(f"/api/audits/{body['id']}/history", "admin").json()
    assert history[-1]["action"] == "rejected" and history[-1]["actor"] == "manager_r1"
    assert history[-1]["before"] == {"status": "submitted", "counts": False}
    assert history[-1]["after"] == {"status": "rejected", "counts": False}
    assert history[-1]["note"] == "The shop was closed that day: invented visit"


def test_returned_fixed_resent_and_approved(reviewing):
    body = submit(reviewing)
    review(reviewing, body["id"], "approve")
    assert summary(reviewing)["n"] == 1
    back = review(reviewing, body["id"], "return", note="Wait time looks wrong: check your notes")
    assert back.status_code == 200 and back.json()["status"] == "returned"
    assert summary(reviewing)["n"] == 0  # a counted audit taken out when returned
    mine = reviewing.get(f"/api/audits/{body['id']}", "auditor_a").json()
    assert mine["review_note"] == "Wait time looks wrong: check your notes"
    listed = reviewing.get("/api/audits?status=returned", "auditor_a").json()["items"]
    assert [a["id"] for a in listed] == [body["id"]]
    # a plain retry of revision 1 is not a resubmission
    retry = reviewing.post("/api/audits", "auditor_a", json=body)
    assert retry.status_code == 200 and retry.json()["status"] == "returned"
    fixed = {**body, "revision": 2, "answers": {**body["answers"], "wait": {"value": 1}}, "finished_at": "2026-03-01T10:40:00+00:00"}
    resent = reviewing.post("/api/audits", "auditor_a", json=fixed)
    assert resent.status_code == 201, resent.text
    assert (resent.json()["status"], resent.json()["revision"], resent.json()["id"]) == ("submitted", 2, body["id"])
    assert reviewing.post("/api/audits", "auditor_a", json=fixed).status_code == 200  # its retry
    assert summary(reviewing)["n"] == 0
    assert review(reviewing, body["id"], "approve").status_code == 200
    s = summary(reviewing)
    assert s["n"] == 1 and s["score"] == pytest.approx(FASTER)
    assert actions(reviewing, body["id"]) == ["submitted", "approved", "returned", "resubmitted", "approved"]
    resubmitted = reviewing.get(f"/api/audits/{body['id']}/history", "admin").json()[3]
    assert resubmitted["before"]["answers"]["wait"] == 3 and resubmitted["after"]["revision"] == 2


def test_resubmission_rules(reviewing):
    body = submit(reviewing)
    early = reviewing.post("/api/audits", "auditor_a", json={**body, "revision": 2})
    assert early.status_code == 409 and "submitted" in early.json()["message"]
    review(reviewing, body["id"], "return", note="Add the mood")
    moved = reviewing.post("/api/audits", "auditor_a", json={**body, "revision": 2, "location": "l2"})
    assert moved.status_code == 409 and "keeps its location" in moved.json()["message"]
    other = reviewing.post("/api/audits", "auditor_b", json={**body, "revision": 2})
    assert other.status_code in (403, 409)  # auditor_b works in r2 only; the id is auditor_a's anyway


def test_corrections_rescore_and_keep_both(reviewing):
    body = submit(reviewing)
    no_reason = review(reviewing, body["id"], "correct", corrections=[{"item": "greet", "value": "no", "reason": " "}])
    assert no_reason.status_code == 422 and no_reason.json()["problems"][0]["item"] == "greet"
    bad_value = review(reviewing, body["id"], "correct", corrections=[{"item": "greet", "value": "maybe", "reason": "photo"}])
    assert bad_value.status_code == 422 and bad_value.json()["problems"][0]["item"] == "greet"
    unknown = review(reviewing, body["id"], "correct", corrections=[{"item": "smile", "value": "no", "reason": "photo"}])
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["item"] == "smile"
    done = review(reviewing, body["id"], "approve", corrections=[{"item": "greet", "value": "no", "reason": "The photo shows nobody at the door"}])
    assert done.status_code == 200, done.text
    assert done.json()["result"]["score"] == pytest.approx(RUDE)
    assert summary(reviewing)["score"] == pytest.approx(RUDE)
    seen = reviewing.get(f"/api/audits/{body['id']}", "auditor_a").json()
    assert seen["answers"]["greet"]["value"] == "no"
    [change] = seen["corrections"]
    assert (change["item"], change["original"], change["corrected"], change["reason"], change["by"]) == ("greet", "yes", "no", "The photo shows nobody at the door", "manager_r1")
    assert reviewing.get("/api/audits", "auditor_a").json()["items"][0]["corrections"] == 1
    # an approved audit corrected back: it is rescored and its figures follow
    assert review(reviewing, body["id"], "correct", corrections=[{"item": "greet", "value": "yes", "reason": "Second photo: greeted"}]).status_code == 200
    assert summary(reviewing)["score"] == pytest.approx(GOOD)
    assert actions(reviewing, body["id"]) == ["submitted", "corrected", "approved", "corrected"]


def test_who_may_review(reviewing):
    body = submit(reviewing)
    assert review(reviewing, body["id"], "approve", persona="auditor_a").status_code == 403
    assert review(reviewing, body["id"], "approve", persona="manager_r2").status_code == 403  # another region's audit
    assert review(reviewing, body["id"], "approve", persona=STAFF).status_code == 403
    own = submit(reviewing, persona="admin")
    assert review(reviewing, own["id"], "approve", persona="admin").status_code == 403  # nobody reviews their own
    assert reviewing.get(f"/api/audits/{body['id']}/history", "manager_r1").status_code == 403
    assert reviewing.get("/api/review", "auditor_a").status_code == 403


def test_queue_oldest_first_filtered_and_bulk(reviewing):
    first = submit(reviewing)
    second = submit(reviewing, location="l2")
    critical = submit(reviewing, {**GOOD_VISIT, "resolved": "no"}, location="l2")
    theirs = submit(reviewing, persona="auditor_b", location="l4")
    queue = reviewing.get("/api/review", "manager_r1").json()
    assert [a["id"] for a in queue["items"]] == [first["id"], second["id"], critical["id"]] and queue["total"] == 3
    assert [a["clean"] for a in queue["items"]] == [True, True, False]
    assert [a["id"] for a in reviewing.get("/api/review?location=l2", "manager_r1").json()["items"]] == [second["id"], critical["id"]]
    assert [a["id"] for a in reviewing.get("/api/review", "manager_r2").json()["items"]] == [theirs["id"]]
    bulk = reviewing.post("/api/review/approve", "manager_r1", json={"audits": [first["id"], second["id"], theirs["id"]]}).json()
    assert bulk["approved"] == [first["id"], second["id"]]
    assert bulk["refused"][0]["field"] == theirs["id"] and "region" in bulk["refused"][0]["message"]
    assert [a["id"] for a in reviewing.get("/api/review", "manager_r1").json()["items"]] == [critical["id"]]


def test_review_off_counts_at_once(server):
    body = submit(server)
    assert server.get(f"/api/audits/{body['id']}", "auditor_a").json()["counts"] is True
    assert summary(server)["n"] == 1
    assert review(server, body["id"], "return", note="Photo missing").status_code == 200
    assert summary(server)["n"] == 0  # returning a counted audit takes it out, review or not


def test_history_is_append_only(reviewing):
    body = submit(reviewing)
    db = reviewing.db
    with pytest.raises(IntegrityError, match="append-only"):
        db.execute("UPDATE history SET note = 'edited' WHERE subject = ?", [body["id"]])
    with pytest.raises(IntegrityError, match="append-only"):
        db.execute("DELETE FROM history")


# --- figures always equal a recomputation from the counting audits --------------------------

VARIANTS = [GOOD_VISIT, {**GOOD_VISIT, "wait": 1}, {**GOOD_VISIT, "greet": "no"}, {**GOOD_VISIT, "resolved": "no"}, {**GOOD_VISIT, "tidy": 1}]
STEP = st.one_of(
    st.tuples(st.just("submit"), st.integers(0, len(VARIANTS) - 1), st.sampled_from(["l1", "l2"]), st.integers(1, 4)),
    st.tuples(st.sampled_from(["approve", "return", "reject"]), st.integers(0, 20)),
    st.tuples(st.just("resubmit"), st.integers(0, 20), st.integers(0, len(VARIANTS) - 1)),
    st.tuples(st.just("correct"), st.integers(0, 20), st.sampled_from([("greet", "no"), ("greet", "yes"), ("wait", 9), ("resolved", "no")])),
)


def recomputed(db) -> dict:
    """Per location and touchpoint/pillar: n, sum of scores, sum of squares, promises kept — from the
    counting audits themselves; and per item: scored answers, failures, points lost."""
    found = {}
    for location, checklist, n, total, total_sq, kept in db.execute(
            "SELECT location, checklist, COUNT(*), SUM(score), SUM(score * score), SUM(promise_kept) FROM audits WHERE counts = 1 AND score IS NOT NULL GROUP BY location, checklist"):
        found[(location, "t", checklist)] = (n, total, total_sq, kept)
    for location, pillar, n, total, total_sq, kept in db.execute(
            """SELECT a.location, p.pillar, COUNT(*), SUM(p.score), SUM(p.score * p.score), SUM(a.promise_kept) FROM audits a JOIN audit_pillars p ON p.audit = a.seq
               WHERE a.counts = 1 AND a.score IS NOT NULL AND p.score IS NOT NULL GROUP BY a.location, p.pillar"""):
        found[(location, "p", pillar)] = (n, total, total_sq, kept)
    return found


def rolled_up(db) -> dict:
    """The same read from the rollups (all days: the last cumulative row of each key)."""
    found = {}
    for location, kind, key, n, total, total_sq, kept in db.execute(
            """SELECT r.location, r.kind, r.key, r.n, r.total, r.total_sq, r.kept FROM rollups r
               WHERE r.day = (SELECT max(day) FROM rollups WHERE location = r.location AND kind = r.kind AND key = r.key)"""):
        if n:
            found[(location, kind, key)] = (n, total, total_sq, kept)
    return found


def items_recomputed(db) -> dict:
    return {(i, a, f): (x, y, round(c, 9)) for i, a, f, x, y, c in db.execute(
        """SELECT x.item, a.day, a.location, COUNT(*), SUM(CASE WHEN x.f < 1 THEN 1 ELSE 0 END), SUM(x.possible - x.earned) FROM answers x JOIN audits a ON a.seq = x.audit
           WHERE a.counts = 1 AND x.f IS NOT NULL GROUP BY x.item, a.day, a.location""")}


def items_rolled_up(db) -> tuple[dict, dict]:
    days = {(i, d): (x, y, round(c, 9)) for i, d, x, y, c in db.execute("SELECT item, day, applicable, failed, cost FROM item_days WHERE applicable != 0")}
    failures = {(i, d, l): n for i, d, l, n in db.execute("SELECT item, day, location, failed FROM item_failures")}
    return days, failures


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=1, max_size=12))
def test_figures_equal_a_recomputation_after_any_transitions(reviewing, steps):
    sent = []
    for step in steps:
        if step[0] == "submit":
            _, variant, location, day = step
            body = audit_body(VARIANTS[variant], location=location, finished=f"2026-03-0{day}T10:30:00+00:00", started_at=f"2026-03-0{day}T10:00:00+00:00")
            assert reviewing.post("/api/audits", "auditor_a", json=body).status_code == 201
            sent.append(body)
        elif not sent:
            continue
        elif step[0] == "resubmit":
            body = sent[step[1] % len(sent)]
            current = reviewing.get(f"/api/audits/{body['id']}", "auditor_a").json()
            again = {**body, "revision": current["revision"] + 1, "answers": audit_body(VARIANTS[step[2]])["answers"]}
            answer = reviewing.post("/api/audits", "auditor_a", json=again)
            assert answer.status_code == (201 if current["status"] == "returned" else 409), answer.text
            if answer.status_code == 201:
                sent[step[1] % len(sent)] = again
        elif step[0] == "correct":
            item, value = step[2]
            response = review(reviewing, sent[step[1] % len(sent)]["id"], "correct", corrections=[{"item": item, "value": value, "reason": "checked"}])
            assert response.status_code in (200, 409), response.text
        else:
            response = review(reviewing, sent[step[1] % len(sent)]["id"], step[0], note="checked")
            assert response.status_code in (200, 409), response.text
    db = reviewing.db
    expected, got = recomputed(db), rolled_up(db)
    assert got.keys() == expected.keys()
    for key, values in expected.items():
        assert got[key] == pytest.approx(values), key
    days, failures = items_rolled_up(db)
    by_day = {}
    for (item, day, location), (x, y, c) in items_recomputed(db).items():
        before = by_day.get((item, day), (0, 0, 0.0))
        by_day[(item, day)] = (before[0] + x, before[1] + y, before[2] + c)
        if y:
            assert failures.pop((item, day, location)) == y
    assert not failures  # no location is left marked as failing an item it no longer fails
    assert days.keys() == by_day.keys()
    for key, values in by_day.items():
        assert days[key] == pytest.approx(values, abs=1e-9), key
    # and the API's figures are those of the counting audits
    for location in ("l1", "l2"):
        scores = [r[0] for r in db.execute("SELECT score FROM audits WHERE counts = 1 AND location = ? AND score IS NOT NULL", [location])]
        s = summary(reviewing, location)
        assert s["n"] == len(scores)
        if scores:
            assert s["score"] == pytest.approx(sum(scores) / len(scores))  # one touchpoint: the mean of its audits
