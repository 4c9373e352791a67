"""The OpenAPI document tells the truth about errors: every error answer is an ErrorBody (not
Litestar's default body), and each operation lists every status it can answer with.

Which statuses an operation can give follows from what the app does with every request, in one
place (`statuses`): a body that is not the expected shape is a 400, one past a declared limit a 422, a route that needs a user a
401, a write a 403 (CSRF, Origin) and a 415 (JSON only), a body a 413, a path with an id a 404;
what a handler adds of its own (a 409 for a retry with other content, a 422 for an audit refused)
it names in `opt={"errors": {...}}` beside its code. The body's `code` is one of the error
catalog's (server.errors.ErrorCode), each described. The fuzz test holds the document to it.
"""

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin

from server.checklists.format import Strict
from server.errors import ErrorBody, ErrorCode

MEANING = {
    400: "The request is not the expected shape (a parameter or the JSON body); `problems` names each field",
    401: "Not signed in, or the token has expired or was revoked",
    403: "Signed in, but not allowed: another region's data, a role that may not, or a write without its CSRF token or from another site",
    404: "No such object",
    409: "The id is already used for other content",
    413: "The body is larger than this route takes",
    415: "The body's Content-Type is not what this route takes",
    422: "Well-formed, but refused: `problems` names each field and what was expected",
    429: "Too many attempts: wait the seconds in Retry-After",
    503: "A worker process was not available: send the same request again after Retry-After",
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def statuses(handler, method: str, path: str, operation: dict) -> set[int]:
    """Every error status this operation can answer with."""
    found = set(handler.opt.get("errors", {}))
    has_body = "requestBody" in operation or method in WRITES
    if operation.get("parameters") or has_body:
        found.add(400)
    if "requestBody" in operation:  # a body past a declared limit (a length, a control character: server.text)
        found.add(422)
    if not handler.opt.get("exclude_from_auth"):
        found.add(401)
    if method in WRITES:
        found |= {403, 413}
        if "media" not in handler.opt:
            found.add(415)
    if handler.guards:
        found.add(403)
    if "{" in path:
        found.add(404)
    return found


def document_errors(app: Litestar) -> None:
    """On startup: rewrite the generated document's error answers (it is built once and cached)."""
    document = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    _, components = msgspec.json.schema_components([ErrorBody], ref_template="#/components/schemas/{name}")
    components["ErrorCode"] = describe_codes(components["ErrorCode"])
    document.setdefault("components", {}).setdefault("schemas", {}).update(components)
    _refuse_unknown_fields(document["components"]["schemas"])
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    handlers = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods:
                handlers[(method, plain_path(route.path))] = handler
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            handler = handlers.get((method.upper(), path))
            if handler is None or not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = {code: answer for code, answer in operation["responses"].items() if not code.startswith(("4", "5"))}
            success = next(iter(responses.values()), None)
            for status, meaning in handler.opt.get("also", {}).items():  # another success, the same body
                responses[str(status)] = {**(success or {}), "description": meaning}
            for status in sorted(statuses(handler, method.upper(), path, operation)):
                meaning = handler.opt.get("errors", {}).get(status) or MEANING[status]
                responses[str(status)] = {"description": meaning, "content": body}
            operation["responses"] = responses
            if handler.opt.get("exclude_from_auth"):
                operation["security"] = []  # open to anyone: the document's default asks for a token


def describe_codes(schema: dict) -> dict:
    """The error codes as the catalog (server.errors.ErrorCode) holds them: each with its statuses
    and meaning, in the description and beside each value (`x-enumDescriptions`, which Redoc shows)."""
    lines = [f"- `{code}` ({code.shown_statuses()}): {code.meaning}" for code in ErrorCode]
    return {**schema, "type": "string", "description": f"{schema['description']}\n\n" + "\n".join(lines),
            "x-enumDescriptions": {code.value: f"{code.shown_statuses()}: {code.meaning}" for code in ErrorCode}}


def _refuse_unknown_fields(schemas: dict) -> None:
    """Payloads refuse fields they do not know (a typo is never a silent no-op): say so."""
    strict = [Strict]
    while strict:
        kind = strict.pop()
        strict += kind.__subclasses__()
        if kind.__name__ in schemas and kind.__struct_config__.forbid_unknown_fields:
            schemas[kind.__name__]["additionalProperties"] = False


def plain_path(path: str) -> str:
    """/api/audits/{audit_id:str} -> /api/audits/{audit_id}, as the document writes it."""
    import re

    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
