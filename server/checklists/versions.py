"""What is published: every version of every brand and checklist, kept in the database, and which
one is current. The database is the truth; the checklists folder is a way in.

The one rule for a folder (applied at every start of the server and by `touchpoint checklists
import DIR`), brand by brand, all of a brand's files or none of them:

- a file with the bytes of the current version changes nothing;
- a file with the bytes of a version that was current once and has been replaced since (an older
  file) is never applied: the brand is left as it is and the file is named;
- a file with new content is published as a new version, unless the current version was published
  in the browser (or from a workbook): a file on disk cannot have been made from it, so the brand
  is left as it is and the file named, unless the import is told `--replace`.

So an edit made in the browser is never undone by a restart, and an older copy of the folder never
replaces what is published; `touchpoint checklists export DIR` writes the current versions, byte
for byte, to edit and import again. A file missing from the folder removes nothing.

Only current versions are parsed here (at start and after a publish): the start time does not grow
with the number of versions kept; older ones are read back when an audit asks for them (catalog.py).
"""

import datetime as dt
from pathlib import Path
from typing import Literal

import msgspec
import sqlite_utils

from server.checklists import LoadedBrand, parse_brand, parse_checklist
from server.db import insert, write

Via = Literal["folder", "import", "browser", "workbook"]
EDITED = ("browser", "workbook")  # ways that leave no file behind


class Refused(msgspec.Struct, frozen=True):
    """A brand of the folder left as it is: which file, and why."""

    brand: str
    file: str
    why: str

    def __str__(self) -> str:
        return f"{self.brand}/{self.file}: {self.why}"


class Applied(msgspec.Struct, kw_only=True):
    published: list[str] = []  # "harbor/checkout.yaml" for each new version made current
    unchanged: list[str] = []  # brands the folder holds exactly as published
    refused: list[Refused] = []


def _state(db: sqlite_utils.Database, table: str, where: str, key: list[str], version: str, current: str | None) -> tuple[str, str | None]:
    """("current" | "older" | "new", via of the current version) for one file's version."""
    via = None
    if current is not None:
        row = db.execute(f"SELECT via FROM {table} WHERE {where} AND version = ?", [*key, current]).fetchone()
        via = row[0] if row else None
    if version == current:
        return "current", via
    if db.execute(f"SELECT 1 FROM {table} WHERE {where} AND version = ?", [*key, version]).fetchone():
        return "older", via
    return "new", via


def apply(db: sqlite_utils.Database, brands: dict[str, LoadedBrand], via: Via, replace: bool = False, by: int | None = None, note: str = "") -> Applied:
    """Publish what the folder's brands change, by the rule above, in one transaction."""
    applied = Applied()
    with write(db):
        for loaded in brands.values():
            brand = loaded.brand.id
            row = db.execute("SELECT current_version FROM brands WHERE id = ?", [brand]).fetchone()
            files = [("brand.yaml", *_state(db, "brand_versions", "brand = ?", [brand], loaded.version, row[0] if row else None))]
            for cid, checklist in loaded.checklists.items():
                current = db.execute("SELECT current_version FROM checklists WHERE brand = ? AND id = ?", [brand, cid]).fetchone()
                files.append((f"{cid}.yaml", *_state(db, "checklist_versions", "brand = ? AND checklist = ?", [brand, cid], checklist.version, current[0] if current else None)))
            refused = []
            for file, state, current_via in files:
                if state == "older" and not replace:
                    refused.append(Refused(brand, file, "an older version: the one published now replaced it (`touchpoint checklists export` writes the current one)"))
                elif state == "new" and current_via in EDITED and not replace:
                    refused.append(Refused(brand, file, f"differs from the version published {'in the browser' if current_via == 'browser' else 'from a workbook'}, "
                                                        "which no file holds: export it, edit that, and import it (or import with --replace)"))
            if refused:
                applied.refused += refused
                continue
            if all(state == "current" for _, state, _ in files):
                applied.unchanged.append(brand)
                continue
            applied.published += [f"{brand}/{file}" for file, state, _ in files if state != "current"]
            publish(db, loaded, via, by, note)
    return applied


