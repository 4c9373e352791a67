"""Checklists as .xlsx workbooks: the demo brand's checklists go there and back unchanged, and a
workbook filled in by hand is checked as a YAML file is, each problem named by sheet, row and column."""

import io
import zipfile
from pathlib import Path

import msgspec
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.checklists import ChecklistError, parse_brand, parse_checklist, version_of
from server.checklists import format as fmt
from server.checklists.workbook import COLUMNS, ITEM_COLUMNS, MAX_WORKBOOK_BYTES, REQUIRED, canonical, from_workbook, to_workbook

ROOT = Path(__file__).resolve().parent.parent
HARBOR = ROOT / "checklists" / "harbor"
BRAND = parse_brand((HARBOR / "brand.yaml").read_bytes())
TOUCHPOINTS = ["checkout", "bathroom", "phone", "website"]


def source(touchpoint: str) -> bytes:
    return (HARBOR / f"{touchpoint}.yaml").read_bytes()


def checklist(yaml: bytes, touchpoint: str, brand=BRAND) -> fmt.Checklist:
    return parse_checklist(yaml, brand, f"{touchpoint}.yaml").checklist


def problems(data: bytes, name: str = "trial", brand=None) -> list[str]:
    with pytest.raises(ChecklistError) as error:
        from_workbook(data, name, brand)
    return error.value.problems


