"""A refused form comes back as its own page again: what was typed kept, and beside each field what
is wrong with it, so a manager corrects one field instead of starting over from a bare error page.
A handler catches the domain's ApiError and renders its page with a Refusal; the templates show it
with refusal_macros.html."""

import dataclasses
import re
from typing import Any

import msgspec

from server import text
from server.errors import ApiError, ApiProblem, invalid

# the form's field names that a message may name in the API's words, as a manager reads them
WORDS = {
    "touchpoints": "touchpoints", "starts": "the first day", "ends": "the last day", "first": "the first period", "periods": "periods",
    "location": "location", "auditor": "auditor", "note": "note", "region": "region", "every": "how often", "file": "file",
    "name": "name", "zone": "time zone", "channels": "channels", "instructions": "instructions", "url": "address", "events": "events",
}


@dataclasses.dataclass
class Refusal:
    """Why a form was refused: which form of the page, the heading message, each field's problem, and
    what was typed (so the page shows it again; never a password or a CSRF token)."""

    form: str
    message: str
    values: dict[str, Any]
    problems: dict[str, str]  # field -> what is wrong with it
    others: list[str]  # problems that name no field of this form

    def value(self, field: str, default: Any = "") -> Any:
        found = self.values.get(field)
        return default if found in (None, "") else found

    def chosen(self, field: str) -> list[str]:
        """A field that may be given several times (checkboxes), as a list."""
        return several(self.values.get(field))


def several(value) -> list[str]:
    """A form field that may come once (a string), several times (a list) or not at all, as a list
    without empty entries (an unticked box, a blank choice)."""
    return [] if value in (None, "") else [value] if isinstance(value, str) else [v for v in value if v]


def refusal(exc: ApiError, form: str, data: Any, fields: tuple[str, ...]) -> Refusal:
    """The refusal of `form` from the domain's error; `fields` are the form's own field names."""
    values = {k: v for k, v in (dataclasses.asdict(data) if dataclasses.is_dataclass(data) else dict(data)).items()
              if k not in ("csrf_token", "password") and isinstance(v, (str, list, type(None)))}
    problems: dict[str, str] = {}
    others = []
    for problem in exc.problems:
        field = re.sub(r"\[\d+\]", "", problem.field or "").split(".")[-1]  # corrections[0].reason: reason
        if field in fields:
            problems[field] = problem.message if field not in problems else f"{problems[field]}; {problem.message}"
        else:
            others.append(problem.message if not problem.field else f"{WORDS.get(problem.field, problem.field)}: {problem.message}")
    if not exc.problems:
        others.append(exc.message)
    count = len(problems) + len(others)
    message = "Nothing was saved: correct the field marked below." if count == 1 else f"Nothing was saved: correct the {count} things marked below."
    return Refusal(form=form, message=message, values=values, problems=problems, others=[o for o in others if o])


@dataclasses.dataclass
class TokenForm:
    """A form that carries only its CSRF token (sign out, a button)."""

    csrf_token: str = ""


def converted(kind: type, values: dict):
    """A form's fields as the API's Struct, so a form keeps the very limits the API declares:
    a 422 naming the field and the limit when one is broken."""
    try:
        return msgspec.convert(values, kind)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `$")
        field = where.rstrip("`").removeprefix(".") or None
        words = text.explained(message)
        raise invalid(f"{field or 'the form'}: {words[1] if words else message}", [ApiProblem(field=field, message=words[1] if words else message)]) from None


def managers_only(what: str):
    """A managers' page's gate (a controller's before_request, or called first): auditors and a
    campaign's participants go to their app, staff are refused ("{what} are for managers and
    admins"), managers and admins go on (None). One rule for every managers' page."""
    from litestar.response import Redirect

    from server.errors import forbidden

    def gate(request) -> "Redirect | None":
        if request.user.role in ("auditor", "participant"):
            return Redirect("/", status_code=303)
        if request.user.role not in ("admin", "manager"):
            raise forbidden(f"{what} are for managers and admins")
        return None

    return gate
