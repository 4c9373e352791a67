"""Drafts: a brand's files as edited in the browser, kept apart from what is published.

One draft a brand, holding its whole set of files (brand.yaml and every checklist), since a
checklist is checked against its brand (its pillars, its touchpoints). A draft is made from what
is published the first time someone edits; auditors never see it. Every save is checked as
`touchpoint check` checks a folder, and nothing is kept until every problem is fixed. Each save
names the revision it was made from: a second editor saving over a draft that changed since they
opened it is told, and nothing is lost (no silent overwrite). Publishing makes the draft current
for everyone (versions.publish, "browser"), moves the catalog's generation on so that every server
process reloads (versions.publish), and ends the draft. Each save, publish and discarded draft is a history row
(kind "brand").
"""

import datetime as dt

import msgspec
import sqlite_utils

from server.db import insert
from server.accounts.accounts import User
from server.checklists import ChecklistError, LoadedBrand, diff, load_brand_files, versions
from server.errors import ApiError, ApiProblem, ErrorCode, conflict, forbidden, not_found
from server.program import history
from server.text import Line

MAX_FILE_BYTES = 1_000_000  # a checklist of 200 items is about 60 kB


class Draft(msgspec.Struct, kw_only=True):
    brand: str
    files: dict[str, str]  # file name -> text, brand.yaml first
    revision: int  # 0: nothing saved yet (the published files)
    saved_by: str | None = None
    saved_at: str | None = None


class Problems(Exception):
    """A save refused: every problem, each as `touchpoint check` prints it."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class Unconfirmed(Exception):
    """A publish whose changes break comparison with history, not yet confirmed: what they are."""

    def __init__(self, marked: list[str]):
        super().__init__("; ".join(marked))
        self.marked = marked


class Note(msgspec.Struct, kw_only=True):
    note: Line(500) = ""


def _published(loaded: LoadedBrand) -> dict[str, str]:
    return {"brand.yaml": loaded.source.decode("utf-8"), **{f"{cid}.yaml": c.source.decode("utf-8") for cid, c in loaded.checklists.items()}}


def may_edit(user: User) -> None:
    if user.role != "admin":
        raise forbidden("brands and checklists are edited by admins (managers read them)")


def get(db: sqlite_utils.Database, published: dict[str, LoadedBrand], brand: str) -> Draft:
    """The brand's draft, or (revision 0) its published files when nobody has saved one."""
    if brand not in published:
        raise not_found("brand", brand)
    row = db.execute("SELECT d.files, d.revision, u.name, d.saved_at FROM drafts d LEFT JOIN users u ON u.id = d.saved_by WHERE d.brand = ?", [brand]).fetchone()
    if row is None:
        return Draft(brand=brand, files=_published(published[brand]), revision=0)
    files, revision, by, at = row
    return Draft(brand=brand, files=msgspec.json.decode(files), revision=revision, saved_by=by, saved_at=at)


def check(brand: str, files: dict[str, str]) -> LoadedBrand:
    """The draft's files as a brand, or Problems with every one (the same checks and wording as `touchpoint check`)."""
    try:
        return load_brand_files(brand, {name: text.encode("utf-8") for name, text in files.items()})
    except ChecklistError as exc:
        raise Problems(exc.problems) from None


def save(db: sqlite_utils.Database, user: User, published: dict[str, LoadedBrand], brand: str, file: str, text: str, revision: int) -> Draft:
    """Replace one file of the brand's draft, inside the caller's write transaction: checked with the
    whole brand first (Problems: nothing kept); a `revision` other than the draft's is a 409."""
    may_edit(user)
    now = get(db, published, brand)
    if file not in now.files:
        raise not_found("file", f"{brand}/{file}")
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise ApiError(413, ErrorCode.TOO_LARGE, f"{file}: {len(text.encode('utf-8')):,} bytes; a file may hold at most {MAX_FILE_BYTES:,} bytes")
    if revision != now.revision:
        raise conflict(f"the draft changed since you opened it: saved by {now.saved_by or 'someone'} at {(now.saved_at or '')[:19].replace('T', ' ')} UTC "
                       f"(revision {now.revision}, yours {revision}). Open it again to see their change; your text is below, nothing was saved")
    text = text.replace("\r\n", "\n")
    files = {**now.files, file: text}
    check(brand, files)
    stamp = dt.datetime.now(dt.UTC).isoformat()
    insert(db, "drafts", {"brand": brand, "files": msgspec.json.encode(files).decode(), "revision": now.revision + 1, "saved_by": user.id, "saved_at": stamp},
                  key=("brand",), then="update")
    history.log(db, user.id, "brand", brand, "draft saved", None, {"file": file, "revision": now.revision + 1})
    return Draft(brand=brand, files=files, revision=now.revision + 1, saved_by=user.name, saved_at=stamp)


