"""The form editor's edits of a checklist (server/checklists/editing.py), pure: worked by hand on a
small checklist of two sections."""

from server.checklists import editing, workbook

SOURCE = b"""\
id: visit
title: A visit
mode: in_person
sections:
  - id: a
    title: Arriving
    items:
      - {id: greet, text: Greeted?, type: yes_no, weight: 2}
      - {id: smile, text: A smile?, type: yes_no}
      - {id: mood, text: How did it feel?, type: text}
  - id: b
    title: Leaving
    items:
      - {id: thanks, text: Thanked?, type: yes_no}
"""


def _ids(raw):
    return [[i["id"] for i in s["items"]] for s in raw["sections"]]


def test_moves_removals_and_additions_follow_the_button_pressed():
    raw, problems = editing.edit(editing.start(SOURCE), {}, "down:0.0")
    assert _ids(raw) == [["smile", "greet", "mood"], ["thanks"]] and problems == []
    raw, _ = editing.edit(raw, {}, "up:0.2")
    assert _ids(raw) == [["smile", "mood", "greet"], ["thanks"]]
    raw, _ = editing.edit(raw, {}, "up:0.0")  # the first goes no higher
    assert _ids(raw) == [["smile", "mood", "greet"], ["thanks"]]
    raw, _ = editing.edit(raw, {}, "remove:0.1")
    assert _ids(raw) == [["smile", "greet"], ["thanks"]]
    raw, _ = editing.edit(raw, {"new1.id": "door", "new1.type": "scale", "new1.text": "The door?", "new1.weight": "1.5"}, "add:1")
    assert raw["sections"][1]["items"][-1] == {"id": "door", "text": "The door?", "type": "scale", "weight": 1.5, "min": 1, "max": 5}
    raw, problems = editing.edit(raw, {"new0.id": ""}, "add:0")
    assert [p.problem for p in problems] == ["id: a new item needs an id (letters, digits and _), such as bag_shelf_tidy"]


def test_an_items_fields_are_set_and_defaults_left_out_and_show_if_read_as_one_line():
    form = {"s0.i1.text": "A real smile?", "s0.i1.help": "", "s0.i1.weight": "3", "s0.i1.critical": "yes", "s0.i1.required": "yes",
            "s0.i1.photo": "optional", "s0.i1.show_if": "greet = yes", "s0.title": "Coming in"}
    raw, problems = editing.edit(editing.start(SOURCE), form, "save")
    assert problems == [] and raw["sections"][0]["title"] == "Coming in"
    assert dict(raw["sections"][0]["items"][1]) == {"id": "smile", "text": "A real smile?", "type": "yes_no", "weight": 3, "critical": True, "photo": "optional",
                                                    "show_if": {"item": "greet", "equals": "yes"}}
    assert editing.view(raw)[0]["items"][1]["show_if"] == "greet = yes"
    import msgspec.yaml

    assert msgspec.yaml.decode(workbook.yaml_of(raw))["sections"][0]["items"][1]["show_if"] == {"item": "greet", "equals": "yes"}  # written as it reads back
    _, problems = editing.edit(editing.start(SOURCE), {**form, "s0.i1.show_if": "greet is yes"}, "save")
    assert [(p.section, p.item) for p in problems] == [("a", "smile")] and problems[0].problem.startswith("show_if: expected `item = value`")
    # not required: the checkbox left out
    raw, _ = editing.edit(editing.start(SOURCE), {**form, "s0.i1.required": ""}, "save")
    assert raw["sections"][0]["items"][1]["required"] is False


def test_pillars_ticked_as_they_were_keep_the_files_order():
    """The form lists the brand's pillars in the brand's order; saving an item whose pillars were not
    touched once rewrote `[easy, friendly]` as `[friendly, easy]`, a change the diff then marked."""
    source = SOURCE.replace(b"{id: smile, text: A smile?, type: yes_no}", b"{id: smile, text: A smile?, type: yes_no, pillars: [easy, friendly]}")
    form = {"s0.i1.text": "A smile?", "s0.i1.weight": "1", "s0.i1.required": "yes", "s0.i1.pillars": ["friendly", "easy"]}
    raw, problems = editing.edit(editing.start(source), form, "save")
    assert problems == [] and raw["sections"][0]["items"][1]["pillars"] == ["easy", "friendly"]
    raw, _ = editing.edit(editing.start(source), {**form, "s0.i1.pillars": ["friendly"]}, "save")  # one taken away: as ticked
    assert raw["sections"][0]["items"][1]["pillars"] == ["friendly"]


CHOICES = b"""\
id: visit
title: A visit
mode: in_person
sections:
  - id: a
    title: Arriving
    items:
      - id: wait
        text: Minutes waited?
        type: number
        bands: [{at_most: 2, score: 1}, {score: 0}]
      - id: look
        text: How did it look?
        type: choice
        options: [{value: clean, label: Clean, score: 1}, {value: dirty, label: Dirty, score: 0}]
      - id: tidy
        text: How tidy?
        type: scale
        min: 1
        max: 3
"""


def test_choices_bands_and_scale_labels_are_rows_to_change_add_and_remove():
    raw = editing.start(CHOICES)
    base = {f"s0.i{i}.text": t for i, t in enumerate(("Minutes waited?", "How did it look?", "How tidy?"))} | {f"s0.i{i}.required": "yes" for i in range(3)}
    form = {**base,
            "s0.i0.bands.0.at_most": "3", "s0.i0.bands.0.score": "1", "s0.i0.bands.1.score": "0.5", "s0.i0.bands.new.score": "0",  # a band added at the end
            "s0.i1.options.0.value": "clean", "s0.i1.options.0.label": "Spotless", "s0.i1.options.0.score": "1",
            "s0.i1.options.1.value": "", "s0.i1.options.1.label": "", "s0.i1.options.1.score": "",  # emptied: removed
            "s0.i1.options.new.value": "worn", "s0.i1.options.new.label": "Worn", "s0.i1.options.new.score": "0.5",
            "s0.i2.labels.1": "Messy", "s0.i2.labels.3": "Tidy"}
    raw, problems = editing.edit(raw, form, "save")
    wait, look, tidy = raw["sections"][0]["items"]
    assert problems == []
    assert wait["bands"] == [{"at_most": 3, "score": 1}, {"score": 0.5}, {"score": 0}]
    assert look["options"] == [{"value": "clean", "label": "Spotless", "score": 1}, {"value": "worn", "label": "Worn", "score": 0.5}]
    assert tidy["labels"] == {1: "Messy", 3: "Tidy"}
    from server.checklists import Checklist
    import msgspec.yaml

    back = msgspec.yaml.decode(workbook.yaml_of(raw), type=Checklist)  # written as a file that reads back the same
    assert [o.label for o in back.sections[0].items[1].options] == ["Spotless", "Worn"] and back.sections[0].items[2].labels == {1: "Messy", 3: "Tidy"}
