"""The demo: Harbor Market's 40 shops in 4 regions with six months of believable audits.

Most shops score in the 80s with a long tail down; a few have a neglected bathroom; one shop's
phone hold time creeps up month by month; the East region is more consistent than the others.
Audits go through the same scoring and storage as the API, so every figure is a real one.
"""

import datetime as dt
import io
import random
import uuid
from pathlib import Path

import sqlite_utils
from PIL import Image

from server import accounts, audits, locations
from server.catalog import Catalog
from server.checklists.format import AnyItem, ChoiceItem, NumberItem, ScaleItem, TextItem, TimerItem, YesNoItem
from server.db import write
from server.photos import storage
from server.photos.processing import process
from server.scoring import Answer, score_audit

REGIONS = {
    "north": ("North", ["Whitby", "Alnwick", "Berwick", "Hexham", "Morpeth", "Durham", "Ripon", "Malton", "Thirsk", "Kendal"]),
    "south": ("South", ["Hastings", "Rye", "Lewes", "Deal", "Whitstable", "Margate", "Chichester", "Arundel", "Worthing", "Bognor"]),
    "east": ("East", ["Cromer", "Sheringham", "Aldeburgh", "Southwold", "Holt", "Wells", "Ely", "Bury", "Diss", "Sudbury"]),
    "west": ("West", ["Falmouth", "Padstow", "Fowey", "Penzance", "Bude", "Looe", "Ilfracombe", "Lynton", "Minehead", "Clovelly"]),
}
CONSISTENT_REGION = "east"
NEGLECTED_BATHROOMS = {"north-hexham", "south-margate", "west-bude"}
CREEPING_HOLD = "south-lewes"
MONTHS = 6
COMMENTS = {
    "checkout_notes": ["Cashier remembered me from last week.", "Queue moved quickly once a second till opened.", "Felt rushed at the end."],
    "bathroom_notes": ["Bin overflowing by the sinks.", "Spotless, fresh flowers by the mirror.", "Hand dryer out of order."],
    "call_notes": ["Agent was patient and clear.", "Hold music looped the same ten seconds.", "Had to explain twice."],
    "website_notes": ["Store hours were hidden in the footer.", "Checkout remembered my basket.", "Confirmation email went to spam."],
}


def build(db: sqlite_utils.Database, catalog: Catalog, photos_root: Path, seed: int = 7, today: dt.date | None = None) -> dict[str, str]:
    """Fill an empty database with the demo (photos under `photos_root`); returns the users' names and passwords."""
    rnd = random.Random(seed)
    today = today or dt.date.today()
    brand = catalog.brands["harbor"]
    rows = []
    for region, (_, towns) in REGIONS.items():
        for town in towns:
            rows.append(locations.LocationIn(id=f"{region}-{town.lower()}", name=f"Harbor Market {town}", region=region, brand="harbor", address=f"1 High Street, {town}"))
    locations.import_locations(db, rows, list(catalog.brands))
    with write(db):
        for region, (name, _) in REGIONS.items():
            db["regions"].update(region, {"name": name})
    passwords = {"admin": accounts.add_user(db, "admin", "admin", [], None)}
    for region in REGIONS:
        passwords[f"manager-{region}"] = accounts.add_user(db, f"manager-{region}", "manager", [region], None)
    auditors = ["ana", "ben", "chloe", "dev"]
    for name in auditors:
        passwords[name] = accounts.add_user(db, name, "auditor", [], None)
    users = {name: accounts.user_by_name(db, name) for name in auditors}

    start = today - dt.timedelta(days=30 * MONTHS)
    evidence: list[tuple[str, str, int, float]] = []  # (audit id, photo id, auditor, quality)
    with write(db):
        for row in rows:
            base = _base_quality(rnd, row.region)
            for month in range(MONTHS):
                for touchpoint, count in (("checkout", 2), ("bathroom", 1), ("phone", 1), ("website", 1)):
                    for _ in range(count):
                        day = start + dt.timedelta(days=month * 30 + rnd.randrange(30))
                        if day > today:
                            continue
                        quality = _quality(rnd, base, row.id, row.region, touchpoint)
                        loaded = brand.checklists[touchpoint]
                        answers = _answers(rnd, loaded.checklist.items(), quality, hold_creep=month if row.id == CREEPING_HOLD else None)
                        finished = dt.datetime.combine(day, dt.time(rnd.randrange(9, 19), rnd.randrange(60)), dt.UTC)
                        audit = audits.AuditIn(
                            id=uuid.UUID(int=rnd.getrandbits(128), version=4), location=row.id, checklist=touchpoint, version=loaded.version,
                            started_at=finished - dt.timedelta(minutes=rnd.randrange(6, 25)), finished_at=finished, answers=answers,
                        )
                        auditor = users[rnd.choice(auditors)]
                        audits.store(db, audit, score_audit(brand.brand, loaded, answers), auditor, "harbor")
                        evidence += [(str(audit.id), photo, auditor.id, quality) for a in answers.values() for photo in a.photos]
    _photograph(db, photos_root, evidence, rnd)
    return passwords


