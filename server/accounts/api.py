"""Sign in and out, and who am I."""

import os
from typing import Annotated

import msgspec
from server.db import Database
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.params import JSONBody
from msgspec import Meta

from server.accounts import accounts
from server.accounts.accounts import User
from server.auth import SESSION_COOKIE
from server.checklists.format import Strict
from server.accounts import onboarding
from server.auth import roles
from server.errors import ApiError, ErrorCode, conflict, forbidden, invalid, too_many, unauthorized
from server import leases, links
from server.standby import State as StandbyState
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
    session, cookie = signed_in(request, state, db, user)
    return user, session, cookie


def signed_in(request: Request, state: State, db: Database, user: User) -> tuple[accounts.Session, Cookie]:
    """A new session for `user` and its HttpOnly cookie: after a password sign-in, a setup, an enrolment or a reset."""
    session = accounts.new_session(db, user, state.settings.session_hours, request.headers.get("user-agent", ""))
    cookie = Cookie(
        key=SESSION_COOKIE, value=session.token, httponly=True, samesite="lax", path="/",
        secure=request.url.scheme == "https", max_age=state.settings.session_hours * 3600,
    )
    return session, cookie


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
    process: int  # the pid of the server process that answered
    processes: list[leases.Process]  # every server process of the installation seen in the last minute
    jobs: list[leases.Lease]  # what runs once in the installation: who holds it now, its last run
    standby: StandbyState | None = None  # the read-only standby's state and lag (TOUCHPOINT_READ_DATABASE_URL); None without one


@get("/api/health", exclude_from_auth=True, sync_to_thread=False, tags=["session"])
def health(state: State) -> Response[Health]:
    """Is the server up, and are its worker processes (the audit writer, the photo workers) alive;
    the installation's server processes and background jobs. 200 when all is well; 503 when one of
    this process's workers is down, so a load balancer or monitor notices."""
    writer = "ok" if state.writer.alive() else "stopped"
    photos = state.photo_workers.state()
    ok = writer == "ok" and photos != "broken"
    db = state.readers.get()
    body = Health(status="ok" if ok else "degraded", writer=writer, photo_workers=photos, photo_worker_restarts=state.photo_workers.restarts,
                  process=os.getpid(), processes=leases.alive(db), jobs=leases.leases(db),
                  standby=state.standby.state() if state.standby is not None else None)
    return Response(body, status_code=200 if ok else 503)


def answered(refused: onboarding.Refused) -> ApiError:
    """An onboarding refusal as the API's error: 422 naming each field, 404, 409 or 403."""
    if refused.status == 404:
        return ApiError(404, ErrorCode.NOT_FOUND, refused.message)
    if refused.status == 409:
        return conflict(refused.message)
    if refused.status == 403:
        return forbidden(refused.message)
    return invalid(refused.message, refused.problems)


class InvitationIn(Strict, kw_only=True):
    name: Line(accounts.MAX_NAME, least=1)
    role: str
    regions: list[Line(100, least=1)] = []
    location: Line(200, least=1) | None = None  # staff: the one location they work at
    email: Line(accounts.MAX_EMAIL, least=1) | None = None  # the invitation is mailed to it


class InvitationOut(msgspec.Struct, kw_only=True):
    person: int
    name: str
    role: str
    link: str  # the enrolment link: given once, never again (only its hash is kept)
    expires_at: str
    mailed: bool


@post("/api/invitations", sync_to_thread=True, tags=["people"], guards=[roles("manager", "admin")], status_code=201,
      opt={"errors": {422: "A field refused (a role or region you may not give, a staff person without a location, a name taken, an e-mail's shape): `problems` names it; nothing was made"}})
def invitation(data: JSONBody[InvitationIn], request: Request, state: State, db: Database) -> InvitationOut:
    """Invite a person: their account (no password yet) and an enrolment link valid 7 days, in one
    transaction with the invitation mail (when `email` is given) and the history row. Managers invite
    auditors and staff of their regions; admins anyone."""
    try:
        made = onboarding.invite(db, state.settings, request.user, links.public_base(state.settings, request),
                                 data.name, data.role, data.regions, data.location, data.email)
    except onboarding.Refused as refused:
        raise answered(refused) from None
    return InvitationOut(**msgspec.structs.asdict(made))


class PasswordIn(Strict, kw_only=True):
    old_password: Annotated[str, Meta(min_length=1, max_length=accounts.MAX_PASSWORD)]
    password: Annotated[str, Meta(min_length=1, max_length=accounts.MAX_PASSWORD)]


class PasswordOut(msgspec.Struct, kw_only=True):
    sessions_ended: int  # the person's other sessions, now signed out; this one stays


@post("/api/me/password", sync_to_thread=True, tags=["session"], status_code=200,
      opt={"errors": {422: "The old password is wrong, or the new one too weak: `problems` names the field"}})
def my_password(data: JSONBody[PasswordIn], request: Request, db: Database) -> PasswordOut:
    """Change your own password (the old one required; the CLI's rules). Your other sessions end;
    the one this request came with stays. Participants have none."""
    keep = request.cookies.get(SESSION_COOKIE) if request.auth.kind == "session" else None
    try:
        ended = onboarding.change_password(db, request.user, data.old_password, data.password, accounts.session_digest(keep) if keep else None)
    except onboarding.Refused as refused:
        raise answered(refused) from None
    return PasswordOut(sessions_ended=ended)


HANDLERS = [login, logout, me, health, invitation, my_password]