def changed_files(draft: Draft, published: dict[str, LoadedBrand]) -> list[str]:
    """The draft's files whose text differs from what is published."""
    now = _published(published[draft.brand])
    return [name for name, text in draft.files.items() if now.get(name) != text]


def judged(loaded: LoadedBrand, published: dict[str, LoadedBrand]) -> diff.Judgement:
    """What publishing `loaded` (the checked draft) would do to history, checklist by checklist against
    what is published: refused changes (an item id given another type) and marked ones (a weight,
    critical or pillar change…: comparison with earlier audits breaks), each named with its checklist."""
    now = published[loaded.brand.id].checklists
    refused, marked = [], []
    for cid, checklist in loaded.checklists.items():
        before = now.get(cid)
        if before is not None and before.version == checklist.version:
            continue
        verdict = diff.judge(diff.compare(before.checklist if before else None, checklist.checklist))
        refused += [f"{cid}: {r}" for r in verdict.refused]
        marked += [f"{cid}: {m}" for m in verdict.marked]
    return diff.Judgement(refused=refused, marked=marked)


def publish(db: sqlite_utils.Database, user: User, published: dict[str, LoadedBrand], brand: str, revision: int, note: str, confirmed: bool = False) -> list[str]:
    """Make the draft current for everyone, inside the caller's write transaction; returns the files
    published. The draft is checked again; a `revision` other than the draft's is a 409; a change
    that is refused (judged) is Problems; marked changes need `confirmed` (else Unconfirmed)."""
    may_edit(user)
    draft = get(db, published, brand)
    if draft.revision == 0:
        raise conflict("there is no draft to publish: save a change first")
    if revision != draft.revision:
        raise conflict(f"the draft changed since you opened it: saved by {draft.saved_by or 'someone'} (revision {draft.revision}, yours {revision}); "
                       "look at it again before publishing")
    loaded = check(brand, draft.files)
    verdict = judged(loaded, published)
    if verdict.refused:
        raise Problems(verdict.refused)
    if verdict.marked and not confirmed:
        raise Unconfirmed(verdict.marked)
    files = changed_files(draft, published)
    versions.publish(db, loaded, "browser", user.id, note)
    db.execute("DELETE FROM drafts WHERE brand = ?", [brand])
    tried = db.execute("DELETE FROM test_audits WHERE brand = ?", [brand]).rowcount
    history.log(db, user.id, "brand", brand, "published", None, {"files": files, "version": loaded.version, "breaks comparison": verdict.marked, "test audits deleted": tried}, note)
    return files


def discard(db: sqlite_utils.Database, user: User, published: dict[str, LoadedBrand], brand: str) -> None:
    may_edit(user)
    draft = get(db, published, brand)
    if draft.revision == 0:
        raise conflict("there is no draft to discard")
    db.execute("DELETE FROM drafts WHERE brand = ?", [brand])
    tried = db.execute("DELETE FROM test_audits WHERE brand = ?", [brand]).rowcount
    history.log(db, user.id, "brand", brand, "draft discarded", {"revision": draft.revision, "test audits": tried}, None)



# --- trying a draft: test audits -------------------------------------------------------------------

TESTERS = ("admin", "manager")  # who may try a draft on a phone (managers read drafts; nobody else sees one)


class TestAudit(msgspec.Struct, kw_only=True):
    id: str
    checklist: str
    version: str
    by: str
    received_at: str
    score: float | None
    result: dict


def may_try(user: User) -> None:
    if user.role not in TESTERS:
        raise forbidden("drafts are tried by admins and managers")


def checklists_of(db: sqlite_utils.Database, published: dict[str, LoadedBrand], brand: str) -> tuple[Draft, LoadedBrand]:
    """The draft as a checked brand, for the app's test mode (the published files while nobody saved one)."""
    draft = get(db, published, brand)
    return draft, check(brand, draft.files)


