"""Loading brands and checklists: every rule of the format refused with its file and place."""

import hashlib
from pathlib import Path

import pytest

from server.checklists import ChecklistError, load_brand, load_brands, parse_brand, parse_checklist
from tests.conftest import BRAND_YAML, CALL_YAML, VISIT_YAML, write_brand

ROOT = Path(__file__).resolve().parent.parent



def problems_of(yaml: str, brand) -> list[str]:
    with pytest.raises(ChecklistError) as error:
        parse_checklist(yaml.encode(), brand, "visit.yaml")
    return error.value.problems


def one_item(item: str) -> str:
    return f"id: visit\ntitle: T\nmode: in_person\nsections:\n  - id: s\n    title: S\n    items:\n      - {item}\n"


def test_the_shipped_brand_loads():
    brands = load_brands(ROOT / "checklists")
    harbor = brands["harbor"]
    assert list(harbor.checklists) == ["checkout", "bathroom", "phone", "website"]
    assert {p.id for p in harbor.brand.pillars} == {"fast", "friendly", "easy", "clean"}


def test_version_is_the_first_12_hex_digits_of_the_sha256_of_the_bytes(brand):
    loaded = parse_checklist(VISIT_YAML.encode(), brand, "visit.yaml")
    assert loaded.version == hashlib.sha256(VISIT_YAML.encode()).hexdigest()[:12]
    assert loaded.source == VISIT_YAML.encode()
    edited = parse_checklist((VISIT_YAML + "\n").encode(), brand, "visit.yaml")
    assert edited.version != loaded.version  # any byte changes the version


def test_the_place_and_the_expected_kind_are_named(brand):
    yaml = """\
id: visit
title: T
mode: phone
sections:
  - id: s
    title: S
    items:
      - {id: a, text: A, type: yes_no}
      - {id: b, text: B, type: yes_no}
      - {id: c, text: C, type: yes_no}
      - id: rings
        text: Rings
        type: number
        bands:
          - {at_most: 3, score: 1}
          - {at_most: three, score: 0.5}
"""
    assert problems_of(yaml, brand) == ['visit.yaml:16: section s, item rings: bands[1].at_most: expected a number, got "three"']


def test_every_problem_is_reported_at_once(brand):
    yaml = """\
id: visit
title: T
mode: fax
sections:
  - id: s
    title: S
    items:
      - {id: a, text: A, type: yes_no, wieght: 2}
      - {id: B, text: B, type: yes_no}
      - {id: c, text: C, type: scale, min: 5, max: 1}
      - {id: d, text: D, type: choise}
      - {id: e, text: E, type: number, bands: []}
"""
    assert problems_of(yaml, brand) == [
        'visit.yaml:3: mode: expected one of "chat", "email", "in_person", "phone", "web", got "fax"',
        "visit.yaml:8: section s, item a: wieght: unknown key (did you mean 'weight'?)",
        'visit.yaml:9: section s, item B: id: expected an id of lowercase letters, digits and _, got "B"',
        'visit.yaml:11: section s, item d: type: expected one of yes_no, scale, number, timer, choice, text, got "choise"',
        "visit.yaml:12: section s, item e: bands: expected at least 1 entry, got none",
        # checked although the file has broken parts above (it used to wait until they were fixed)
        "visit.yaml:10: section s, item c: max: must be greater than min (5), got 1",
    ]


def test_a_yaml_yes_that_became_a_boolean_says_to_quote_it(brand):
    (problem,) = problems_of(one_item("{id: a, text: A, type: yes_no, pass: no}"), brand)
    assert problem == 'visit.yaml:8: section s, item a: pass: expected one of "no", "yes", got false (YAML reads an unquoted no as false: put it in quotes, "no")'
    yaml = VISIT_YAML.replace('show_if: {item: transferred, equals: "yes"}', "show_if: {item: transferred, equals: yes}")
    (problem,) = problems_of(yaml, brand)
    assert problem.startswith("visit.yaml:24: section b, item explained: show_if.equals: expected ")
    assert problem.endswith('got true (YAML reads an unquoted yes as true: put it in quotes, "yes")')


