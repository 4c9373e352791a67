"""Invariants of the scoring engine over generated checklists and answers (hypothesis)."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from server.checklists.format import Band, Brand, Checklist, ChoiceItem, NumberItem, Option, Pillar, ScaleItem, Section, TextItem, TimerItem, YesNoItem
from server.checklists.loader import LoadedChecklist
from server.checklists.scoring import Answer, ScoredAudit, location_figures, score_audit

BRAND = Brand(
    id="p",
    name="P",
    promise="P",
    critical_cap=30,
    pillars=[Pillar(id="fast", name="Fast", target=80), Pillar(id="kind", name="Kind", target=90)],
    touchpoints=["t"],
)

weights = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0])
pillar_sets = st.sampled_from([[], ["fast"], ["kind"], ["fast", "kind"]])


@st.composite
def item_and_answer(draw, index: int):
    """One item (always with na allowed, so any item can be made N/A) and a valid answer to it."""
    common = dict(id=f"i{index}", text="Q", weight=draw(weights), pillars=draw(pillar_sets), na=True, critical=draw(st.booleans()))
    kind = draw(st.sampled_from(["yes_no", "scale", "number", "timer", "choice", "text"]))
    if kind == "yes_no":
        return YesNoItem(**common, pass_=draw(st.sampled_from(["yes", "no"]))), draw(st.sampled_from(["yes", "no", "na"]))
    if kind == "scale":
        low = draw(st.integers(-3, 3))
        high = draw(st.integers(low + 1, low + 9))
        return ScaleItem(**common, min=low, max=high), draw(st.one_of(st.integers(low, high), st.just("na")))
    if kind in ("number", "timer"):
        bands = [Band(at_most=draw(st.floats(0, 100)), score=draw(st.floats(0, 1))) for _ in range(draw(st.integers(1, 3)))]
        cls = NumberItem if kind == "number" else TimerItem
        return cls(**common, bands=bands), draw(st.one_of(st.floats(0, 200), st.just("na")))
    if kind == "choice":
        options = [Option(value=f"o{j}", label="O", score=draw(st.one_of(st.none(), st.floats(0, 1)))) for j in range(3)]
        return ChoiceItem(**common, options=options), draw(st.sampled_from(["o0", "o1", "o2", "na"]))
    common["critical"] = False
    return TextItem(**common), draw(st.text(min_size=1, max_size=5).filter(str.strip))


@st.composite
def audits(draw):
    count = draw(st.integers(1, 12))
    pairs = [draw(item_and_answer(i)) for i in range(count)]
    cut = draw(st.integers(0, count))
    sections = [s for s in (Section(id="s0", title="S", items=[p[0] for p in pairs[:cut]]), Section(id="s1", title="S", items=[p[0] for p in pairs[cut:]])) if s.items]
    loaded = LoadedChecklist(checklist=Checklist(id="t", title="T", mode="web", sections=sections), version="0" * 12, source=b"")
    return loaded, {item.id: Answer(value=value) for item, value in pairs}


def within(score):
    return score is None or -1e-9 <= score <= 100 + 1e-9


@settings(max_examples=300, deadline=None)
@given(audits())
def test_scores_are_within_0_and_100_or_null(case):
    loaded, answers = case
    result = score_audit(BRAND, loaded, answers)
    assert within(result.score) and within(result.raw_score)
    assert all(within(s) for s in result.sections.values())
    assert all(within(s) for s in result.pillars.values())
    assert (result.raw_score is None) == (result.possible == 0)


@settings(max_examples=300, deadline=None)
@given(audits())
def test_capped_is_never_above_raw(case):
    loaded, answers = case
    result = score_audit(BRAND, loaded, answers)
    if result.score is not None:
        assert result.score <= result.raw_score
    if result.critical_failed and result.score is not None:
        assert result.score <= BRAND.critical_cap
    assert result.promise_kept == (result.score is not None and result.score >= BRAND.threshold and not result.critical_failed)


@settings(max_examples=300, deadline=None)
@given(audits(), st.randoms(use_true_random=False))
def test_the_order_of_answers_never_matters(case, rnd: random.Random):
    loaded, answers = case
    shuffled = list(answers.items())
    rnd.shuffle(shuffled)
    assert score_audit(BRAND, loaded, dict(shuffled)) == score_audit(BRAND, loaded, answers)


@settings(max_examples=300, deadline=None)
@given(audits(), st.data())
def test_na_removes_only_that_item_from_the_denominator(case, data):
    loaded, answers = case
    before = score_audit(BRAND, loaded, answers)
    target = data.draw(st.sampled_from(sorted(answers)))
    after = score_audit(BRAND, loaded, {**answers, target: Answer(value="na")})
    assert after.possible == before.possible - before.items[target].possible
    assert abs(after.earned - (before.earned - before.items[target].earned)) < 1e-9
    for other, points in before.items.items():
        if other != target:
            assert after.items[other] == points


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["t"]), st.floats(0, 100), st.booleans()), min_size=2, max_size=30))
def test_location_consistency_is_within_0_and_100(rows):
    figures = location_figures(BRAND, [ScoredAudit(touchpoint=t, score=s, promise_kept=k, pillars={}) for t, s, k in rows])
    assert -1e-6 <= figures.consistency <= 100 + 1e-6
    assert 0 <= figures.promise_kept_rate <= 1