def test_audit(db: sqlite_utils.Database, user: User, published: dict[str, LoadedBrand], brand: str, audit, received_at: str) -> tuple[TestAudit, bool]:
    """Score one audit made in test mode with the draft, inside the caller's write transaction; kept
    apart from audits (never counted anywhere); returns it and whether it is new (the same id again
    is the same answer, as for audits)."""
    from server.checklists.scoring import AuditRefused, parse_answers, score_audit

    may_try(user)
    kept = db.execute("SELECT t.id, t.checklist, t.version, u.name, t.received_at, t.score, t.result FROM test_audits t JOIN users u ON u.id = t.by WHERE t.id = ?",
                      [str(audit.id)]).fetchone()
    if kept is not None:
        ident, checklist, version, by, at, score, result = kept
        return TestAudit(id=ident, checklist=checklist, version=version, by=by, received_at=at, score=score, result=msgspec.json.decode(result)), False
    draft, loaded = checklists_of(db, published, brand)
    checklist = loaded.checklists.get(audit.checklist)
    if checklist is None:
        raise not_found("checklist of the draft", f"{brand}/{audit.checklist}")
    if audit.version is not None and audit.version != checklist.version:
        raise conflict(f"the draft's {audit.checklist} changed since this test began (it was {audit.version}, it is {checklist.version}): start a new test visit")
    try:
        result = score_audit(loaded.brand, checklist, audit.answers)
    except AuditRefused as refused:
        raise ApiError(422, ErrorCode.AUDIT_REFUSED, "the test audit does not fit the draft's checklist: nothing was kept",
                       [ApiProblem(item=p.item, message=p.message) for p in refused.problems]) from None
    plain = msgspec.to_builtins(result)
    insert(db, "test_audits", {"id": str(audit.id), "brand": brand, "checklist": audit.checklist, "version": checklist.version, "by": user.id, "received_at": received_at,
                              "body": msgspec.json.encode(audit).decode(), "score": result.score, "result": msgspec.json.encode(result).decode()})
    history.log(db, user.id, "brand", brand, "test audit", None, {"checklist": audit.checklist, "score": result.score})
    return TestAudit(id=str(audit.id), checklist=audit.checklist, version=checklist.version, by=user.name, received_at=received_at, score=result.score, result=plain), True


def test_audits(db: sqlite_utils.Database, brand: str) -> list[TestAudit]:
    """The draft's test audits, newest first, with their scores: for its editors."""
    return [TestAudit(id=i, checklist=c, version=v, by=by, received_at=at, score=score, result=msgspec.json.decode(result))
            for i, c, v, by, at, score, result in db.execute(
                "SELECT t.id, t.checklist, t.version, u.name, t.received_at, t.score, t.result FROM test_audits t JOIN users u ON u.id = t.by WHERE t.brand = ? ORDER BY t.received_at DESC",
                [brand]).fetchall()]


def copy(db: sqlite_utils.Database, user: User, published: dict[str, LoadedBrand], brand: str, new_id: str, name: str) -> str:
    """A new brand made as a copy of `brand` as published (its promise, pillars, checklists), under
    `new_id` and `name`, published at once (via browser) inside the caller's write transaction:
    Problems naming the id or the name when they are refused."""
    may_edit(user)
    if brand not in published:
        raise not_found("brand", brand)
    if new_id in published or db.execute("SELECT 1 FROM brands WHERE id = ?", [new_id]).fetchone():
        raise Problems([f"id: {new_id!r} is the id of a brand already: choose another"])
    files = {name_: text.encode("utf-8") for name_, text in _published(published[brand]).items()}
    raw = msgspec.yaml.decode(files["brand.yaml"])
    raw.update(id=new_id, name=name)
    from server.checklists import editing

    files["brand.yaml"] = editing.brand_yaml(raw)
    try:
        loaded = load_brand_files(new_id, files)
    except ChecklistError as exc:
        raise Problems(exc.problems) from None
    versions.publish(db, loaded, "browser", user.id, f"a copy of {brand}")
    history.log(db, user.id, "brand", new_id, "made as a copy", None, {"of": brand, "name": name})
    return new_id
