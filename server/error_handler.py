"""The one handler that renders every error in the same JSON shape (server.errors holds the
catalog), and as a page a person can read on the server-rendered pages.

    {"status": 422, "code": "audit_refused", "message": "...", "problems": [{"item": "rings", "message": "..."}]}
"""

import errno
import logging

import msgspec
from litestar import Request, Response
from litestar.response import Redirect, Template
from litestar.exceptions import HTTPException, ValidationException

from server import text
from server.accounts import accounts
from server.accounts.pages import signin_url
from server.auth import SESSION_COOKIE
from server.checklists.scoring import AuditRefused, parse_answers
from server.errors import FRAMEWORK_CODES, ApiError, ApiProblem, ErrorBody, ErrorCode

log = logging.getLogger("touchpoint")


def render(request: Request, exc: Exception) -> Response[ErrorBody]:
    if isinstance(exc, ApiError):
        body = ErrorBody(status=exc.status, code=exc.code, message=exc.message, problems=exc.problems)
    elif isinstance(exc, ValidationException):
        raw = [(_field(e), e.get("message", "invalid").split(" - at `$")[0]) for e in (exc.extra or []) if isinstance(e, dict)]
        limits = [text.explained(message) for _, message in raw]
        if raw and all(limits):  # well-formed, but past a declared limit (a length, a control character): 422
            problems = [ApiProblem(field=field, message=words) for (field, _), (_, words) in zip(raw, limits)]
            body = ErrorBody(status=422, code=ErrorCode.INVALID, message="; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems), problems=problems)
        else:
            problems = [ApiProblem(field=field, message=message) for field, message in raw]
            if any(p.field and p.field.startswith("answers[") for p in problems):
                problems = _answer_problems(request) or problems
            body = ErrorBody(status=400, code=ErrorCode.BAD_REQUEST, message="the request does not have the expected shape", problems=problems)
    elif isinstance(exc, RecursionError):  # msgspec stops at the interpreter's depth limit
        body = ErrorBody(status=400, code=ErrorCode.BAD_REQUEST, message="the JSON body is nested too deeply to be an audit, a login or anything this API takes")
    elif isinstance(exc, UnicodeDecodeError):  # a form field (multipart) whose text is not UTF-8, decoded by the framework
        body = ErrorBody(status=400, code=ErrorCode.BAD_REQUEST, message="a form field's text is not UTF-8: send text fields as UTF-8")
    elif any(_no_file_name(e) for e in (exc, exc.__cause__)):  # litestar's static files answer these with a 500
        body = ErrorBody(status=404, code=ErrorCode.NOT_FOUND, message="no such file: its name is longer than a file's, or holds a NUL")
    elif isinstance(exc, HTTPException) and exc.status_code >= 500:  # the framework's own: its detail may name a file or a setting
        log.error("server error on %s %s: %s", request.method, request.url.path, exc.detail)
        body = ErrorBody(status=exc.status_code, code=ErrorCode.INTERNAL, message="something went wrong on the server; it has been logged")
    elif isinstance(exc, HTTPException):
        message = exc.detail
        if exc.status_code == 413:
            limit = request.route_handler.resolve_request_max_body_size()  # a 413 only comes from a route that read a body
            message = f"the body is larger than {request.method} {request.url.path} takes (at most {limit:,} bytes)"
        body = ErrorBody(status=exc.status_code, code=FRAMEWORK_CODES.get(exc.status_code, ErrorCode.ERROR), message=message)
    else:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        body = ErrorBody(status=500, code=ErrorCode.INTERNAL, message="something went wrong on the server; it has been logged")
    passed = dict(exc.headers or {}) if isinstance(exc, (ApiError, HTTPException)) else {}
    if body.status == 405 and not any(k.lower() == "allow" for k in passed):  # static files name no methods: they take these
        passed["Allow"] = "GET, HEAD"
    if request.url.path.split("/")[1] in PAGES:
        return _page(request, body, passed)
    headers = {"WWW-Authenticate": "Bearer"} if body.status == 401 else {}
    headers.update(passed)
    return Response(body, status_code=body.status, headers=headers or None)


PAGES = ("manage", "join", "account", "setup", "enrol", "reset", "forgot")  # server-rendered pages: their errors are pages too
_HEADINGS = {400: "That address has a mistake in it", 403: "Not yours to see", 404: "Nothing here", 429: "Please wait a moment", 500: "Something went wrong"}


def _page(request: Request, body: ErrorBody, headers: dict | None = None) -> Response:
    """The error as a page a person can read; signed out: to the sign-in, then back here."""
    if body.status == 401:
        if request.url.path.startswith(("/manage", "/account")):
            return Redirect(signin_url(request.url.path + (f"?{request.url.query}" if request.url.query else "")), status_code=303)
        return Redirect("/#/signin", status_code=303)
    heading = _HEADINGS.get(body.status, "That did not work")
    context = {"status": body.status, "heading": heading, "message": body.message, "problems": body.problems or [], "user": _signed_in(request)}
    return Template("error.html", context=context, status_code=body.status, headers=headers or None)


def _no_file_name(error: BaseException | None) -> bool:
    """A path no file can have: too long for the file system, or with a NUL in it."""
    return (isinstance(error, OSError) and error.errno == errno.ENAMETOOLONG) or (isinstance(error, ValueError) and "null byte" in str(error))
def _signed_in(request: Request):
    """Who is signed in, for the error page's navigation: an address no route matches never reaches
    the authentication middleware, so its 404 reads the session cookie itself (a read, nothing more)."""
    user = request.scope.get("user")
    if user is not None:
        return user
    cookie = request.cookies.get(SESSION_COOKIE)
    try:
        found = accounts.user_for_session(request.app.state.readers.get(), cookie) if cookie else None
    except Exception:  # an error page must render whatever state the server is in
        log.exception("reading the session for an error page")
        return None
    return found[0] if found else None


def _answer_problems(request: Request) -> list[ApiProblem]:
    """msgspec names a bad answer `answers[...]`; name every bad answer by its item id instead.

    Reads the body litestar already received (kept on the connection state); without it, the
    caller keeps msgspec's own wording.
    """
    raw = getattr(getattr(request, "_connection_state", None), "body", None)
    if not isinstance(raw, bytes):
        return []
    try:
        parse_answers(msgspec.json.decode(raw).get("answers"))
    except AuditRefused as refused:
        return [ApiProblem(field=f"answers.{p.item}", message=p.message) for p in refused.problems]
    except (msgspec.DecodeError, AttributeError):
        return []
    return []


def _field(error: dict) -> str | None:
    key, message = error.get("key"), error.get("message", "")
    if " - at `$" in message:  # msgspec names the exact place in the body: keep it
        return message.rsplit(" - at `$", 1)[1].rstrip("`").removeprefix(".")
    if isinstance(key, str) and key.endswith("_"):  # a parameter named `from_` is `from` to the client
        return key[:-1]
    return key
