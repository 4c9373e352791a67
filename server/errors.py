"""The error catalog: every error a client can act on, in the same JSON shape (server/error_handler.py
renders them, JSON for the API and a page for the server-rendered pages).

    {"status": 422, "code": "audit_refused", "message": "...", "problems": [{"item": "rings", "message": "..."}]}

Every `code` an answer can carry is in `ErrorCode`, once, with the statuses it comes with and what
it means; raising code names it (`ErrorCode.AUDIT_REFUSED`), never a free string, and an `ApiError`
with a code or status the catalog does not hold fails when it is made. The OpenAPI document lists
the codes, the README's table is held equal to them, and the app's few comparisons are checked
against them (tests/test_errors.py).
"""

import enum
from collections.abc import Sequence

import msgspec




class ErrorCode(enum.StrEnum):
    """The `code` of an error answer: stable words a client may act on; `message` says the rest."""

    def __new__(cls, code: str, statuses: Sequence[int], meaning: str):
        member = str.__new__(cls, code)
        member._value_ = code
        member.statuses, member.meaning = statuses, meaning
        return member

    BAD_REQUEST = "bad_request", (400,), "the request is not the shape the route takes (a parameter, the JSON body, a form field): `problems` names each field"
    UNAUTHORIZED = "unauthorized", (401,), "not signed in, or the session or token has ended: sign in with `POST /api/login`, or send `Authorization: Bearer <token>`"
    FORBIDDEN = "forbidden", (403,), "signed in, but not allowed: another region's data, a role that may not, or a write without its CSRF token or from another site"
    NOT_FOUND = "not_found", (404,), "no such object, or none you may see"
    METHOD_NOT_ALLOWED = "method_not_allowed", (405,), "the address does not take that method: `Allow` names the ones it does"
    REQUEST_TIMEOUT = "request_timeout", (408,), "the body did not arrive in time: send it again"
    CONFLICT = "conflict", (409,), "it does not fit what is stored: an id already used for other content, or an object whose state does not allow it"
    CAMPAIGN_CLOSED = "campaign_closed", (409,), "a campaign's audit sent before the campaign starts or after it ends: not taken (the app keeps it, and says why)"
    GONE = "gone", (410,), "the object is known, but its image file is no longer on the server"
    TOO_LARGE = "too_large", (413,), "the body is larger than the route takes"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", (415,), "the body's Content-Type is not what the route takes"
    INVALID = "invalid", (422,), "well-formed, but refused: a value past a declared limit or against a rule; `problems` names each field"
    AUDIT_REFUSED = "audit_refused", (422,), "an audit refused (an unknown location, checklist, version or assignment, or answers its checklist does not take): nothing was stored; `problems` names each item or field"
    BAD_ID = "bad_id", (422,), "an id the phone makes is not a UUID"
    BAD_PERIOD = "bad_period", (400, 422), "a period that cannot be: a day that is not a date or outside the days audits are of, a period not known or half given, or `from` after `to`"
    CORRECTION_REFUSED = "correction_refused", (422,), "a reviewer's correction refused (an item not in the checklist, an answer it does not take): nothing was changed"
    ASSIGNMENT_REFUSED = "assignment_refused", (422,), "a planned visit refused: `problems` names each field"
    IMPORT_REFUSED = "import_refused", (422,), "a CSV of planned visits refused (not UTF-8, or a row in error): nothing was imported; `problems` names each row and column"
    SCHEDULE_REFUSED = "schedule_refused", (422,), "a schedule refused (its first day, a region without locations, a field in error): nothing was planned"
    PHOTO_REFUSED = "photo_refused", (400, 413, 415, 422), "an image refused: empty (400), too large or too many pixels (413), not a JPEG, PNG or WebP or with markup inside (415), damaged (422)"
    TOO_MANY_REQUESTS = "too_many_requests", (429,), "too many attempts or uploads, or too many heavy requests (exports, PDFs, heavy pages) of one person running at once: wait the seconds in Retry-After"
    UNAVAILABLE = "unavailable", (503,), "a worker process or the photo bucket was not available, nothing was stored: send the same request again after Retry-After"
    INTERNAL = "internal", range(500, 600), "something went wrong on the server: it is logged, and the answer says no more"
    ERROR = "error", range(400, 500), "a refusal of the web framework's own that has no code above (none is known): the status says which"

    def shown_statuses(self) -> str:
        """The statuses as the README writes them: `400, 422`, or `5xx` for a whole class."""
        if isinstance(self.statuses, range):
            return f"{self.statuses.start // 100}xx"
        return ", ".join(str(status) for status in self.statuses)


def catalogued(status: int, code: str) -> ErrorCode:
    """The code as the catalog holds it; a code it does not hold, or a status the code does not come
    with, is a mistake in the server's code: it fails where the error is made (and so in the tests)."""
    found = ErrorCode(code)  # ValueError: "'bogus' is not a valid ErrorCode"
    if status not in found.statuses:
        raise ValueError(f"error code {found.value!r} goes with {found.shown_statuses()}, not {status}")
    return found


class ApiProblem(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One thing wrong with a request: it names the item, field or line it is about."""

    message: str
    item: str | None = None
    field: str | None = None
    line: int | None = None


class ErrorBody(msgspec.Struct, kw_only=True):
    status: int
    code: ErrorCode
    message: str
    problems: list[ApiProblem] = []

    def __post_init__(self):
        self.code = catalogued(self.status, self.code)


class ApiError(Exception):
    """An error a client can act on. Raise the helpers below; the handler renders it."""

    def __init__(self, status: int, code: ErrorCode, message: str, problems: list[ApiProblem] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        code = catalogued(status, code)
        self.status, self.code, self.message, self.problems = status, code, message, problems or []
        self.headers = headers or {}

    def __reduce__(self):  # raised in a worker process (server/workers.py), it crosses back whole
        return ApiError, (self.status, self.code, self.message, self.problems, self.headers)


def not_found(what: str, key: str) -> ApiError:
    return ApiError(404, ErrorCode.NOT_FOUND, f"no {what} {key!r}")


def forbidden(message: str) -> ApiError:
    return ApiError(403, ErrorCode.FORBIDDEN, message)


def unauthorized(message: str = "sign in first: POST /api/login, or send Authorization: Bearer <token>") -> ApiError:
    return ApiError(401, ErrorCode.UNAUTHORIZED, message)


def conflict(message: str) -> ApiError:
    return ApiError(409, ErrorCode.CONFLICT, message)


def too_many(message: str, retry_after: int) -> ApiError:
    return ApiError(429, ErrorCode.TOO_MANY_REQUESTS, message, headers={"Retry-After": str(max(1, retry_after))})


def unavailable(message: str, retry_after: int) -> ApiError:
    return ApiError(503, ErrorCode.UNAVAILABLE, message, headers={"Retry-After": str(max(1, retry_after))})


def invalid(message: str, problems: list[ApiProblem] | None = None, code: ErrorCode = ErrorCode.INVALID) -> ApiError:
    return ApiError(422, code, message, problems)


# The framework's own refusals (its HTTPExceptions) by status; any other 4xx is `error`, a 5xx `internal`.
FRAMEWORK_CODES = {400: ErrorCode.BAD_REQUEST, 401: ErrorCode.UNAUTHORIZED, 403: ErrorCode.FORBIDDEN, 404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED,
          408: ErrorCode.REQUEST_TIMEOUT, 409: ErrorCode.CONFLICT, 413: ErrorCode.TOO_LARGE, 415: ErrorCode.UNSUPPORTED_MEDIA_TYPE, 429: ErrorCode.TOO_MANY_REQUESTS}