def _photograph(db: sqlite_utils.Database, root: Path, evidence: list, rnd: random.Random) -> None:
    """Small real photos for every photo the demo's answers name, through the real pipeline."""
    for audit_id, photo_id, auditor, quality in evidence:
        shade = int(90 + 150 * quality)  # a dingier picture where things went worse
        image = Image.new("RGB", (480, 360), (shade, shade, int(shade * 0.95)))
        for _ in range(12):
            x, y = rnd.randrange(440), rnd.randrange(320)
            image.paste((rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)), (x, y, x + rnd.randrange(10, 40), y + rnd.randrange(10, 40)))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80)
        processed = process(out.getvalue())
        storage.write_files(root, processed)
        storage.record(db, photo_id, audit_id, auditor, storage.upload_hash(out.getvalue()), processed)


def reset_passwords(db: sqlite_utils.Database) -> dict[str, str]:
    """For a demo run again on its own data: new passwords, printed once more."""
    return {row["name"]: accounts.set_password(db, row["name"], None) for row in db.query("SELECT name FROM users ORDER BY id")}


def _base_quality(rnd: random.Random, region: str) -> float:
    if region == CONSISTENT_REGION:
        return rnd.uniform(0.84, 0.9)
    tail = rnd.expovariate(1 / 0.07)  # most shops near the top, a long tail down
    return max(0.45, 0.93 - tail)


def _quality(rnd: random.Random, base: float, location: str, region: str, touchpoint: str) -> float:
    noise = 0.03 if region == CONSISTENT_REGION else 0.08
    quality = base + rnd.gauss(0, noise)
    if touchpoint == "bathroom" and location in NEGLECTED_BATHROOMS:
        quality -= 0.35
    return min(0.99, max(0.05, quality))


def _answers(rnd: random.Random, items: list[AnyItem], quality: float, hold_creep: int | None) -> dict[str, Answer]:
    values: dict[str, object] = {}
    answers: dict[str, Answer] = {}
    for item in items:
        rule = item.show_if
        if rule is not None and (values.get(rule.item) in (None, "na") or not rule.holds(values[rule.item])):
            continue
        value = _value(rnd, item, quality)
        if item.id == "hold_seconds" and hold_creep is not None:
            value = round(rnd.uniform(30, 60) + 50 * hold_creep)
        if value is None:
            continue
        values[item.id] = value
        photos = [str(uuid.UUID(int=rnd.getrandbits(128), version=4))] if item.photo == "required" and value != "na" else []
        answers[item.id] = Answer(value=value, photos=photos)
    return answers


def _value(rnd: random.Random, item: AnyItem, quality: float):
    good = rnd.random() < quality
    if item.na and rnd.random() < 0.1:
        return "na"
    if isinstance(item, YesNoItem):
        return item.pass_ if good else ("no" if item.pass_ == "yes" else "yes")
    if isinstance(item, ScaleItem):
        spread = item.max - item.min
        return item.min + round(spread * min(1.0, max(0.0, quality + rnd.gauss(0, 0.18))))
    if isinstance(item, (NumberItem, TimerItem)):
        return _in_band(rnd, item.bands, 0 if good else rnd.randrange(1, len(item.bands) + 1))
    if isinstance(item, ChoiceItem):
        ranked = sorted(item.options, key=lambda o: -(o.score or 0))
        return ranked[0].value if good else rnd.choice(ranked[1:] or ranked).value
    if isinstance(item, TextItem):
        return rnd.choice(COMMENTS[item.id]) if item.id in COMMENTS and rnd.random() < 0.3 else None
    return None


def _in_band(rnd: random.Random, bands, index: int) -> float | int:
    """A value whose first holding band is `index` (len(bands): one that no band holds, where any exists).

    Drawn and checked with the same Band.holds the scoring uses, rather than worked out again."""
    bounds = [x for b in bands for x in (b.at_most, b.at_least) if x is not None] or [10.0]
    whole = all(float(x).is_integer() for x in bounds)  # rings, seconds, minutes: whole numbers
    value: float | int = 0
    for _ in range(200):
        value = rnd.uniform(0, max(bounds) * 1.6)
        value = round(value) if whole else round(value, 1)
        if next((i for i, band in enumerate(bands) if band.holds(value)), len(bands)) == index:
            return value
    return value  # that band cannot be reached (a catch-all before it): any value will do