def saved(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def opened(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def test_the_demo_brand_has_the_four_checklists():
    assert BRAND.touchpoints == TOUCHPOINTS


@pytest.mark.parametrize("touchpoint", TOUCHPOINTS)
def test_the_round_trip_gives_the_same_checklist(touchpoint):
    back = from_workbook(to_workbook(source(touchpoint)), touchpoint, BRAND)
    assert checklist(back, touchpoint) == checklist(source(touchpoint), touchpoint)


@pytest.mark.parametrize("touchpoint", TOUCHPOINTS)
def test_after_the_first_pass_the_round_trip_is_a_fixed_point(touchpoint):
    """The file written by hand has comments and its own layout; the workbook keeps neither, so the
    first pass gives the canonical YAML; from then on yaml -> workbook -> yaml changes no byte,
    so a workbook downloaded and uploaded unchanged keeps the version."""
    first = from_workbook(to_workbook(source(touchpoint)), touchpoint, BRAND)
    assert first == canonical(source(touchpoint)) != source(touchpoint)
    second = from_workbook(to_workbook(first), touchpoint, BRAND)
    assert second == first and canonical(first) == first
    assert version_of(from_workbook(to_workbook(second), touchpoint, BRAND)) == version_of(first)
    assert from_workbook(to_workbook(first), f"{touchpoint}.xlsx") == first  # without the brand, too


def test_the_canonical_yaml_leaves_out_defaults_and_keeps_the_files_look():
    text = canonical(source("phone")).decode()
    assert text.startswith("id: phone\ntitle: Call the customer support line\nmode: phone\nsections:\n- id: getting_through\n")
    assert "  - id: rings\n    text: How many rings before a person (not a menu) answered?\n    type: number\n    pillars: [fast]\n" in text
    assert "    - {at_most: 3, score: 1}\n    - {at_most: 5, score: 0.5}\n    - {score: 0}\n" in text
    assert "    show_if: {item: follow_up, in: [email, case_number]}\n" in text
    assert "    pass: 'no'\n" in text  # quoted: YAML would read a bare no as false
    assert "weight: 1\n" not in text and "required: true" not in text and "critical: false" not in text


def test_the_workbooks_sheets_and_cells():
    book = opened(to_workbook(source("phone")))
    assert book.sheetnames == ["checklist", "items", "choices", "labels", "bands"]
    for page in book.worksheets:
        assert [c.value for c in page[1]] == list(COLUMNS[page.title])
        assert all(c.font.bold for c in page[1]) and page.freeze_panes == "A2"
        for c, column in enumerate(COLUMNS[page.title]):
            width = page.column_dimensions[openpyxl.utils.get_column_letter(c + 1)].width
            assert len(column) + 2 <= width <= 60, (page.title, column, width)
    assert [[c.value for c in row] for row in book["checklist"].iter_rows(min_row=2)] == [
        ["id", "phone"], ["title", "Call the customer support line"], ["mode", "phone"], ["critical_cap", None], ["min_minutes", None]]
    items = {row[2]: dict(zip(ITEM_COLUMNS, row)) for row in book["items"].iter_rows(min_row=2, values_only=True)}
    assert len(items) == 13  # 4 + 5 + 4 in its three sections
    assert items["resolved"] == {
        "section_id": "outcome", "section_title": "The outcome", "id": "resolved", "type": "yes_no",
        "text": "Was your question fully answered on this call?",
        "help": 'Fully means you would not need to call again. A promise to "look into it" is a no.',
        "weight": 3, "pillars": "easy", "critical": "yes", "na": "no", "required": "yes", "photo": "none", "show_if": None,
        "pass": "yes", "min": None, "max": None, "unit": None, "figure": "First-call resolution"}
    assert items["transfer_explained"]["pillars"] == "friendly; easy"
    assert items["transfer_explained"]["show_if"] == "was_transferred = yes"
    assert items["confirmation_message"]["show_if"] == "follow_up in email; case_number"
    assert (items["courtesy"]["min"], items["courtesy"]["max"], items["courtesy"]["pass"]) == (1, 5, None)
    assert items["rings"]["unit"] == "rings" and items["call_notes"]["required"] == "no"
    assert list(book["choices"].iter_rows(min_row=2, max_row=3, values_only=True)) == [
        ("menu_options", "none", "No menu, straight to a person", 1), ("menu_options", "short", "Short and clear (three options or fewer)", 1)]
    assert list(book["labels"].iter_rows(min_row=2, values_only=True)) == [
        ("courtesy", 1, "Curt or impatient"), ("courtesy", 3, "Polite"), ("courtesy", 5, "Warm, patient, used your name")]
    assert list(book["bands"].iter_rows(min_row=2, max_row=4, values_only=True)) == [
        ("rings", 3, None, 1), ("rings", 5, None, 0.5), ("rings", None, None, 0)]
    type_rule = next(v for v in book["items"].data_validations.dataValidation if "D2:D1000" in str(v.sqref))
    assert type_rule.formula1 == '"yes_no,scale,number,timer,choice,text"'


def test_every_field_of_the_format_has_a_place_in_the_workbook():
    """A field added to the format and forgotten here would be dropped by the round trip: it fails here first."""
    def keys(cls):
        return {f.encode_name for f in msgspec.structs.fields(cls)}

    placed = set(COLUMNS["checklist"]) | set(COLUMNS["items"]) | {"options", "labels", "bands"}
    assert keys(fmt.Checklist) - {"sections"} == set(row[0] for row in opened(to_workbook(source("phone")))["checklist"].iter_rows(min_row=2, values_only=True))
    for cls in (fmt.YesNoItem, fmt.ScaleItem, fmt.NumberItem, fmt.TimerItem, fmt.ChoiceItem, fmt.TextItem):
        assert keys(cls) <= placed, cls
    assert keys(fmt.Option) == {"value", "label", "score"} == set(COLUMNS["choices"]) - {"item"}
    assert keys(fmt.Band) == {"at_most", "at_least", "score"} == set(COLUMNS["bands"]) - {"item"}
    assert keys(fmt.ShowIf) == {"item", "equals", "not_equals", "in"}  # all in the show_if column's one line


def hand_made(rows: list[list], header: list[str] | None = None, extra: dict | None = None) -> bytes:
    """A workbook as a program admin makes it in a spreadsheet: only the columns they need."""
    book = openpyxl.Workbook()
    book.active.title = "checklist"
    for row in (["field", "value"], ["id", "trial"], ["title", "A trial visit"], ["mode", "in_person"]):
        book["checklist"].append(row)
    items = book.create_sheet("items")
    items.append(header or ["section_id", "section_title", "id", "type", "text", "weight", "show_if"])
    for row in rows:
        items.append(row)
    for sheet, table in (extra or {}).items():
        page = book.create_sheet(sheet)
        for row in table:
            page.append(row)
    return saved(book)


def test_a_hand_made_workbook_becomes_the_checklists_yaml():
    """An empty section_id is the section above; a type in any case (a spreadsheet capitalises a
    cell's first letter); numbers typed as text are numbers."""
    data = hand_made([
        ["entrance", "At the door", "greeted", "yes_no", "Were you greeted?", None, None],
        [None, None, "wait", "number", "Minutes before someone came", "2", None],
        ["till", "At the till", "thanks", "Yes_no", "Did they thank you?", 2.5, "greeted = no"],
        [None, None, "mood", "choice", "How did it feel?", None, "wait in 1; 2"],
    ], extra={"bands": [["item", "at_most", "score"], ["wait", 1, 1], [None, "3", 0.5], [None, None, 0]],
              "choices": [["item", "value", "label", "score"], ["mood", "warm", "Warm", 1], [None, "cold", "Cold; distant", None]]})
    assert from_workbook(data, "trial.xlsx") == b"""\
id: trial
title: A trial visit
mode: in_person
sections:
- id: entrance
  title: At the door
  items:
  - id: greeted
    text: Were you greeted?
    type: yes_no
  - id: wait
    text: Minutes before someone came
    type: number
    weight: 2
    bands:
    - {at_most: 1, score: 1}
    - {at_most: 3, score: 0.5}
    - {score: 0}
- id: till
  title: At the till
  items:
  - id: thanks
    text: Did they thank you?
    type: yes_no
    weight: 2.5
    show_if: {item: greeted, equals: 'no'}
  - id: mood
    text: How did it feel?
    type: choice
    show_if: {item: wait, in: [1, 2]}
    options:
    - {value: warm, label: Warm, score: 1}
    - {value: cold, label: Cold; distant}
"""


def test_every_problem_is_named_by_sheet_row_and_column_all_at_once():
    data = hand_made([
        ["entrance", "At the door", "greeted", "yes_no", "Were you greeted?", 1, None, "red"],
        [None, None, "offer", "yes_no", "Were you offered help?", "heavy", None, None],
        [None, None, "smile", "multiple", "Did they smile?", None, None, None],
        ["till", "At the till", "thanks", "yes_no", "Did they thank you?", 2, "greated = no", None],
    ], header=["section_id", "section_title", "id", "type", "text", "weight", "show_if", "colour"])
    assert problems(data) == [
        "trial.xlsx: items, row 1, column colour: unknown column (the columns are: " + ", ".join(ITEM_COLUMNS) + ")",
        'trial.xlsx: items, row 3, column weight: expected a number >= 0, got "heavy"',
        'trial.xlsx: items, row 4, column type: expected one of yes_no, scale, number, timer, choice, text, got "multiple"',
        "trial.xlsx: items, row 5, column show_if: 'greated' must name an item that comes earlier in this checklist (did you mean 'greeted'?)",
    ]


def test_the_messages_are_the_ones_touchpoint_check_gives_the_same_mistakes_in_yaml():
    yaml = b"""id: trial
title: A trial visit
mode: in_person
sections:
  - id: entrance
    title: At the door
    items:
      - {id: greeted, type: yes_no, text: Were you greeted?}
      - {id: offer, type: yes_no, text: Were you offered help?, weight: heavy}
      - {id: smile, type: multiple, text: Did they smile?}
  - id: till
    title: At the till
    items:
      - {id: thanks, type: yes_no, text: Did they thank you?, weight: 2, show_if: {item: greated, equals: "no"}}
"""
    with pytest.raises(ChecklistError) as error:
        parse_checklist(yaml, msgspec.structs.replace(BRAND, touchpoints=["trial"]), "trial.yaml")
    in_the_workbook = problems(hand_made([
        ["entrance", "At the door", "greeted", "yes_no", "Were you greeted?", None, None],
        [None, None, "offer", "yes_no", "Were you offered help?", "heavy", None],
        [None, None, "smile", "multiple", "Did they smile?", None, None],
        ["till", "At the till", "thanks", "yes_no", "Did they thank you?", 2, "greated = no"]]))
    assert len(in_the_workbook) == len(error.value.problems) == 3
    for in_yaml, in_xlsx in zip(error.value.problems, in_the_workbook):  # the same message after each its own place
        assert in_yaml.rsplit(": ", 2)[-1] == in_xlsx.rsplit(": ", 2)[-1] and in_xlsx.split(", column ")[1].split(":")[0] in in_yaml


def test_the_other_sheets_name_their_rows_too():
    data = hand_made([
        ["s", "S", "greeted", "yes_no", "Were you greeted?", None, None],
        [None, None, "wait", "number", "Minutes before someone came", None, "greeted = maybe"],
        [None, None, "mood", "choice", "How did it feel?", None, None],
        [None, None, "courtesy", "scale", "How courteous?", None, "greeted in yes; no"],
    ], header=["section_id", "section_title", "id", "type", "text", "min", "show_if"],
        extra={"bands": [["item", "at_most", "at_least", "score"], ["wait", 1, 5, 1], ["greeted", 3, None, 2]],
               "choices": [["item", "value", "label"], ["mood", "warm", "Warm"], ["mood", "warm", "Cold"], ["mod", "x", "X"]],
               "labels": [["item", "value", "label"], ["courtesy", "three", "Polite"]]})
    assert problems(data) == [
        "trial.xlsx: items, row 3, column show_if: \"maybe\" is never an answer to 'greeted': expected \"yes\" or \"no\"",
        "trial.xlsx: items, row 5, column min: missing: expected a whole number",
        "trial.xlsx: items, row 5, column max: missing: expected a whole number",
        "trial.xlsx: choices, row 3, column value: 'warm' is already used by an earlier option",
        "trial.xlsx: choices, row 4, column item: 'mod' is not an item on the items sheet (did you mean 'mood'?)",
        'trial.xlsx: labels, row 2, column value: expected a whole number (a point of the scale), got "three"',
        "trial.xlsx: bands, row 2, column at_least: at_least (5) is above at_most (1): no value can hold",
        "trial.xlsx: bands, row 3, column item: 'greeted' is a yes_no item: only number and timer items have bands",
    ]


def test_a_missing_column_is_named_once_and_a_cell_a_type_has_not_is_named():
    data = hand_made([
        ["s", "S", "greeted", "yes_no", 3],
        [None, None, "wait", "number", None],
    ], header=["section_id", "section_title", "id", "type", "min"])
    assert problems(data) == [
        "trial.xlsx: items, row 1: no column 'text' (the columns are: " + ", ".join(ITEM_COLUMNS) + ")",
        "trial.xlsx: items, row 2, column min: a yes_no item has no min: leave the cell empty",
        "trial.xlsx: items, row 3, column type: a number item needs its bands: rows on the bands sheet naming 'wait'",
    ]


def test_with_the_brand_its_pillars_and_touchpoints_are_checked():
    data = hand_made([["s", "S", "greeted", "yes_no", "Were you greeted?", "fast; quick"]],
                     header=["section_id", "section_title", "id", "type", "text", "pillars"])
    assert from_workbook(data, "trial").startswith(b"id: trial\n")  # no brand: no brand's checks
    assert problems(data, "trial", BRAND) == [
        "trial.xlsx: checklist, row 2, column value: 'trial' is not among brand.yaml's touchpoints",
        "trial.xlsx: items, row 2, column pillars: 'quick' is not a pillar of brand.yaml (pillars: clean, easy, fast, friendly)",
    ]
    assert problems(data, "visit") == ["visit.xlsx: checklist, row 2, column value: this workbook is for the checklist 'visit', but its id is 'trial'"]


def test_the_checklist_sheet_names_its_fields():
    book = opened(hand_made([["s", "S", "greeted", "yes_no", "Were you greeted?", None, None]]))
    page = book["checklist"]
    page["B4"] = "in_persn"
    page.append(["colour", "blue"])
    page.append(["min_minutes", "ten"])
    page.append(["title", "Again"])
    book.create_sheet("Sheet1")
    assert problems(saved(book)) == [
        "trial.xlsx: sheet 'Sheet1': unknown sheet (the sheets are: checklist, items, choices, labels, bands)",
        'trial.xlsx: checklist, row 4, column value: expected one of "chat", "email", "in_person", "phone", "web", got "in_persn"',
        "trial.xlsx: checklist, row 5, column field: unknown field (the fields are: id, title, mode, critical_cap, min_minutes)",
        'trial.xlsx: checklist, row 6, column value: expected a number >= 0, got "ten"',
        "trial.xlsx: checklist, row 7, column field: 'title' is given already on row 3",
    ]


def test_a_show_if_that_cannot_be_read_says_the_forms_it_may_take():
    data = hand_made([["s", "S", "greeted", "yes_no", "Were you greeted?", None, None],
                      [None, None, "thanks", "yes_no", "Thanked?", None, "greeted is no"]])
    assert problems(data) == ['trial.xlsx: items, row 3, column show_if: expected `item = value`, `item != value` or '
                              '`item in value; value`, got "greeted is no"']


def not_xlsx_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as packed:
        packed.writestr("content.xml", "<office:document/>")  # what an .ods holds, roughly
    return out.getvalue()


def broken_xlsx() -> bytes:
    good, out = zipfile.ZipFile(io.BytesIO(to_workbook(source("phone")))), io.BytesIO()
    with zipfile.ZipFile(out, "w") as packed:
        for member in good.infolist():
            packed.writestr(member, b"<not xml" if member.filename == "xl/workbook.xml" else good.read(member))
    return out.getvalue()


@pytest.mark.parametrize("data, said", [
    (source("phone"), 'phone.xlsx: not an .xlsx workbook (save it from the spreadsheet as "Excel Workbook (.xlsx)"; '
                      "a checklist's YAML file is uploaded as a file, not as a workbook)"),
    (bytes(range(256)) * 4, "phone.xlsx: not an .xlsx workbook"),
    (to_workbook(source("phone"))[:-100], "phone.xlsx: not an .xlsx workbook"),  # cut short: no central directory
    (not_xlsx_zip(), "phone.xlsx: a zip file, but not an .xlsx workbook (it has no xl/workbook.xml)"),
    (broken_xlsx(), "phone.xlsx: not a readable .xlsx workbook"),
])
def test_what_is_not_a_workbook_is_one_clear_problem(data, said):
    (problem,) = problems(data, "phone")
    assert problem.startswith(said)


def test_over_1_mb_is_refused_before_it_is_opened():
    assert MAX_WORKBOOK_BYTES == 1024 * 1024
    book = to_workbook(source("phone"))  # made once: its stamped time can pack to another length a second later
    padded = book + b"\0" * (MAX_WORKBOOK_BYTES + 1 - len(book))
    assert problems(padded, "phone") == ["phone.xlsx: 1,048,577 bytes is more than the 1 MB (1,048,576 bytes) a workbook may be"]


def test_a_zip_that_unpacks_to_more_than_32_mb_is_refused_before_it_is_read():
    good, out = zipfile.ZipFile(io.BytesIO(to_workbook(source("phone")))), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as packed:
        for member in good.infolist():
            packed.writestr(member.filename, good.read(member), zipfile.ZIP_DEFLATED)
        packed.writestr("xl/media/padding.bin", b"\0" * (33 * 1024 * 1024), zipfile.ZIP_DEFLATED)
    assert len(out.getvalue()) < MAX_WORKBOOK_BYTES
    (problem,) = problems(out.getvalue(), "phone")
    assert problem.startswith("phone.xlsx: unpacks to 34,") and problem.endswith("bytes, more than the 33,554,432 a workbook may hold")


def test_a_file_that_is_not_a_checklist_is_not_made_a_workbook():
    with pytest.raises(ChecklistError) as error:
        to_workbook(b"id: phone\ntitle: T\nmode: phone\nsections: []\n", "phone.yaml")
    assert error.value.problems == ["phone.yaml:4: sections: expected at least 1 entry, got none"]
    with pytest.raises(ChecklistError) as error:
        to_workbook(b"id: [\n", "phone.yaml")
    assert error.value.problems[0].startswith("phone.yaml: not valid YAML:")


def test_a_text_like_a_formula_stays_text_and_a_control_character_is_refused():
    yaml = b'id: trial\ntitle: "=SUM(A1:A3)"\nmode: web\nsections:\n- id: s\n  title: S\n  items:\n  - {id: a, text: "3", type: text}\n'
    book = opened(to_workbook(yaml))
    assert book["checklist"]["B3"].value == "=SUM(A1:A3)" and book["checklist"]["B3"].data_type == "s"
    assert from_workbook(to_workbook(yaml), "trial") == canonical(yaml)
    with pytest.raises(ChecklistError) as error:
        to_workbook(yaml.replace(b'"3"', b'"a\\x07bell"'))
    assert error.value.problems == ['checklist.yaml: items, row 2, column text: a workbook cannot hold the control character "\\u0007"']


def test_a_number_keeps_the_15_significant_digits_a_workbook_keeps():
    yaml = b"id: trial\ntitle: T\nmode: web\nmin_minutes: 1.0043677967199187\nsections:\n- id: s\n  title: S\n  items:\n  - {id: a, text: A, type: yes_no, weight: 0.1}\n"
    back = from_workbook(to_workbook(yaml), "trial")
    assert back == canonical(yaml) and b"min_minutes: 1.00436779671992\n" in back and b"weight: 0.1\n" in back
    assert from_workbook(to_workbook(back), "trial") == back


# --- a property: any small checklist goes there and back -----------------------------------------

PILLARS = ["fast", "easy", "friendly"]
TRIAL_BRAND = msgspec.structs.replace(BRAND, touchpoints=["trial"], pillars=[fmt.Pillar(id=p, name=p, target=80) for p in PILLARS])
prose = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t;=\" "), min_size=1, max_size=12)
words = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(";\" "), min_size=1, max_size=8)
numbers = st.one_of(st.integers(0, 500), st.floats(0, 500).map(lambda v: round(v, 3)))  # as people write them
fractions = st.one_of(st.sampled_from([0, 0.5, 1]), st.floats(0, 1).map(lambda v: round(v, 4)))


