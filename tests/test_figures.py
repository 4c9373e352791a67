"""Location and region figures over scored audits, worked out by hand."""

import math

import pytest

from server.checklists.scoring import LocationFigures, RegionMember, ScoredAudit, Tally, location_figures, region_figures


def audit(touchpoint, score, kept=False, **pillars):
    return ScoredAudit(touchpoint=touchpoint, score=score, promise_kept=kept, pillars=pillars)


AUDITS = [
    audit("visit", 80, True, friendly=100, fast=None),
    audit("visit", 90, True, friendly=80),
    audit("visit", 70, False, friendly=None, easy=50),
    audit("call", 60, False, friendly=60, easy=70),
    audit("call", None, False, friendly=0),  # a null score is not in A, pillars included
]


def test_location_figures_by_hand(brand):
    figures = location_figures(brand, AUDITS)
    assert figures.n == 4
    # T_visit = (80 + 90 + 70) / 3 = 80; T_call = 60; S = mean of touchpoints = 70 (not the audit mean 75)
    assert figures.touchpoints == {"visit": pytest.approx(80.0), "call": pytest.approx(60.0)}
    assert figures.score == pytest.approx(70.0)
    # scores 80, 90, 70, 60: mean 75, squared deviations 25 + 225 + 25 + 225 = 500, / 4 = 125
    assert figures.consistency == pytest.approx(100 - 2 * math.sqrt(125))  # 77.639
    assert figures.consistency == pytest.approx(77.6393, abs=1e-4)
    assert figures.spread == pytest.approx(20.0)
    assert figures.weakest == "call"
    assert figures.promise_kept_rate == 0.5
    # friendly: (100 + 80 + 60) / 3 = 80, gap 90 - 80 = 10; easy: (50 + 70) / 2 = 60, gap 20; fast: none
    assert figures.pillars["friendly"].score == pytest.approx(80.0)
    assert figures.pillars["friendly"].gap == pytest.approx(10.0)
    assert figures.pillars["easy"].score == pytest.approx(60.0)
    assert figures.pillars["easy"].gap == pytest.approx(20.0)
    assert figures.pillars["fast"].score is None and figures.pillars["fast"].gap is None
    assert figures.pillars["fast"].target == 85


def test_touchpoints_each_count_once_however_often_audited(brand):
    many_visits = [audit("visit", 100)] * 9 + [audit("call", 40)]
    assert location_figures(brand, many_visits).score == pytest.approx(70.0)  # (100 + 40) / 2, not 94


def test_one_audit_has_no_consistency(brand):
    figures = location_figures(brand, [audit("call", 55, False)])
    assert figures.n == 1
    assert figures.consistency is None
    assert figures.spread == 0.0
    assert figures.weakest == "call"


def test_no_audits(brand):
    figures = location_figures(brand, [])
    assert (figures.n, figures.score, figures.consistency, figures.spread, figures.weakest, figures.promise_kept_rate) == (0, None, None, None, None, None)


def test_weakest_ties_go_to_brand_order(brand):
    # brand.touchpoints is [visit, call]; feed call first
    figures = location_figures(brand, [audit("call", 50), audit("visit", 50)])
    assert figures.weakest == "visit"
    assert list(figures.touchpoints) == ["visit", "call"]


def test_identical_scores_are_perfectly_consistent(brand):
    assert location_figures(brand, [audit("visit", 83.3)] * 7).consistency == pytest.approx(100.0)


def test_tallies_merge_to_the_same_figures(brand):
    first, second = Tally.of(AUDITS[:2]), Tally.of(AUDITS[2:])
    first.merge(second)
    assert location_figures(brand, first) == location_figures(brand, AUDITS)


def member(location, score, n, k=5.0):
    """A region member with only what the region figures read: the location's score and n."""
    figures = LocationFigures(n=n, score=score, touchpoints={}, consistency=None, spread=None, weakest=None, promise_kept_rate=None, pillars={})
    return RegionMember(location=location, figures=figures, credibility_k=k)


def test_region_figures_and_fair_ranking_by_hand():
    region = region_figures([member("l1", 70, 4), member("l2", 90, 1), member("l3", 80, 10), member("l4", None, 0)])
    # S_region = (70 + 90 + 80) / 3 = 80 over locations with n >= 1
    assert region.score == pytest.approx(80.0)
    # population sd of 70, 90, 80: sqrt((100 + 100 + 0) / 3) = 8.165; consistency = 100 - 16.330
    assert region.consistency == pytest.approx(83.6701, abs=1e-4)
    # adjusted = Z S + (1 - Z) S_region, Z = n / (n + 5):
    #   l1: 4/9 * 70 + 5/9 * 80 = 75.556   l2: 1/6 * 90 + 5/6 * 80 = 81.667   l3: 2/3 * 80 + 1/3 * 80 = 80
    assert [(r.location, round(r.adjusted, 3) if r.adjusted is not None else None, r.n) for r in region.ranking] == [
        ("l2", 81.667, 1),
        ("l3", 80.0, 10),
        ("l1", 75.556, 4),
        ("l4", None, 0),  # never audited in the period: listed last, unranked
    ]
    assert region.ranking[0].score == 90


def test_credibility_k_zero_ranks_by_own_score():
    region = region_figures([member("a", 70, 1, k=0), member("b", 90, 1, k=0)])
    assert [(r.location, r.adjusted) for r in region.ranking] == [("b", 90), ("a", 70)]


def test_region_of_one_location_has_no_consistency():
    region = region_figures([member("a", 64, 3)])
    assert region.score == 64
    assert region.consistency is None
    assert region.ranking[0].adjusted == pytest.approx(64.0)  # pulled toward itself