def publish(db: sqlite_utils.Database, loaded: LoadedBrand, via: Via, by: int | None = None, note: str = "") -> None:
    """Make `loaded` (a checked brand and its checklists) current, inside the caller's transaction:
    each version not yet kept is kept; each version that becomes current is stamped how, by whom,
    with what note and when; the catalog's generation moves on, so every server process reloads
    (catalog.Catalog.refresh)."""
    now = dt.datetime.now(dt.UTC).isoformat()
    db.execute("UPDATE catalog_state SET generation = generation + 1 WHERE id = 1")
    brand = loaded.brand
    stamp = {"via": via, "published_by": by, "note": note, "published_at": now}
    was = db.execute("SELECT current_version FROM brands WHERE id = ?", [brand.id]).fetchone()
    insert(db, "brands", {"id": brand.id, "name": brand.name, "current_version": loaded.version}, key=("id",), then="update")
    insert(db, "brand_versions", {"brand": brand.id, "version": loaded.version, "source": loaded.source, "first_seen": now, **stamp}, key=("brand", "version"), then="nothing")
    if was is None or was[0] != loaded.version:
        db.execute("UPDATE brand_versions SET via = ?, published_by = ?, note = ?, published_at = ? WHERE brand = ? AND version = ?",
                   [via, by, note, now, brand.id, loaded.version])
    for position, checklist in enumerate(loaded.checklists.values()):
        c = checklist.checklist
        was = db.execute("SELECT current_version FROM checklists WHERE brand = ? AND id = ?", [brand.id, c.id]).fetchone()
        insert(db, "checklists", {"brand": brand.id, "id": c.id, "title": c.title, "mode": c.mode, "position": position,
                                         "current_version": checklist.version}, key=("brand", "id"), then="update")
        insert(db, "checklist_versions", {"brand": brand.id, "checklist": c.id, "version": checklist.version, "source": checklist.source,
                                                 "brand_version": loaded.version, "first_seen": now, **stamp}, key=("brand", "checklist", "version"), then="nothing")
        if was is None or was[0] != checklist.version:
            db.execute("UPDATE checklist_versions SET via = ?, published_by = ?, note = ?, published_at = ? WHERE brand = ? AND checklist = ? AND version = ?",
                       [via, by, note, now, brand.id, c.id, checklist.version])


def current(db: sqlite_utils.Database) -> dict[str, LoadedBrand]:
    """Every brand as published now, with its checklists in its touchpoints' order (parsed from the
    stored bytes: they were checked when they were published)."""
    brands: dict[str, LoadedBrand] = {}
    for row in db.execute("""SELECT b.id, bv.version, bv.source FROM brands b JOIN brand_versions bv ON bv.brand = b.id AND bv.version = b.current_version
                             ORDER BY b.id""").fetchall():
        ident, version, source = row
        brand = parse_brand(source, f"{ident}/brand.yaml")
        stored = {cid: (v, s) for cid, v, s in db.execute(
            """SELECT c.id, cv.version, cv.source FROM checklists c JOIN checklist_versions cv ON cv.brand = c.brand AND cv.checklist = c.id AND cv.version = c.current_version
               WHERE c.brand = ?""", [ident]).fetchall()}
        checklists = {t: parse_checklist(stored[t][1], brand, f"{t}.yaml") for t in brand.touchpoints if t in stored}
        brands[ident] = LoadedBrand(brand=brand, version=version, source=source, checklists=checklists)
    return brands


def generation(db: sqlite_utils.Database) -> int:
    """The catalog's generation: one more at each publish (every process compares it with its own)."""
    return db.execute("SELECT generation FROM catalog_state WHERE id = 1").fetchone()[0]


def export(db: sqlite_utils.Database, folder: Path) -> list[Path]:
    """Write every brand's current files, byte for byte, under `folder/<brand>/`: what the next
    import finds unchanged. Returns the files written."""
    written = []
    for ident, loaded in current(db).items():
        where = folder / ident
        where.mkdir(parents=True, exist_ok=True)
        for name, source in [("brand.yaml", loaded.source), *((f"{cid}.yaml", c.source) for cid, c in loaded.checklists.items())]:
            (where / name).write_bytes(source)
            written.append(where / name)
    return written


class Published(msgspec.Struct, kw_only=True):
    """One version as the pages list it: which, how it came, by whom, when, with what note."""

    version: str
    via: str
    by: str | None
    at: str | None
    note: str
    current: bool


