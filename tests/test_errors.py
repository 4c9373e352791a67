"""The error catalog (server.errors.ErrorCode) is the only source of error codes: the server raises
nothing else, an error made with a code it does not hold fails where it is made, the OpenAPI
document lists its codes, and every code the app compares is in it. And a note an action needs
follows one rule on every route: left out or blank, the same 422 on `note`."""

import ast
import re
from pathlib import Path

import msgspec
import pytest

from server import errors
from server.errors import ApiError, ErrorBody, ErrorCode, invalid
from tests.conftest import GOOD_VISIT, _serve, audit_body

ROOT = Path(__file__).resolve().parent.parent
CODE_ARGUMENT = {"ApiError": 1, "invalid": 2, "ErrorBody": None}  # where each takes its code: position, or only `code=`


def test_the_catalog_holds_each_code_once_with_its_statuses_and_meaning():
    assert len(ErrorCode.__members__) == len(ErrorCode)  # an Enum makes a repeated value an alias: none here
    for code in ErrorCode:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", code.value), code
        assert code.statuses and all(400 <= status < 600 for status in code.statuses), code
        assert code.meaning and "\n" not in code.meaning and "|" not in code.meaning, code  # one line, fit for the README's table
    assert set(errors.FRAMEWORK_CODES.values()) <= set(ErrorCode) and all(status in errors.FRAMEWORK_CODES[status].statuses for status in errors.FRAMEWORK_CODES)


def test_an_error_with_a_code_not_in_the_catalog_fails_where_it_is_made():
    with pytest.raises(ValueError, match="'audit_refusd' is not a valid ErrorCode"):
        ApiError(422, "audit_refusd", "a typo of a code")
    with pytest.raises(ValueError, match="'bogus' is not a valid ErrorCode"):
        invalid("refused", code="bogus")
    with pytest.raises(ValueError, match="'bogus' is not a valid ErrorCode"):
        ErrorBody(status=422, code="bogus", message="made by hand")
    with pytest.raises(ValueError, match="error code 'audit_refused' goes with 422, not 404"):
        ApiError(404, ErrorCode.AUDIT_REFUSED, "a code with a status it never has")
    with pytest.raises(msgspec.ValidationError, match="Invalid enum value 'bogus'"):  # the writer's answers are decoded as ErrorBody too
        msgspec.json.decode(b'{"status": 422, "code": "bogus", "message": "m"}', type=ErrorBody)
    made = ApiError(413, "photo_refused", "a catalogued code, as text")  # as a pass-through (exc.code) gives it
    assert made.code is ErrorCode.PHOTO_REFUSED and msgspec.json.encode(ErrorBody(status=413, code=made.code, message="m")) == \
        b'{"status":413,"code":"photo_refused","message":"m","problems":[]}'


