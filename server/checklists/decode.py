"""Turn decoded YAML into the format's Structs, reporting every problem with its place, not just the first.

msgspec stops at the first error; a checklist author wants the whole list at once. So this walks
the Struct definitions, lets msgspec validate each leaf against its annotated type (constraints
included), and keeps going past a bad leaf.
"""

import difflib
import json
from typing import Annotated, Any, Union, get_args, get_origin
import types

import msgspec
from msgspec import inspect

INVALID = object()

from server.text import LINE_PATTERN, PROSE_PATTERN

_PATTERN_WORDS = {
    r"^[a-z0-9_]+$": "an id of lowercase letters, digits and _",
    r"^[a-z0-9_-]+$": "an id of lowercase letters, digits, _ and -",
    r"^[A-Za-z0-9_.-]+$": "an id of letters, digits, _ . and -",
}


def decode(value: Any, annotation: Any, problems: list[tuple[str, str]], path: str = "", strict: bool = True) -> Any:
    """`value` as `annotation`, or INVALID after adding (path, message) pairs to `problems`.

    Once anything was added to `problems` the result is only fit for further checking: a list
    of Structs keeps None where an entry was broken.
    """
    inner, metas = _unwrap(annotation)
    origin = get_origin(inner)
    if isinstance(inner, type) and issubclass(inner, msgspec.Struct):
        return _decode_struct(value, inner, problems, path, strict)
    if origin in (Union, types.UnionType):
        members = get_args(inner)
        if value is None and type(None) in members:
            return None
        structs = [m for m in members if isinstance(m, type) and issubclass(m, msgspec.Struct)]
        if structs:
            return _decode_tagged(value, structs, problems, path, strict)
    if origin is list and isinstance(value, list):
        (element,) = get_args(inner)
        decoded = [decode(v, element, problems, f"{path}[{i}]", strict) for i, v in enumerate(value)]
        least = next((m.min_length for m in metas if m.min_length is not None), None)
        if least is not None and len(value) < least:
            problems.append((path, f"expected at least {least} {'entry' if least == 1 else 'entries'}, got none"))
            return INVALID
        if INVALID in decoded and _holds_structs(element):
            # Keep the sound entries in place (a broken one becomes None) so the rules that tie
            # fields together can still check them and name their true index.
            return [None if d is INVALID else d for d in decoded]
        return INVALID if INVALID in decoded else decoded
    try:
        return msgspec.convert(value, annotation, strict=strict)
    except msgspec.ValidationError:
        problems.append((path, f"expected {describe(annotation)}, got {shown(value)}{_quote_hint(value, annotation)}"))
        return INVALID


def _holds_structs(annotation: Any) -> bool:
    inner, _ = _unwrap(annotation)
    members = get_args(inner) if get_origin(inner) in (Union, types.UnionType) else (inner,)
    return all(isinstance(m, type) and issubclass(m, msgspec.Struct) for m in members)


def _unwrap(annotation: Any) -> tuple[Any, list[msgspec.Meta]]:
    if get_origin(annotation) is Annotated:
        inner, *metas = get_args(annotation)
        return inner, [m for m in metas if isinstance(m, msgspec.Meta)]
    return annotation, []