@pytest.mark.parametrize(
    "item, expected",
    [
        ("{id: a, text: A, type: yes_no, weight: -1}", "section s, item a: weight: expected a number >= 0, got -1"),
        ("{id: a, text: A, type: yes_no, pillars: [speedy]}", "section s, item a: pillars[0]: 'speedy' is not a pillar of brand.yaml (pillars: easy, fast, friendly)"),
        ("{id: a, text: A, type: scale, min: 3, max: 3}", "section s, item a: max: must be greater than min (3), got 3"),
        ("{id: a, text: A, type: scale, min: 1, max: 5.5}", "section s, item a: max: expected a whole number, got 5.5"),
        ("{id: a, text: A, type: scale, min: 1, max: 5, labels: {0: Bad, 5: Good}}", "section s, item a: labels.0: 0 is not a point of the scale (1 to 5)"),
        ("{id: a, text: A, type: scale, max: 5}", "section s, item a: min: missing: expected a whole number"),
        ("{id: a, text: A, type: number, bands: [{at_least: 5, at_most: 2, score: 1}]}", "section s, item a: bands[0]: at_least (5) is above at_most (2): no value can hold"),
        ("{id: a, text: A, type: timer, bands: [{at_most: 5, score: 1.5}]}", "section s, item a: bands[0].score: expected a number from 0 to 1, got 1.5"),
        ("{id: a, text: A, type: yes_no, bands: [{score: 1}]}", "section s, item a: bands: unknown key (expected one of: id, text, weight, pillars, critical, na, required, photo, show_if, help, figure, pass)"),
        ("{id: a, text: A, type: choice, options: [{value: x, label: X}, {value: x, label: Y}]}", "section s, item a: options[1].value: 'x' is already used by an earlier option"),
        ("{id: a, text: A, type: text, critical: true}", "section s, item a: critical: an item that is never scored cannot fail, so it cannot be critical"),
        ("{id: a, text: A, type: timer, figure: Hold, bands: [{score: 1}]}", "section s, item a: figure: a campaign headline is the share of yes: only a yes_no item can have one"),
        ("{id: a, text: A, type: yes_no, photo: always}", 'section s, item a: photo: expected one of "none", "optional", "required", got "always"'),
        ("{id: a, text: A, type: yes_no, show_if: {item: later, equals: 'yes'}}", "section s, item a: show_if.item: 'later' must name an item that comes earlier in this checklist"),
        ("{text: A, type: yes_no}", "section s, items[0]: id: missing: expected an id of lowercase letters, digits and _"),
    ],
)
def test_item_rules(brand, item, expected):
    yaml = one_item(item)
    line = 8  # one_item's only item
    if "options[1]" in expected:  # this case is about the second item: put one before it
        yaml, line = one_item("{id: z, text: Z, type: yes_no}\n      - " + item), 9
    assert problems_of(yaml, brand) == [f"visit.yaml:{line}: {expected}"]


@pytest.mark.parametrize(
    "show_if, expected",
    [
        ("{item: q, equals: 'maybe'}", "show_if.equals: \"maybe\" is never an answer to 'q': expected \"yes\" or \"no\""),
        ("{item: q, equals: 'yes', in: ['no']}", "show_if: expected exactly one of equals, not_equals, in"),
        ("{item: q}", "show_if: expected exactly one of equals, not_equals, in"),
        ("{item: q, in: []}", "show_if.in: expected at least one value"),
        ("{item: pick, in: [red, blu]}", "show_if.in[1]: \"blu\" is never an answer to 'pick': expected one of red, blue"),
        ("{item: stars, equals: 7}", "show_if.equals: 7 is never an answer to 'stars': expected a whole number from 1 to 5"),
    ],
)
def test_show_if_rules(brand, show_if, expected):
    yaml = one_item(
        "{id: q, text: Q, type: yes_no}\n"
        "      - {id: pick, text: P, type: choice, options: [{value: red, label: Red}, {value: blue, label: Blue}]}\n"
        "      - {id: stars, text: S, type: scale, min: 1, max: 5}\n"
        f"      - {{id: a, text: A, type: yes_no, show_if: {show_if}}}"
    )
    assert problems_of(yaml, brand) == [f"visit.yaml:11: section s, item a: {expected}"]  # the fourth item, line 11


def test_ids_must_be_unique_and_match_the_file(brand):
    yaml = one_item("{id: a, text: A, type: yes_no}\n      - {id: a, text: A2, type: yes_no}").replace("id: visit", "id: call")
    assert problems_of(yaml, brand) == [
        "visit.yaml:1: id: must equal the file name without .yaml ('visit'), got 'call'",
        "visit.yaml:9: section s, item a: id: 'a' is already used by an earlier item",
    ]