@st.composite
def items(draw, ident: str, earlier: list):
    kind = draw(st.sampled_from(["yes_no", "scale", "number", "timer", "choice", "text"]))
    common = dict(id=ident, text=draw(prose), help=draw(st.one_of(st.just(""), prose)), weight=draw(numbers),
                  pillars=draw(st.lists(st.sampled_from(PILLARS), max_size=2, unique=True)), na=draw(st.booleans()),
                  required=draw(st.booleans()), photo=draw(st.sampled_from(["none", "optional", "required"])))
    targets = [t for t in earlier if isinstance(t, (fmt.YesNoItem, fmt.ChoiceItem, fmt.ScaleItem))]
    if targets and draw(st.booleans()):
        target = draw(st.sampled_from(targets))
        answers = (["yes", "no"] if isinstance(target, fmt.YesNoItem) else [o.value for o in target.options]
                   if isinstance(target, fmt.ChoiceItem) else list(range(target.min, target.max + 1)))
        how = draw(st.sampled_from(["equals", "not_equals", "in_"]))
        value = draw(st.lists(st.sampled_from(answers), min_size=1, max_size=3)) if how == "in_" else draw(st.sampled_from(answers))
        common["show_if"] = fmt.ShowIf(item=target.id, **{how: value})
    if kind == "yes_no":
        return fmt.YesNoItem(**common, critical=draw(st.booleans()), pass_=draw(st.sampled_from(["yes", "no"])),
                             figure=draw(st.one_of(st.just(""), words)))
    if kind == "scale":
        low = draw(st.integers(-2, 3))
        high = draw(st.integers(low + 1, low + 6))
        labels = draw(st.dictionaries(st.integers(low, high), prose, max_size=3))
        return fmt.ScaleItem(**common, critical=draw(st.booleans()), min=low, max=high, labels=labels)
    if kind in ("number", "timer"):
        bands = []
        for _ in range(draw(st.integers(1, 3))):
            low = draw(st.one_of(st.none(), numbers))
            high = draw(st.one_of(st.none(), numbers.filter(lambda v: low is None or v >= low)))
            bands.append(fmt.Band(at_least=low, at_most=high, score=draw(fractions)))
        extra = {"unit": draw(st.one_of(st.just(""), words))} if kind == "number" else {}
        cls = fmt.NumberItem if kind == "number" else fmt.TimerItem
        return cls(**common, critical=draw(st.booleans()), bands=bands, **extra)
    if kind == "choice":
        values = draw(st.lists(words, min_size=1, max_size=3, unique=True))
        options = [fmt.Option(value=v, label=draw(prose), score=draw(st.one_of(st.none(), fractions))) for v in values]
        scored = any(o.score is not None for o in options)
        return fmt.ChoiceItem(**common, critical=scored and draw(st.booleans()), options=options)
    return fmt.TextItem(**common)