def _fields(cls: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    return {f.encode_name: f for f in msgspec.structs.fields(cls)}


def _decode_struct(value: Any, cls: type[msgspec.Struct], problems: list, path: str, strict: bool = True) -> Any:
    if not isinstance(value, dict):
        problems.append((path, f"expected a mapping of keys to values, got {shown(value)}"))
        return INVALID
    fields = _fields(cls)
    tag_field = cls.__struct_config__.tag_field
    kwargs: dict[str, Any] = {}
    ok = True
    for key, raw in value.items():
        where = f"{path}.{key}" if path else str(key)
        if key == tag_field:
            continue
        field = fields.get(key)
        if field is None:
            problems.append((where, f"unknown key{_did_you_mean(str(key), fields)}"))
            ok = False
            continue
        decoded = decode(raw, field.type, problems, where, strict)
        if decoded is INVALID:
            ok = False
        else:
            kwargs[field.name] = decoded
    for key, field in fields.items():
        if key not in value and field.required:
            problems.append((f"{path}.{key}" if path else key, f"missing: expected {describe(field.type)}"))
            ok = False
    return cls(**kwargs) if ok else INVALID


def _decode_tagged(value: Any, structs: list[type[msgspec.Struct]], problems: list, path: str, strict: bool = True) -> Any:
    tag_field = structs[0].__struct_config__.tag_field
    if tag_field is None:
        return _decode_struct(value, structs[0], problems, path, strict)
    by_tag = {s.__struct_config__.tag: s for s in structs}
    choices = ", ".join(by_tag)
    if not isinstance(value, dict):
        problems.append((path, f"expected a mapping of keys to values, got {shown(value)}"))
        return INVALID
    where = f"{path}.{tag_field}" if path else tag_field
    if tag_field not in value:
        problems.append((where, f"missing: expected one of {choices}"))
        return INVALID
    tag = value[tag_field]
    cls = by_tag.get(tag) if isinstance(tag, str) else None
    if cls is None:
        problems.append((where, f"expected one of {choices}, got {shown(tag)}"))
        return INVALID
    return _decode_struct(value, cls, problems, path, strict)


def _did_you_mean(key: str, fields: dict) -> str:
    close = difflib.get_close_matches(key, fields, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (expected one of: {', '.join(fields)})"


def describe(annotation: Any) -> str:
    """What a value of this type looks like, in words a checklist author uses."""
    return _describe_info(inspect.type_info(annotation))


def _describe_info(info: inspect.Type) -> str:
    if isinstance(info, inspect.Metadata):  # a Meta with a description wraps the type
        return _describe_info(info.type)
    if isinstance(info, inspect.FloatType):
        return "a number" + _bounds(info)
    if isinstance(info, inspect.IntType):
        return "a whole number" + _bounds(info)
    if isinstance(info, inspect.StrType):
        if info.pattern and info.pattern not in (PROSE_PATTERN, LINE_PATTERN):  # those only refuse control characters
            return _PATTERN_WORDS.get(info.pattern, f"text matching {info.pattern}")
        return "a non-empty text" if info.min_length else "a text"
    if isinstance(info, inspect.BoolType):
        return "true or false"
    if isinstance(info, inspect.LiteralType):
        return "one of " + ", ".join(json.dumps(v) for v in info.values)
    if isinstance(info, inspect.ListType):
        return f"a list of {_plural(_describe_info(info.item_type))}"
    if isinstance(info, inspect.UnionType):
        parts = [_describe_info(t) for t in info.types if not isinstance(t, inspect.NoneType)]
        return " or ".join(dict.fromkeys(parts))
    if isinstance(info, (inspect.StructType, inspect.DictType)):
        return "a mapping of keys to values"
    return "a value"


def _plural(words: str) -> str:
    """'an id of ...' -> 'ids of ...', 'a number from 0 to 1' -> 'numbers from 0 to 1'."""
    article, _, rest = words.partition(" ")
    if article not in ("a", "an") or not rest:
        return words
    noun, _, tail = rest.partition(" ")
    return f"{noun}s {tail}".rstrip()


def _bounds(info: inspect.FloatType | inspect.IntType) -> str:
    if info.ge is not None and info.le is not None:
        return f" from {info.ge:g} to {info.le:g}"
    if info.ge is not None:
        return f" >= {info.ge:g}"
    if info.le is not None:
        return f" <= {info.le:g}"
    if info.gt is not None:
        return f" > {info.gt:g}"
    return ""


def shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _quote_hint(value: Any, annotation: Any) -> str:
    """YAML 1.1 reads unquoted yes/no/on/off/true/false as booleans; say so where text was expected."""
    if isinstance(value, bool) and "true or false" not in describe(annotation):
        word = "yes" if value else "no"
        return f' (YAML reads an unquoted {word} as {shown(value)}: put it in quotes, "{word}")'
    return ""
