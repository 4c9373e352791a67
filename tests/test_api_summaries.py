"""Location and region summaries over HTTP, against figures worked out by hand."""

import math

import pytest

from tests.conftest import GOOD_VISIT, audit_body


@pytest.fixture
def server(spread_server):
    """Through the TestClient, and round-robin over three server processes (tests/conftest.py SPREAD)."""
    return spread_server

V1 = 7.75 / 9 * 100  # GOOD_VISIT: 86.111 (see test_scoring), promise kept
# V2: resolved "no" is a failed critical item; acme's critical_cap is the default 0 -> score 0
#   its pillars (never capped): friendly 2.75/3 = 91.667, fast 0.5/1 = 50, easy 1.75/5 = 35
# call "yes": 100, promise kept; call has no pillars


def submit(server, answers, location, checklist, day):
    body = audit_body(answers, location=location, checklist=checklist, finished=f"2026-03-0{day}T12:00:00+00:00", started_at=f"2026-03-0{day}T11:00:00+00:00")
    response = server.post("/api/audits", "auditor_a", json=body)
    assert response.status_code == 201, response.text
    return response.json()["result"]


@pytest.fixture
def audited(server):
    submit(server, GOOD_VISIT, "l1", "visit", 1)
    submit(server, {**GOOD_VISIT, "resolved": "no"}, "l1", "visit", 2)
    submit(server, {"q": "yes"}, "l1", "call", 3)
    submit(server, {"q": "yes"}, "l2", "call", 4)
    return server


def test_location_summary(audited):
    s = audited.get("/api/locations/l1/summary", "manager_r1").json()
    assert s["n"] == 3
    t_visit = (V1 + 0) / 2  # 43.056
    assert s["touchpoints"] == {"visit": pytest.approx(t_visit), "call": pytest.approx(100.0)}
    score = (t_visit + 100) / 2  # 71.528: each touchpoint once
    assert s["score"] == pytest.approx(score)
    mean = (V1 + 0 + 100) / 3
    sigma = math.sqrt(((V1 - mean) ** 2 + (0 - mean) ** 2 + (100 - mean) ** 2) / 3)
    assert s["consistency"] == pytest.approx(100 - 2 * sigma)  # 11.54
    assert s["spread"] == pytest.approx(100 - t_visit)
    assert s["weakest"] == "visit"
    assert s["promise_kept_rate"] == pytest.approx(2 / 3)
    assert s["pillars"]["friendly"] == {"score": pytest.approx(2.75 / 3 * 100), "target": 90.0, "gap": pytest.approx(90 - 2.75 / 3 * 100)}
    assert s["pillars"]["easy"]["score"] == pytest.approx((95 + 35) / 2)
    assert s["pillars"]["easy"]["gap"] == pytest.approx(80 - 65)
    assert s["pillars"]["fast"]["score"] == pytest.approx(50.0)
    # l1's adjusted: Z = 3 / (3 + 5); S_region = (71.528 + 100) / 2
    region = (score + 100) / 2
    assert s["adjusted"] == pytest.approx(3 / 8 * score + 5 / 8 * region)


def test_region_summary_and_fair_ranking(audited):
    s = audited.get("/api/regions/r1/summary", "manager_r1").json()
    l1 = ((V1 + 0) / 2 + 100) / 2
    region = (l1 + 100) / 2  # 85.764, over l1 and l2 (l3 has no audits)
    assert s["score"] == pytest.approx(region)
    assert s["consistency"] == pytest.approx(100 - 2 * abs(l1 - 100) / 2)  # sd of two values is half their distance
    assert s["locations"] == 3
    assert [(r["rank"], r["location"], r["n"]) for r in s["ranking"]] == [(1, "l2", 1), (2, "l1", 3), (None, "l3", 0)]
    assert s["ranking"][0]["adjusted"] == pytest.approx(1 / 6 * 100 + 5 / 6 * region)  # 88.14: one lucky audit is pulled down
    assert s["ranking"][1]["adjusted"] == pytest.approx(3 / 8 * l1 + 5 / 8 * region)  # 80.43
    assert s["ranking"][2]["score"] is None and s["ranking"][2]["adjusted"] is None


