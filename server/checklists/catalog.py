"""The brands and checklists the server knows: what is published (versions.py: the database is the
truth, the checklists folder applied at start by its rule), every version ever published kept in
the database, old versions parsed again from their stored bytes when an audit asks for them."""

import threading
import time
from collections.abc import Callable

import sqlite_utils

from server.checklists import LoadedBrand, LoadedChecklist, load_brands, parse_brand, parse_checklist, versions
from server.checklists.format import Brand


CHECK_SECONDS = 0.5  # how often a process looks whether another published: a publish reaches every process within this (and a request)


class Catalog:
    """Current brands in memory, plus a cache of older checklist versions read back from the database."""

    def __init__(self, brands: dict[str, LoadedBrand]):
        self.brands = brands
        self.applied = versions.Applied()
        self.generation: int | None = None  # the database's catalog generation these brands are of
        self._checked = time.monotonic()
        self._versions: dict[tuple[str, str, str], tuple[Brand, LoadedChecklist]] = {}
        self._lock = threading.Lock()
        for brand in brands.values():
            for checklist in brand.checklists.values():
                self._versions[(brand.brand.id, checklist.checklist.id, checklist.version)] = (brand.brand, checklist)

    @classmethod
    def load(cls, db: sqlite_utils.Database, folder) -> "Catalog":
        """Check every brand under `folder` (ChecklistError lists all problems), apply it by the
        folder's rule (versions.py) and load what is published."""
        return cls.applying(db, load_brands(folder))

    @classmethod
    def applying(cls, db: sqlite_utils.Database, brands: dict[str, LoadedBrand]) -> "Catalog":
        """The catalog of what is published once the folder's `brands` are applied; `applied` says
        what the folder changed and what it was refused."""
        applied = versions.apply(db, brands, "folder")
        catalog = cls(versions.current(db))
        catalog.applied = applied
        catalog.generation = versions.generation(db)
        return catalog

    def refresh(self, connect: Callable[[], sqlite_utils.Database], now: bool = False) -> bool:
        """Take what is published now if anyone published since (this process or another), looking at
        most every CHECK_SECONDS (one small read; `now`: at once, as after this process published); True when the brands changed. Versions already
        parsed stay cached: a version never changes."""
        moment = time.monotonic()
        if moment - self._checked < CHECK_SECONDS and not now:
            return False
        self._checked = moment
        db = connect()
        seen = versions.generation(db)
        if seen == self.generation:
            return False
        with self._lock:
            if seen != self.generation:
                brands = versions.current(db)
                for loaded in brands.values():
                    for checklist in loaded.checklists.values():
                        self._versions.setdefault((loaded.brand.id, checklist.checklist.id, checklist.version), (loaded.brand, checklist))
                self.brands, self.generation = brands, seen
        return True

    def checklist(self, db: sqlite_utils.Database, brand_id: str, checklist_id: str, version: str | None) -> tuple[Brand, LoadedChecklist] | None:
        """The brand and checklist an audit is scored with: the current version when `version` is
        None, else that exact version (with the brand as it was when that version was loaded)."""
        loaded = self.brands.get(brand_id)
        if loaded is None:
            return None
        if version is None:
            current = loaded.checklists.get(checklist_id)
            return None if current is None else (loaded.brand, current)
        key = (brand_id, checklist_id, version)
        found = self._versions.get(key)
        if found is not None:
            return found
        rows = list(
            db.query(
                """SELECT cv.source, bv.source AS brand_source FROM checklist_versions cv
                   JOIN brand_versions bv ON bv.brand = cv.brand AND bv.version = cv.brand_version
                   WHERE cv.brand = ? AND cv.checklist = ? AND cv.version = ?""",
                key,
            )
        )
        if not rows:
            return None
        brand = parse_brand(rows[0]["brand_source"])
        found = (brand, parse_checklist(rows[0]["source"], brand, f"{checklist_id}.yaml"))
        with self._lock:
            self._versions[key] = found
        return found
