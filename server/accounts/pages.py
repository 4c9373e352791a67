"""The managers' sign-in and sign-out as plain HTML forms, so their pages need no JavaScript at all
(the auditors' app signs in through POST /api/login; both share api.session.sign_in)."""

import dataclasses
from typing import Annotated
from urllib.parse import quote

from server.db import Database
from litestar import Request, get, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from server.accounts import accounts, links, onboarding
from server.accounts.api import SIGNED_OUT, answered, sign_in, sign_out, signed_in
from server.accounts.links import PATHS
from server import forms, links as public
from server.auth import SESSION_COOKIE, check_form
from server.campaigns import qr
from server.errors import ApiError, ApiProblem, forbidden, invalid
from server.forms import Refusal, TokenForm, refusal, several

HOME = "/manage/"
APP_SIGNED_IN = "/#/signed-in"  # the app, told that a page of the server set its session: it asks who it is (GET /api/me)
Form = Body(media_type=RequestEncodingType.URL_ENCODED)


@dataclasses.dataclass
class SignInForm:
    name: str = ""
    password: str = ""
    next: str = ""


def back_to(target: str) -> str:
    """Where a sign-in returns to: a managers' page of this server, never another site (`//evil`, `/\\evil`)."""
    if target.startswith(("/manage", "/account")) and not target.startswith(("//", "/\\")) and "\\" not in target and "\n" not in target and "\r" not in target:
        return target
    return HOME


def signin_url(path: str) -> str:
    """The sign-in page, returning to `path` once signed in."""
    return f"/manage/signin?next={quote(back_to(path), safe='/')}"


@get("/manage/signin", exclude_from_auth=True, include_in_schema=False, sync_to_thread=False)
def signin_page(next: FromQuery[str] = "", out: FromQuery[str] = "") -> Template:
    return Template("accounts/signin.html", context={"next": back_to(next), "out": out == "1", "name": "", "error": None, "user": None})


@post("/manage/signin", exclude_from_auth=True, include_in_schema=False, sync_to_thread=True, opt={"media": "form"})
def signin(request: Request, state: State, data: Annotated[SignInForm, Form], db: Database) -> Template | Redirect:
    """A refused sign-in shows the form again with the name kept and the reason; nothing else changes."""
    try:
        user, _, cookie = sign_in(request, state, db, data.name, data.password)
    except ApiError as refused:
        context = {"next": back_to(data.next), "out": False, "name": data.name, "error": refused.message, "user": None}
        return Template("accounts/signin.html", context=context, status_code=refused.status, headers=refused.headers or None)
    target = back_to(data.next) if user.role in ("admin", "manager", "staff") else APP_SIGNED_IN  # auditors: their app
    return Redirect(target, status_code=303, cookies=[cookie])


@post("/manage/signout", include_in_schema=False, sync_to_thread=True, opt={"form": True, "media": "form"})
def signout(request: Request, state: State, data: Annotated[TokenForm, Form], db: Database) -> Redirect:
    check_form(request, data.csrf_token)
    sign_out(request, state, db)
    return Redirect("/manage/signin?out=1", status_code=303, cookies=[SIGNED_OUT])


HANDLERS = [signin_page, signin, signout]


# --- one-time links: setup, enrolment, reset; the forgotten password; your own password -------

LINK_WORDS = {"invitation": "invitation", "reset": "password reset link", "setup": "setup link"}


@dataclasses.dataclass
class PasswordForm:
    password: str = ""
    again: str = ""
    name: str = ""  # the setup form only


def _link_problem(state: str, kind: str, link=None) -> Template:
    """A link that cannot be used, saying why: 410 used, expired or revoked; 404 unknown; 409 set up already."""
    what = LINK_WORDS[kind]
    if state == "done":
        title, sentence, status = "Touchpoint is set up already", "An admin exists, so the setup link is closed. Sign in instead; an admin invites everyone else.", 409
    elif state == "used":
        when = link.used_at if link and link.used_at else None
        title, sentence, status = "This link was used", f"This {what} was used{' on ' + onboarding._day(when) if when else ''}: it works once. Sign in with your password, or ask your manager for a new link.", 410
    elif state == "expired":
        title, sentence, status = "This link has expired", f"This {what} has expired. Ask your manager (or your program's admin) for a new one.", 410
    elif state == "revoked":
        title, sentence, status = "This link was withdrawn", f"This {what} was withdrawn: a newer one was made, or it was revoked. Use the newest link you were given, or ask your manager.", 410
    else:
        title, sentence, status = "This link is not known", f"No {what} has this address. Check that it was copied whole, or scan the QR code again.", 404
    return Template("accounts/link_problem.html", context={"title": title, "sentence": sentence, "user": None}, status_code=status)


