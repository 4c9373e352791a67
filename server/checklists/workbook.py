"""A checklist as an .xlsx workbook a program admin fills in (the XLSForm habit), and back: pure.

The sheets (README, "Checklists as workbooks"):

    checklist   field | value               one row per top-level field (id, title, mode, critical_cap, min_minutes)
    items       one row per item            section_id, section_title, id, type, text, help, weight, pillars, ...
    choices     item | value | label | score          a choice item's options, in order
    labels      item | value | label                  a scale item's labels
    bands       item | at_most | at_least | score    a number or timer item's bands, in order

Booleans are `yes`/`no`, pillars are separated by `;`, an empty cell is the field's default, an
empty `section_id` or `item` cell means the same as the row above, and `type`, `photo`, `pass` and
`mode` are read in any case (spreadsheets capitalise a cell's first letter). `show_if` is one line:
`greeted = no`, `rewards_asked != yes`, `follow_up in email; case_number` (a value with a `;`, a
quote or spaces at its ends is written in double quotes, as JSON writes it).

A workbook read back is checked with the loader's own checks (`loader.check_checklist`, what
`touchpoint check` runs), every problem at once, each named by sheet, row and column:

    phone.xlsx: items, row 7, column weight: expected a number >= 0, got "heavy"

Versions. A checklist's version is the SHA-256 of its file's bytes (`loader.version_of`), and a
workbook holds no comments and no layout, so the YAML made from it cannot be the original bytes.
It is the checklist's *canonical* YAML instead: the same function of the checklist alone
(`canonical`), defaults left out, keys in one order. So yaml -> workbook -> yaml gives
`canonical(yaml)`, and from then on the round trip is a fixed point: a workbook downloaded and
uploaded unchanged gives the same bytes, hence the same version. (Numbers keep 15 significant
digits, as Excel does, in the canonical YAML too; no checklist written by a person has more.)
Whoever stores an upload keeps the current version when the parsed checklists are equal (msgspec
Structs compare by value), so a hand-written file with comments does not get a new version just
for passing through a workbook.
"""

import difflib
import functools
import io
import json
import re
import zipfile
from typing import Any, get_args

import msgspec
import msgspec.yaml
import yaml

from server.checklists.decode import decode, shown
from server.checklists.format import AnyItem, Band, Brand, Checklist, ChoiceItem, Option, Pillar, ScaleItem, ShowIf
from server.checklists.loader import ChecklistError, check_checklist
from server.checklists.places import Places, steps

MAX_WORKBOOK_BYTES = 1024 * 1024
"""An upload larger than this (1 MB) is refused before it is opened: a 200-item checklist is ~25 kB."""
MAX_UNPACKED_BYTES = 32 * 1024 * 1024
"""An .xlsx is a zip: one that unpacks to more than this is refused before openpyxl reads it."""

CHECKLIST_FIELDS = ("id", "title", "mode", "critical_cap", "min_minutes")
ITEM_COLUMNS = ("section_id", "section_title", "id", "type", "text", "help", "weight", "pillars", "critical", "na",
                "required", "photo", "show_if", "pass", "min", "max", "unit", "figure")
COLUMNS = {
    "checklist": ("field", "value"),
    "items": ITEM_COLUMNS,
    "choices": ("item", "value", "label", "score"),
    "labels": ("item", "value", "label"),
    "bands": ("item", "at_most", "at_least", "score"),
}
REQUIRED = {
    "checklist": ("field", "value"),
    "items": ("section_id", "section_title", "id", "type", "text"),
    "choices": ("item", "value", "label"),
    "labels": ("item", "value", "label"),
    "bands": ("item", "score"),
}
#: The sheet each list of an item lives on, the key it has in the file, and the item types that have it.
DETAIL_SHEETS = {"choices": ("options", ("choice",)), "labels": ("labels", ("scale",)), "bands": ("bands", ("number", "timer"))}