@st.composite
def checklists(draw):
    sections, earlier = [], []
    for s in range(draw(st.integers(1, 3))):
        section_items = []
        for _ in range(draw(st.integers(1, 3))):
            item = draw(items(f"item_{len(earlier)}", earlier))
            earlier.append(item)
            section_items.append(item)
        sections.append(fmt.Section(id=f"section_{s}", title=draw(prose), items=section_items))
    return fmt.Checklist(id="trial", title=draw(prose), mode=draw(st.sampled_from(["in_person", "phone", "web", "email", "chat"])),
                         critical_cap=draw(st.one_of(st.none(), st.floats(0, 100).map(lambda v: round(v, 2)))), min_minutes=draw(st.one_of(st.none(), numbers)),
                         sections=sections)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(checklists())
def test_any_small_checklist_goes_there_and_back_unchanged(drawn):
    yaml = msgspec.yaml.encode(drawn)  # every field written, defaults too: not the canonical form
    original = checklist(yaml, "trial", TRIAL_BRAND)
    assert original == drawn
    back = from_workbook(to_workbook(yaml), "trial", TRIAL_BRAND)
    assert checklist(back, "trial", TRIAL_BRAND) == drawn
    assert back == canonical(yaml) and from_workbook(to_workbook(back), "trial", TRIAL_BRAND) == back


