"""The demo: Harbor Market's 40 shops in 4 regions with six months of believable audits.

Most shops score in the 80s with a long tail down; a few have a neglected bathroom; one shop's
phone hold time creeps up month by month; the East region is more consistent than the others.
Audits go through the same scoring and storage as the API, so every figure is a real one.
"""

import datetime as dt
import io
import math
import random
import uuid
from pathlib import Path

import sqlite_utils
from PIL import ExifTags, Image

from server import accounts, audits, locations
from server.catalog import Catalog
from server.checklists.format import AnyItem, ChoiceItem, NumberItem, ScaleItem, TextItem, TimerItem, YesNoItem
from server.db import write
from server.photos import storage
from server.photos.processing import process
from server.scoring import Answer, score_audit

REGIONS = {  # each town with its real latitude and longitude: the shop stands in its centre
    "north": ("North", {"Whitby": (54.4858, -0.6206), "Alnwick": (55.4134, -1.7064), "Berwick": (55.7704, -2.0055), "Hexham": (54.9715, -2.1017),
                        "Morpeth": (55.1680, -1.6876), "Durham": (54.7761, -1.5733), "Ripon": (54.1381, -1.5240), "Malton": (54.1359, -0.7973),
                        "Thirsk": (54.2326, -1.3432), "Kendal": (54.3280, -2.7463)}),
    "south": ("South", {"Hastings": (50.8552, 0.5729), "Rye": (50.9502, 0.7336), "Lewes": (50.8739, 0.0088), "Deal": (51.2225, 1.4018),
                        "Whitstable": (51.3607, 1.0256), "Margate": (51.3891, 1.3868), "Chichester": (50.8365, -0.7792), "Arundel": (50.8553, -0.5545),
                        "Worthing": (50.8179, -0.3729), "Bognor": (50.7835, -0.6764)}),
    "east": ("East", {"Cromer": (52.9310, 1.3020), "Sheringham": (52.9433, 1.2098), "Aldeburgh": (52.1519, 1.6005), "Southwold": (52.3271, 1.6800),
                      "Holt": (52.9066, 1.0898), "Wells": (52.9532, 0.8511), "Ely": (52.3990, 0.2624), "Bury": (52.2463, 0.7111),
                      "Diss": (52.3770, 1.1098), "Sudbury": (52.0386, 0.7310)}),
    "west": ("West", {"Falmouth": (50.1543, -5.0700), "Padstow": (50.5413, -4.9385), "Fowey": (50.3360, -4.6363), "Penzance": (50.1186, -5.5372),
                      "Bude": (50.8300, -4.5431), "Looe": (50.3543, -4.4553), "Ilfracombe": (51.2086, -4.1211), "Lynton": (51.2296, -3.8343),
                      "Minehead": (51.2046, -3.4795), "Clovelly": (50.9990, -4.3990)}),
}
CONSISTENT_REGION = "east"
NEGLECTED_BATHROOMS = {"north-hexham", "south-margate", "west-bude"}
CREEPING_HOLD = "south-lewes"
MONTHS = 6
FAR_PHOTOS = 1 / 30  # the share of photos taken kilometres from the shop
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
        for town, (lat, lng) in towns.items():
            rows.append(locations.LocationIn(id=f"{region}-{town.lower()}", name=f"Harbor Market {town}", region=region, brand="harbor",
                                             address=f"1 High Street, {town}", lat=lat, lng=lng))
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
    evidence: list[tuple[str, str, int, float, locations.LocationIn, dt.datetime]] = []  # (audit, photo, auditor, quality, where, when)
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
                        evidence += [(str(audit.id), photo, auditor.id, quality, row, finished) for a in answers.values() for photo in a.photos]
    _photograph(db, photos_root, evidence, rnd)
    return passwords


def _photograph(db: sqlite_utils.Database, root: Path, evidence: list, rnd: random.Random) -> None:
    """Small real photos for every photo the demo's answers name, through the real pipeline.

    Each carries the camera's EXIF as a phone writes it: the capture time and a GPS position a few
    metres from the shop, or, for about one photo in thirty, a few kilometres away (taken
    somewhere else), so the distance managers see next to each photo has something to show."""
    for audit_id, photo_id, auditor, quality, where, when in evidence:
        shade = int(90 + 150 * quality)  # a dingier picture where things went worse
        image = Image.new("RGB", (480, 360), (shade, shade, int(shade * 0.95)))
        for _ in range(12):
            x, y = rnd.randrange(440), rnd.randrange(320)
            image.paste((rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)), (x, y, x + rnd.randrange(10, 40), y + rnd.randrange(10, 40)))
        far = rnd.random() < FAR_PHOTOS
        metres = rnd.uniform(2000, 15000) if far else rnd.uniform(2, 60)
        lat, lng = _moved(where.lat, where.lng, metres, rnd.uniform(0, 2 * math.pi))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80, exif=_exif(lat, lng, when - dt.timedelta(minutes=rnd.randrange(1, 5))))
        processed = process(out.getvalue())
        storage.write_files(root, processed)
        storage.record(db, root, photo_id, audit_id, auditor, storage.upload_hash(out.getvalue()), processed)


def _moved(lat: float, lng: float, metres: float, bearing: float) -> tuple[float, float]:
    """The point `metres` away on `bearing` (radians), near enough on a sphere for a few kilometres."""
    north, east = metres * math.cos(bearing), metres * math.sin(bearing)
    return lat + north / 111_320, lng + east / (111_320 * math.cos(math.radians(lat)))


def _exif(lat: float, lng: float, taken: dt.datetime) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "Demo Phone 12"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken.strftime("%Y:%m:%d %H:%M:%S")
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = ("N" if lat >= 0 else "S"), _dms(lat)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = ("E" if lng >= 0 else "W"), _dms(lng)
    return exif


def _dms(degrees: float) -> tuple[float, float, float]:
    degrees = abs(degrees)
    whole, minutes = int(degrees), (degrees - int(degrees)) * 60
    return float(whole), float(int(minutes)), round((minutes - int(minutes)) * 60, 2)


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
