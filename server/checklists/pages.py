"""The brands and checklists pages of the managers' web (admins edit, managers read): what is
published, each checklist's versions; the draft (each file edited as text, checked as `touchpoint
check` checks it, nothing kept until every problem is fixed) and publishing it with a note. Plain
HTML forms that work without JavaScript, each with the session's CSRF token."""

import dataclasses
import re
from typing import Annotated, Any

import msgspec
import msgspec.yaml

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, Parameter
from litestar.response import Redirect, Template
from server.db import Database

from server import forms
from server import links
from server.auth import check_form
from server.campaigns import qr
from server.checklists import ChecklistError, Checklist, diff, drafts, editing, parse_brand, versions, workbook
from server.db import write
from server.errors import ApiError, forbidden, not_found
from server.notices import notice
from server.program import history

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


@dataclasses.dataclass
class FileForm:
    csrf_token: str = ""
    text: str = ""
    revision: int = 0


@dataclasses.dataclass
class WorkbookForm:
    csrf_token: str = ""
    revision: int = 0
    file: UploadFile | None = None


@dataclasses.dataclass
class CopyForm:
    csrf_token: str = ""
    id: str = ""
    name: str = ""


@dataclasses.dataclass
class PublishForm:
    csrf_token: str = ""
    note: str = ""
    revision: int = 0
    confirm: str = ""  # "yes": the changes that break comparison with history are meant


_managers_only = forms.managers_only("brands and checklists")