def history(db: sqlite_utils.Database, brand: str, checklist: str | None = None) -> list[Published]:
    """A brand's versions (`checklist` None) or a checklist's, the latest made current first."""
    if checklist is None:
        rows = db.execute("""SELECT v.version, v.via, u.name, v.published_at, v.note, v.version = b.current_version
                             FROM brand_versions v JOIN brands b ON b.id = v.brand LEFT JOIN users u ON u.id = v.published_by
                             WHERE v.brand = ? ORDER BY v.published_at DESC NULLS LAST, v.first_seen DESC, v.version DESC""", [brand]).fetchall()
    else:
        rows = db.execute("""SELECT v.version, v.via, u.name, v.published_at, v.note, v.version = c.current_version
                             FROM checklist_versions v JOIN checklists c ON c.brand = v.brand AND c.id = v.checklist LEFT JOIN users u ON u.id = v.published_by
                             WHERE v.brand = ? AND v.checklist = ? ORDER BY v.published_at DESC NULLS LAST, v.first_seen DESC, v.version DESC""", [brand, checklist]).fetchall()
    return [Published(version=v, via=via, by=by, at=at, note=note, current=bool(now)) for v, via, by, at, note, now in rows]



def compared(listed: list[Published], newer: str | None = None) -> tuple[str, str] | None:
    """The two versions a diff shows by default, from `history()`'s list: (the version made current
    before `newer`, `newer`); `newer` is the current version unless given. None for no versions."""
    order = [v.version for v in listed]
    newer = newer or next((v.version for v in listed if v.current), order[0] if order else None)
    if newer is None:
        return None
    at = order.index(newer) if newer in order else len(order)
    return (order[at + 1] if at + 1 < len(order) else newer), newer


class Marked(msgspec.Struct, frozen=True, kw_only=True):
    """A checklist version whose difference from the one made current before it breaks comparison
    with history (server/checklists/diff.py): the trend charts mark the day it was published."""

    day: dt.date
    checklist: str
    title: str  # the checklist's title in that version
    version: str


#: For (brand, checklist, before, after): the new version's title when it breaks comparison with the one
#: before it, else None. Versions are hashes of their bytes, so an answer never changes: each process may keep its own.
_breaks: dict[tuple[str, str, str, str], str | None] = {}


def marked_changes(db: sqlite_utils.Database, brand: str) -> list[Marked]:
    """Every publish of one of the brand's checklists that broke comparison with history, oldest
    first: each version against the one made current before it (by when they were made current;
    a version made current again counts from its latest publish). Each pair is parsed and compared
    once per process, so a page showing this does not grow with the number of visits."""
    from server.checklists import ChecklistError, diff  # here, not at the top: this file's imports stay as they were

    found = []
    rows = db.execute("""SELECT checklist, version, published_at FROM checklist_versions
                         WHERE brand = ? AND published_at IS NOT NULL ORDER BY checklist, published_at, first_seen, version""", [brand]).fetchall()
    before: dict[str, str] = {}
    for checklist, version, published_at in rows:
        previous, before[checklist] = before.get(checklist), version
        if previous is None:
            continue
        key = (brand, checklist, previous, version)
        if key not in _breaks:
            try:
                old, new = (_parsed(db, brand, checklist, v) for v in (previous, version))
                _breaks[key] = new.title if diff.marks(old, new) else None
            except ChecklistError:  # a version the format no longer reads: nothing to compare, nothing to mark
                _breaks[key] = None
        if _breaks[key] is not None:
            found.append(Marked(day=dt.datetime.fromisoformat(published_at).date(), checklist=checklist, title=_breaks[key], version=version))
    return sorted(found, key=lambda m: (m.day, m.checklist))


def _parsed(db: sqlite_utils.Database, brand: str, checklist: str, version: str):
    """One stored version of a checklist, parsed with the brand as it was when that version was kept."""
    source, brand_source = db.execute("""SELECT cv.source, bv.source FROM checklist_versions cv JOIN brand_versions bv ON bv.brand = cv.brand AND bv.version = cv.brand_version
                                         WHERE cv.brand = ? AND cv.checklist = ? AND cv.version = ?""", [brand, checklist, version]).fetchone()
    return parse_checklist(source, parse_brand(brand_source, "brand.yaml"), f"{checklist}.yaml").checklist