cells = st.one_of(st.none(), st.booleans(), st.integers(-3, 10), st.floats(allow_nan=False, allow_infinity=False),
                  st.sampled_from(["yes", "no", "s", "a", "b", "c", "yes_no", "scale", "number", "timer", "choice", "text",
                                   "a = yes", "a in x; y", "b != 2", "fast; easy", "=1+1", " ", "", "heavy", "id", "title", "mode"]),
                  st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=6))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(list(COLUMNS) + ["notes"]),
                       st.tuples(st.lists(st.sampled_from(ITEM_COLUMNS + ("item", "value", "label", "score", "at_most", "field", "x")),
                                          max_size=8), st.lists(st.lists(cells, max_size=8), max_size=5)), min_size=1, max_size=6))
def test_any_workbook_is_read_or_refused_with_its_problems_never_a_crash(sheets):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for sheet, (header, rows) in sheets.items():
        page = book.create_sheet(sheet)
        page.append(header)
        for row in rows:
            page.append(row)
    try:
        yaml = from_workbook(saved(book), "a")
    except ChecklistError as error:
        assert error.problems and all(problem.startswith("a.xlsx: ") for problem in error.problems)
    else:
        assert canonical(yaml) == yaml


# --- the README's section "Checklists as workbooks" is what the code does -------------------------

