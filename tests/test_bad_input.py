"""Whatever arrives, the loader and the engine answer with a listed problem, never a traceback."""

import re

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.checklists import ChecklistError, parse_brand, parse_checklist
from server.checklists.scoring import AuditRefused, parse_answers, score_audit
from tests.conftest import BRAND_YAML, VISIT_YAML

leaves = st.one_of(st.none(), st.booleans(), st.integers(-5, 10), st.floats(allow_nan=False), st.text(max_size=6), st.sampled_from(["yes", "no", "na", "visit", "a", "yes_no", "scale", "choice", "fast"]))
json_like = st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["id", "type", "items", "sections", "value", "bands", "options", "show_if", "item", "equals", "in", "min", "max", "score", "at_most", "text", "title", "mode", "x"]), inner, max_size=6)), max_leaves=25)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_like)
def test_any_checklist_structure_is_refused_cleanly_or_loads(document):
    brand = parse_brand(BRAND_YAML.encode())
    try:
        parse_checklist(msgspec.yaml.encode(document), brand, "visit.yaml")
    except ChecklistError as error:
        assert error.problems and all(re.match(r"visit\.yaml(:\d+)?: ", p) for p in error.problems)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_as_a_checklist(data):
    brand = parse_brand(BRAND_YAML.encode())
    try:
        parse_checklist(data, brand, "visit.yaml")
    except ChecklistError as error:
        assert error.problems


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["greet", "wait", "tidy", "transferred", "explained", "resolved", "channel", "mood", "notes", "sms", "zzz"]), json_like, max_size=10))
def test_any_answers_are_refused_cleanly_or_scored(raw):
    brand = parse_brand(BRAND_YAML.encode())
    visit = parse_checklist(VISIT_YAML.encode(), brand, "visit.yaml")
    try:
        result = score_audit(brand, visit, parse_answers(raw))
    except AuditRefused as refused:
        assert refused.problems and all(p.item and p.message for p in refused.problems)
    else:
        assert result.score is None or 0 <= result.score <= 100


def test_a_list_where_the_type_name_goes():
    brand = parse_brand(BRAND_YAML.encode())
    with pytest.raises(ChecklistError) as error:
        parse_checklist(b"id: visit\ntitle: T\nmode: web\nsections:\n  - {id: s, title: S, items: [{id: a, text: A, type: [yes_no]}]}\n", brand, "visit.yaml")
    assert error.value.problems == ["visit.yaml:5: section s, item a: type: expected one of yes_no, scale, number, timer, choice, text, got a list"]
