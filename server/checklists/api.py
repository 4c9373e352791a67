"""Brands and checklists, for the phone to cache."""

import msgspec
from sqlite_utils import Database
from litestar import Request, get
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery

from server.campaigns import campaigns
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


HANDLERS = [brands, checklists, checklist]