README = (ROOT / "README.md").read_text()
SECTION = README.split("### Checklists as workbooks\n", 1)[1].split("\n## ", 1)[0]


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Each table as its rows of cells (the header row first, the |---| line left out)."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            if not set(line) <= set("|-"):
                current.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
        elif current:
            tables.append(current)
            current = []
    return tables


def as_cell(text: str):
    """A markdown cell as openpyxl reads the workbook's: empty is None, a number is a number."""
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def test_the_readmes_sheets_and_columns_are_the_workbooks():
    import re

    sheets = markdown_tables(SECTION)[0][1:]
    assert [row[0].strip("`") for row in sheets] == list(COLUMNS)
    for sheet, _, columns in sheets:
        sheet = sheet.strip("`")
        named = re.findall(r"`([a-z_]+)`", columns)
        assert named[:len(COLUMNS[sheet])] == list(COLUMNS[sheet]), sheet
        assert re.findall(r"\*\*`([a-z_]+)`\*\*", columns) == list(REQUIRED[sheet]), sheet
    assert re.findall(r"`([a-z_]+)`", sheets[0][2])[2:] == ["id", "title", "mode", "critical_cap", "min_minutes"]


def test_the_readmes_example_rows_are_the_phone_workbooks():
    book = opened(to_workbook(source("phone")))
    items, others = markdown_tables(SECTION)[1:3]
    assert items[0] == ["row", *ITEM_COLUMNS]
    for row, *cells in items[1:]:
        assert [as_cell(c) for c in cells] == [c.value for c in book["items"][int(row)]], row
    assert others[0] == ["sheet", "row", "item", "value", "label", "score", "at_most", "at_least"]
    for sheet, row, *cells in others[1:]:
        shown_as = dict(zip(others[0][2:], (as_cell(c) for c in cells)))
        in_book = dict(zip(COLUMNS[sheet], (c.value for c in book[sheet][int(row)])))
        assert {k: shown_as[k] for k in in_book} == in_book, (sheet, row)
        assert all(v is None for k, v in shown_as.items() if k not in in_book)