def test_a_checklist_not_in_the_brands_touchpoints(brand):
    yaml = one_item("{id: a, text: A, type: yes_no}").replace("id: visit", "id: email")
    with pytest.raises(ChecklistError) as error:
        parse_checklist(yaml.encode(), brand, "email.yaml")
    assert error.value.problems == ["email.yaml:1: id: 'email' is not among brand.yaml's touchpoints"]


def test_broken_yaml_is_reported_not_raised(brand):
    (problem,) = problems_of("id: visit\nsections: [\n", brand)
    assert problem.startswith("visit.yaml: not valid YAML: ")


def test_brand_rules():
    with pytest.raises(ChecklistError) as error:
        parse_brand(BRAND_YAML.replace("target: 85", "target: 120").replace("touchpoints: [visit, call]", "touchpoints: [visit, visit]").encode())
    assert error.value.problems == [  # a broken pillar does not hide the other rules
        "brand.yaml:5: pillars[0].target: expected a number from 0 to 100, got 120",
        "brand.yaml:8: touchpoints[1]: 'visit' is listed twice",
    ]
    with pytest.raises(ChecklistError) as error:
        parse_brand(BRAND_YAML.replace("touchpoints: [visit, call]", "touchpoints: [visit, visit]").replace("id: easy", "id: fast").encode())
    assert error.value.problems == [
        "brand.yaml:7: pillars[2].id: 'fast' is already used by an earlier pillar",
        "brand.yaml:8: touchpoints[1]: 'visit' is listed twice",
    ]


def test_a_brand_folder_with_every_kind_of_file_problem(tmp_path):
    folder = write_brand(tmp_path, {"brand.yaml": BRAND_YAML, "visit.yaml": VISIT_YAML.replace("type: scale", "type: scale, colour: red"), "extra.yaml": CALL_YAML})
    with pytest.raises(ChecklistError) as error:
        load_brand(folder)
    assert error.value.problems == [
        "acme/visit.yaml:16: section a, item tidy: colour: unknown key (expected one of: id, text, weight, pillars, critical, na, required, photo, show_if, help, figure, min, max, labels)",
        "acme/brand.yaml:8: touchpoints[1]: 'call' has no file call.yaml",
        "acme/extra.yaml: not listed in brand.yaml's touchpoints (add 'extra' there, or move the file away)",
    ]


def test_brand_id_must_match_its_folder(tmp_path):
    folder = write_brand(tmp_path, {"brand.yaml": BRAND_YAML, "visit.yaml": VISIT_YAML, "call.yaml": CALL_YAML}, folder="acme2")
    with pytest.raises(ChecklistError) as error:
        load_brand(folder)
    assert error.value.problems == ["acme2/brand.yaml:1: id: must equal its folder's name ('acme2'), got 'acme'"]


def test_all_brands_report_together(tmp_path):
    write_brand(tmp_path, {"brand.yaml": BRAND_YAML, "visit.yaml": VISIT_YAML, "call.yaml": CALL_YAML})
    write_brand(tmp_path, {"brand.yaml": "id: other\nname: O\n"}, folder="other")
    with pytest.raises(ChecklistError) as error:
        load_brands(tmp_path)
    assert error.value.problems == [
        "other/brand.yaml:1: promise: missing: expected a non-empty text",
        "other/brand.yaml:1: touchpoints: missing: expected a list of ids of lowercase letters, digits and _",
    ]


def test_an_unreadable_checklist_is_a_problem_not_a_traceback(tmp_path):
    folder = write_brand(tmp_path, {"brand.yaml": BRAND_YAML, "visit.yaml": VISIT_YAML})
    (folder / "call.yaml").mkdir()  # a folder where a file should be: reading it fails
    with pytest.raises(ChecklistError) as error:
        load_brand(folder)
    assert error.value.problems == ["acme/brand.yaml:8: touchpoints[1]: 'call' has no file call.yaml"]
    (folder / "call.yaml").rmdir()
    (folder / "call.yaml").symlink_to(folder / "gone.yaml")
    with pytest.raises(ChecklistError) as error:
        load_brand(folder)
    assert error.value.problems == ["acme/brand.yaml:8: touchpoints[1]: 'call' has no file call.yaml"]