_TYPES = {cls.__struct_config__.tag: cls for cls in get_args(AnyItem)}
_ITEM_KEYS = {tag: {f.encode_name for f in msgspec.structs.fields(cls)} for tag, cls in _TYPES.items()}
_NUMBERS = {"weight", "min", "max", "critical_cap", "min_minutes", "score", "at_most", "at_least"}
_BOOLEANS = {"critical", "na", "required"}
_IDS = {"section_id", "id", "type", "photo", "pass", "mode", "item", "field"}  # no spaces in them: trimmed
_CHOSEN = {"type", "photo", "pass", "mode"}  # one of a few lowercase words: a spreadsheet's "Yes_no" or "Yes" is read lowercase
_CELL_CANNOT_HOLD = re.compile(r"[\x00-\x08\x0b-\x1f]")  # XML 1.0 refuses them; a carriage return is lost in reading
_SHOW_IF = re.compile(r"^\s*([^\s=!]+)\s*(!=|==|=)\s*(.*?)\s*$", re.S)
_SHOW_IF_IN = re.compile(r"^\s*([^\s=!]+)\s+in\s+(.*?)\s*$", re.S)
SHOW_IF_FORMS = "`item = value`, `item != value` or `item in value; value`"


# --- the checklist's canonical YAML -------------------------------------------------------------

def canonical(source: bytes, filename: str = "checklist.yaml") -> bytes:
    """The checklist file's canonical YAML: what `from_workbook(to_workbook(source))` gives.

    Raises ChecklistError when the file does not follow the format (the brand's checks are not run)."""
    return _canonical_yaml(_checklist_of(source, filename))


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """libyaml's emitter where PyYAML has it (4x faster on a 200-item checklist), the same text."""


class _Flow(dict):
    """A mapping written on one line: `{at_most: 3, score: 1}`, as the demo brand's files are."""


class _FlowList(list):
    pass


_Dumper.add_representer(_Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(), flow_style=True))
_Dumper.add_representer(_FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def _canonical_yaml(checklist: Checklist) -> bytes:
    return yaml.dump(_plain(checklist), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000).encode()


def _plain(value: Any) -> Any:
    """A Struct as plain data, defaults left out, an item's id, text and type first; 2.0 written 2."""
    if isinstance(value, msgspec.Struct):
        out: dict[str, Any] = {}
        config = value.__struct_config__
        for field, default in _fields(type(value)):
            current = getattr(value, field.name)
            if field.required or current != default:
                out[field.encode_name] = _plain(current)
            if field.name == "text" and config.tag_field:
                out[config.tag_field] = config.tag
        if config.tag_field:  # an item: id, text, type first
            out = {k: out[k] for k in ("id", "text", config.tag_field)} | out
        return _Flow(out) if isinstance(value, (ShowIf, Band, Option)) else out
    if isinstance(value, list):
        items = [_plain(v) for v in value]
        return _FlowList(items) if all(isinstance(v, (str, int, float)) for v in items) else items
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float):
        return _excel_number(value)
    return value


@functools.cache
def _fields(cls: type) -> list[tuple[msgspec.structs.FieldInfo, Any]]:
    """A Struct's fields with their defaults (looking them up is most of the time of writing a checklist)."""
    return [(f, f.default_factory() if f.default_factory is not msgspec.NODEFAULT else f.default) for f in msgspec.structs.fields(cls)]


def _excel_number(value: float) -> int | float:
    """A number as a workbook keeps it: 15 significant digits (Excel's precision; openpyxl writes
    16, which does not always give the same float back), and 2.0 as 2."""
    value = float(f"{value:.15g}")
    return int(value) if value.is_integer() else value


def _checklist_of(source: bytes, filename: str) -> Checklist:
    """The file's checklist (the format's checks only); its problems with their lines when it is broken."""
    try:
        return msgspec.yaml.decode(source, type=Checklist)  # the quick way for a sound file
    except msgspec.DecodeError:
        pass
    try:
        raw = msgspec.yaml.decode(source)
    except msgspec.DecodeError as exc:
        raise ChecklistError([f"{filename}: not valid YAML: {exc}"]) from None
    found: list[tuple[str, str]] = []
    checklist = decode(raw, Checklist, found)
    if found:
        places = Places(filename, source, raw)
        raise ChecklistError([places.say(place, message) for place, message in found])
    return checklist