def test_the_readmes_show_if_cells_read_as_its_yaml():
    import yaml

    table = markdown_tables(SECTION)[3][1:]
    assert len(table) == 3
    for cell, in_yaml in table:
        data = hand_made([
            ["s", "S", "was_transferred", "yes_no", "Transferred?", None],
            [None, None, "rewards_asked", "yes_no", "Asked about rewards?", None],
            [None, None, "follow_up", "choice", "Follow-up?", None],
            [None, None, "shown", "yes_no", "Shown or not", cell.strip("`")],
        ], header=["section_id", "section_title", "id", "type", "text", "show_if"],
            extra={"choices": [["item", "value", "label"], ["follow_up", "email", "Email"], [None, "case_number", "Case number"]]})
        made = yaml.safe_load(from_workbook(data, "trial"))
        assert made["sections"][0]["items"][3]["show_if"] == yaml.safe_load(in_yaml.strip("`"))["show_if"], cell
    assert "(`greeting = \"hi; there\"`)" in SECTION
    data = hand_made([["s", "S", "greeting", "choice", "Greeting?", None], [None, None, "x", "yes_no", "X", 'greeting = "hi; there"']],
                     header=["section_id", "section_title", "id", "type", "text", "show_if"],
                     extra={"choices": [["item", "value", "label"], ["greeting", "hi; there", "Hi; there"]]})
    assert yaml.safe_load(from_workbook(data, "trial"))["sections"][0]["items"][1]["show_if"] == {"item": "greeting", "equals": "hi; there"}


