"""The difference between two versions of a checklist, item by item, and what it does to history:
which changes are refused, which break comparison with the audits made before. Pure: no web, no database.

What is refused: an item id reused with another type. Audits keep their answers under the item's
id; a yes/no answer and a 1-5 scale answer under one id could never be read as the same question,
so no trend, no item report and no export could line them up. A new question gets a new id.

What is marked (it breaks comparison with history, so it needs a confirmation before publishing and
shows on the trend charts from the day it is published): a change to how the same answers would be
scored, or to what they count towards. History is never rescored (an audit keeps the version it was
made with), so after such a change a month's score and the month before are no longer measured alike:

- a scored item's weight, critical flag or pillars (its share of the score, the critical cap, the
  pillar figures);
- a scored item removed (its points leave every later audit);
- a choice's score changed, or a choice removed (an old answer no longer has a score);
- a number or timer item's bands, a scale's min or max, a yes/no item's passing answer (the same
  answer scores differently);
- `show_if` (whether the item counts in an audit at all);
- the checklist's own critical cap.

Not marked: wording (text, help, labels, a choice's label, the title, a section's title), where an item sits (section,
order), required, N/A allowed, photo, unit, figure, mode, min_minutes; and an item added: it has no
history to be compared with, and the items that were there keep their own scores.
"""

from typing import Literal

import msgspec

from server.checklists.format import Band, Checklist, ChoiceItem, ShowIf
from server.checklists.loader import is_scored

ChangeKind = Literal["added", "removed", "changed"]

#: The item fields compared, in the order a change lists them; `options` is compared choice by choice.
ITEM_FIELDS = ("type", "text", "help", "weight", "pillars", "critical", "required", "na", "photo", "pass_",
               "min", "max", "labels", "bands", "unit", "options", "show_if", "figure", "section")
CHECKLIST_FIELDS = ("title", "mode", "critical_cap", "min_minutes")
#: Fields whose change breaks comparison with history on a scored item (see the module's docstring).
BREAKING = {"weight", "critical", "pillars", "pass_", "min", "max", "bands", "show_if"}


class Field(msgspec.Struct, frozen=True, kw_only=True):
    """One field that changed, as words: `before` and `after` as the pages show them ("—" for none)."""

    field: str
    before: str
    after: str
    breaks: bool = False  # it breaks comparison with history (the module's docstring says which do)


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """An item added, removed or changed (`item` None: the checklist's own fields), with what changed."""

    kind: ChangeKind
    item: str | None
    text: str  # the item's text (the new one when it changed), or the checklist's title
    section: str  # the section's title (where the item is now, or was when removed)
    types: tuple[str, str]  # (before, after); "" where there was no item
    scored: bool  # the item was scored before or is now
    fields: list[Field] = []


class Judgement(msgspec.Struct, frozen=True, kw_only=True):
    """What a set of changes does to history: `refused` can never be published, `marked` needs a confirmation."""

    refused: list[str] = []
    marked: list[str] = []


def _number(value: float) -> str:
    return f"{value:g}"


def _shown(field: str, value: object) -> str:
    """A field's value in words, the way a program admin reads it."""
    if value is None or value == [] or value == {} or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _number(value)
    if field == "pillars":
        return ", ".join(value)
    if field == "labels":
        return ", ".join(f"{point} {label}" for point, label in sorted(value.items()))
    if field == "bands":
        return "; ".join(_band(band) for band in value)
    if isinstance(value, ShowIf):
        if value.equals is not None:
            return f"{value.item} = {value.equals}"
        if value.not_equals is not None:
            return f"{value.item} ≠ {value.not_equals}"
        return f"{value.item} in {', '.join(str(v) for v in value.in_ or ())}"
    return str(value)


def _band(band: Band) -> str:
    bounds = [f"≥ {_number(band.at_least)}" if band.at_least is not None else "", f"≤ {_number(band.at_most)}" if band.at_most is not None else ""]
    return f"{' and '.join(b for b in bounds if b) or 'any'}: {_number(band.score)}"


def _option(option) -> str:
    return f"{option.label} (score {_number(option.score)})" if option.score is not None else f"{option.label} (no score)"


def _value(item, field: str, sections: dict[str, tuple[str, str]]):
    if field == "type":
        return type(item).__struct_config__.tag
    if field == "section":
        return sections[item.id][0]  # moved is another section, not a section renamed
    value = getattr(item, field, None)
    return None if value in ("", [], {}) else value  # an empty field and one the type has not are the same: nothing


