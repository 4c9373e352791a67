"""The people pages: the list with its search and filters, a person's page (edit, disable and
enable, forget after a page that says what stays and what goes, end their sessions), and
everyone's own account page with their API tokens. Plain HTML forms that work without JavaScript;
thin: the rules are server/people/people.py's."""

import dataclasses
from typing import Annotated
from urllib.parse import urlencode

from server.db import Database
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery, Parameter
from litestar.response import Redirect, Template

from server import forms
from server.accounts import accounts
from server.auth import check_form
from server.errors import ApiError, ApiProblem, forbidden, invalid
from server.forms import Refusal, TokenForm, refusal, several
from server.notices import notice
from server.people import people
from server.people.people import PersonEdit
from server.visibility import Viewer

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
PersonId = Annotated[int, Parameter(ge=1, le=2**53)]
EDIT_FIELDS = ("role", "regions", "location", "email")
ROLE_NAMES = {"admin": "admin", "manager": "manager", "auditor": "auditor", "staff": "staff"}
SIGN_IN_NAMES = {"never": "never signed in", "over30": "not in the last 30 days", "within30": "in the last 30 days"}


_managers_only = forms.managers_only("people")


@dataclasses.dataclass
class EditForm:
    csrf_token: str = ""
    role: str = ""
    regions: list[str] | str | None = None
    location: str = ""
    email: str = ""


@dataclasses.dataclass
class NewTokenForm:
    csrf_token: str = ""
    label: str = ""
    days: str = ""


class People(Controller):
    path = "/manage/people"
    include_in_schema = False
    before_request = _managers_only

    @get("/", sync_to_thread=True)
    def people_list(self, request: Request, db: Database, viewer: Viewer, search: Annotated[str, Parameter(max_length=200)] = "",
                    role: FromQuery[str] = "", region: Annotated[str, Parameter(max_length=100)] = "", person_state: Annotated[str, Parameter(query="state")] = "",
                    signed_in: FromQuery[str] = "", offset: Annotated[int, Parameter(ge=0, le=1_000_000_000)] = 0) -> Template:
        """Everyone the viewer manages or sees, with a search (name, e-mail or code) and filters; 50 a page."""
        role, state, signed_in = (role if role in ROLE_NAMES else ""), (person_state if person_state in people.STATES else ""), (signed_in if signed_in in SIGN_IN_NAMES else "")
        found = people.listing(db, viewer.user, search, role or None, region or None, state or None, signed_in or None, offset)
        query = {k: v for k, v in {"search": search, "role": role, "region": region, "state": state, "signed_in": signed_in}.items() if v}
        pages = {"previous": urlencode({**query, "offset": max(0, offset - found.limit)}) if offset else None,
                 "next": urlencode({**query, "offset": offset + found.limit}) if offset + found.limit < found.total else None}
        return Template("people/list.html", context={
            "user": request.user, "found": found, "query": query, "pages": pages, "roles": ROLE_NAMES, "states": people.STATES,
            "sign_ins": SIGN_IN_NAMES, "regions": people.choices(db, viewer.user)["regions"]})

    def _person(self, request: Request, db: Database, viewer: Viewer, person_id: int, said: str | None = None, refused: Refusal | None = None, status: int = 200) -> Template:
        return Template("people/person.html", status_code=status, context={
            "user": request.user, "p": people.person(db, viewer.user, person_id), "choices": people.choices(db, viewer.user), "csrf": request.auth.csrf_token or "",
            "said": notice("person", said), "refused": refused})

    @get("/{person_id:int}", sync_to_thread=True)
    def person_page(self, request: Request, db: Database, viewer: Viewer, person_id: PersonId, said: FromQuery[str | None] = None) -> Template:
        """Their role, regions or location, e-mail and state; their sessions, tokens and history; what the viewer may do."""
        return self._person(request, db, viewer, person_id, said)

    @post("/{person_id:int}", sync_to_thread=True, opt={"form": True, "media": "form"})
    def person_edit(self, request: Request, db: Database, viewer: Viewer, person_id: PersonId, data: Annotated[EditForm, Form]) -> Redirect | Template:
        check_form(request, data.csrf_token)
        role = data.role.strip()
        try:
            if role not in ROLE_NAMES:
                raise invalid("person refused", [ApiProblem(field="role", message=f"choose one of {', '.join(ROLE_NAMES)}")])
            change = PersonEdit(role=role, regions=[] if role == "staff" else several(data.regions),
                                location=(data.location.strip() or None) if role == "staff" else None, email=data.email.strip() or None)
            people.edit(db, viewer.user, person_id, change)
        except ApiError as exc:
            if exc.status != 422:
                raise
            return self._person(request, db, viewer, person_id, refused=refusal(exc, "edit", data, EDIT_FIELDS), status=422)
        return Redirect(f"/manage/people/{person_id}?said=edited", status_code=303)

    @post("/{person_id:int}/disable", sync_to_thread=True, opt={"form": True, "media": "form"})
    def person_disable(self, request: Request, db: Database, viewer: Viewer, person_id: PersonId, data: Annotated[TokenForm, Form]) -> Redirect:
        check_form(request, data.csrf_token)
        people.disable(db, viewer.user, person_id)
        return Redirect(f"/manage/people/{person_id}?said=disabled", status_code=303)

    @post("/{person_id:int}/enable", sync_to_thread=True, opt={"form": True, "media": "form"})
    def person_enable(self, request: Request, db: Database, viewer: Viewer, person_id: PersonId, data: Annotated[TokenForm, Form]) -> Redirect:
        check_form(request, data.csrf_token)
        people.enable(db, viewer.user, person_id)
        return Redirect(f"/manage/people/{person_id}?said=enabled", status_code=303)

    @post("/{person_id:int}/sessions/end", sync_to_thread=True, opt={"form": True, "media": "form"})
    def person_sessions_end(self, request: Request, db: Database, viewer: Viewer, person_id: PersonId, data: Annotated[TokenForm, Form]) -> Redirect:
        check_form(request, data.csrf_token)
        ended = people.end_sessions(db, viewer.user, person_id)
        return Redirect(f"/manage/people/{person_id}?said=ended+{ended}", status_code=303)

    @get("/{person_id:int}/forget", sync_to_thread=True)
    def forget_page(self, request: Request, db: Database, viewer: Viewer, person_id: PersonId) -> Template:
        """Asks to confirm, saying what goes (name, e-mail, sign-in) and what stays (audits, under the code)."""
        found = people.person(db, viewer.user, person_id)
        if not found.managed:
            raise forbidden(f"you see person {person_id} but do not manage them")
        audits = people.audit_count(db, person_id)
        return Template("people/forget.html", context={"user": request.user, "p": found, "audits": audits, "csrf": request.auth.csrf_token or ""})

    @post("/{person_id:int}/forget", sync_to_thread=True, opt={"form": True, "media": "form"})
    def person_forget(self, request: Request, db: Database, viewer: Viewer, person_id: PersonId, data: Annotated[TokenForm, Form]) -> Redirect:
        check_form(request, data.csrf_token)
        people.forget(db, viewer.user, person_id)
        return Redirect(f"/manage/people/{person_id}?said=forgotten", status_code=303)


