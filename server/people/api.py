"""The people API: list (search and filters), one person, change, disable, enable, forget. Thin:
the rules are server/people/people.py's and visibility.may_manage's."""

from typing import Annotated, Literal

from server.db import Database
from litestar import get, patch, post
from litestar.params import JSONBody, Parameter, QueryParameter

from server.auth import roles
from server.people import people
from server.people.people import Listing, Person, PersonEdit
from server.visibility import Viewer

MANAGERS = roles("manager", "admin")
PersonId = Annotated[int, Parameter(ge=1, le=2**53, description="a person's id")]
Search = Annotated[str, QueryParameter(max_length=200, description="a part of the name, e-mail or code")]
ERRORS = {403: "A person outside what you manage", 404: "No such person", 409: "The person was forgotten",
          422: "A role, region or location you may not give, a staff person without a location, a malformed e-mail: `problems` names each field"}


@get("/api/people", guards=[MANAGERS], sync_to_thread=True, tags=["people"])
def list_people(db: Database, viewer: Viewer, search: Search = "", role: Literal["admin", "manager", "auditor", "staff"] | None = None,
                region: Annotated[str | None, QueryParameter(max_length=100)] = None, person_state: Annotated[Literal["active", "invited", "disabled", "forgotten"] | None, Parameter(query="state")] = None,
                signed_in: Literal["never", "over30", "within30"] | None = None, offset: Annotated[int, QueryParameter(ge=0, le=1_000_000_000)] = 0,
                limit: Annotated[int, QueryParameter(ge=1, le=500)] = people.PAGE) -> Listing:
    """The people you manage or see, A to Z: admins everyone; a manager the auditors and staff of their regions.
    `signed_in`: never, over30 (the last sign-in more than 30 days ago) or within30."""
    return people.listing(db, viewer.user, search, role, region, person_state, signed_in, offset, limit)


@get("/api/people/{person_id:int}", guards=[MANAGERS], sync_to_thread=True, tags=["people"], opt={"errors": ERRORS})
def get_person(person_id: PersonId, db: Database, viewer: Viewer) -> Person:
    """One person: role, regions or location, e-mail, state, sessions, API tokens (never a secret) and history."""
    return people.person(db, viewer.user, person_id)


@patch("/api/people/{person_id:int}", guards=[MANAGERS], sync_to_thread=True, tags=["people"], opt={"errors": ERRORS})
def edit_person(person_id: PersonId, data: JSONBody[PersonEdit], db: Database, viewer: Viewer) -> Person:
    """Change role, regions, location or e-mail (only the fields given); written to the person's history."""
    return people.edit(db, viewer.user, person_id, data)


@post("/api/people/{person_id:int}/disable", guards=[MANAGERS], sync_to_thread=True, tags=["people"], status_code=200, opt={"errors": ERRORS})
def disable_person(person_id: PersonId, db: Database, viewer: Viewer) -> Person:
    """They can no longer sign in; their sessions end and their tokens are revoked at once. Their audits stay."""
    return people.disable(db, viewer.user, person_id)


@post("/api/people/{person_id:int}/enable", guards=[MANAGERS], sync_to_thread=True, tags=["people"], status_code=200, opt={"errors": ERRORS})
def enable_person(person_id: PersonId, db: Database, viewer: Viewer) -> Person:
    """A disabled person may sign in again (their old tokens stay revoked)."""
    return people.enable(db, viewer.user, person_id)


@post("/api/people/{person_id:int}/forget", guards=[MANAGERS], sync_to_thread=True, tags=["people"], status_code=200, opt={"errors": ERRORS})
def forget_person(person_id: PersonId, db: Database, viewer: Viewer) -> Person:
    """Name and e-mail replaced by the person's code everywhere; disabled for good; their audits stay and count as before."""
    return people.forget(db, viewer.user, person_id)


HANDLERS = [list_people, get_person, edit_person, disable_person, enable_person, forget_person]