# --- checklist -> workbook ----------------------------------------------------------------------

def to_workbook(source: bytes, filename: str = "checklist.yaml") -> bytes:
    """A checklist file's bytes as an .xlsx workbook: the sheets above, header rows bold and frozen.

    Raises ChecklistError when the file does not follow the format, or holds a character a
    workbook cannot keep (a control character other than tab and line feed)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    checklist = _checklist_of(source, filename)
    rows = _rows(checklist)
    problems = [f"{filename}: {sheet}, row {r}, column {column}: a workbook cannot hold the control character {shown(bad.group())}"
                for sheet, table in rows.items() for r, row in enumerate(table, start=2) for column, cell in zip(COLUMNS[sheet], row)
                if isinstance(cell, str) and (bad := _CELL_CANNOT_HOLD.search(cell))]
    if problems:
        raise ChecklistError(problems)
    book = Workbook()
    book.remove(book.active)
    for sheet, table in rows.items():
        page = book.create_sheet(sheet)
        page.append(COLUMNS[sheet])
        for r, row in enumerate(table, start=2):
            page.append(row)
            for c, value in enumerate(row, start=1):
                if isinstance(value, str) and value.startswith("="):
                    page.cell(row=r, column=c).data_type = "s"  # text, not a formula
        for cell in page[1]:
            cell.font = Font(bold=True)
        page.freeze_panes = "A2"
        for c, column in enumerate(COLUMNS[sheet]):
            widest = max([len(column)] + [len(str(row[c])) for row in table if row[c] is not None])
            page.column_dimensions[_letter(c)].width = min(widest + 2, 60)
        for column, allowed in _dropdowns(sheet).items():
            rule = DataValidation(type="list", formula1='"' + ",".join(allowed) + '"', allow_blank=True)
            page.add_data_validation(rule)
            letter = _letter(COLUMNS[sheet].index(column))
            rule.add(f"{letter}2:{letter}1000")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _dropdowns(sheet: str) -> dict[str, tuple[str, ...]]:
    """The columns with a short list of values get a drop-down in the items sheet."""
    if sheet != "items":
        return {}
    return {"type": tuple(_TYPES), "photo": ("none", "optional", "required"), "pass": ("yes", "no"),
            **{column: ("yes", "no") for column in sorted(_BOOLEANS)}}


def _rows(checklist: Checklist) -> dict[str, list[list]]:
    tables: dict[str, list[list]] = {sheet: [] for sheet in COLUMNS}
    tables["checklist"] = [[field, _cell(getattr(checklist, field))] for field in CHECKLIST_FIELDS]
    for section in checklist.sections:
        for item in section.items:
            tag = item.__struct_config__.tag
            fields = {"section_id": section.id, "section_title": section.title, "type": tag,
                      "show_if": _show_if_text(item.show_if) if item.show_if else None}
            for column in ITEM_COLUMNS:
                if column not in fields and column in _ITEM_KEYS[tag]:
                    fields[column] = _cell(getattr(item, "pass_" if column == "pass" else column))
            tables["items"].append([fields.get(column) for column in ITEM_COLUMNS])
            if isinstance(item, ChoiceItem):
                tables["choices"] += [[item.id, o.value, o.label, _cell(o.score)] for o in item.options]
            elif isinstance(item, ScaleItem):
                tables["labels"] += [[item.id, point, label] for point, label in item.labels.items()]
            elif hasattr(item, "bands"):
                tables["bands"] += [[item.id, _cell(b.at_most), _cell(b.at_least), _cell(b.score)] for b in item.bands]
    return tables


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(value) or None
    if isinstance(value, float):
        return _excel_number(value)
    return None if value == "" else value


def _show_if_text(rule) -> str:
    if rule.in_ is not None:
        return f"{rule.item} in " + "; ".join(_answer_text(v) for v in rule.in_)
    if rule.not_equals is not None:
        return f"{rule.item} != {_answer_text(rule.not_equals)}"
    return f"{rule.item} = {_answer_text(rule.equals)}"


def _answer_text(value) -> str:
    if isinstance(value, str):
        plain = value and value == value.strip() and ";" not in value and not value.startswith('"')
        return value if plain else json.dumps(value, ensure_ascii=False)
    return repr(_excel_number(value)) if isinstance(value, float) else repr(value)


# --- workbook -> checklist ----------------------------------------------------------------------

def from_workbook(data: bytes, name: str, brand: Brand | None = None) -> bytes:
    """A workbook's bytes back to the checklist's canonical YAML, checked as a YAML file is.

    `name` is the touchpoint the workbook is for (`phone`, or `phone.xlsx` / `phone.yaml`): the
    checklist's id must equal it, as a file's id equals its name, and problems begin with
    `phone.xlsx:`. With `brand`, every check of `touchpoint check` runs (pillars of the brand, the
    id among its touchpoints); without, all but those two. Raises ChecklistError with every
    problem, each named by sheet, row and column; a file over MAX_WORKBOOK_BYTES or that is not an
    .xlsx workbook gives one problem saying so."""
    touchpoint = name.removesuffix(".xlsx").removesuffix(".yaml")
    label = f"{touchpoint}.xlsx"
    if len(data) > MAX_WORKBOOK_BYTES:
        raise ChecklistError([f"{label}: {len(data):,} bytes is more than the 1 MB ({MAX_WORKBOOK_BYTES:,} bytes) a workbook may be"])
    reader = _Reader(label)
    raw = reader.read(_open(data, label))
    if not reader.whole:
        raise ChecklistError(reader.said())
    written = raw.get("id")
    if isinstance(written, str) and written != touchpoint:  # said here in workbook words, not as the file-name rule
        reader.problem("checklist", reader.where["id"][1], "value", f"this workbook is for the checklist {touchpoint!r}, but its id is {written!r}")
    brand = brand or _any_brand(raw)
    checklist, found = check_checklist(raw, brand, written if isinstance(written, str) else touchpoint)
    for path, message in found:
        reader.problem_at(path, message)
    if reader.problems:
        raise ChecklistError(reader.said())
    out = _canonical_yaml(checklist)
    assert msgspec.yaml.decode(out, type=Checklist) == checklist, "the canonical YAML reads back as the checklist"
    return out


def _open(data: bytes, label: str):
    import openpyxl

    refused = (f"{label}: not an .xlsx workbook (save it from the spreadsheet as \"Excel Workbook (.xlsx)\"; "
               "a checklist's YAML file is uploaded as a file, not as a workbook)")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ChecklistError([refused])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as packed:
            names = set(packed.namelist())
            unpacked = sum(member.file_size for member in packed.infolist())
    except zipfile.BadZipFile:
        raise ChecklistError([refused]) from None
    if not {"[Content_Types].xml", "xl/workbook.xml"} <= names:
        raise ChecklistError([f"{label}: a zip file, but not an .xlsx workbook (it has no xl/workbook.xml)"])
    # The sizes are the zip's own word, and zipfile reads no member past its stated size (a lie is
    # a bad CRC); the XML inside is parsed by defusedxml (a dependency of ours; openpyxl uses it
    # when installed), which refuses entity expansion, so a small file cannot grow in memory.
    if unpacked > MAX_UNPACKED_BYTES:
        raise ChecklistError([f"{label}: unpacks to {unpacked:,} bytes, more than the {MAX_UNPACKED_BYTES:,} a workbook may hold"])
    try:
        return openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl reports a broken part as whatever its XML or zip layer raised
        first = (str(exc).splitlines() or [""])[0].rstrip(".")
        raise ChecklistError([f"{label}: not a readable .xlsx workbook ({type(exc).__name__}: {first})"]) from None


def _any_brand(raw: dict) -> Brand:
    """Without a brand, one that has every pillar the checklist names and its id as a touchpoint."""
    named = {p for section in raw.get("sections", []) for item in section["items"] for p in item.get("pillars", []) if isinstance(p, str)}
    ident = raw.get("id") if isinstance(raw.get("id"), str) else "checklist"
    return Brand(id="any", name="any", promise="any", touchpoints=[ident], pillars=[Pillar(id=p, name=p, target=0) for p in sorted(named)])


_EMPTY = object()
_SHEET_ORDER = (None, *COLUMNS)


class _Reader:
    """Reads one workbook into the checklist as plain data, remembering where each path came from."""

    def __init__(self, label: str):
        self.label = label
        self.problems: list[tuple[str | None, int | None, str | None, str]] = []
        self.where: dict[str, tuple[str, int | None, str | None]] = {}
        self.missing: set[tuple[str, str]] = set()  # (sheet, column) already named as missing
        self.silenced: set[str] = set()  # paths whose problem was already said in workbook words
        self.rows: list[tuple[str, dict, int]] = []  # each item's path, plain data and row
        self.refused: set[tuple[str, int, str]] = set()  # cells named already as unreadable
        self.whole = True  # False when a sheet every checklist needs is missing: nothing more to check

    def problem(self, sheet: str | None, row: int | None, column: str | None, message: str) -> None:
        self.problems.append((sheet, row, column, message))

    def problem_at(self, path: str, message: str) -> None:
        parts = steps(path)
        while parts:
            key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).removeprefix(".")
            if key in self.silenced:
                return
            if key in self.where:
                sheet, row, column = self.where[key]
                if (sheet, column) not in self.missing:
                    self.problem(sheet, row, column, message)
                return
            parts.pop()
        if path in CHECKLIST_FIELDS:
            self.problem("checklist", None, None, f"{path}: {message}")
        else:
            self.problem(None, None, None, f"{path}: {message}" if path else message)

    def said(self) -> list[str]:
        def order(problem):
            sheet, row, column, _ = problem
            columns = COLUMNS.get(sheet, ())
            return _SHEET_ORDER.index(sheet), row or 0, columns.index(column) if column in columns else -1

        out = []
        for sheet, row, column, message in sorted(self.problems, key=order):
            where = ", ".join(part for part in (sheet, row and f"row {row}", column and f"column {column}") if part)
            out.append(f"{self.label}: {where}: {message}" if where else f"{self.label}: {message}")
        return out

    # the sheets

    def read(self, book) -> dict:
        tables: dict[str, list[tuple[int, dict]]] = {}
        for page in book.worksheets:
            sheet = page.title.strip().lower()
            if sheet not in COLUMNS:
                self.problem(None, None, None, f"sheet {page.title!r}: unknown sheet{_hint(sheet, COLUMNS, 'sheets')}")
            elif sheet in tables:
                self.problem(None, None, None, f"sheet {page.title!r}: there is already a sheet {sheet!r}")
            else:
                tables[sheet] = self._table(page, sheet)
        for sheet in ("checklist", "items"):
            if sheet not in tables:
                self.problem(None, None, None, f"no sheet {sheet!r} (the sheets are: {', '.join(COLUMNS)})")
                self.whole = False
        raw = self._checklist(tables.get("checklist", []))
        raw["sections"], items = self._sections(tables["items"]) if "items" in tables else ([], {})
        for sheet in DETAIL_SHEETS:
            self._details(sheet, tables.get(sheet, []), items)
        for path, item, row in self.rows:
            sheet = {"choice": "choices", "number": "bands", "timer": "bands"}.get(item.get("type"))
            if sheet and DETAIL_SHEETS[sheet][0] not in item:
                self.problem("items", row, "type", f"a {item['type']} item needs its {sheet}: rows on the {sheet} sheet naming {item.get('id')!r}")
                self.silenced.add(f"{path}.{DETAIL_SHEETS[sheet][0]}")
        return raw

    def _table(self, page, sheet: str) -> list[tuple[int, dict]]:
        rows = page.iter_rows(values_only=True)
        header = next(rows, None) or ()
        columns: dict[int, str] = {}
        for i, cell in enumerate(header):
            if cell is None or str(cell).strip() == "":
                continue
            column = str(cell).strip().lower()
            if column not in COLUMNS[sheet]:
                self.problem(sheet, 1, str(cell).strip(), f"unknown column{_hint(column, COLUMNS[sheet], 'columns')}")
            elif column in columns.values():
                self.problem(sheet, 1, column, "this column is there twice")
            else:
                columns[i] = column
        for column in REQUIRED[sheet]:
            if column not in columns.values():
                self.problem(sheet, 1, None, f"no column {column!r} (the columns are: {', '.join(COLUMNS[sheet])})")
                self.missing.add((sheet, column))
        table = []
        for r, values in enumerate(rows, start=2):
            cells: dict[str, Any] = {}
            for i, value in enumerate(values):
                if value is None or value == "":
                    continue
                if i not in columns:
                    if not (header[i:i + 1] and header[i] is not None and str(header[i]).strip()):  # an unknown column is named once
                        self.problem(sheet, r, _letter(i), "a value in a column with no name in row 1")
                    continue
                value = self._value(sheet, r, columns[i], value)
                if value is not _EMPTY:
                    cells[columns[i]] = value
            if cells:
                table.append((r, cells))
        return table

    def _value(self, sheet: str, row: int, column: str, value: Any) -> Any:
        """A cell as the file would have it: yes/no as booleans, numbers typed as text as numbers."""
        trimmed = column in _IDS | _NUMBERS | _BOOLEANS or column in ("pillars", "show_if") or (sheet == "labels" and column == "value")
        if isinstance(value, str) and trimmed:
            value = value.strip().lower() if column in _CHOSEN else value.strip()
            if not value:
                return _EMPTY
        if column in _BOOLEANS:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("yes", "no", "true", "false"):
                return value.lower() in ("yes", "true")
            self.problem(sheet, row, column, f"expected yes or no, got {shown(value)}")
            return _EMPTY
        if sheet == "labels" and column == "value":
            number = _number(value)
            if isinstance(number, float) and number.is_integer():
                number = int(number)
            if isinstance(number, int) and not isinstance(number, bool):
                return number
            self.problem(sheet, row, column, f"expected a whole number (a point of the scale), got {shown(value)}")
            self.refused.add((sheet, row, column))
            return _EMPTY
        if column in _NUMBERS:
            return _number(value)
        if column == "pillars":
            return [p.strip() for p in str(value).split(";") if p.strip()]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _answer_text(value)  # a number typed in a text column is that text
        return value

    def _checklist(self, table: list[tuple[int, dict]]) -> dict:
        raw: dict[str, Any] = {}
        rows: dict[str, int] = {}
        for r, cells in table:
            field = cells.get("field")
            if field is None:
                self.problem("checklist", r, "field", "missing: which field this row gives (" + ", ".join(CHECKLIST_FIELDS) + ")")
                continue
            field = str(field)
            if field == "sections":
                self.problem("checklist", r, "field", "the sections and their items are on the items sheet")
            elif field not in CHECKLIST_FIELDS:
                self.problem("checklist", r, "field", f"unknown field{_hint(field, CHECKLIST_FIELDS, 'fields')}")
            elif field in rows:
                self.problem("checklist", r, "field", f"{field!r} is given already on row {rows[field]}")
            elif "value" in cells:
                rows[field] = r
                value = cells["value"]
                if field in _NUMBERS:
                    value = _number(value)
                elif isinstance(value, str) and field in _IDS:
                    value = value.strip().lower() if field in _CHOSEN else value.strip()
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    value = _answer_text(value)
                raw[field] = value
                self.where[field] = ("checklist", r, "value")
            else:
                rows[field] = r  # empty: the field's default
        return raw

    def _sections(self, table: list[tuple[int, dict]]) -> tuple[list[dict], dict]:
        """The sections, and each item id's (path, plain item, row), first of its id."""
        sections: list[dict] = []
        items: dict[str, tuple[str, dict, int]] = {}
        titled: dict[int, int] = {}
        current = None
        if not table:
            self.problem("items", None, None, "no items: one row per item, below the header row")
            self.silenced.add("sections")
        for r, cells in table:
            ident = cells.get("section_id", current)
            if ident is None:
                self.problem("items", r, "section_id", "missing: the id of the section this item is in")
                self.missing.add(("items", "section_id"))
            if not sections or ident != current:
                s = len(sections)
                sections.append({"id": ident, "items": []} if ident is not None else {"items": []})
                self.where |= {f"sections[{s}]": ("items", r, "section_id"), f"sections[{s}].id": ("items", r, "section_id"),
                               f"sections[{s}].title": ("items", r, "section_title"), f"sections[{s}].items": ("items", r, None)}
                current = ident
            s, section = len(sections) - 1, sections[-1]
            if "section_title" in cells:
                title = cells["section_title"]
                if "title" not in section:
                    section["title"], titled[s] = title, r
                    self.where[f"sections[{s}].title"] = ("items", r, "section_title")
                elif title != section["title"]:
                    self.problem("items", r, "section_title", f"the section {ident!r} is titled {section['title']!r} on row {titled[s]}: one title a section")
            path = f"sections[{s}].items[{len(section['items'])}]"
            item = {key: value for key, value in cells.items() if key not in ("section_id", "section_title", "show_if")}
            tag = item.get("type")
            for column in item:
                if tag in _ITEM_KEYS and column not in _ITEM_KEYS[tag] and column != "type":
                    self.problem("items", r, column, f"a {tag} item has no {column}: leave the cell empty")
            item = {key: value for key, value in item.items() if tag not in _ITEM_KEYS or key in _ITEM_KEYS[tag] or key == "type"}
            if "show_if" in cells:
                item["show_if"] = cells["show_if"]  # read once every item's type is known
            section["items"].append(item)
            self.rows.append((path, item, r))
            self.where[path] = ("items", r, "id")
            self.where |= {f"{path}.{column}": ("items", r, column) for column in ITEM_COLUMNS[2:]}
            if isinstance(item.get("id"), str):
                items.setdefault(item["id"], (path, item, r))
        types = {ident: item.get("type") for ident, (_, item, _) in items.items()}
        for path, item, _ in self.rows:
            if "show_if" in item:
                item["show_if"] = self._show_if(item["show_if"], types, path)
        return sections, items

    def _show_if(self, text: Any, types: dict, path: str) -> Any:
        try:
            return read_show_if(text, types)
        except ValueError as exc:
            return self._say(path, str(exc))

    def _say(self, path: str, message: str) -> None:
        """A show_if that cannot be read: said once, and its checks left out."""
        self.problem_at(f"{path}.show_if", message)
        self.silenced.add(f"{path}.show_if")

    def _details(self, sheet: str, table: list[tuple[int, dict]], items: dict) -> None:
        key, types = DETAIL_SHEETS[sheet]
        last = None
        for r, cells in table:
            ident = cells.get("item", last)
            if ident is None:
                self.problem(sheet, r, "item", "missing: the id of the item (on the items sheet) this row is for")
                continue
            last = ident
            if ident not in items:
                self.problem(sheet, r, "item", f"{ident!r} is not an item on the items sheet{_hint(str(ident), items, 'items', hint_only=True)}")
                continue
            path, item, _ = items[ident]
            tag = item.get("type")
            if tag not in types:
                if tag in _TYPES:
                    kinds = " and ".join(types)
                    self.problem(sheet, r, "item", f"{ident!r} is a {tag} item: only {kinds} items have {sheet}")
                continue
            entry = {column: value for column, value in cells.items() if column != "item"}
            if sheet == "labels":
                if "value" not in entry or "label" not in entry:
                    missing = "value" if "value" not in entry else "label"
                    if (sheet, missing) not in self.missing and (sheet, r, missing) not in self.refused:
                        self.problem(sheet, r, missing, "missing: " + ("the point of the scale" if missing == "value" else "expected a non-empty text"))
                    continue
                labels, point = item.setdefault("labels", {}), entry["value"]
                if point in labels:
                    self.problem(sheet, r, "value", f"{point} is labelled already on row {self.where[f'{path}.labels.{point}'][1]}")
                    continue
                labels[point] = entry["label"]
                self.where[f"{path}.labels.{point}"] = (sheet, r, "value")
                continue
            entries = item.setdefault(key, [])
            place = f"{path}.{key}[{len(entries)}]"
            entries.append(entry)
            self.where[place] = (sheet, r, "at_least" if sheet == "bands" else "value")
            self.where |= {f"{place}.{column}": (sheet, r, column) for column in COLUMNS[sheet][1:]}


