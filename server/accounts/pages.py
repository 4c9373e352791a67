"""The managers' sign-in and sign-out as plain HTML forms, so their pages need no JavaScript at all
(the auditors' app signs in through POST /api/login; both share api.session.sign_in)."""

import dataclasses
from typing import Annotated
from urllib.parse import quote

from sqlite_utils import Database
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from server.accounts.api import SIGNED_OUT, sign_in, sign_out
from server.auth import check_form
from server.errors import ApiError
from server.forms import TokenForm

HOME = "/manage/"
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
    target = back_to(data.next) if user.role in ("admin", "manager", "staff") else "/"  # auditors: their app
    return Redirect(target, status_code=303, cookies=[cookie])


@post("/manage/signout", include_in_schema=False, sync_to_thread=True, opt={"form": True, "media": "form"})
def signout(request: Request, state: State, data: Annotated[TokenForm, Form], db: Database) -> Redirect:
    check_form(request, data.csrf_token)
    sign_out(request, state, db)
    return Redirect("/manage/signin?out=1", status_code=303, cookies=[SIGNED_OUT])


HANDLERS = [signin_page, signin, signout]
