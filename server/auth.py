"""Who is asking: bearer tokens for API clients, cookie sessions (with CSRF) for the browser; role guards."""

import hmac
from urllib.parse import urlsplit

import msgspec

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from server.accounts import accounts
from server.accounts.accounts import User
from server.campaigns import participants

from server.errors import ApiError, ErrorCode, forbidden, unauthorized
from server.visibility import Viewer, anonymous_brands

SESSION_COOKIE = "tp_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class Credentials(msgspec.Struct, frozen=True, kw_only=True):
    """How the request signed in (request.auth): a browser session carries its CSRF token."""

    kind: str
    csrf_token: str | None = None


class AuthMiddleware(AbstractAuthenticationMiddleware):
    """Sets request.user. A cookie is sent by the browser on its own, so unsafe methods signed in by
    cookie must also carry the session's CSRF token in X-CSRF-Token; a bearer token is never sent
    by the browser unasked, so it needs none. (Litestar's CSRF middleware cannot tell the two apart.)"""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        db = connection.app.state.readers.get()
        header = connection.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            token = header[7:].strip()
            user = accounts.user_for_token(db, token)
            if user is None:
                raise unauthorized("that API token is not known, has expired or was revoked (make one with: touchpoint token add NAME)")
            return AuthenticationResult(user=user, auth=Credentials(kind="token"))
        cookie = connection.cookies.get(SESSION_COOKIE)
        found = accounts.user_for_session(db, cookie) if cookie else None
        if found is None:
            raise unauthorized("sign in first: POST /api/login, or send Authorization: Bearer <token>" if not cookie else "your session has ended: sign in again")
        user, csrf = found
        if user.role == "participant" and (stopped := participants.stopped(db, user)) is not None:
            raise stopped  # a revoked join link stops its participants at once
        # An HTML form cannot send a header: a route marked opt={"form": True} checks the token in the
        # form's csrf_token field instead (check_form), once the body is read.
        if connection.scope["method"] not in SAFE_METHODS and not connection.route_handler.opt.get("form") and not hmac.compare_digest(connection.headers.get(CSRF_HEADER, ""), csrf):
            raise forbidden("missing or wrong X-CSRF-Token header: send the csrf_token you got when signing in")
        return AuthenticationResult(user=user, auth=Credentials(kind="session", csrf_token=csrf))


def check_form(request, token: str) -> None:
    """A form post signed in by cookie must carry the session's CSRF token in its csrf_token field."""
    credentials = request.auth
    if credentials.kind == "session" and not hmac.compare_digest(token or "", credentials.csrf_token or ""):
        raise forbidden("this form has expired or did not come from Touchpoint's own page: reload the page and send it again")


async def guard_writes(request: ASGIConnection, _: BaseRouteHandler | None = None) -> None:
    """Every app-level write: a JSON route takes only `application/json` (a cross-site form can send
    `text/plain` JSON without a preflight, which made login CSRF possible), and a write that says
    where it comes from must come from this server's own pages (browsers always send `Origin` on
    cross-site writes; API clients send none). Routes that take other bodies say so in their opt."""
    if request.scope["method"] in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        raise forbidden(f"Origin: writes come from this server's own pages, not from {origin}")
    has_body = request.headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in request.headers
    if has_body and "media" not in request.route_handler.opt:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise ApiError(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, f"Content-Type: expected application/json, got {media or 'none'}")


def roles(*allowed: str):
    """A guard: only these roles may call the route. (Guards are coroutines: Litestar runs a plain
    function guard in a thread, a round trip that cost each request more than the check itself.)"""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user: User = connection.user
        if user.role not in allowed:
            raise forbidden(f"this needs the role {' or '.join(allowed)}; you are {user.role}")

    return guard


def provide_viewer(request: Request) -> Viewer:
    """The request's viewer (a dependency of every route that reads what people may see): the signed-in user
    and the brands whose auditors they see only by code."""
    return Viewer(request.user, anonymous_brands(request.app.state.catalog))
