"""The form editor's everyday edits of a checklist, pure: what a program admin changes without
touching the file's text — an item's text, help, weight, pillars, critical, required, N/A allowed,
photo and `show_if` (one line, as the workbook writes it: `greeted = no`), a choice's options, a
number's or timer's bands and a scale's labels, a section's title; an item added (yes/no, a 1–5
scale or a text), removed, or moved up and down. Everything else (a new section, an item's type)
is the whole file as text.

The form's fields are named after the place they edit: `s2.i0.weight` is the weight of the first
item of the third section, `s2.title` its title, `new2.id` the id of an item added to it. The
edited checklist is written as its canonical file (workbook.yaml_of: no comments are kept) and
then checked exactly as `touchpoint check` checks a file, by the caller (drafts.save).
"""

from typing import Any

import msgspec

from server.checklists import workbook
import yaml

from server.checklists.format import Checklist, Integrity, ShowIf

EDITABLE = ("text", "help", "weight", "pillars", "critical", "na", "required", "photo", "show_if")
NEW_TYPES = {"yes_no": "yes / no", "scale": "a scale of 1 to 5", "text": "a written answer"}
DEFAULTS = {"help": "", "weight": 1, "pillars": [], "critical": False, "na": False, "required": True, "photo": "none"}


class Field(msgspec.Struct, kw_only=True):
    item: str
    section: str
    problem: str


def _one(form: dict[str, Any], key: str, default: str = "") -> str:
    value = form.get(key, default)
    return (value[-1] if value else default) if isinstance(value, list) else str(value)


def _several(form: dict[str, Any], key: str) -> list[str]:
    value = form.get(key)
    return [] if value is None else [v for v in (value if isinstance(value, list) else [value]) if v]


def _number(text: str) -> Any:
    """A weight as typed: a number when it is one; else the text, which the checks refuse by name."""
    try:
        value = float(text.strip())
    except ValueError:
        return text.strip()
    return int(value) if value.is_integer() else value


def start(source: bytes) -> dict:
    """A (checked) checklist file as the plain data the form edits."""
    return workbook.plain(msgspec.yaml.decode(source, type=Checklist))


def types_of(raw: dict) -> dict[str, str]:
    return {item.get("id"): item.get("type") for section in raw.get("sections", []) for item in section.get("items", [])}


def edit(raw: dict, form: dict[str, Any], action: str) -> tuple[dict, list[Field]]:
    """The form's values applied to `raw`, then its `action` ("save", "remove:2.0", "up:2.0",
    "down:2.0", "add:2"); the problems only the form can have (a show_if line that cannot be read, a
    new item without an id), each by its section and item. The rest is for the file's checks."""
    problems: list[Field] = []
    types = types_of(raw)
    for s, section in enumerate(raw.get("sections", [])):
        if f"s{s}.title" in form:
            section["title"] = _one(form, f"s{s}.title").strip()
        for i, item in enumerate(section.get("items", [])):
            here = f"s{s}.i{i}"
            if f"{here}.text" not in form:
                continue  # not on the form that was sent: left as it is
            values: dict[str, Any] = {
                "text": _one(form, f"{here}.text").strip(), "help": _one(form, f"{here}.help").strip(),
                "weight": _number(_one(form, f"{here}.weight", "1")), "pillars": _several(form, f"{here}.pillars"),
                "critical": _one(form, f"{here}.critical") == "yes", "na": _one(form, f"{here}.na") == "yes",
                "required": _one(form, f"{here}.required") == "yes", "photo": _one(form, f"{here}.photo", "none"),
            }
            line = _one(form, f"{here}.show_if").strip()
            if line:
                try:
                    values["show_if"] = workbook.read_show_if(line, types)
                except ValueError as exc:
                    problems.append(Field(item=item.get("id", ""), section=section.get("id", ""), problem=f"show_if: {exc}"))
                    values["show_if"] = item.get("show_if")
            else:
                values["show_if"] = None
            if sorted(values["pillars"]) == sorted(item.get("pillars", [])):
                values["pillars"] = item.get("pillars", [])  # ticked as they were: the file's order stays (the form lists the brand's)
            for key, value in values.items():
                if key == "text":
                    item["text"] = value
                elif value is None or value == DEFAULTS.get(key):
                    item.pop(key, None)
                else:
                    item[key] = value
            _lists(item, form, here)
            item.update({k: item.pop(k) for k in [k for k in item if k not in ("id", "text", "type")]})  # id, text, type first
    verb, _, where = action.partition(":")
    sections = raw.get("sections", [])
    if verb in ("remove", "up", "down"):
        s, _, i = where.partition(".")
        if s.isdigit() and i.isdigit() and int(s) < len(sections) and int(i) < len(sections[int(s)]["items"]):
            items, i = sections[int(s)]["items"], int(i)
            if verb == "remove":
                items.pop(i)
            elif verb == "up" and i > 0:
                items[i - 1], items[i] = items[i], items[i - 1]
            elif verb == "down" and i + 1 < len(items):
                items[i + 1], items[i] = items[i], items[i + 1]
    elif verb == "add" and where.isdigit() and int(where) < len(sections):
        s = int(where)
        ident, kind = _one(form, f"new{s}.id").strip(), _one(form, f"new{s}.type", "yes_no")
        if not ident:
            problems.append(Field(item="", section=sections[s].get("id", ""), problem="id: a new item needs an id (letters, digits and _), such as bag_shelf_tidy"))
        else:
            item: dict[str, Any] = {"id": ident, "text": _one(form, f"new{s}.text").strip(), "type": kind if kind in NEW_TYPES else "yes_no"}
            weight = _number(_one(form, f"new{s}.weight", "1") or "1")
            if weight != 1:
                item["weight"] = weight
            if item["type"] == "scale":
                item.update(min=1, max=5)
            sections[s]["items"].append(item)
    return raw, problems