class Brands(Controller):
    path = "/manage/brands"
    include_in_schema = False
    before_request = _managers_only

    @get("/", sync_to_thread=True)
    def listing(self, request: Request, state: State, db: Database, said: FromQuery[str | None] = None) -> Template:
        """Every brand as published now: its promise, its checklists with their versions, and how each came."""
        return self._listing(request, state, db, said)

    @staticmethod
    def _listing(request: Request, state: State, db: Database, said: str | None = None, refused: str | None = None, status: int = 200) -> Template:
        brands = [(loaded, {cid: versions.history(db, loaded.brand.id, cid)[0] for cid in loaded.checklists}, versions.history(db, loaded.brand.id))
                  for loaded in state.catalog.brands.values()]
        return Template("checklists/brands.html", status_code=status, context={"user": request.user, "brands": brands, "said": notice("brands", said),
                                                                               "refused": refused, "csrf": request.auth.csrf_token or ""})

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

    @get("/{brand_id:str}/draft", sync_to_thread=True)
    def draft(self, request: Request, state: State, db: Database, brand_id: FromPath[str], said: FromQuery[str | None] = None) -> Template:
        """The brand's draft: its files (those changed marked), each to edit; publish it with a note, or discard it."""
        return self._draft(request, state, db, brand_id, said)

    @staticmethod
    def _draft(request: Request, state: State, db: Database, brand_id: str, said: str | None = None, refused: str | None = None, note: str = "", status: int = 200) -> Template:
        draft = drafts.get(db, state.catalog.brands, brand_id)
        try:
            verdict = drafts.judged(drafts.check(brand_id, draft.files), state.catalog.brands) if draft.revision else None
        except drafts.Problems:  # a published change under a saved draft (another brand file) can make it fail: publish says so
            verdict = None
        trying = links.outside(state.settings, request, f"/#/try/{brand_id}")
        return Template("checklists/draft.html", status_code=status, context={
            "try_link": trying, "try_qr": qr.svg(trying, scale=5, title="The draft's test link as a QR code"), "tests": drafts.test_audits(db, brand_id),
            "user": request.user, "draft": draft, "changed": drafts.changed_files(draft, state.catalog.brands), "csrf": request.auth.csrf_token or "",
            "verdict": verdict,
            "said": notice("draft", said), "refused": refused, "note": note, "log": history.entries(db, "brand", brand_id)})

    @get("/{brand_id:str}/draft/{file:str}", sync_to_thread=True)
    def file(self, request: Request, state: State, db: Database, brand_id: FromPath[str], file: FromPath[str]) -> Template:
        """One file of the draft as text, to edit (admins; managers read it)."""
        draft = drafts.get(db, state.catalog.brands, brand_id)
        if file not in draft.files:
            raise not_found("file", f"{brand_id}/{file}")
        return self._file(request, draft, file, draft.files[file], draft.revision)

    @staticmethod
    def _file(request: Request, draft: drafts.Draft, file: str, text: str, revision: int, problems: list[str] | None = None, clash: str | None = None,
              status: int = 200) -> Template:
        return Template("checklists/file.html", status_code=status, context={
            "user": request.user, "draft": draft, "file": file, "text": text, "revision": revision, "problems": problems or [], "clash": clash,
            "csrf": request.auth.csrf_token or "", "lines": text.count("\n") + 1})

    @post("/{brand_id:str}/draft/{file:str}", sync_to_thread=True, opt={"form": True, "media": "form"})
    def save(self, request: Request, state: State, db: Database, brand_id: FromPath[str], file: FromPath[str], data: Annotated[FileForm, Form]) -> Template | Redirect:
        """Save one file into the draft: checked with the whole brand, kept only without a problem; a draft changed meanwhile is a 409 that keeps your text."""
        check_form(request, data.csrf_token)
        return self._save(request, state, db, brand_id, file, data.text, data.revision)

    @classmethod
    def _save(cls, request: Request, state: State, db: Database, brand_id: str, file: str, text: str, revision: int) -> Template | Redirect:
        try:
            with write(db):
                drafts.save(db, request.user, state.catalog.brands, brand_id, file, text, revision)
        except drafts.Problems as refused:
            draft = drafts.get(db, state.catalog.brands, brand_id)
            return cls._file(request, draft, file, text, revision, problems=refused.problems, status=422)
        except ApiError as exc:
            if exc.status not in (409, 413):
                raise
            draft = drafts.get(db, state.catalog.brands, brand_id)
            return cls._file(request, draft, file, text, revision, clash=exc.message, status=exc.status)
        return Redirect(f"/manage/brands/{brand_id}/draft?said=saved", status_code=303)

    @post("/{brand_id:str}/publish", sync_to_thread=True, opt={"form": True, "media": "form"})
    def publish(self, request: Request, state: State, db: Database, brand_id: FromPath[str], data: Annotated[PublishForm, Form]) -> Template | Redirect:
        """Publish the draft with a note: current for everyone at once (every server process within a second); visits begun keep their version."""
        check_form(request, data.csrf_token)
        try:
            note = forms.converted(drafts.Note, {"note": data.note.strip()}).note
            with write(db):
                published = drafts.publish(db, request.user, state.catalog.brands, brand_id, data.revision, note, confirmed=data.confirm == "yes")
        except drafts.Unconfirmed as unconfirmed:
            return self._draft(request, state, db, brand_id, refused=f"{len(unconfirmed.marked)} change{'s' if len(unconfirmed.marked) != 1 else ''} "
                               "break comparison with earlier audits: tick the box to confirm them", note=data.note, status=409)
        except drafts.Problems as refused:
            return self._draft(request, state, db, brand_id, refused="; ".join(refused.problems), note=data.note, status=422)
        except ApiError as exc:
            if exc.status not in (409, 422):
                raise
            return self._draft(request, state, db, brand_id, refused=exc.message, note=data.note, status=exc.status)
        state.catalog.refresh(lambda: db, now=True)
        return Redirect(f"/manage/brands/?said=published+{len(published)}", status_code=303)

    @get("/{brand_id:str}/draft/{file:str}/workbook", sync_to_thread=True)
    def as_workbook(self, request: Request, state: State, db: Database, brand_id: FromPath[str], file: FromPath[str]) -> Response[bytes]:
        """A checklist of the draft as an .xlsx workbook, to fill in and upload again (README, "Checklists as workbooks")."""
        draft = drafts.get(db, state.catalog.brands, brand_id)
        if file not in draft.files or file == "brand.yaml":
            raise not_found("checklist file", f"{brand_id}/{file}")
        data = workbook.to_workbook(draft.files[file].encode("utf-8"), file)
        name = file.removesuffix(".yaml")
        return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{brand_id}-{name}.xlsx"'})

    @post("/{brand_id:str}/draft/{file:str}/workbook", sync_to_thread=True, opt={"form": True, "media": "multipart"},
          request_max_body_size=workbook.MAX_WORKBOOK_BYTES + 64 * 1024)
    def upload(self, request: Request, state: State, db: Database, brand_id: FromPath[str], file: FromPath[str],
               data: Annotated[WorkbookForm, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Template | Redirect:
        """A filled-in workbook into the draft: checked with the same checks (problems by sheet, row and column), then saved as the file's text."""
        check_form(request, data.csrf_token)
        drafts.may_edit(request.user)
        draft = drafts.get(db, state.catalog.brands, brand_id)
        if file not in draft.files or file == "brand.yaml":
            raise not_found("checklist file", f"{brand_id}/{file}")
        if data.file is None or not data.file.filename:
            return self._file(request, draft, file, draft.files[file], data.revision, problems=["file: choose an .xlsx workbook"], status=422)
        try:
            text = workbook.from_workbook(data.file.file.read(), file, parse_brand(draft.files["brand.yaml"].encode("utf-8"), f"{brand_id}/brand.yaml")).decode("utf-8")
        except ChecklistError as refused:
            return self._file(request, draft, file, draft.files[file], data.revision, problems=refused.problems, status=422)
        if msgspec.yaml.decode(text.encode("utf-8"), type=Checklist) == msgspec.yaml.decode(draft.files[file].encode("utf-8"), type=Checklist):
            return Redirect(f"/manage/brands/{brand_id}/draft?said=unchanged", status_code=303)  # the same checklist: its text (and version) stay
        return self._save(request, state, db, brand_id, file, text, data.revision)

    @get("/{brand_id:str}/draft/{file:str}/form", sync_to_thread=True)
    def form(self, request: Request, state: State, db: Database, brand_id: FromPath[str], file: FromPath[str]) -> Template:
        """The form editor: each section's title and each item's everyday fields, items added, removed and moved."""
        draft = drafts.get(db, state.catalog.brands, brand_id)
        if file == "brand.yaml":
            return self._brand_form(request, draft, editing.brand_start(draft.files[file].encode("utf-8")), draft.revision)
        if file not in draft.files:
            raise not_found("checklist file", f"{brand_id}/{file}")
        return self._form(request, draft, file, editing.start(draft.files[file].encode("utf-8")), draft.revision)

    @staticmethod
    def _brand_form(request: Request, draft: drafts.Draft, raw: dict, revision: int, problems: list[str] | None = None, clash: str | None = None,
                    status: int = 200) -> Template:
        return Template("checklists/brand_form.html", status_code=status, context={
            "user": request.user, "draft": draft, "brand": editing.brand_view(raw), "revision": revision, "problems": problems or [], "clash": clash,
            "csrf": request.auth.csrf_token or ""})

    @staticmethod
    def _form(request: Request, draft: drafts.Draft, file: str, raw: dict, revision: int, problems: list[str] | None = None,
              fields: list[editing.Field] | None = None, clash: str | None = None, status: int = 200) -> Template:
        brand = parse_brand(draft.files["brand.yaml"].encode("utf-8"), f"{draft.brand}/brand.yaml")
        # each problem beside its item: the checks name it "section S, item I: …"
        beside: dict[tuple[str, str], list[str]] = {}
        rest = []
        for p in problems or []:
            found = re.search(r"section (\w+), item (\w+): (.*)$", p)
            if found:
                beside.setdefault((found.group(1), found.group(2)), []).append(p)
            else:
                rest.append(p)
        for f in fields or []:
            beside.setdefault((f.section, f.item), []).append(f"{draft.brand}/{file}: section {f.section}" + (f", item {f.item}" if f.item else "") + f": {f.problem}")
        return Template("checklists/form.html", status_code=status, context={
            "user": request.user, "draft": draft, "file": file, "sections": editing.view(raw), "revision": revision, "pillars": [p.id for p in brand.pillars],
            "photos": ("none", "optional", "required"), "new_types": editing.NEW_TYPES, "beside": beside, "rest": rest, "clash": clash,
            "count": len(problems or []) + len(fields or []), "csrf": request.auth.csrf_token or ""})

    @post("/{brand_id:str}/draft/{file:str}/form", sync_to_thread=True, opt={"form": True, "media": "form"})
    def form_save(self, request: Request, state: State, db: Database, brand_id: FromPath[str], file: FromPath[str],
                  data: Annotated[dict[str, Any], Form]) -> Template | Redirect:
        """The form's edits into the draft: written as the canonical file, then checked as `touchpoint check` checks it; refused, the form again with each problem beside its item."""
        check_form(request, str(data.get("csrf_token", "")))
        drafts.may_edit(request.user)
        draft = drafts.get(db, state.catalog.brands, brand_id)
        revision = int(str(data.get("revision", "0")) or 0) if str(data.get("revision", "0")).isdigit() else -1
        if file == "brand.yaml":
            raw = editing.brand_edit(editing.brand_start(draft.files[file].encode("utf-8")), data)
            try:
                with write(db):
                    drafts.save(db, request.user, state.catalog.brands, brand_id, file, editing.brand_yaml(raw).decode("utf-8"), revision)
            except drafts.Problems as refused:
                return self._brand_form(request, draft, raw, revision, problems=refused.problems, status=422)
            except ApiError as exc:
                if exc.status != 409:
                    raise
                return self._brand_form(request, draft, raw, revision, clash=exc.message, status=409)
            return Redirect(f"/manage/brands/{brand_id}/draft?said=saved", status_code=303)
        if file not in draft.files:
            raise not_found("checklist file", f"{brand_id}/{file}")
        raw, fields = editing.edit(editing.start(draft.files[file].encode("utf-8")), data, str(data.get("action", "save")))
        text = workbook.yaml_of(raw).decode("utf-8")
        try:
            loaded = drafts.check(brand_id, {**draft.files, file: text})
        except drafts.Problems as refused:
            return self._form(request, draft, file, raw, revision, problems=refused.problems, fields=fields, status=422)
        if fields:
            return self._form(request, draft, file, raw, revision, fields=fields, status=422)
        canonical = workbook.canonical_yaml(loaded.checklists[file.removesuffix(".yaml")].checklist).decode("utf-8")
        try:
            with write(db):
                drafts.save(db, request.user, state.catalog.brands, brand_id, file, canonical, revision)
        except ApiError as exc:
            if exc.status != 409:
                raise
            return self._form(request, draft, file, raw, revision, clash=exc.message, status=409)
        action = str(data.get("action", "save"))
        if action == "save":
            return Redirect(f"/manage/brands/{brand_id}/draft?said=saved", status_code=303)
        return Redirect(f"/manage/brands/{brand_id}/draft/{file}/form#{action.partition(':')[2] or 'top'}", status_code=303)

    @post("/{brand_id:str}/copy", sync_to_thread=True, opt={"form": True, "media": "form"})
    def copy(self, request: Request, state: State, db: Database, brand_id: FromPath[str], data: Annotated[CopyForm, Form]) -> Template | Redirect:
        """A new brand as a copy of this one (its promise, pillars and checklists), published at once under its own id and name, to edit from there."""
        check_form(request, data.csrf_token)
        try:
            with write(db):
                made = drafts.copy(db, request.user, state.catalog.brands, brand_id, data.id.strip(), data.name.strip())
        except drafts.Problems as refused:
            return self._listing(request, state, db, refused="; ".join(refused.problems), status=422)
        state.catalog.refresh(lambda: db, now=True)
        return Redirect(f"/manage/brands/{made}/draft?said=copied", status_code=303)

    @post("/{brand_id:str}/draft/discard", sync_to_thread=True, opt={"form": True, "media": "form"})
    def discard(self, request: Request, state: State, db: Database, brand_id: FromPath[str], data: Annotated[forms.TokenForm, Form]) -> Redirect:
        check_form(request, data.csrf_token)
        with write(db):
            drafts.discard(db, request.user, state.catalog.brands, brand_id)
        return Redirect(f"/manage/brands/{brand_id}/draft?said=discarded", status_code=303)


HANDLERS = [Brands]