def _password_page(kind: str, secret: str, who=None, refused: Refusal | None = None, status: int = 200, name: str = "") -> Template:
    return Template("accounts/set_password.html", status_code=status, context={
        "kind": kind, "action": PATHS[kind] + secret, "who": who, "refused": refused, "name": name, "min": accounts.MIN_PASSWORD, "user": None})


def _twice(data: PasswordForm) -> None:
    if data.password != data.again:
        raise invalid("again: the two passwords differ", [ApiProblem(field="again", message="the two passwords differ: type the same one twice")])


def _landing(user) -> str:
    """Where a person works: auditors in the app (their assignments), everyone else on the managers' pages."""
    return APP_SIGNED_IN if user.role == "auditor" else HOME


@get("/setup/{secret:str}", exclude_from_auth=True, include_in_schema=False, sync_to_thread=False)
def setup_page(secret: FromPath[str], db: Database) -> Template:
    """The first start's page: the first admin's name and password."""
    state = onboarding.setup_state(db, secret)
    return _password_page("setup", secret) if state == "open" else _link_problem(state, "setup")


@post("/setup/{secret:str}", exclude_from_auth=True, include_in_schema=False, sync_to_thread=True, opt={"media": "form"})
def setup(request: Request, state: State, secret: FromPath[str], data: Annotated[PasswordForm, Form], db: Database) -> Template | Redirect:
    try:
        _twice(data)
        user = onboarding.set_up(db, secret, data.name.strip(), data.password)
    except links.Unusable as unusable:
        return _link_problem(unusable.why, "setup", unusable.link)
    except onboarding.Refused as refused:
        if refused.status == 409:
            return _link_problem("done", "setup")
        return _password_page("setup", secret, refused=refusal(answered(refused), "password", {"name": data.name}, ("name", "password", "again")), status=422, name=data.name)
    except ApiError as exc:
        return _password_page("setup", secret, refused=refusal(exc, "password", {"name": data.name}, ("name", "password", "again")), status=exc.status, name=data.name)
    _, cookie = signed_in(request, state, db, user)
    return Redirect(HOME, status_code=303, cookies=[cookie])


def _link_form(kind: str):
    """The page of an enrolment or reset link, and the post that sets the password through it."""
    path = PATHS[kind] + "{secret:str}"

    @get(path, exclude_from_auth=True, include_in_schema=False, sync_to_thread=False, name=f"{kind}_page")
    def page(secret: FromPath[str], db: Database) -> Template:
        found, link, who = onboarding.link_state(db, secret, kind)
        return _password_page(kind, secret, who) if found == "open" else _link_problem(found, kind, link)

    @post(path, exclude_from_auth=True, include_in_schema=False, sync_to_thread=True, opt={"media": "form"}, name=f"{kind}_post")
    def use(request: Request, state: State, secret: FromPath[str], data: Annotated[PasswordForm, Form], db: Database) -> Template | Redirect:
        try:
            _twice(data)
            user = (onboarding.enrol if kind == "invitation" else onboarding.reset)(db, secret, data.password)
        except links.Unusable as unusable:
            found, link, _ = onboarding.link_state(db, secret, kind)
            return _link_problem(found if found != "open" else unusable.why, kind, link)
        except (onboarding.Refused, ApiError) as exc:
            error = answered(exc) if isinstance(exc, onboarding.Refused) else exc
            _, _, who = onboarding.link_state(db, secret, kind)
            return _password_page(kind, secret, who, refused=refusal(error, "password", {}, ("password", "again")), status=error.status)
        _, cookie = signed_in(request, state, db, user)
        return Redirect(_landing(user), status_code=303, cookies=[cookie])

    return page, use


enrol_page, enrol = _link_form("invitation")
reset_page, reset = _link_form("reset")


@dataclasses.dataclass
class ForgotForm:
    name: str = ""


@get("/forgot", exclude_from_auth=True, include_in_schema=False, sync_to_thread=False)
def forgot_page(state: State) -> Template:
    return Template("accounts/forgot.html", context={"sent": False, "mail": bool(state.settings.smtp_url), "name": "", "user": None})


@post("/forgot", exclude_from_auth=True, include_in_schema=False, sync_to_thread=True, opt={"media": "form"})
def forgot(request: Request, state: State, data: Annotated[ForgotForm, Form], db: Database) -> Template:
    """The same answer whether or not the name exists (and whether it has an e-mail): only the
    server's mail setting changes the words. Throttled per name and per address, in the database."""
    name = data.name.strip()[:accounts.MAX_NAME]
    wait = onboarding.forgot(db, state.settings, public.public_base(state.settings, request), name, request.client.host if request.client else "unknown") if name else 0
    context = {"sent": bool(name), "mail": bool(state.settings.smtp_url), "name": name, "user": None, "wait": wait}
    if wait:
        return Template("accounts/forgot.html", context=context, status_code=429, headers={"Retry-After": str(wait)})
    return Template("accounts/forgot.html", context=context)


