"""Brands and checklists, for the phone to cache."""

import asyncio
import datetime as dt

import msgspec
from server.db import Database
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody

from server.audits.audits import AuditIn
from server.auth import roles
from server.campaigns import campaigns
from server.checklists import drafts
from server.db import write
from server.checklists.format import Checklist, Pillar
from server.errors import invalid, not_found


class BrandOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    promise: str
    threshold: float
    pillars: list[Pillar]
    touchpoints: list[str]
    version: str


class ChecklistOut(msgspec.Struct, kw_only=True):
    brand: str
    id: str
    title: str
    mode: str
    version: str
    definition: Checklist  # the checklist file as JSON, keys as in the YAML


def _checklist_out(brand_id: str, loaded) -> ChecklistOut:
    c = loaded.checklist
    return ChecklistOut(brand=brand_id, id=c.id, title=c.title, mode=c.mode, version=loaded.version, definition=c)


def _allowed(request: Request, state: State, db: Database) -> set[tuple[str, str]] | None:
    """A campaign participant's (brand, checklist) pairs; None: everyone else sees every checklist."""
    user = request.user
    if user.role != "participant":
        return None
    return campaigns.checklists_of(db, user.campaign)


@get("/api/brands", sync_to_thread=True, tags=["checklists"])
def brands(request: Request, state: State, db: Database) -> list[BrandOut]:
    """Every brand (a campaign's participant: its campaign's)."""
    allowed = _allowed(request, state, db)
    return [
        BrandOut(id=b.brand.id, name=b.brand.name, promise=b.brand.promise, threshold=b.brand.threshold, pillars=b.brand.pillars, touchpoints=b.brand.touchpoints, version=b.version)
        for b in state.catalog.brands.values() if allowed is None or b.brand.id in {brand for brand, _ in allowed}
    ]


@get("/api/checklists", opt={"errors": {404: "No such brand"}}, sync_to_thread=True, tags=["checklists"])
def checklists(request: Request, state: State, db: Database, brand: FromQuery[str | None] = None) -> list[ChecklistOut]:
    """The current version of every checklist (of one brand when `brand` is given; a campaign's
    participant: its campaign's)."""
    if brand is not None and brand not in state.catalog.brands:
        raise not_found("brand", brand)
    allowed = _allowed(request, state, db)
    return [
        _checklist_out(b.brand.id, loaded)
        for b in state.catalog.brands.values()
        if brand is None or b.brand.id == brand
        for loaded in b.checklists.values()
        if allowed is None or (b.brand.id, loaded.checklist.id) in allowed
    ]


@get("/api/checklists/{checklist_id:str}", sync_to_thread=True, tags=["checklists"])
def checklist(request: Request, state: State, checklist_id: FromPath[str], db: Database, brand: FromQuery[str | None] = None, version: FromQuery[str | None] = None) -> ChecklistOut:
    """One checklist: the current version, or `version` when given (any version ever loaded)."""
    allowed = _allowed(request, state, db)
    owners = [b for b in state.catalog.brands.values() if checklist_id in b.checklists and (brand is None or b.brand.id == brand)
              and (allowed is None or (b.brand.id, checklist_id) in allowed)]
    if not owners:
        raise not_found("checklist", checklist_id)
    if len(owners) > 1:
        raise invalid(f"several brands have a checklist {checklist_id!r}: add ?brand= (one of {', '.join(b.brand.id for b in owners)})")
    found = state.catalog.checklist(db, owners[0].brand.id, checklist_id, version)
    if found is None:
        raise not_found("version", f"{checklist_id}@{version}")
    return _checklist_out(owners[0].brand.id, found[1])


class DraftOut(msgspec.Struct, kw_only=True):
    brand: str
    revision: int  # 0: nobody saved a draft yet (the published files)
    checklists: list[ChecklistOut]


@get("/api/drafts/{brand_id:str}", guards=[roles("admin", "manager")], sync_to_thread=True, tags=["checklists"], opt={"errors": {404: "No such brand"}})
def draft(state: State, db: Database, brand_id: FromPath[str]) -> DraftOut:
    """A brand's draft, its checklists in the shape of `GET /api/checklists`: what the app's test mode shows (never auditors)."""
    found, loaded = drafts.checklists_of(db, state.catalog.brands, brand_id)
    return DraftOut(brand=brand_id, revision=found.revision, checklists=[_checklist_out(brand_id, c) for c in loaded.checklists.values()])


@post("/api/drafts/{brand_id:str}/test-audits", guards=[roles("admin", "manager")], tags=["checklists"],
      opt={"also": {200: "The same test audit again (its id): the answer it had"},
           "errors": {404: "No such brand, or no such checklist in its draft", 409: "The draft's checklist changed since the test began",
                      422: "Answers the draft's checklist does not take: `problems` names each item"}})
async def tried(data: JSONBody[AuditIn], request: Request, state: State, db: Database, brand_id: FromPath[str]) -> Response[drafts.TestAudit]:
    """A test audit of the draft, made in the app's test mode: scored with the draft and shown to its
    editors, never counted (not in rollups, rankings, exports, flags, actions or webhooks); deleted
    when the draft is published or discarded. The same id again: 200 with the same answer."""
    def keep() -> tuple[drafts.TestAudit, bool]:
        with write(db):
            return drafts.test_audit(db, request.user, state.catalog.brands, brand_id, data, dt.datetime.now(dt.UTC).isoformat())

    made, new = await asyncio.to_thread(keep)
    return Response(made, status_code=201 if new else 200)


@get("/api/drafts/{brand_id:str}/test-audits", guards=[roles("admin", "manager")], sync_to_thread=True, tags=["checklists"])
def tries(db: Database, brand_id: FromPath[str]) -> list[drafts.TestAudit]:
    """The draft's test audits, newest first, with their scores."""
    return drafts.test_audits(db, brand_id)


HANDLERS = [brands, checklists, checklist, draft, tried, tries]