def _item_fields(old, new, old_sections: dict[str, tuple[str, str]], new_sections: dict[str, tuple[str, str]]) -> list[Field]:
    scored = is_scored(old) or is_scored(new)
    fields = []
    for name in ITEM_FIELDS:
        if name == "options":
            before = {o.value: o for o in old.options} if isinstance(old, ChoiceItem) else {}
            after = {o.value: o for o in new.options} if isinstance(new, ChoiceItem) else {}
            for value in [*before, *(v for v in after if v not in before)]:
                if before.get(value) != after.get(value):
                    breaks = scored and value in before and (value not in after or before[value].score != after[value].score)
                    fields.append(Field(field=f"choice {value}", before=_option(before[value]) if value in before else "—",
                                        after=_option(after[value]) if value in after else "—", breaks=breaks))
            continue
        before, after = _value(old, name, old_sections), _value(new, name, new_sections)
        if name == "pillars" and sorted(before or []) == sorted(after or []):
            continue  # the same pillars in another order score alike: no change
        if name == "section":
            if before != after:  # by the sections' ids, shown by their titles
                fields.append(Field(field="section", before=old_sections[old.id][1], after=new_sections[new.id][1]))
        elif before != after:
            shown = "pass" if name == "pass_" else name
            fields.append(Field(field=shown, before=_shown(name, before), after=_shown(name, after), breaks=scored and name in BREAKING))
    return fields


def _placed(checklist) -> tuple[dict, dict[str, tuple[str, str]]]:
    """The checklist's items by id, and each item's section (id, title)."""
    if checklist is None:
        return {}, {}
    items, sections = {}, {}
    for section in checklist.sections:
        for item in section.items:
            items[item.id] = item
            sections[item.id] = (section.id, section.title)
    return items, sections


def compare(old: Checklist | None, new: Checklist) -> list[Change]:
    """What changed from `old` (a Checklist, or None for a first version) to `new`, item by item
    (matched by id): the checklist's own fields first, then items in the new order, removed ones last."""
    changes = []
    if old is not None:
        fields = [Field(field=name, before=_shown(name, getattr(old, name)), after=_shown(name, getattr(new, name)), breaks=name == "critical_cap")
                  for name in CHECKLIST_FIELDS if getattr(old, name) != getattr(new, name)]
        titles = {section.id: section.title for section in old.sections}
        fields += [Field(field=f"section {section.id}", before=titles[section.id], after=section.title)
                   for section in new.sections if titles.get(section.id, section.title) != section.title]
        if fields:
            changes.append(Change(kind="changed", item=None, text=new.title, section="", types=("", ""), scored=False, fields=fields))
    before, old_sections = _placed(old)
    after, new_sections = _placed(new)
    for ident, item in after.items():
        kind = type(item).__struct_config__.tag
        was = before.get(ident)
        if was is None:
            changes.append(Change(kind="added", item=ident, text=item.text, section=new_sections[ident][1], types=("", kind), scored=is_scored(item)))
            continue
        fields = _item_fields(was, item, old_sections, new_sections)
        if fields:
            changes.append(Change(kind="changed", item=ident, text=item.text, section=new_sections[ident][1],
                                  types=(type(was).__struct_config__.tag, kind), scored=is_scored(was) or is_scored(item), fields=fields))
    for ident, was in before.items():
        if ident not in after:
            changes.append(Change(kind="removed", item=ident, text=was.text, section=old_sections[ident][1],
                                  types=(type(was).__struct_config__.tag, ""), scored=is_scored(was)))
    return changes


def verdict(change: Change) -> Judgement:
    """What one change does to history (the rules in the module's docstring)."""
    before, after = change.types
    if change.kind == "changed" and change.item is not None and before != after:
        return Judgement(refused=[f"item {change.item}: was a {before} item and would be a {after} item: an item id never changes its type "
                                  "(the answers kept under it could never be compared); give the new question a new id"])
    if change.kind == "removed":
        return Judgement(marked=[f"item {change.item} removed: its points leave every later audit"] if change.scored else [])
    where = "the checklist's" if change.item is None else f"item {change.item}:"
    return Judgement(marked=[f"{where} {f.field} {f.before} → {f.after}" for f in change.fields if f.breaks])


def judge(changes: list[Change]) -> Judgement:
    """Everything `changes` do to history: the refused ones (never published) and the marked ones
    (published only once confirmed, then shown on the trend charts as "checklist changed")."""
    verdicts = [verdict(change) for change in changes]
    return Judgement(refused=[r for v in verdicts for r in v.refused], marked=[m for v in verdicts for m in v.marked])


def marks(old: Checklist | None, new: Checklist) -> bool:
    """Whether publishing `new` after `old` breaks comparison with history."""
    return bool(judge(compare(old, new)).marked)