ROWS = {"choice": ("options", ("value", "label", "score")), "number": ("bands", ("at_most", "at_least", "score")),
        "timer": ("bands", ("at_most", "at_least", "score"))}


def _lists(item: dict, form: dict[str, Any], here: str) -> None:
    """A choice's options, a number's or timer's bands (rows; a row left empty is removed, the blank
    row at the end adds one), a scale's labels (one per point; empty: none)."""
    kind = item.get("type")
    if kind in ROWS:
        key, columns = ROWS[kind]
        if f"{here}.{key}.0.{columns[-1]}" not in form and f"{here}.{key}.new.{columns[-1]}" not in form:
            return  # not on the form that was sent
        rows = []
        for k in [*range(len(item.get(key) or [])), "new"]:
            typed = {c: _one(form, f"{here}.{key}.{k}.{c}").strip() for c in columns}
            if not any(typed.values()):
                continue
            row = {c: (v if c in ("value", "label") else _number(v)) for c, v in typed.items() if v != ""}
            rows.append(row)
        item[key] = rows
    elif kind == "scale" and any(k.startswith(f"{here}.labels.") for k in form):
        labels = {}
        low, high = item.get("min", 1), item.get("max", 5)
        if isinstance(low, int) and isinstance(high, int) and high - low <= 100:
            for v in range(low, high + 1):
                label = _one(form, f"{here}.labels.{v}").strip()
                if label:
                    labels[v] = label
        if labels:
            item["labels"] = labels
        else:
            item.pop("labels", None)


def view(raw: dict) -> list[dict]:
    """The sections and items as the form shows them: each item's show_if as its one line."""
    shown = []
    for section in raw.get("sections", []):
        items = []
        for item in section.get("items", []):
            rule = item.get("show_if")
            line = workbook.show_if_text(msgspec.convert(rule, type=ShowIf)) if isinstance(rule, dict) else (rule or "")
            shown_item = {**DEFAULTS, **item, "show_if": line}
            shown_item.setdefault("options", [])
            shown_item.setdefault("bands", [])
            items.append(shown_item)
        shown.append({"id": section.get("id", ""), "title": section.get("title", ""), "items": items})
    return shown


# --- the brand's own file --------------------------------------------------------------------------

BRAND_NUMBERS = ("threshold", "critical_cap", "credibility_k")
BRAND_CHECKS = ("review", "anonymous_auditors")
INTEGRITY = tuple(f.encode_name for f in msgspec.structs.fields(Integrity))
ACTIONS = ("owner", "due_days")


def brand_start(source: bytes) -> dict:
    """brand.yaml as the plain data its form edits (the file's own keys, in its order)."""
    return msgspec.yaml.decode(source)


def brand_edit(raw: dict, form: dict[str, Any]) -> dict:
    """The brand form's values applied: name, promise, threshold, critical cap, credibility, review,
    anonymous auditors, campaigns counting, each pillar's name, statement and target, the integrity
    thresholds and the follow-up actions' owner and due days. A number left as typed when it is not
    one (the checks name it); a field left empty takes its default (its key removed)."""
    for key in ("name", "promise"):
        if key in form:
            raw[key] = _one(form, key).strip()
    for key in BRAND_NUMBERS:
        if key in form:
            _set(raw, key, _one(form, key))
    for key in BRAND_CHECKS:
        raw[key] = _one(form, key) == "yes"
    raw.setdefault("campaigns", {})["count"] = _one(form, "campaigns.count") == "yes"
    for p, pillar in enumerate(raw.get("pillars") or []):
        for key in ("name", "statement"):
            if f"pillars.{p}.{key}" in form:
                pillar[key] = _one(form, f"pillars.{p}.{key}").strip()
        if f"pillars.{p}.target" in form:
            pillar["target"] = _number(_one(form, f"pillars.{p}.target"))
    for group, keys in (("integrity", INTEGRITY), ("actions", ACTIONS)):
        part = dict(raw.get(group) or {})
        for key in keys:
            if f"{group}.{key}" in form:
                _set(part, key, _one(form, f"{group}.{key}"), text=key == "owner")
        if part:
            raw[group] = part
        else:
            raw.pop(group, None)
    for key in ("review", "anonymous_auditors"):
        if raw.get(key) is False:
            raw.pop(key)
    if raw.get("campaigns") == {"count": False}:
        raw.pop("campaigns")
    return raw


def _set(where: dict, key: str, typed: str, text: bool = False) -> None:
    typed = typed.strip()
    if typed == "":
        where.pop(key, None)
    else:
        where[key] = typed if text else _number(typed)


def brand_view(raw: dict) -> dict:
    """The brand's fields as its form shows them, defaults filled in."""
    integrity = {f.encode_name: f.default for f in msgspec.structs.fields(Integrity)} | (raw.get("integrity") or {})
    actions = {"owner": "manager", "due_days": 7} | (raw.get("actions") or {})
    return {"name": raw.get("name", ""), "promise": raw.get("promise", ""), "threshold": raw.get("threshold", 80), "critical_cap": raw.get("critical_cap", 0),
            "credibility_k": raw.get("credibility_k", 5), "review": bool(raw.get("review")), "anonymous_auditors": bool(raw.get("anonymous_auditors")),
            "count": bool((raw.get("campaigns") or {}).get("count")), "pillars": raw.get("pillars") or [], "integrity": integrity, "actions": actions,
            "touchpoints": raw.get("touchpoints") or []}


def brand_yaml(raw: dict) -> bytes:
    return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=1_000_000).encode()