def _tokens(text: str) -> list[str] | None:
    """`a; "b; c"; d` -> ["a", '"b; c"', "d"]; None when a quoted value is not closed or is followed by more."""
    tokens, rest = [], text.strip()
    while rest:
        if rest.startswith('"'):
            quoted = re.match(r'"(?:[^"\\]|\\.)*"', rest)
            if quoted is None:
                return None
            tokens.append(quoted.group())
            rest = rest[quoted.end():].lstrip()
            if rest and not rest.startswith(";"):
                return None
            rest = rest[1:].lstrip()
        else:
            token, _, rest = rest.partition(";")
            tokens += [token.strip()] if token.strip() else []
            rest = rest.lstrip()
    return tokens


def _number(value: Any) -> Any:
    """A number typed as text is that number; anything else is left for the checks to name."""
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value.strip())
            except ValueError:
                pass
    return value


def _hint(word: str, known, kind: str, hint_only: bool = False) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return "" if hint_only else f" (the {kind} are: {', '.join(known)})"


def read_show_if(text: Any, types: dict[str, str]) -> dict:
    """One show_if line (`greeted = no`, `rewards_asked != yes`, `follow_up in email; case_number`)
    as the file's mapping, a value read as a number when the item it names (`types`: item id ->
    type) is a scale, number or timer; ValueError saying what was expected. The workbook's cells and
    the form editor's field read it alike."""
    refused = f"expected {SHOW_IF_FORMS}, got {shown(text)}"
    if not isinstance(text, str):
        raise ValueError(refused)
    if match := _SHOW_IF.match(text):
        target, operator, value = match.groups()
        return {"item": target, "not_equals" if operator == "!=" else "equals": _answer_of(value, types.get(target))}
    if match := _SHOW_IF_IN.match(text):
        target, values = match.groups()
        tokens = _tokens(values)
        if tokens is None:
            raise ValueError(f"a quoted value must end with a quote, then a ; or nothing, got {shown(values)}")
        return {"item": target, "in": [_answer_of(t, types.get(target)) for t in tokens]}
    raise ValueError(refused)


def show_if_text(rule) -> str:
    """A show_if as its one line (what read_show_if reads back)."""
    return _show_if_text(rule)


def _answer_of(text: str, target_type: str | None) -> Any:
    if text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError:
            raise ValueError(f"a quoted value must be closed by a quote, got {text}") from None
    if target_type in (None, "scale", "number", "timer"):
        number = _number(text)
        if not isinstance(number, str):
            return number
    return text


def canonical_yaml(checklist: Checklist) -> bytes:
    """A checked checklist's canonical YAML (what `canonical` gives for its file)."""
    return _canonical_yaml(checklist)


def plain(checklist: Checklist) -> dict:
    """A checklist as the plain data of its canonical file (defaults left out), to edit and write with `yaml_of`."""
    return _plain(checklist)


def yaml_of(raw: dict) -> bytes:
    """Plain checklist data (as `plain` gives, edited) written as the canonical file writes it."""
    return yaml.dump(raw, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000).encode()
