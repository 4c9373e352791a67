"""Scoring one audit: each numbered step of the spec, with figures worked out by hand."""

import pytest

from server.checklists import parse_checklist
from server.checklists.scoring import Answer, AuditRefused, parse_answers, score_audit
from tests.conftest import VISIT_YAML


def answers(**values):
    return {k: v if isinstance(v, Answer) else Answer(value=v) for k, v in values.items()}


GOOD = dict(greet="yes", wait=3, tidy=4, transferred="no", explained="yes", resolved="yes", channel="callback", mood="calm", sms="na")


def test_a_whole_audit_worked_by_hand(brand, visit):
    result = score_audit(brand, visit, answers(**GOOD))
    # Section a: greet 2/2, wait 3 min -> second band 0.5 of 1, tidy (4-1)/(5-1) = 0.75 of 1
    #   -> 3.25 / 4 = 81.25
    # Section b: transferred "no" passes 1/1, explained not applicable, resolved 3/3,
    #   callback 0.5/1, mood unscored, notes absent (optional), sms na -> 4.5 / 5 = 90
    # Raw = (3.25 + 4.5) / (4 + 5) = 7.75 / 9 = 86.111...
    assert result.sections == {"a": pytest.approx(81.25), "b": pytest.approx(90.0)}
    assert result.earned == pytest.approx(7.75)
    assert result.possible == pytest.approx(9.0)
    assert result.raw_score == pytest.approx(86.1111, abs=1e-4)
    assert result.score == result.raw_score
    assert result.critical_failed == []
    assert result.promise_kept is True
    assert result.ignored == ["explained"]
    # friendly: greet 2/2 + tidy 0.75/1 = 2.75/3; fast: wait 0.5/1; easy: tidy 0.75 + transferred 1 + resolved 3 = 4.75/5
    assert result.pillars == {
        "fast": pytest.approx(50.0),
        "friendly": pytest.approx(91.6667, abs=1e-4),
        "easy": pytest.approx(95.0),
    }
    assert result.items["tidy"].f == 0.75 and result.items["tidy"].earned == 0.75
    assert result.items["greet"].earned == 2.0 and result.items["greet"].possible == 2.0
    for unscored in ("explained", "mood", "notes", "sms"):
        assert result.items[unscored].f is None
        assert result.items[unscored].possible == 0.0
    assert result.checklist == "visit" and result.version == visit.version


def test_raw_score_is_a_points_ratio_not_a_mean_of_sections(brand, visit):
    result = score_audit(brand, visit, answers(**GOOD))
    mean_of_sections = (81.25 + 90.0) / 2  # 85.625, which would be wrong
    assert result.raw_score != pytest.approx(mean_of_sections)


@pytest.mark.parametrize(
    "minutes, f",
    [(0, 1.0), (2, 1.0), (2.01, 0.5), (5, 0.5), (5.5, 0.0)],  # first band that holds; none -> 0
)
def test_number_bands_first_that_holds(brand, visit, minutes, f):
    result = score_audit(brand, visit, answers(**{**GOOD, "wait": minutes}))
    assert result.items["wait"].f == f


def test_inverted_yes_no_and_choice_scores(brand, visit):
    result = score_audit(brand, visit, answers(**{**GOOD, "transferred": "yes", "explained": "no", "channel": "none"}))
    assert result.items["transferred"].f == 0.0  # pass: "no"
    assert result.items["explained"].f == 0.0  # now applicable, answered no
    assert result.items["channel"].f == 0.0  # an option without a score scores 0
    # Section b: transferred 0/1, explained 0/1, resolved 3/3, channel 0/1 -> 3/6 = 50
    assert result.sections["b"] == pytest.approx(50.0)


