"""Load brands and their checklists from `checklists/<brand>/`, checking every rule of the spec at once."""

import hashlib
from pathlib import Path

import msgspec
import msgspec.yaml

from server.checklists.decode import INVALID, decode, shown
from server.checklists.format import (
    AnyItem,
    Brand,
    Checklist,
    ChoiceItem,
    NumberItem,
    ScaleItem,
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
    try:
        raw = msgspec.yaml.decode(source)
    except msgspec.DecodeError as exc:
        problems.append(f"{filename}: not valid YAML: {exc}")
        return INVALID
    found: list[tuple[str, str]] = []
    value = decode(raw, annotation, found)
    problems.extend(f"{filename}: {place or '(top)'}: {message}" for place, message in found)
    return value  # may hold None for broken list entries when problems were found


def parse_brand(source: bytes, filename: str = "brand.yaml") -> Brand:
    problems: list[str] = []
    brand = _parse(source, filename, Brand, problems)
    if brand is not INVALID:
        problems += [f"{filename}: {place}: {msg}" for place, msg in brand_problems(brand)]
    if problems:
        raise ChecklistError(problems)
    return brand


def parse_checklist(source: bytes, brand: Brand, filename: str) -> LoadedChecklist:
    """Parse one checklist file's bytes against its brand; `filename` is `<touchpoint>.yaml`."""
    problems: list[str] = []
    checklist = _parse(source, filename, Checklist, problems)
    if checklist is not INVALID:
        expected_id = filename.removesuffix(".yaml")
        found = checklist_problems(checklist, brand)
        if checklist.id != expected_id:
            found.insert(0, ("id", f"must equal the file name without .yaml ({expected_id!r}), got {checklist.id!r}"))
        problems += [f"{filename}: {place}: {msg}" for place, msg in found]
    if problems:
        raise ChecklistError(problems)
    return LoadedChecklist(checklist=checklist, version=version_of(source), source=source)


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


def checklist_problems(checklist: Checklist, brand: Brand) -> list[tuple[str, str]]:
    """The rules that tie fields together, each with its place."""
    problems: list[tuple[str, str]] = []
    if checklist.id not in brand.touchpoints:
        problems.append(("id", f"{checklist.id!r} is not among brand.yaml's touchpoints"))
    pillars = {p.id for p in brand.pillars if p is not None}
    sections: set[str] = set()
    earlier: dict[str, AnyItem] = {}
    broken = False  # a broken item's id is unknown: don't call references to it unknown too
    for s, section in enumerate(checklist.sections):
        if section is None:
            broken = True
            continue
        if section.id in sections:
            problems.append((f"sections[{s}].id", f"{section.id!r} is already used by an earlier section"))
        sections.add(section.id)
        for i, item in enumerate(section.items):
            if item is None:
                broken = True
                continue
            place = f"sections[{s}].items[{i}]"
            problems += [(f"{place}.{key}", msg) for key, msg in _item_problems(item, pillars, earlier, broken)]
            if item.id in earlier:
                problems.append((f"{place}.id", f"{item.id!r} is already used by an earlier item"))
            earlier.setdefault(item.id, item)
    return problems


def _item_problems(item: AnyItem, pillars: set[str], earlier: dict[str, AnyItem], broken: bool):
    for j, pillar in enumerate(item.pillars):
        if pillar not in pillars:
            known = ", ".join(sorted(pillars)) or "none defined"
            yield f"pillars[{j}]", f"{pillar!r} is not a pillar of brand.yaml (pillars: {known})"
    if isinstance(item, ScaleItem) and item.min >= item.max:
        yield "max", f"must be greater than min ({item.min}), got {item.max}"
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
    if item.show_if is not None:
        yield from _show_if_problems(item, earlier, broken)


def _show_if_problems(item: AnyItem, earlier: dict[str, AnyItem], broken: bool):
    rule = item.show_if
    given = [v for v in (rule.equals, rule.not_equals, rule.in_) if v is not None]
    if len(given) != 1:
        yield "show_if", "expected exactly one of equals, not_equals, in"
        return
    target = earlier.get(rule.item)
    if target is None and broken:
        return
    if target is None:
        yield "show_if.item", f"{rule.item!r} must name an item that comes earlier in this checklist"
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
    brand_file = folder / "brand.yaml"
    if not brand_file.is_file():
        raise ChecklistError([f"{folder.name}: no brand.yaml in {folder}"])
    source = _read(brand_file, f"{folder.name}/brand.yaml")
    brand = parse_brand(source, f"{folder.name}/brand.yaml")
    problems: list[str] = []
    if brand.id != folder.name:
        problems.append(f"{folder.name}/brand.yaml: id: must equal its folder's name ({folder.name!r}), got {brand.id!r}")
    checklists: dict[str, LoadedChecklist] = {}
    for touchpoint in brand.touchpoints:
        path = folder / f"{touchpoint}.yaml"
        if not path.is_file():
            problems.append(f"{folder.name}/brand.yaml: touchpoints: {touchpoint!r} has no file {touchpoint}.yaml")
            continue
        try:
            checklists[touchpoint] = parse_checklist(_read(path, f"{folder.name}/{path.name}"), brand, f"{touchpoint}.yaml")
        except ChecklistError as exc:
            problems += [f"{folder.name}/{p}" for p in exc.problems]
    for path in sorted(folder.glob("*.y*ml")):
        if path.name != "brand.yaml" and path.stem not in brand.touchpoints:
            problems.append(f"{folder.name}/{path.name}: not listed in brand.yaml's touchpoints (add {path.stem!r} there, or move the file away)")
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
