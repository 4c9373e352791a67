"""Sign in and out, and who am I."""

from typing import Annotated

import msgspec
from sqlite_utils import Database
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.params import JSONBody
from msgspec import Meta

from server.accounts import accounts
from server.accounts.accounts import User
from server.auth import SESSION_COOKIE
from server.checklists.format import Strict
from server.errors import forbidden, too_many, unauthorized
from server.text import Line


class Login(Strict, kw_only=True):
    name: Line(accounts.MAX_NAME, least=1)
    password: Annotated[str, Meta(min_length=1, max_length=accounts.MAX_PASSWORD)]


class Me(msgspec.Struct, kw_only=True):
    name: str
    role: str
    regions: list[str]
    csrf_token: str | None = None  # for browser sessions: send it as X-CSRF-Token on writes


def _me(user: User, csrf: str | None = None) -> Me:
    return Me(name=user.name, role=user.role, regions=sorted(user.regions), csrf_token=csrf)


@post(
    "/api/login", exclude_from_auth=True, sync_to_thread=True, tags=["session"], status_code=200,
    opt={"errors": {401: "Wrong name or password", 403: "The account is disabled (said only to who gave its password), or the request came from another site", 429: "Too many failed sign-ins for this name or from this address, or too many at once: wait the seconds in Retry-After"}},
)
def login(data: JSONBody[Login], request: Request, state: State, db: Database) -> Response[Me]:
    """Check the password (argon2id, in a worker thread) and set an HttpOnly session cookie."""
    user, session, cookie = sign_in(request, state, db, data.name, data.password)
    return Response(_me(user, session.csrf_token), status_code=200, cookies=[cookie])


def sign_in(request: Request, state: State, db: Database, name: str, password: str) -> tuple[User, accounts.Session, Cookie]:
    """A sign-in with a password, from the API or the managers' sign-in page: throttled per name and
    per address, at most two checks at once; the new session and its cookie. Raises 401, 403 or 429."""
    address = request.client.host if request.client else "unknown"
    attempt = accounts.login_attempt(db, name, address)
    if attempt.wait:
        raise too_many(f"too many failed sign-ins for this name or from this address: try again in {attempt.wait} s", attempt.wait)
    if not accounts.CHECKS.acquire(timeout=5):
        accounts.login_released(db, attempt)
        raise too_many("too many sign-ins at once: try again in a second", 1)
    try:
        user = accounts.check_password(db, name, password)
    except accounts.Disabled as disabled:
        accounts.login_released(db, attempt)
        raise forbidden(str(disabled)) from None
    finally:
        accounts.CHECKS.release()
    if user is None:
        raise unauthorized("wrong name or password")  # the attempt stays counted: a failure
    accounts.login_succeeded(db, name, attempt)
    session = accounts.new_session(db, user, state.settings.session_hours, request.headers.get("user-agent", ""))
    cookie = Cookie(
        key=SESSION_COOKIE, value=session.token, httponly=True, samesite="lax", path="/",
        secure=request.url.scheme == "https", max_age=state.settings.session_hours * 3600,
    )
    return user, session, cookie


SIGNED_OUT = Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/", httponly=True, samesite="lax")


def sign_out(request: Request, state: State, db: Database) -> None:
    """End the browser session the request came with (its cookie is cleared with SIGNED_OUT)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(db, token)


@post("/api/logout", status_code=200, sync_to_thread=True, tags=["session"])
def logout(request: Request, state: State, db: Database) -> Response[dict]:
    sign_out(request, state, db)
    return Response({"signed_out": True}, cookies=[SIGNED_OUT])


@get("/api/me", sync_to_thread=False, tags=["session"])
def me(request: Request) -> Me:
    return _me(request.user, request.auth.csrf_token)  # the middleware read the session already


class Health(msgspec.Struct, kw_only=True):
    status: str  # "ok", or "degraded" (with a 503) when a worker process is down
    writer: str  # "ok", or "stopped" (it starts again with the next audit)
    photo_workers: str  # "idle" (none started yet), "ok", or "broken" (started again by the next upload)
    photo_worker_restarts: int


@get("/api/health", exclude_from_auth=True, sync_to_thread=False, tags=["session"])
def health(state: State) -> Response[Health]:
    """Is the server up, and are its worker processes (the audit writer, the photo workers) alive.
    200 when all is well; 503 when one is down, so a load balancer or monitor notices."""
    writer = "ok" if state.writer.alive() else "stopped"
    photos = state.photo_workers.state()
    ok = writer == "ok" and photos != "broken"
    body = Health(status="ok" if ok else "degraded", writer=writer, photo_workers=photos, photo_worker_restarts=state.photo_workers.restarts)
    return Response(body, status_code=200 if ok else 503)


HANDLERS = [login, logout, me, health]
