"""The difference between two versions of a checklist (server/checklists/diff.py), with hand-made
checklists: every kind of change, the refused type change, the marked ones, and nothing for the same
checklist twice."""

import copy

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from server.checklists.diff import Change, Field, Judgement, compare, judge, marks, verdict
from server.checklists.format import Checklist

BASE = {
    "id": "visit", "title": "Store visit", "mode": "in_person",
    "sections": [
        {"id": "welcome", "title": "Welcome", "items": [
            {"id": "greeted", "type": "yes_no", "text": "Greeted within 30 seconds?", "weight": 2, "pillars": ["warmth"]},
            {"id": "tone", "type": "scale", "text": "How warm was the tone?", "min": 1, "max": 5, "labels": {1: "Curt", 5: "Warm"}},
            {"id": "notes", "type": "text", "text": "Anything else?", "required": False},
        ]},
        {"id": "checkout", "title": "Checkout", "items": [
            {"id": "wait", "type": "timer", "text": "Time to pay", "bands": [{"at_most": 60, "score": 1}, {"at_most": 180, "score": 0.5}, {"score": 0}]},
            {"id": "bag", "type": "choice", "text": "Bag offered?", "options": [
                {"value": "asked", "label": "Asked", "score": 1}, {"value": "given", "label": "Given", "score": 0.5}, {"value": "no", "label": "No", "score": 0}]},
            {"id": "queue", "type": "number", "text": "People in the queue", "bands": [{"at_most": 3, "score": 1}, {"score": 0}], "unit": "people",
             "show_if": {"item": "greeted", "equals": "yes"}},
        ]},
    ],
}


def _checklist(raw: dict) -> Checklist:
    return msgspec.convert(raw, Checklist)


def _edit(change) -> Checklist:
    raw = copy.deepcopy(BASE)
    change(raw)
    return _checklist(raw)


def _item(raw: dict, ident: str) -> dict:
    return next(item for section in raw["sections"] for item in section["items"] if item["id"] == ident)


def _set(ident: str, **fields):
    return lambda raw: _item(raw, ident).update(fields)


OLD = _checklist(BASE)


def test_the_same_checklist_has_no_difference_and_nothing_to_judge():
    assert compare(OLD, _checklist(copy.deepcopy(BASE))) == []
    assert judge([]) == Judgement(refused=[], marked=[])


def test_a_wording_change_is_shown_field_by_field_and_not_marked():
    new = _edit(_set("greeted", text="Greeted within 20 seconds?", help="Count from the door"))
    assert compare(OLD, new) == [Change(kind="changed", item="greeted", text="Greeted within 20 seconds?", section="Welcome", types=("yes_no", "yes_no"), scored=True,
                                        fields=[Field(field="text", before="Greeted within 30 seconds?", after="Greeted within 20 seconds?"),
                                                Field(field="help", before="—", after="Count from the door")])]
    assert judge(compare(OLD, new)) == Judgement() and not marks(OLD, new)


def test_an_item_added_and_one_removed():
    def change(raw):
        raw["sections"][0]["items"].append({"id": "smile", "type": "yes_no", "text": "A smile?"})
        raw["sections"][1]["items"] = [i for i in raw["sections"][1]["items"] if i["id"] != "bag"]
    changes = compare(OLD, _edit(change))
    assert [(c.kind, c.item, c.section, c.types) for c in changes] == [("added", "smile", "Welcome", ("", "yes_no")), ("removed", "bag", "Checkout", ("choice", ""))]
    assert judge(changes).marked == ["item bag removed: its points leave every later audit"]  # the added one is not marked


def test_an_unscored_item_removed_is_not_marked():
    new = _edit(lambda raw: raw["sections"][0]["items"].pop(2))
    assert [(c.kind, c.item, c.scored) for c in compare(OLD, new)] == [("removed", "notes", False)]
    assert not marks(OLD, new)


def test_weight_critical_and_pillars_are_marked():
    new = _edit(_set("greeted", weight=3, critical=True, pillars=["warmth", "speed"]))
    [change] = compare(OLD, new)
    assert [(f.field, f.before, f.after, f.breaks) for f in change.fields] == [
        ("weight", "2", "3", True), ("pillars", "warmth", "warmth, speed", True), ("critical", "no", "yes", True)]
    assert judge([change]).marked == ["item greeted: weight 2 → 3", "item greeted: pillars warmth → warmth, speed", "item greeted: critical no → yes"]


