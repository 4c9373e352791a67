"""The brands and checklists pages of the managers' web (admins edit, managers read): what is
published, each checklist's versions. Plain HTML that works without JavaScript."""

from typing import Annotated

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.params import FromPath, Parameter
from litestar.response import Redirect, Template
from sqlite_utils import Database

from server.checklists import diff, versions
from server.errors import forbidden, not_found


def _managers_only(request: Request) -> Redirect | None:
    """Auditors are sent to their app, like every managers' page; staff have no checklists to read."""
    if request.user.role in ("auditor", "participant"):
        return Redirect("/", status_code=303)
    if request.user.role == "staff":
        raise forbidden("brands and checklists are for managers and admins")
    return None


class Brands(Controller):
    path = "/manage/brands"
    include_in_schema = False
    before_request = _managers_only

    @get("/", sync_to_thread=True)
    def listing(self, request: Request, state: State, db: Database) -> Template:
        """Every brand as published now: its promise, its checklists with their versions, and how each came."""
        brands = [(loaded, {cid: versions.history(db, loaded.brand.id, cid)[0] for cid in loaded.checklists}, versions.history(db, loaded.brand.id)[0])
                  for loaded in state.catalog.brands.values()]
        return Template("checklists/brands.html", context={"user": request.user, "brands": brands})

    @get("/{brand_id:str}/checklists/{checklist_id:str}", sync_to_thread=True)
    def checklist(self, request: Request, state: State, db: Database, brand_id: FromPath[str], checklist_id: FromPath[str]) -> Template:
        """One checklist as published: its file, and its versions (how each came, by whom, when, the note)."""
        loaded = state.catalog.brands.get(brand_id)
        if loaded is None or checklist_id not in loaded.checklists:
            raise not_found("checklist", f"{brand_id}/{checklist_id}")
        current = loaded.checklists[checklist_id]
        listed = versions.history(db, brand_id, checklist_id)
        return Template("checklists/checklist.html", context={
            "user": request.user, "brand": loaded, "checklist": current, "text": current.source.decode("utf-8", "replace"),
            "versions": listed, "compared": versions.compared(listed)})

    @get("/{brand_id:str}/checklists/{checklist_id:str}/diff", sync_to_thread=True)
    def difference(self, request: Request, state: State, db: Database, brand_id: FromPath[str], checklist_id: FromPath[str],
                   older: Annotated[str | None, Parameter(query="from", max_length=40)] = None,
                   newer: Annotated[str | None, Parameter(query="to", max_length=40)] = None) -> Template:
        """The difference between any two versions of a checklist, item by item, with what breaks
        comparison with history; by default the version before the current one and the current one."""
        loaded = state.catalog.brands.get(brand_id)
        if loaded is None or checklist_id not in loaded.checklists:
            raise not_found("checklist", f"{brand_id}/{checklist_id}")
        listed = versions.history(db, brand_id, checklist_id)
        default_from, newer = versions.compared(listed, newer) or (loaded.checklists[checklist_id].version,) * 2
        older = older or default_from
        found = {}
        for version in (older, newer):
            pair = state.catalog.checklist(db, brand_id, checklist_id, version)
            if pair is None:
                raise not_found("version", f"{brand_id}/{checklist_id} {version}")
            found[version] = pair[1].checklist
        changes = diff.compare(found[older], found[newer]) if older != newer else []
        return Template("checklists/diff.html", context={
            "user": request.user, "brand": loaded, "checklist": loaded.checklists[checklist_id], "versions": listed, "older": older, "newer": newer,
            "changes": [(change, diff.verdict(change)) for change in changes], "judgement": diff.judge(changes)})


HANDLERS = [Brands]
