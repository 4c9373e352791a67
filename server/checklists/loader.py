"""Load brands and their checklists from `checklists/<brand>/`, checking every rule of the spec at once."""

import difflib
import hashlib
from pathlib import Path

import msgspec
import msgspec.yaml

from server.checklists.decode import INVALID, decode, shown
from server.checklists.places import Places
from server.checklists.format import (
    AnyItem,
    Brand,
    Checklist,
    ChoiceItem,
    NumberItem,
    ScaleItem,
    Section,
    TextItem,
    TimerItem,
    YesNoItem,
)


class ChecklistError(Exception):
    """A brand or checklist broke the format; `problems` lists every one, each with file and place."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class LoadedChecklist(msgspec.Struct, frozen=True, kw_only=True):
    """One version of a checklist: what the file says, its version and its exact bytes."""

    checklist: Checklist
    version: str
    source: bytes


class LoadedBrand(msgspec.Struct, frozen=True, kw_only=True):
    brand: Brand
    version: str
    source: bytes
    checklists: dict[str, LoadedChecklist]  # in the brand's touchpoint order


def version_of(source: bytes) -> str:
    """A checklist's version: the first 12 hex digits of the SHA-256 of its file's bytes."""
    return hashlib.sha256(source).hexdigest()[:12]


def _parse(source: bytes, filename: str, annotation, problems: list[str]):
    """(the Struct or INVALID, the file as plain data, its Places); problems added with their lines."""
    try:
        raw = msgspec.yaml.decode(source)
    except msgspec.DecodeError as exc:
        problems.append(f"{filename}: not valid YAML: {exc}")
        return INVALID, None, None
    places = Places(filename, source, raw)
    found: list[tuple[str, str]] = []
    value = decode(raw, annotation, found)
    problems.extend(places.say(place, message) for place, message in found)
    return value, raw, places  # value may hold None for broken list entries when problems were found


def parse_brand(source: bytes, filename: str = "brand.yaml") -> Brand:
    problems: list[str] = []
    brand, _, places = _parse(source, filename, Brand, problems)
    if brand is not INVALID:
        problems += [places.say(place, msg) for place, msg in brand_problems(brand)]
    if problems:
        raise ChecklistError(problems)
    return brand


def parse_checklist(source: bytes, brand: Brand, filename: str) -> LoadedChecklist:
    """Parse one checklist file's bytes against its brand; `filename` is `<touchpoint>.yaml`.

    The rules that tie fields together are checked even when other parts of the file are broken
    (an unknown top-level key, a missing title), so one run lists every problem."""
    try:
        raw = msgspec.yaml.decode(source)
    except msgspec.DecodeError as exc:
        raise ChecklistError([f"{filename}: not valid YAML: {exc}"]) from None
    places = Places(filename, source, raw)
    checklist, found = check_checklist(raw, brand, filename.removesuffix(".yaml"))
    if found:
        raise ChecklistError([places.say(place, msg) for place, msg in found])
    return LoadedChecklist(checklist=checklist, version=version_of(source), source=source)


def check_checklist(raw, brand: Brand, touchpoint: str) -> tuple[Checklist, list[tuple[str, str]]]:
    """A checklist given as plain data (a YAML file decoded, or a workbook read) and every problem
    with it, each (path, message): the one set of checks, whatever the checklist came in. The
    checklist is only fit for use when there are no problems."""
    found: list[tuple[str, str]] = []
    checklist = decode(raw, Checklist, found)
    raw = raw if isinstance(raw, dict) else {}
    ident = raw.get("id")
    if isinstance(ident, str) and ident != touchpoint:
        found.append(("id", f"must equal the file name without .yaml ({touchpoint!r}), got {ident!r}"))
    found += checklist_problems(raw, _sections(checklist, raw), brand)
    return checklist, found


def _sections(checklist, raw) -> list[Section | None]:
    """The checklist's sections, or, when the checklist as a whole is broken, those that decode alone."""
    if checklist is not INVALID:
        return checklist.sections
    if not isinstance(raw.get("sections"), list):
        return []
    sections = decode(raw["sections"], list[Section], [])  # their problems are listed already
    return [] if sections is INVALID else sections


def brand_problems(brand: Brand) -> list[tuple[str, str]]:
    problems = []
    seen: set[str] = set()
    for i, pillar in enumerate(brand.pillars):
        if pillar is None:
            continue
        if pillar.id in seen:
            problems.append((f"pillars[{i}].id", f"{pillar.id!r} is already used by an earlier pillar"))
        seen.add(pillar.id)
    seen = set()
    for i, touchpoint in enumerate(brand.touchpoints):
        if touchpoint in seen:
            problems.append((f"touchpoints[{i}]", f"{touchpoint!r} is listed twice"))
        seen.add(touchpoint)
    return problems


