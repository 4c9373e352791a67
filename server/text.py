"""What people type (names, notes, reasons, URLs): the one rule for every text field, wherever it
comes in (the JSON API, the managers' forms, the join page, the CLI). A field has a declared
length, and no control characters: NUL and the C0/C1 controls are never text a person meant, and
the bidirectional overrides can make a name read backwards. A note (Prose) keeps its line breaks
and tabs; a name, id or URL (Line) is one line.

Beyond its length or with a control character, the input is refused with a 422 naming the field
and the limit; nothing is ever cut short. Pure: no web or database imports."""

import re
from typing import Annotated

from msgspec import Meta

from server.errors import ApiProblem, invalid

# Written as regex escapes, not the characters themselves: the OpenAPI document carries these
# patterns, and a JSON Schema reader (ECMA regex) must read them as Python's re does.
_BIDI = r"\u202a-\u202e\u2066-\u2069"
_CONTROLS = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029" + _BIDI  # what a Prose field refuses
_LINE_CONTROLS = r"\u0000-\u001f\u007f-\u009f\u2028\u2029" + _BIDI  # a Line also refuses tab, CR and LF
PROSE_PATTERN = f"^[^{_CONTROLS}]*$"
LINE_PATTERN = f"^[^{_LINE_CONTROLS}]*$"
_PROSE_BAD = re.compile(f"[{_CONTROLS}]")
_LINE_BAD = re.compile(f"[{_LINE_CONTROLS}]")
CONTROL_MESSAGE = "control characters (such as NUL, U+0000) are not text: remove them"


def Prose(most: int, description: str | None = None):
    """A note, a reason, instructions: at most `most` characters, line breaks allowed."""
    return Annotated[str, Meta(max_length=most, pattern=PROSE_PATTERN, description=description)]


def Line(most: int, description: str | None = None, least: int = 0):
    """A name, an id, a URL: at least `least` and at most `most` characters on one line."""
    return Annotated[str, Meta(min_length=least or None, max_length=most, pattern=LINE_PATTERN, description=description)]


def problem(value: str, most: int, lines: bool = False) -> str | None:
    """Why `value` is refused as a field of at most `most` characters (lines: may hold line breaks), or None."""
    if len(value) > most:
        return f"at most {most:,} characters, got {len(value):,}"
    bad = (_PROSE_BAD if lines else _LINE_BAD).search(value)
    if bad is not None:
        return f"expected letters, digits, spaces and punctuation; got the control character U+{ord(bad.group()):04X}"
    return None


def required_note(note: str, most: int, needs: str, expected: str) -> str:
    """The one rule for a note an action needs (a flag's explanation, what closing an action did, a
    return's comments, a rejection's reason): without one, empty or only spaces, it is a 422 on
    `note` saying what was expected; past `most` characters or with a control character, a 422 too.
    A payload declares such a note with the default "", so a note left out meets this rule (a 422),
    not the shape check (a 400). Returns the note as stored, without the spaces around it."""
    if not note.strip():
        raise invalid(f"{needs} needs a note", [ApiProblem(field="note", message=expected)])
    if (why := problem(note, most, lines=True)) is not None:
        raise invalid(f"note: {why}", [ApiProblem(field="note", message=why)])
    return note.strip()


def explained(message: str) -> tuple[int, str] | None:
    """msgspec's words for a broken declared limit, as (422, words a person reads); None when the
    message is about the shape (a 400). The one place a Meta constraint becomes a field's message."""
    if match := re.match(r"Expected `str` of length <= (\d+)", message):
        return 422, f"at most {int(match[1]):,} characters"
    if match := re.match(r"Expected `(?:array|object)` of length <= (\d+)", message):
        return 422, f"at most {int(match[1]):,} entries"
    if match := re.match(r"Expected `(?:array|object)` of length >= (\d+)", message):
        return 422, f"at least {int(match[1]):,} {'entry' if match[1] == '1' else 'entries'}"
    if message.startswith("Expected `str` of length >= 1"):
        return 422, "expected a value, got nothing"
    if any(f"matching regex {pattern!r}" in message for pattern in (PROSE_PATTERN, LINE_PATTERN)):
        return 422, CONTROL_MESSAGE
    return None