def test_failed_critical_item_caps_the_score_but_never_the_pillars(brand, visit):
    result = score_audit(brand, visit, answers(**{**GOOD, "resolved": "no"}))
    # Raw = (3.25 + 1 + 0 + 0.5) / 9 = 4.75 / 9 = 52.777...; brand critical_cap defaults to 0
    assert result.raw_score == pytest.approx(52.7778, abs=1e-4)
    assert result.score == 0.0
    assert result.critical_failed == ["resolved"]
    assert result.promise_kept is False
    # easy: tidy 0.75 + transferred 1 + resolved 0 = 1.75 / 5 = 35, uncapped
    assert result.pillars["easy"] == pytest.approx(35.0)


def test_checklist_critical_cap_overrides_the_brand(brand):
    capped = parse_checklist(VISIT_YAML.replace("mode: in_person", "mode: in_person\ncritical_cap: 40").encode(), brand, "visit.yaml")
    result = score_audit(brand, capped, answers(**{**GOOD, "resolved": "no"}))
    assert result.score == 40.0  # min(52.78, 40)
    everything_else_failed = {**GOOD, "resolved": "no", "greet": "no", "wait": 9, "tidy": 1, "transferred": "yes", "explained": "no", "channel": "none"}
    result = score_audit(brand, capped, answers(**everything_else_failed))
    assert result.raw_score == 0.0 and result.score == 0.0  # min(0, 40)


def test_promise_needs_the_threshold(brand, visit):
    # greet no: a = 1.25/4, raw = 5.75/9 = 63.9 < 80
    result = score_audit(brand, visit, answers(**{**GOOD, "greet": "no"}))
    assert result.score == pytest.approx(63.8889, abs=1e-4)
    assert result.promise_kept is False


def test_na_removes_the_item_from_both_sides(brand):
    checklist = parse_checklist(VISIT_YAML.replace("type: scale, min: 1, max: 5,", "type: scale, min: 1, max: 5, na: true,").encode(), brand, "visit.yaml")
    result = score_audit(brand, checklist, answers(**{**GOOD, "tidy": "na"}))
    # a: greet 2/2 + wait 0.5/1 = 2.5/3; total (2.5 + 4.5) / 8 = 87.5
    assert result.sections["a"] == pytest.approx(83.3333, abs=1e-4)
    assert result.raw_score == pytest.approx(87.5)


def test_show_if_chains_through_items_that_are_not_applicable(brand, visit):
    # transferred "no" -> explained not applicable -> thanked_after not applicable, even with explained answered
    result = score_audit(brand, visit, answers(**GOOD, thanked_after="yes"))
    assert result.ignored == ["explained", "thanked_after"]
    result = score_audit(brand, visit, answers(**{**GOOD, "transferred": "yes"}, thanked_after="yes"))
    assert result.ignored == []
    assert result.items["thanked_after"].f == 1.0


def test_show_if_in_and_not_equals(brand):
    yaml = VISIT_YAML.replace("show_if: {item: transferred, equals: \"yes\"}", "show_if: {item: transferred, not_equals: \"no\"}").replace(
        "show_if: {item: explained, equals: \"yes\"}", "show_if: {item: explained, in: [\"yes\"]}"
    )
    checklist = parse_checklist(yaml.encode(), brand, "visit.yaml")
    result = score_audit(brand, checklist, answers(**{**GOOD, "transferred": "yes"}, thanked_after="no"))
    assert result.ignored == []
    assert result.items["thanked_after"].f == 0.0


def test_an_item_whose_condition_item_is_na_is_not_applicable(brand):
    yaml = VISIT_YAML + "      - {id: sms_kind, text: Kind words?, type: yes_no, show_if: {item: sms, not_equals: \"no\"}}\n"
    checklist = parse_checklist(yaml.encode(), brand, "visit.yaml")
    result = score_audit(brand, checklist, answers(**GOOD, sms_kind="yes"))  # sms is "na"
    assert result.ignored == ["explained", "sms_kind"]  # explained: transferred is "no"


def test_ignored_answers_are_not_validated(brand, visit):
    result = score_audit(brand, visit, answers(**GOOD | {"explained": 42}))
    assert result.ignored == ["explained"]


def test_optional_items_may_be_missing_and_count_as_na(brand, visit):
    without_notes = {k: v for k, v in GOOD.items()}
    result = score_audit(brand, visit, answers(**without_notes))
    assert result.items["notes"].f is None


