"""The brands and checklists the server knows: loaded from the checklists folder at start, every
version ever seen kept in the database, old versions parsed again from their stored bytes."""

import datetime as dt
import threading

import sqlite_utils

from server.checklists import LoadedBrand, LoadedChecklist, load_brands, parse_brand, parse_checklist
from server.checklists.format import Brand
from server.db import write


class Catalog:
    """Current brands in memory, plus a cache of older checklist versions read back from the database."""

    def __init__(self, brands: dict[str, LoadedBrand]):
        self.brands = brands
        self._versions: dict[tuple[str, str, str], tuple[Brand, LoadedChecklist]] = {}
        self._lock = threading.Lock()
        for brand in brands.values():
            for checklist in brand.checklists.values():
                self._versions[(brand.brand.id, checklist.checklist.id, checklist.version)] = (brand.brand, checklist)

    @classmethod
    def load(cls, db: sqlite_utils.Database, folder) -> "Catalog":
        """Load every brand under `folder` (ChecklistError lists all problems) and record new versions."""
        catalog = cls(load_brands(folder))
        catalog.record(db)
        return catalog

    def record(self, db: sqlite_utils.Database) -> None:
        now = dt.datetime.now(dt.UTC).isoformat()
        with write(db):
            for loaded in self.brands.values():
                brand = loaded.brand
                db["brands"].upsert({"id": brand.id, "name": brand.name, "current_version": loaded.version}, pk="id")
                db["brand_versions"].insert(
                    {"brand": brand.id, "version": loaded.version, "source": loaded.source, "first_seen": now},
                    pk=("brand", "version"),
                    ignore=True,
                )
                for position, checklist in enumerate(loaded.checklists.values()):
                    c = checklist.checklist
                    db["checklists"].upsert(
                        {"brand": brand.id, "id": c.id, "title": c.title, "mode": c.mode, "position": position, "current_version": checklist.version},
                        pk=("brand", "id"),
                    )
                    db["checklist_versions"].insert(
                        {"brand": brand.id, "checklist": c.id, "version": checklist.version, "source": checklist.source, "brand_version": loaded.version, "first_seen": now},
                        pk=("brand", "checklist", "version"),
                        ignore=True,
                    )

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