def _not_participants(request: Request) -> None:
    if request.user.role == "participant":
        raise forbidden("a campaign's participant has no account page: their link is their account")


class Account(Controller):
    """Your own account: for every signed-in person but campaign participants."""

    path = "/account"
    include_in_schema = False
    before_request = _not_participants

    def _account(self, request: Request, db: Database, said: str | None = None, refused: Refusal | None = None, status: int = 200,
                 made: str | None = None) -> Template:
        me = request.user
        email, location = people.own(db, me)
        return Template("people/account.html", status_code=status, context={
            "user": me, "email": email, "location": location, "tokens": people.tokens(db, me.id), "csrf": request.auth.csrf_token or "",
            "said": notice("account", said), "refused": refused, "made": made, "days": accounts.TOKEN_DAYS})

    @get("/", sync_to_thread=True)
    def account_page(self, request: Request, db: Database, said: FromQuery[str | None] = None) -> Template:
        """Name, role, e-mail, your API tokens (make, list, revoke), and the way to change your password."""
        return self._account(request, db, said)

    @post("/tokens", sync_to_thread=True, opt={"form": True, "media": "form"})
    def token_make(self, request: Request, db: Database, data: Annotated[NewTokenForm, Form]) -> Template:
        """A new token: its secret is shown on this answer only (only its hash is kept)."""
        check_form(request, data.csrf_token)
        try:
            days = int(data.days) if data.days.strip() else accounts.TOKEN_DAYS
        except ValueError:
            days = None
        try:
            if days is None:
                raise invalid("token refused", [ApiProblem(field="days", message=f"expected a whole number of days from 1 to 3660, got {data.days!r}")])
            try:
                made = accounts.new_token(db, request.user, days=days, label=data.label.strip())
            except accounts.AccountError as exc:
                field, _, message = str(exc).partition(": ")
                raise invalid("token refused", [ApiProblem(field=field.lstrip("-"), message=message)]) from None
        except ApiError as exc:
            return self._account(request, db, refused=refusal(exc, "token", data, ("label", "days")), status=422)
        return self._account(request, db, made=made, status=201)

    @post("/tokens/{token_id:int}/revoke", sync_to_thread=True, opt={"form": True, "media": "form"})
    def token_revoke(self, request: Request, db: Database, token_id: PersonId, data: Annotated[TokenForm, Form]) -> Redirect:
        check_form(request, data.csrf_token)
        people.revoke_own_token(db, request.user, token_id)
        return Redirect("/account?said=revoked", status_code=303)


HANDLERS = [People, Account]