def checklist_problems(raw: dict, sections: list[Section | None], brand: Brand) -> list[tuple[str, str]]:
    """The rules that tie fields together, each with its place. `raw` is the file as plain data:
    a broken item is still known by the id written in it, so a show_if naming it is not called a typo."""
    problems: list[tuple[str, str]] = []
    ident = raw.get("id")
    if isinstance(ident, str) and ident not in brand.touchpoints:
        problems.append(("id", f"{ident!r} is not among brand.yaml's touchpoints"))
    pillars = {p.id for p in brand.pillars if p is not None}
    seen_sections: set[str] = set()
    earlier: dict[str, AnyItem] = {}
    written: set[str] = set()  # ids of earlier items as written, broken ones included
    raw_sections = _entries(raw, "sections")
    for s, section in enumerate(sections):
        raw_items = _entries(raw_sections[s], "items") if s < len(raw_sections) else []
        if section is None:
            written.update(_ids(raw_items))
            continue
        if section.id in seen_sections:
            problems.append((f"sections[{s}].id", f"{section.id!r} is already used by an earlier section"))
        seen_sections.add(section.id)
        for i, item in enumerate(section.items):
            if item is None:
                written.update(_ids(raw_items[i:i + 1]))
                continue
            place = f"sections[{s}].items[{i}]"
            problems += [(f"{place}.{key}", msg) for key, msg in _item_problems(item, pillars, earlier, written)]
            if item.id in earlier:
                problems.append((f"{place}.id", f"{item.id!r} is already used by an earlier item"))
            earlier.setdefault(item.id, item)
            written.add(item.id)
    return problems


def _entries(raw, key: str) -> list:
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, list) else []


def _ids(raw_items: list) -> set[str]:
    return {entry["id"] for entry in raw_items if isinstance(entry, dict) and isinstance(entry.get("id"), str)}


def _item_problems(item: AnyItem, pillars: set[str], earlier: dict[str, AnyItem], written: set[str]):
    for j, pillar in enumerate(item.pillars):
        if pillar not in pillars:
            known = ", ".join(sorted(pillars)) or "none defined"
            yield f"pillars[{j}]", f"{pillar!r} is not a pillar of brand.yaml (pillars: {known})"
    if isinstance(item, ScaleItem) and item.min >= item.max:
        yield "max", f"must be greater than min ({item.min}), got {item.max}"
    if isinstance(item, ScaleItem):
        for point in item.labels:
            if not item.min <= point <= item.max:
                yield f"labels.{point}", f"{point} is not a point of the scale ({item.min} to {item.max})"
    if isinstance(item, (NumberItem, TimerItem)):
        for b, band in enumerate(item.bands):
            if band is not None and band.at_most is not None and band.at_least is not None and band.at_least > band.at_most:
                yield f"bands[{b}]", f"at_least ({band.at_least:g}) is above at_most ({band.at_most:g}): no value can hold"
    if isinstance(item, ChoiceItem):
        values: set[str] = set()
        for o, option in enumerate(item.options):
            if option is None:
                continue
            if option.value in values:
                yield f"options[{o}].value", f"{option.value!r} is already used by an earlier option"
            values.add(option.value)
    if item.critical and not is_scored(item):
        yield "critical", "an item that is never scored cannot fail, so it cannot be critical"
    if item.figure and not isinstance(item, YesNoItem):
        yield "figure", "a campaign headline is the share of yes: only a yes_no item can have one"
    if item.show_if is not None:
        yield from _show_if_problems(item, earlier, written)