def _code_uses(tree: ast.AST):
    """(line, what) for every error code in a module: each ErrorCode.NAME it names, and the code
    argument of each ApiError(...), invalid(...) and ErrorBody(...) it makes."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ErrorCode":
            yield node.lineno, ("member", node.attr)
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else None
            if name not in CODE_ARGUMENT:
                continue
            position = CODE_ARGUMENT[name]
            given = [k.value for k in node.keywords if k.arg == "code"]
            if position is not None and len(node.args) > position:
                given.append(node.args[position])
            for argument in given:
                yield node.lineno, ("argument", argument)


def _refusals(source: str, name: str) -> list[str]:
    """What in one module is not a code of the catalog: a member it does not hold, a free string,
    or a code made any other way than naming a member or passing on an error's own `.code` (and,
    in server/errors.py, a helper passing on its own `code` parameter)."""
    wrong = []
    for line, (kind, what) in sorted(_code_uses(ast.parse(source, name)), key=lambda use: use[0]):
        where = f"{name}:{line}"
        if isinstance(what, ast.Name) and what.id == "code" and name == "server/errors.py":
            continue
        if kind == "member":
            if what not in ErrorCode.__members__:
                wrong.append(f"{where}: ErrorCode.{what} is not in the catalog")
        elif isinstance(what, ast.Constant):
            wrong.append(f"{where}: the code {what.value!r} is a free string: name it ErrorCode.{str(what.value).upper()} (add it to the catalog if it is new)")
        elif not (isinstance(what, ast.Attribute) and (what.attr == "code" or (isinstance(what.value, ast.Name) and what.value.id == "ErrorCode"))) \
                and not (isinstance(what, ast.Call) and isinstance(what.func, ast.Attribute) and what.func.attr == "get"
                         and isinstance(what.func.value, ast.Name) and what.func.value.id == "FRAMEWORK_CODES"):
            wrong.append(f"{where}: the code {ast.unparse(what)} is neither ErrorCode.NAME nor an error's own .code")
    return wrong


def test_every_code_the_server_makes_is_in_the_catalog():
    """Read from the source, so a code in a branch no test reaches is held to the catalog too."""
    modules = sorted(p for p in (ROOT / "server").rglob("*.py"))
    uses = [use for path in modules for use in _code_uses(ast.parse(path.read_text()))]
    assert sum(kind == "argument" for _, (kind, _) in uses) >= 40  # the scan sees the call sites (there are 51)
    assert [wrong for path in modules for wrong in _refusals(path.read_text(), str(path.relative_to(ROOT)))] == []


def test_the_scan_refuses_a_free_string_and_a_code_not_in_the_catalog():
    """The scan itself, on a module broken on purpose in each way it looks for."""
    found = _refusals('from server.errors import ApiError, ErrorBody, ErrorCode, invalid\n'
                      'a = ApiError(409, "campaign_closd", "a free string with a typo")\n'
                      'b = invalid("refused", code="audit_refused")\n'
                      'c = ErrorBody(status=422, code=ErrorCode.AUDIT_REFUSD, message="m")\n'
                      'd = invalid("refused", [], "import_refused")\n'
                      'e = ApiError(422, "_".join(["bad", "id"]), "a code made up at run time")\n'
                      'f = ApiError(422, ErrorCode.BAD_ID, "fine")\n'
                      'g = invalid("fine", code=refused.code)\n'
                      'h = ApiError(422, code, "only server/errors.py passes on a parameter")\n', "server/_broken_on_purpose.py")
    assert found == [
        "server/_broken_on_purpose.py:2: the code 'campaign_closd' is a free string: name it ErrorCode.CAMPAIGN_CLOSD (add it to the catalog if it is new)",
        "server/_broken_on_purpose.py:3: the code 'audit_refused' is a free string: name it ErrorCode.AUDIT_REFUSED (add it to the catalog if it is new)",
        "server/_broken_on_purpose.py:4: ErrorCode.AUDIT_REFUSD is not in the catalog",
        "server/_broken_on_purpose.py:5: the code 'import_refused' is a free string: name it ErrorCode.IMPORT_REFUSED (add it to the catalog if it is new)",
        "server/_broken_on_purpose.py:6: the code '_'.join(['bad', 'id']) is neither ErrorCode.NAME nor an error's own .code",
        "server/_broken_on_purpose.py:9: the code code is neither ErrorCode.NAME nor an error's own .code",
    ]


# How the app's JavaScript compares an error's code: `x.code === "name"` (or !==, ==, !=), either way round.
_COMPARED = re.compile(r"""\bcode\s*[!=]==?\s*(["'`])(\w+)\1|(["'`])(\w+)\3\s*[!=]==?\s*[\w.?]*\bcode\b""")


def test_every_code_the_app_compares_is_in_the_catalog():
    compared = {}
    for path in sorted((ROOT / "pwa").rglob("*.js")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in _COMPARED.finditer(line):
                compared[match[2] or match[4]] = f"{path.relative_to(ROOT)}:{number}"
    assert compared.keys() >= {"campaign_closed"}  # the outbox keeps a campaign's late audit as "closed" by its code
    assert {code: where for code, where in compared.items() if code not in ErrorCode._value2member_map_} == {}
    assert _COMPARED.search('if (error.details?.code === "campaign_closd")')[2] == "campaign_closd"  # the pattern sees a typo
    assert _COMPARED.search("'gone' !== body.code")[4] == "gone"


def test_the_openapi_document_lists_every_code_with_its_meaning(server):
    schemas = server.client.get("/schema/openapi.json").json()["components"]["schemas"]
    assert schemas["ErrorBody"]["properties"]["code"] == {"$ref": "#/components/schemas/ErrorCode"}
    listed = schemas["ErrorCode"]
    assert listed["type"] == "string" and listed["enum"] == sorted(code.value for code in ErrorCode)
    assert listed["x-enumDescriptions"]["photo_refused"] == f"400, 413, 415, 422: {ErrorCode.PHOTO_REFUSED.meaning}"
    assert f"- `campaign_closed` (409): {ErrorCode.CAMPAIGN_CLOSED.meaning}" in listed["description"].splitlines()


def test_answers_carry_catalogued_codes_through_the_real_app(server):
    """A few answers, each from another path of the handler, as the client gets them."""
    seen = {
        server.client.get("/api/me").json()["code"],  # 401 from the app's own check
        server.get("/api/locations/nope", "admin").json()["code"],  # 404 from a domain helper
        server.client.delete("/api/login").json()["code"],  # 405 from the framework
        server.post("/api/audits", "auditor_a", json={"id": 1}).json()["code"],  # 400: not the shape
        server.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT, location="nowhere")).json()["code"],
    }
    assert seen == {"unauthorized", "not_found", "method_not_allowed", "bad_request", "audit_refused"}


def _needs_a_note(answer) -> dict:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "invalid" and [p["field"] for p in body["problems"]] == ["note"], body
    return body


@pytest.fixture
def reviewing(tmp_path):
    """Beside `server`, in a folder of its own: the brand's review on."""
    yield from _serve(tmp_path / "reviewing", "review: true\n")


def test_a_note_an_action_needs_is_one_rule_left_out_or_blank(server, reviewing):
    """Explaining a flag, closing an action, returning and rejecting an audit: a note left out is the
    same 422 on `note` as a blank one (a flag explained without `note` was a 400 before)."""
    fast = audit_body(GOOD_VISIT, finished="2026-03-01T10:01:00+00:00")  # one minute: flagged too fast
    failed = audit_body({**GOOD_VISIT, "resolved": "no"})  # a failed critical item: an action
    for body in (fast, failed):
        assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
    (flag,) = server.get(f"/api/audits/{fast['id']}/flags", "manager_r1").json()
    (action,) = [a for a in server.get("/api/actions", "admin").json() if a["audit"] == failed["id"]]
    explain, close = f"/api/flags/{flag['id']}/explain", f"/api/actions/{action['id']}/close"

    left_out = _needs_a_note(server.post(explain, "manager_r1", json={}))
    blank = _needs_a_note(server.post(explain, "manager_r1", json={"note": " \n "}))
    assert left_out == blank == {"status": 422, "code": "invalid", "message": "explaining a flag needs a note",
                                 "problems": [{"field": "note", "message": "expected why the flag is no cause for concern"}]}
    photo_only = {"photo": ("done.jpg", b"\xff\xd8 not looked at: the note is refused first", "image/jpeg")}
    left_out = _needs_a_note(server.post(close, "manager_r1", files=photo_only))
    blank = _needs_a_note(server.post(close, "manager_r1", files={"note": (None, "  ")}))
    assert left_out == blank and left_out["message"] == "closing an action needs a note"

    audit = audit_body(GOOD_VISIT)
    assert reviewing.post("/api/audits", "auditor_a", json=audit).status_code == 201
    review = f"/api/audits/{audit['id']}/review"
    for action, expected in (("return", "expected comments for the auditor"), ("reject", "expected the reason")):
        left_out = _needs_a_note(reviewing.post(review, "manager_r1", json={"action": action}))
        blank = _needs_a_note(reviewing.post(review, "manager_r1", json={"action": action, "note": "\t"}))
        assert left_out == blank and left_out["problems"] == [{"field": "note", "message": expected}]

    assert server.post(explain, "manager_r1", json={"note": "  Re-checked with the shop.  "}).json()["explanation"] == "Re-checked with the shop."
    assert server.post(close, "manager_r1", files={"note": (None, "Team re-trained.")}).json()["note"] == "Team re-trained."
    assert reviewing.post(review, "manager_r1", json={"action": "reject", "note": "Invented visit"}).json()["review_note"] == "Invented visit"