def test_a_weight_change_on_a_text_item_is_shown_but_not_marked():
    [change] = compare(OLD, _edit(_set("notes", weight=5)))
    assert change.fields == [Field(field="weight", before="1", after="5")] and verdict(change) == Judgement()


def test_required_na_photo_and_section_moved_are_shown_not_marked():
    def change(raw):
        _item(raw, "greeted").update(required=False, na=True, photo="optional")
        raw["sections"][1]["items"].insert(0, raw["sections"][0]["items"].pop(1))  # tone moves to Checkout
    changes = compare(OLD, _edit(change))
    assert [(c.item, [(f.field, f.before, f.after) for f in c.fields]) for c in changes] == [
        ("greeted", [("required", "yes", "no"), ("na", "no", "yes"), ("photo", "none", "optional")]),
        ("tone", [("section", "Welcome", "Checkout")])]
    assert judge(changes) == Judgement()


def test_a_choice_whose_score_changed_or_that_was_removed_is_marked_a_relabelled_or_added_one_is_not():
    def change(raw):
        options = _item(raw, "bag")["options"]
        options[0]["label"] = "Asked first"           # wording
        options[1]["score"] = 0.25                    # a score
        del options[2]                                # removed
        options.append({"value": "own", "label": "Brought their own"})  # added, no score
    [change] = compare(OLD, _edit(change))
    assert [(f.field, f.before, f.after, f.breaks) for f in change.fields] == [
        ("choice asked", "Asked (score 1)", "Asked first (score 1)", False),
        ("choice given", "Given (score 0.5)", "Given (score 0.25)", True),
        ("choice no", "No (score 0)", "—", True),
        ("choice own", "—", "Brought their own (no score)", False)]
    assert verdict(change).marked == ["item bag: choice given Given (score 0.5) → Given (score 0.25)", "item bag: choice no No (score 0) → —"]


def test_bands_scale_bounds_pass_and_show_if_are_marked_labels_and_unit_are_not():
    def change(raw):
        _item(raw, "wait")["bands"][0]["at_most"] = 90
        _item(raw, "tone").update(max=7, labels={1: "Curt", 7: "Warm"})
        _item(raw, "greeted")["pass"] = "no"
        _item(raw, "queue").update(unit="persons", show_if={"item": "greeted", "in": ["yes", "no"]})
    changes = {c.item: c for c in compare(OLD, _edit(change))}
    assert [(f.field, f.before, f.after, f.breaks) for f in changes["wait"].fields] == [("bands", "≤ 60: 1; ≤ 180: 0.5; any: 0", "≤ 90: 1; ≤ 180: 0.5; any: 0", True)]
    assert [(f.field, f.before, f.after, f.breaks) for f in changes["tone"].fields] == [("max", "5", "7", True), ("labels", "1 Curt, 5 Warm", "1 Curt, 7 Warm", False)]
    assert [(f.field, f.before, f.after, f.breaks) for f in changes["greeted"].fields] == [("pass", "yes", "no", True)]
    assert [(f.field, f.before, f.after, f.breaks) for f in changes["queue"].fields] == [("unit", "people", "persons", False),
                                                                                         ("show_if", "greeted = yes", "greeted in yes, no", True)]
    assert len(judge(list(changes.values())).marked) == 4


def test_a_section_renamed_is_one_change_of_the_checklist_not_a_move_of_its_items():
    [change] = compare(OLD, _edit(lambda raw: raw["sections"][1].update(title="At the till")))
    assert change.item is None and change.fields == [Field(field="section checkout", before="Checkout", after="At the till")]
    assert judge([change]) == Judgement()


def test_the_checklists_title_and_mode_are_shown_its_critical_cap_marked():
    new = _edit(lambda raw: raw.update(title="Shop visit", mode="phone", critical_cap=50))
    [change] = compare(OLD, new)
    assert change.item is None and change.text == "Shop visit"
    assert [(f.field, f.before, f.after) for f in change.fields] == [("title", "Store visit", "Shop visit"), ("mode", "in_person", "phone"), ("critical_cap", "—", "50")]
    assert verdict(change).marked == ["the checklist's critical_cap — → 50"]