@dataclasses.dataclass
class ChangeForm:
    csrf_token: str = ""
    old_password: str = ""
    password: str = ""
    again: str = ""


def _no_participants(request: Request) -> None:
    if request.user.role == "participant":
        raise forbidden("a campaign participant has no password")


@get("/account/password", include_in_schema=False, sync_to_thread=False)
def password_page(request: Request, done: FromQuery[int | None] = None) -> Template:
    _no_participants(request)
    return Template("accounts/password.html", context={"user": request.user, "csrf": request.auth.csrf_token, "refused": None, "done": done, "min": accounts.MIN_PASSWORD})


@post("/account/password", include_in_schema=False, sync_to_thread=True, opt={"form": True, "media": "form"})
def change_password(request: Request, data: Annotated[ChangeForm, Form], db: Database) -> Template | Redirect:
    """Your own new password: the old one required; your other sessions end, this one stays."""
    check_form(request, data.csrf_token)
    _no_participants(request)
    keep = request.cookies.get(SESSION_COOKIE) if request.auth.kind == "session" else None
    try:
        _twice(data)
        ended = onboarding.change_password(db, request.user, data.old_password, data.password, accounts.session_digest(keep) if keep else None)
    except (onboarding.Refused, ApiError) as exc:
        error = answered(exc) if isinstance(exc, onboarding.Refused) else exc
        return Template("accounts/password.html", status_code=error.status, context={
            "user": request.user, "csrf": request.auth.csrf_token, "done": None, "min": accounts.MIN_PASSWORD,
            "refused": refusal(error, "password", {}, ("old_password", "password", "again"))})
    return Redirect(f"/account/password?done={ended}", status_code=303)


HANDLERS += [setup_page, setup, enrol_page, enrol, reset_page, reset, forgot_page, forgot, password_page, change_password]


# --- the managers' side: invitations, the CSV of people, reset links --------------------------

@dataclasses.dataclass
class InviteForm:
    csrf_token: str = ""
    name: str = ""
    role: str = "auditor"
    regions: list[str] | str | None = None
    location: str = ""
    email: str = ""


@dataclasses.dataclass
class ImportForm:
    csrf_token: str = ""
    file: UploadFile | None = None


INVITE_FIELDS = ("name", "role", "regions", "location", "email")


_managers = forms.managers_only("people")


def _invite_form(request: Request, db: Database, refused: Refusal | None = None, status: int = 200) -> Template:
    user = request.user
    roles = list(accounts.ROLES) if user.role == "admin" else ["auditor", "staff"]
    return Template("accounts/invite.html", status_code=status, context={
        "user": user, "csrf": request.auth.csrf_token, "refused": refused, "roles": roles,
        "regions": onboarding.regions_for(db, user), "locations": onboarding.locations_for(db, user)})


def _shown_once(request: Request, state: State, heading: str, kind: str, made, note: str = "") -> Template:
    """The link and its QR code, shown once: only its hash is kept, so this page cannot be opened again."""
    return Template("accounts/link_made.html", headers={"Cache-Control": "no-store"}, context={
        "user": request.user, "heading": heading, "kind": kind, "made": made, "qr": qr.svg(made.link, title=f"{LINK_WORDS[kind].capitalize()} as a QR code"),
        "note": note, "warning": public.warning(state.settings, request), "expires": onboarding._day(made.expires_at)})


@get("/manage/people/invite", include_in_schema=False, sync_to_thread=False)
def invite_page(request: Request, db: Database) -> Template | Redirect:
    return _managers(request) or _invite_form(request, db)


@post("/manage/people/invite", include_in_schema=False, sync_to_thread=True, opt={"form": True, "media": "form"})
def invite(request: Request, state: State, data: Annotated[InviteForm, Form], db: Database) -> Template | Redirect:
    """Invite one person: the link and QR on the answer page, once; mailed too when an e-mail is given."""
    if (away := _managers(request)) is not None:
        return away
    check_form(request, data.csrf_token)
    regions = several(data.regions)
    try:
        made = onboarding.invite(db, state.settings, request.user, public.public_base(state.settings, request),
                                 data.name, data.role, regions, data.location.strip() or None, data.email)
    except onboarding.Refused as refused:
        return _invite_form(request, db, refusal(answered(refused), "invite", data, INVITE_FIELDS), 422)
    return _shown_once(request, state, f"{made.name} is invited", "invitation", made, _mail_note(state, made.mailed, data.email.strip()))