def test_the_readmes_five_mistakes_are_what_the_check_says():
    book = opened(to_workbook(source("phone")))
    book["items"]["G7"], book["items"]["D3"], book["items"]["M9"] = "heavy", "stopwatch", "was_transfered = yes"
    book["items"]["S1"], book["choices"]["D4"] = "colour", 3
    shown_in_readme = SECTION.split("five mistakes:\n\n```\n", 1)[1].split("```", 1)[0].splitlines()
    assert problems(saved(book), "phone", BRAND) == shown_in_readme


def test_the_readmes_limits_and_sizes_are_the_codes():
    from server.checklists.workbook import MAX_UNPACKED_BYTES

    assert f"over **1 MB** ({MAX_WORKBOOK_BYTES:,} bytes)" in SECTION and f"more than {MAX_UNPACKED_BYTES // 2**20} MB" in SECTION
    phone = checklist(source("phone"), "phone")
    sections = [msgspec.structs.replace(s, id=f"{s.id}_{k}", items=[msgspec.structs.replace(
        i, id=f"{i.id}_{k}", show_if=i.show_if and msgspec.structs.replace(i.show_if, item=f"{i.show_if.item}_{k}")) for i in s.items])
        for k in range(16) for s in phone.sections]
    big = msgspec.structs.replace(phone, sections=sections)
    assert len(big.items()) == 16 * 13 == 208
    assert "(a 200-item checklist's\nis about 25 kB)" in SECTION and 20_000 < len(to_workbook(msgspec.yaml.encode(big))) < 30_000


def test_a_quoted_value_in_a_list_may_hold_the_separator():
    """Found by the property test: `x in ";"; ";"` was split at the second value's quote."""
    data = hand_made([["s", "S", "mark", "choice", "Mark?", None], [None, None, "x", "yes_no", "X", 'mark in ";"; "a \\"b\\""; c']],
                     header=["section_id", "section_title", "id", "type", "text", "show_if"],
                     extra={"choices": [["item", "value", "label"], ["mark", ";", "Semicolon"], [None, 'a "b"', "Quoted"], [None, "c", "C"]]})
    import yaml

    assert yaml.safe_load(from_workbook(data, "trial"))["sections"][0]["items"][1]["show_if"] == {"item": "mark", "in": [";", 'a "b"', "c"]}
    broken = hand_made([["s", "S", "mark", "choice", "Mark?", None], [None, None, "x", "yes_no", "X", 'mark in ";" c; d']],
                       header=["section_id", "section_title", "id", "type", "text", "show_if"],
                       extra={"choices": [["item", "value", "label"], ["mark", ";", "Semicolon"]]})
    assert problems(broken) == ['trial.xlsx: items, row 3, column show_if: a quoted value must end with a quote, then a ; or nothing, got "\\";\\" c; d"']


def test_a_workbook_without_its_sheets_or_rows_says_which():
    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    assert problems(saved(book)) == [
        "trial.xlsx: sheet 'Sheet1': unknown sheet (the sheets are: checklist, items, choices, labels, bands)",
        "trial.xlsx: no sheet 'checklist' (the sheets are: checklist, items, choices, labels, bands)",
        "trial.xlsx: no sheet 'items' (the sheets are: checklist, items, choices, labels, bands)",
    ]
    assert problems(hand_made([])) == ["trial.xlsx: items: no items: one row per item, below the header row"]


def test_an_xml_entity_bomb_inside_is_refused_not_expanded():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><worksheet xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c></row></sheetData></worksheet>')
    good, out = zipfile.ZipFile(io.BytesIO(to_workbook(source("phone")))), io.BytesIO()
    with zipfile.ZipFile(out, "w") as packed:
        for member in good.infolist():
            packed.writestr(member, bomb if member.filename == "xl/worksheets/sheet1.xml" else good.read(member))
    (problem,) = problems(out.getvalue(), "phone")
    assert problem == "phone.xlsx: not a readable .xlsx workbook (ValueError: Unable to read workbook: could not read worksheets from None)"