def test_an_item_id_reused_with_another_type_is_refused_naming_the_item_and_both_types():
    new = _edit(lambda raw: raw["sections"][0]["items"].__setitem__(0, {"id": "greeted", "type": "scale", "text": "How quick was the greeting?", "min": 1, "max": 5}))
    changes = compare(OLD, new)
    assert changes[0].fields[0] == Field(field="type", before="yes_no", after="scale")
    # the fields one type has and the other has not are shown as they change; an empty one is no change ("labels")
    assert [(f.field, f.before, f.after) for f in changes[0].fields[1:]] == [
        ("text", "Greeted within 30 seconds?", "How quick was the greeting?"), ("weight", "2", "1"), ("pillars", "warmth", "—"), ("pass", "yes", "—"), ("min", "—", "1"), ("max", "—", "5")]
    assert judge(changes).refused == ["item greeted: was a yes_no item and would be a scale item: an item id never changes its type "
                                      "(the answers kept under it could never be compared); give the new question a new id"]


def test_a_first_version_lists_every_item_as_added():
    assert [(c.kind, c.item) for c in compare(None, OLD)] == [("added", i) for i in ("greeted", "tone", "notes", "wait", "bag", "queue")]
    assert judge(compare(None, OLD)) == Judgement()


_word = st.text(alphabet="abcdefgh", min_size=1, max_size=6)
_common = {"text": _word, "weight": st.floats(0, 10), "pillars": st.lists(_word, max_size=2), "critical": st.booleans(), "na": st.booleans(),
           "required": st.booleans(), "photo": st.sampled_from(["none", "optional", "required"]), "help": st.text(max_size=5)}
_bands = st.lists(st.fixed_dictionaries({"score": st.floats(0, 1)}, optional={"at_most": st.floats(-5, 500), "at_least": st.floats(-5, 500)}), min_size=1, max_size=3)
_items = st.one_of(
    st.fixed_dictionaries({"type": st.just("yes_no"), "pass": st.sampled_from(["yes", "no"]), **_common}),
    st.fixed_dictionaries({"type": st.just("scale"), "min": st.integers(0, 2), "max": st.integers(3, 10),
                           "labels": st.dictionaries(st.integers(0, 10), _word, max_size=2), **_common}),
    st.fixed_dictionaries({"type": st.sampled_from(["number", "timer"]), "bands": _bands, **_common}),
    st.fixed_dictionaries({"type": st.just("choice"), "options": st.lists(st.fixed_dictionaries({"value": _word, "label": _word}, optional={"score": st.floats(0, 1)}),
                                                                            min_size=1, max_size=3), **_common}),
    st.fixed_dictionaries({"type": st.just("text"), **_common}))


@st.composite
def _checklists(draw) -> dict:
    sections = []
    count = 0
    for s in range(draw(st.integers(1, 3))):
        items = []
        for _ in range(draw(st.integers(1, 4))):
            item = draw(_items)
            if count and draw(st.booleans()):
                item["show_if"] = {"item": "i0", "equals": "yes"}
            items.append({"id": f"i{count}", **item})
            count += 1
        sections.append({"id": f"s{s}", "title": draw(_word), "items": items})
    return {"id": "c", "title": draw(_word), "mode": draw(st.sampled_from(["in_person", "phone", "web"])), "sections": sections}


@settings(max_examples=150, deadline=None)
@given(_checklists())
def test_a_checklist_compared_with_itself_has_no_change(raw):
    checklist = _checklist(raw)
    assert compare(checklist, checklist) == []
    assert compare(checklist, _checklist(copy.deepcopy(raw))) == []  # equal, not only the same object
    assert len(compare(None, checklist)) == len(checklist.items())


def test_the_same_pillars_in_another_order_are_no_change():
    """The form editor once wrote pillars in the brand's order, and the diff marked 'pillars easy,
    friendly → friendly, easy' as breaking comparison (seen in the README's diff screenshot)."""
    old = _edit(_set("greeted", pillars=["warmth", "speed"]))
    assert compare(old, _edit(_set("greeted", pillars=["speed", "warmth"]))) == []