def _mail_note(state: State, mailed: bool, address: str = "") -> str:
    """What became of the invitation's mail, as it is: queued to go, or held because this server
    sends no mail (a held mail is never sent later: README "Held mail"), so the link must be handed over."""
    to = f" to {address}" if address else " to them"
    if not mailed:
        return "No e-mail was given: hand over the link or let them scan the code."
    if state.settings.smtp_url:
        return f"The invitation is mailed{to} too."
    return f"This server sends no mail (TOUCHPOINT_SMTP_URL is not set), so nothing goes{to}: hand over the link or let them scan the code."


@post("/manage/people/{person_id:int}/invite", include_in_schema=False, sync_to_thread=True, opt={"form": True, "media": "form"})
def invite_again(request: Request, state: State, person_id: FromPath[int], data: Annotated[TokenForm, Form], db: Database) -> Template | Redirect:
    """A new enrolment link for a person not enrolled yet, the old one revoked; mailed again when they have an e-mail."""
    if (away := _managers(request)) is not None:
        return away
    check_form(request, data.csrf_token)
    try:
        made = onboarding.invite_again(db, state.settings, request.user, public.public_base(state.settings, request), person_id)
    except onboarding.Refused as refused:
        raise answered(refused) from None
    note = "The earlier link no longer works." + (" " + _mail_note(state, True) if made.mailed else "")
    return _shown_once(request, state, f"A new invitation for {made.name}", "invitation", made, note)


@post("/manage/people/{person_id:int}/invite/revoke", include_in_schema=False, sync_to_thread=True, opt={"form": True, "media": "form"})
def invite_revoke(request: Request, person_id: FromPath[int], data: Annotated[TokenForm, Form], db: Database) -> Redirect:
    if (away := _managers(request)) is not None:
        return away
    check_form(request, data.csrf_token)
    try:
        onboarding.revoke_invitation(db, request.user, person_id)
    except onboarding.Refused as refused:
        raise answered(refused) from None
    return Redirect(f"/manage/people/{person_id}?said=uninvited", status_code=303)


@post("/manage/people/{person_id:int}/reset", include_in_schema=False, sync_to_thread=True, opt={"form": True, "media": "form"})
def reset_link(request: Request, state: State, person_id: FromPath[int], data: Annotated[TokenForm, Form], db: Database) -> Template | Redirect:
    """A password reset link valid 1 hour and its QR code, shown once (for the person to scan from this screen)."""
    if (away := _managers(request)) is not None:
        return away
    check_form(request, data.csrf_token)
    try:
        made = onboarding.reset_link(db, request.user, public.public_base(state.settings, request), person_id)
    except onboarding.Refused as refused:
        raise answered(refused) from None
    return _shown_once(request, state, f"A password reset link for {made.name}", "reset", made,
                       "Setting a new password through it signs them out everywhere. Their earlier reset link no longer works.")


@get("/manage/people/import", include_in_schema=False, sync_to_thread=False)
def import_page(request: Request) -> Template | Redirect:
    return _managers(request) or Template("accounts/import.html", context={"user": request.user, "csrf": request.auth.csrf_token, "refused": None, "columns": onboarding.COLUMNS})


@post("/manage/people/import", include_in_schema=False, sync_to_thread=True, opt={"form": True, "media": "multipart"})
def import_people(request: Request, state: State, data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)], db: Database) -> Template | Redirect:
    """A CSV of people -> each invited, all or none -> the A4 sheet of cards, one enrolment QR each, shown once."""
    if (away := _managers(request)) is not None:
        return away
    check_form(request, data.csrf_token)
    try:
        if data.file is None or isinstance(data.file, str):
            raise invalid("no file", [ApiProblem(field="file", message="choose a CSV file")])
        try:
            text = data.file.file.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise invalid("the file is not UTF-8 text", [ApiProblem(field="file", message="expected a CSV file saved as UTF-8")]) from None
        try:
            made = onboarding.import_people(db, state.settings, request.user, public.public_base(state.settings, request), text)
        except onboarding.Refused as refused:
            raise answered(refused) from None
    except ApiError as exc:
        rows = [f"row {p.line}: {p.field + ': ' if p.field else ''}{p.message}" if p.line else p.message for p in exc.problems]
        flat = ApiError(exc.status, exc.code, exc.message, [ApiProblem(message=r) for r in rows])  # the rows of a file: told as a list
        return Template("accounts/import.html", status_code=exc.status, context={
            "user": request.user, "csrf": request.auth.csrf_token, "refused": refusal(flat, "import", {}, ()), "columns": onboarding.COLUMNS})
    cards = [{"made": m, "qr": qr.svg(m.link, scale=4, title=f"Enrolment link of {m.name}")} for m in made]
    return Template("accounts/cards.html", headers={"Cache-Control": "no-store"}, context={
        "user": request.user, "cards": cards, "expires": onboarding._day(made[0].expires_at), "warning": public.warning(state.settings, request)})


HANDLERS += [invite_page, invite, invite_again, invite_revoke, reset_link, import_page, import_people]