def test_every_problem_is_listed_each_naming_its_item(brand, visit):
    bad = answers(
        wait=-1,
        tidy=3.5,
        transferred="maybe",
        resolved="na",
        channel="fax",
        mood=True,
        sms="yes",
        bogus="yes",
    )
    with pytest.raises(AuditRefused) as refused:
        score_audit(brand, visit, bad)
    problems = {p.item: p.message for p in refused.value.problems}
    assert set(problems) == {"bogus", "greet", "wait", "tidy", "transferred", "resolved", "channel", "mood", "sms"}
    assert "missing" in problems["greet"]
    assert problems["wait"] == "expected a number >= 0, got -1"
    assert problems["tidy"] == "expected a whole number from 1 to 5, got 3.5"
    assert problems["transferred"] == 'expected "yes" or "no", got "maybe"'
    assert '"na" is not allowed' in problems["resolved"]
    assert problems["channel"] == "expected one of email, callback, none, got \"fax\""
    assert problems["mood"] == "expected one of calm, busy, got true"
    assert "photo is required" in problems["sms"]
    assert "no such item" in problems["bogus"]


@pytest.mark.parametrize(
    "item, value, expected",
    [
        ("greet", True, 'expected "yes" or "no", got true'),
        ("wait", True, "expected a number >= 0, got true"),
        ("wait", "3", 'expected a number >= 0, got "3"'),
        ("tidy", 6, "expected a whole number from 1 to 5, got 6"),
        ("tidy", 0, "expected a whole number from 1 to 5, got 0"),
        ("tidy", 4.0, "expected a whole number from 1 to 5, got 4.0"),
        ("notes", 12, "expected a text, got 12"),
        ("sms", "maybe", 'expected "yes" or "no" or "na", got "maybe"'),
    ],
)
def test_wrong_kinds_of_answer(brand, visit, item, value, expected):
    with pytest.raises(AuditRefused) as refused:
        score_audit(brand, visit, answers(**{**GOOD, item: value}))
    assert [str(p) for p in refused.value.problems] == [f"{item}: {expected}"]


def test_a_required_photo_is_satisfied_by_a_photo(brand, visit):
    result = score_audit(brand, visit, answers(**GOOD | {"sms": Answer(value="yes", photos=["p1"])}))
    assert result.items["sms"].f == 1.0


def test_blank_text_does_not_answer_a_required_text_item(brand):
    checklist = parse_checklist(VISIT_YAML.replace("{id: notes, text: Notes, type: text, required: false}", "{id: notes, text: Notes, type: text}").encode(), brand, "visit.yaml")
    with pytest.raises(AuditRefused) as refused:
        score_audit(brand, checklist, answers(**GOOD, notes="   "))
    assert [p.item for p in refused.value.problems] == ["notes"]


def test_nothing_scored_gives_null_scores_and_no_promise(brand):
    checklist = parse_checklist(
        b"id: visit\ntitle: t\nmode: web\nsections:\n  - id: s\n    title: S\n    items:\n      - {id: q, text: Q, type: yes_no, na: true, pillars: [fast]}\n",
        brand,
        "visit.yaml",
    )
    result = score_audit(brand, checklist, answers(q="na"))
    assert result.score is None and result.raw_score is None
    assert result.sections == {"s": None}
    assert result.pillars == {"fast": None, "friendly": None, "easy": None}
    assert result.promise_kept is False


def test_answers_are_parsed_with_every_malformed_one_named():
    with pytest.raises(AuditRefused) as refused:
        parse_answers({"greet": {"valeu": "yes"}, "wait": 3, "tidy": {"value": 3, "photos": "p1"}})
    assert [str(p) for p in refused.value.problems] == [
        "greet: valeu: unknown key (did you mean 'value'?)",
        "wait: expected a mapping of keys to values, got 3",
        "tidy: photos: expected a list of texts, got \"p1\"",
    ]
    assert parse_answers({"greet": {"value": "yes", "comment": "warm"}})["greet"].comment == "warm"