def _show_if_problems(item: AnyItem, earlier: dict[str, AnyItem], written: set[str]):
    rule = item.show_if
    given = [v for v in (rule.equals, rule.not_equals, rule.in_) if v is not None]
    if len(given) != 1:
        yield "show_if", "expected exactly one of equals, not_equals, in"
        return
    target = earlier.get(rule.item)
    if target is None and rule.item in written:
        return  # an earlier item that is itself broken: its own problem is listed
    if target is None:
        close = difflib.get_close_matches(rule.item, sorted(written), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        yield "show_if.item", f"{rule.item!r} must name an item that comes earlier in this checklist{hint}"
        return
    key, wanted = next((k, v) for k, v in (("equals", rule.equals), ("not_equals", rule.not_equals), ("in", rule.in_)) if v is not None)
    if key == "in" and not wanted:
        yield "show_if.in", "expected at least one value"
    for v, value in enumerate(wanted if key == "in" else [wanted]):
        reason = _impossible_answer(target, value)
        if reason:
            yield f"show_if.{key}" + (f"[{v}]" if key == "in" else ""), f"{shown(value)} is never an answer to {rule.item!r}: {reason}"


def _impossible_answer(target: AnyItem, value) -> str | None:
    """Why `value` can never be an answer to `target` (so a show_if comparing with it is a typo), or None."""
    if isinstance(target, YesNoItem) and value not in ("yes", "no"):
        return 'expected "yes" or "no"'
    if isinstance(target, ChoiceItem) and value not in {o.value for o in target.options if o is not None}:
        return "expected one of " + ", ".join(o.value for o in target.options if o is not None)
    if isinstance(target, ScaleItem) and not (isinstance(value, int) and target.min <= value <= target.max):
        return f"expected a whole number from {target.min} to {target.max}"
    if isinstance(target, (NumberItem, TimerItem)) and not (isinstance(value, (int, float)) and value >= 0):
        return "expected a number >= 0"
    if isinstance(target, TextItem) and not isinstance(value, str):
        return "expected a text"
    return None


def is_scored(item: AnyItem) -> bool:
    """Text items are never scored; nor is a choice item where no option has a score."""
    if isinstance(item, TextItem):
        return False
    if isinstance(item, ChoiceItem):
        return any(o is not None and o.score is not None for o in item.options)
    return True


def load_brand(folder: Path) -> LoadedBrand:
    """Load `folder/brand.yaml` and every checklist it lists; every problem of every file at once."""
    if not (folder / "brand.yaml").is_file():
        raise ChecklistError([f"{folder.name}: no brand.yaml in {folder}"])
    files = {path.name: _read(path, f"{folder.name}/{path.name}") for path in sorted(folder.glob("*.y*ml")) if path.is_file()}
    return load_brand_files(folder.name, files)


def load_brand_files(name: str, files: dict[str, bytes]) -> LoadedBrand:
    """A brand from its files' bytes ({"brand.yaml": …, "<touchpoint>.yaml": …}), wherever they are
    kept (a folder, a draft in the database), with every problem of every file at once, each named
    `<name>/<file>:<line>: …` exactly as `touchpoint check` prints it."""
    if "brand.yaml" not in files:
        raise ChecklistError([f"{name}: no brand.yaml"])
    source = files["brand.yaml"]
    brand = parse_brand(source, f"{name}/brand.yaml")
    places = Places(f"{name}/brand.yaml", source, None)
    problems: list[str] = []
    if brand.id != name:
        problems.append(places.say("id", f"must equal its folder's name ({name!r}), got {brand.id!r}"))
    checklists: dict[str, LoadedChecklist] = {}
    for t, touchpoint in enumerate(brand.touchpoints):
        file = f"{touchpoint}.yaml"
        if file not in files:
            problems.append(places.say(f"touchpoints[{t}]", f"{touchpoint!r} has no file {file}"))
            continue
        try:
            checklists[touchpoint] = parse_checklist(files[file], brand, file)
        except ChecklistError as exc:
            problems += [f"{name}/{p}" for p in exc.problems]
    for file in sorted(files):
        stem = file.rsplit(".", 1)[0]
        if file != "brand.yaml" and stem not in brand.touchpoints:
            problems.append(f"{name}/{file}: not listed in brand.yaml's touchpoints (add {stem!r} there, or move the file away)")
    if problems:
        raise ChecklistError(problems)
    return LoadedBrand(brand=brand, version=version_of(source), source=source, checklists=checklists)


def _read(path: Path, shown_as: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ChecklistError([f"{shown_as}: cannot read: {exc.strerror}"]) from None


def load_brands(root: Path) -> dict[str, LoadedBrand]:
    """Every brand under `root` (one folder each); every problem of every brand at once."""
    if not root.is_dir():
        raise ChecklistError([f"{root}: no such folder"])
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ChecklistError([f"{root}: no brand folders (expected {root}/<brand>/brand.yaml)"])
    brands: dict[str, LoadedBrand] = {}
    problems: list[str] = []
    for folder in folders:
        try:
            loaded = load_brand(folder)
            brands[loaded.brand.id] = loaded
        except ChecklistError as exc:
            problems += exc.problems
    if problems:
        raise ChecklistError(problems)
    return brands