def test_the_period_is_inclusive_dates(audited):
    s = audited.get("/api/locations/l1/summary?from=2026-03-02&to=2026-03-03", "admin").json()
    assert s["n"] == 2
    assert s["score"] == pytest.approx((0 + 100) / 2)
    assert s["from"] == "2026-03-02" and s["to"] == "2026-03-03"
    only_first = audited.get("/api/locations/l1/summary?to=2026-03-01", "admin").json()
    assert only_first["n"] == 1 and only_first["consistency"] is None
    empty = audited.get("/api/regions/r1/summary?from=2027-01-01", "admin").json()
    assert empty["score"] is None and all(r["rank"] is None for r in empty["ranking"])


def test_a_bad_period_is_refused(audited):
    assert audited.get("/api/regions/r1/summary?from=2026-03-05&to=2026-03-01", "admin").status_code == 422
    bad = audited.get("/api/regions/r1/summary?from=March", "admin")
    assert bad.status_code == 400 and bad.json()["problems"][0]["field"] == "from"


def test_rollups_agree_with_scoring_the_stored_audits_again(audited):
    """The rollups kept at write time give the same figures as the pure functions over stored audits."""
    from server.checklists import parse_brand
    from server.checklists.scoring import ScoredAudit, location_figures
    from tests.conftest import BRAND_YAML

    rows = audited.db.query("SELECT a.checklist, a.score, a.promise_kept, a.seq FROM audits a WHERE location = 'l1'")
    scored = [
        ScoredAudit(touchpoint=r["checklist"], score=r["score"], promise_kept=bool(r["promise_kept"]), pillars=dict(audited.db.execute("SELECT pillar, score FROM audit_pillars WHERE audit = ?", [r["seq"]]).fetchall()))
        for r in rows
    ]
    figures = location_figures(parse_brand(BRAND_YAML.encode()), scored)
    s = audited.get("/api/locations/l1/summary", "admin").json()
    assert s["score"] == pytest.approx(figures.score)
    assert s["consistency"] == pytest.approx(figures.consistency)
    assert s["pillars"]["easy"]["score"] == pytest.approx(figures.pillars["easy"].score)


def test_late_audits_give_the_same_figures_for_every_period(server):
    """Cumulative rollups: audits arriving out of day order (an offline phone) change nothing."""
    import random

    plan = [(GOOD_VISIT, "visit", 1), ({**GOOD_VISIT, "resolved": "no"}, "visit", 2), ({"q": "yes"}, "call", 3), ({**GOOD_VISIT, "greet": "no"}, "visit", 4), ({"q": "no"}, "call", 5), (GOOD_VISIT, "visit", 5)]
    random.Random(4).shuffle(plan)
    for answers, checklist, day in plan:
        submit(server, answers, "l1", checklist, day)
    from server.checklists import parse_brand
    from server.checklists.scoring import ScoredAudit, location_figures
    from tests.conftest import BRAND_YAML

    brand = parse_brand(BRAND_YAML.encode())
    rows = list(server.db.query("SELECT seq, checklist, score, promise_kept, day FROM audits"))
    for first in range(1, 6):
        for last in range(first, 6):
            inside = [r for r in rows if f"2026-03-0{first}" <= r["day"] <= f"2026-03-0{last}"]
            expected = location_figures(brand, [
                ScoredAudit(touchpoint=r["checklist"], score=r["score"], promise_kept=bool(r["promise_kept"]),
                            pillars=dict(server.db.execute("SELECT pillar, score FROM audit_pillars WHERE audit = ?", [r["seq"]]).fetchall()))
                for r in inside
            ])
            got = server.get(f"/api/locations/l1/summary?from=2026-03-0{first}&to=2026-03-0{last}", "admin").json()
            assert got["n"] == expected.n, (first, last)
            assert got["score"] == pytest.approx(expected.score), (first, last)
            assert got["consistency"] == pytest.approx(expected.consistency), (first, last)
            assert got["promise_kept_rate"] == pytest.approx(expected.promise_kept_rate), (first, last)
            assert got["pillars"]["easy"]["score"] == pytest.approx(expected.pillars["easy"].score), (first, last)
