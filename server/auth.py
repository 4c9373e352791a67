"""Who is asking: bearer tokens for API clients, cookie sessions (with CSRF) for the browser; role guards."""

import hmac

import msgspec

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from server import accounts
from server.accounts import User

from server.errors import forbidden, unauthorized

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
            user = connection.app.state.tokens.get(token, lambda: accounts.user_for_token(db, token))
            if user is None:
                raise unauthorized("that API token is not known (make one with: touchpoint token NAME)")
            return AuthenticationResult(user=user, auth=Credentials(kind="token"))
        cookie = connection.cookies.get(SESSION_COOKIE)
        found = accounts.user_for_session(db, cookie) if cookie else None
        if found is None:
            raise unauthorized("sign in first: POST /api/login, or send Authorization: Bearer <token>" if not cookie else "your session has ended: sign in again")
        user, csrf = found
        if connection.scope["method"] not in SAFE_METHODS and not hmac.compare_digest(connection.headers.get(CSRF_HEADER, ""), csrf):
            raise forbidden("missing or wrong X-CSRF-Token header: send the csrf_token you got when signing in")
        return AuthenticationResult(user=user, auth=Credentials(kind="session", csrf_token=csrf))


def roles(*allowed: str):
    """A guard: only these roles may call the route."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user: User = connection.user
        if user.role not in allowed:
            raise forbidden(f"this needs the role {' or '.join(allowed)}; you are {user.role}")

    return guard
