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

from server.accounts.accounts import User
from server.checklists import ChecklistError, LoadedBrand, diff, load_brand_files, versions
from server.errors import ApiError, ErrorCode, conflict, forbidden, not_found
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
    db["drafts"].upsert({"brand": brand, "files": msgspec.json.encode(files).decode(), "revision": now.revision + 1, "saved_by": user.id, "saved_at": stamp}, pk="brand")
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
    history.log(db, user.id, "brand", brand, "published", None, {"files": files, "version": loaded.version, "breaks comparison": verdict.marked}, note)
    return files


def discard(db: sqlite_utils.Database, user: User, published: dict[str, LoadedBrand], brand: str) -> None:
    may_edit(user)
    draft = get(db, published, brand)
    if draft.revision == 0:
        raise conflict("there is no draft to discard")
    db.execute("DELETE FROM drafts WHERE brand = ?", [brand])
    history.log(db, user.id, "brand", brand, "draft discarded", {"revision": draft.revision}, None)

