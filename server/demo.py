"""The demo: Harbor Market's 40 shops in 4 regions with six months of believable audits.

Most shops score in the 80s with a long tail down; a few have a neglected bathroom; one shop's
phone hold time creeps up month by month; the East region is more consistent than the others.
Audits go through the same scoring and storage as the API, so every figure is a real one.

A living program around them (the brand reviews audits): managers approved most; the last days'
audits wait for review, a few were returned with comments, rejected, or corrected; visits are
planned, due, overdue and done (with the audits made for them), one was cancelled, and a
quarterly schedule draws a random day for every East bathroom. All through the same functions as
the API, so the history has every change to read.
"""

import datetime as dt
import io
import math
import random
import uuid

import sqlite_utils
from PIL import ExifTags, Image

from server.audits import audits
from server.accounts import accounts
from server.locations import locations
from server.program import assignments, review
from server.checklists.catalog import Catalog
from server.checklists.format import AnyItem, ChoiceItem, NumberItem, ScaleItem, TextItem, TimerItem, YesNoItem
from server.db import update, write
from server.followup import webhooks
from server.followup.policy import policy
from server.photos import storage
from server.photos.processing import process
from server.photos.store import PhotoStore
from server.checklists.scoring import Answer, score_audit

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


def build(db: sqlite_utils.Database, catalog: Catalog, photos: PhotoStore, seed: int = 7, today: dt.date | None = None) -> dict[str, str]:
    """Fill an empty database with the demo (photos in the `photos` store); returns the users' names and passwords."""
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
            update(db, "regions", {"id": region}, {"name": name})
    passwords = {"admin": accounts.add_user(db, "admin", "admin", [], None)}
    for region in REGIONS:
        passwords[f"manager-{region}"] = accounts.add_user(db, f"manager-{region}", "manager", [region], None)
    auditors = list(AUDITORS)
    for name in auditors:
        passwords[name] = accounts.add_user(db, name, "auditor", [], None)
    passwords[STAFF[0]] = accounts.add_user(db, STAFF[0], "staff", [], None, location=STAFF[1])
    users = {name: accounts.user_by_name(db, name) for name in auditors}
    managers = {region: accounts.user_by_name(db, f"manager-{region}") for region in REGIONS}
    made: list[tuple[str, str, dt.date]] = []  # (audit, region, day)

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
                        audits.store(db, audit, score_audit(brand.brand, loaded, answers), auditor, policy(brand.brand, loaded.checklist))
                        made.append((str(audit.id), row.region, day))
                        evidence += [(str(audit.id), photo, auditor.id, quality, row, finished) for a in answers.values() for photo in a.photos]
        planned = _plan(db, catalog, rnd, rows, users, managers, today, evidence)
    _photograph(db, photos, evidence, rnd)
    with write(db):  # once the photos are in: the evidence a reviewer looks at
        _review(db, catalog, rnd, made + planned, managers, today)
    _follow_up(db, catalog, photos, rnd, rows, users, today)
    _campaigns(db, catalog, photos, rnd, today)
    return passwords


AUDITORS = ("ana", "ben", "chloe", "dev")
STAFF = ("staff-whitby", "north-whitby")  # the shop's own team: sees its approved audits, never a planned visit
WAITING_DAYS = 6  # audits of the last days mostly wait for review
RETURN_NOTES = ["The finish time is an hour after the photos were taken: check when you started and finished.",
                "Two low marks have no comment: say what you saw, then send it again.", "A photo does not show what its answer says: check it."]
REJECT_NOTES = ["Visit made on a day the shop was closed for a refit.", "Same photos as an earlier visit to another shop."]


def _review(db, catalog: Catalog, rnd: random.Random, made: list[tuple[str, str, dt.date]], managers: dict, today: dt.date) -> None:
    """The regions' managers at work: most audits approved, the newest left waiting, a few returned,
    rejected or corrected before approval."""
    returned, rejected, corrected = 0, 0, 0
    for audit_id, region, day in made:
        manager = managers[region]
        recent = (today - day).days <= WAITING_DAYS
        if recent and rnd.random() < 0.7:
            continue  # waits for review
        if recent and returned < len(RETURN_NOTES):
            review.act(db, catalog, manager, audit_id, review.ReviewIn(action="return", note=RETURN_NOTES[returned]))
            returned += 1
        elif recent and rejected < len(REJECT_NOTES):
            review.act(db, catalog, manager, audit_id, review.ReviewIn(action="reject", note=REJECT_NOTES[rejected]))
            rejected += 1
        elif corrected < 3 and db.execute("SELECT checklist FROM audits WHERE id = ?", [audit_id]).fetchone()[0] == "checkout":
            fix = review.CorrectionIn(item="receipt_offered", value="no", reason="The till receipt in the photo was printed, not offered.")
            review.act(db, catalog, manager, audit_id, review.ReviewIn(action="approve", corrections=[fix]))
            corrected += 1
        else:
            review.act(db, catalog, manager, audit_id, review.ReviewIn(action="approve"))


def _plan(db, catalog: Catalog, rnd: random.Random, rows: list, users: dict, managers: dict, today: dt.date, evidence: list) -> list:
    """Planned visits in every state, and the audits made for the done ones (returned for _review)."""
    brand = catalog.brands["harbor"]
    touchpoints = {b: list(loaded.checklists) for b, loaded in catalog.brands.items()}
    days = lambda n: today + dt.timedelta(days=n)  # noqa: E731
    made = []
    by_region = {}
    for row in rows:
        by_region.setdefault(row.region, []).append(row)
    for region, shops in by_region.items():
        manager = managers[region]
        plan = lambda shop, tps, start, end, auditor=None, announced=False, note="": assignments.create(db, manager, assignments.AssignmentIn(  # noqa: E731
            location=shop.id, touchpoints=tps, starts=start, ends=end, auditor=auditor, announced=announced, note=note), touchpoints)
        for shop in shops[:2]:  # done: an audit made for each
            done = plan(shop, ["checkout"], days(-12), days(-3), "ana")
            loaded = brand.checklists["checkout"]
            answers = _answers(rnd, loaded.checklist.items(), 0.85, None)
            finished = dt.datetime.combine(days(-8), dt.time(11, rnd.randrange(60)), dt.UTC)
            audit = audits.AuditIn(id=uuid.UUID(int=rnd.getrandbits(128), version=4), location=shop.id, checklist="checkout", version=loaded.version,
                                   started_at=finished - dt.timedelta(minutes=14), finished_at=finished, answers=answers, assignment=uuid.UUID(done))
            audits.store(db, audit, score_audit(brand.brand, loaded, answers), users["ana"], policy(brand.brand, loaded.checklist))
            evidence += [(str(audit.id), photo, users["ana"].id, 0.85, shop, finished) for a in answers.values() for photo in a.photos]
            made.append((str(audit.id), region, days(-30)))  # long reviewed: approved
        plan(shops[2], ["checkout", "bathroom"], days(-2), days(5), note="Ask where the baby-changing room is.")  # due, open
        plan(shops[3], ["phone"], days(-1), days(3), "ben")  # due, his
        plan(shops[4], ["bathroom"], days(-16), days(-4), "chloe")  # overdue
        plan(shops[5], ["website"], days(8), days(21), "dev", announced=True, note="Announced: the manager knows it is coming.")  # planned
        plan(shops[6], ["checkout"], days(10), days(24))  # planned, open
        assignments.cancel(db, manager, plan(shops[7], ["checkout"], days(3), days(9), "ben"), "The shop is closed for a refit that week.")
    assignments.schedule(db, managers["east"], assignments.ScheduleIn(region="east", touchpoints=["bathroom"], every="quarter", day="random",
                                                                     first=days(92), periods=2), touchpoints, rnd)
    return made


DEMO_WEBHOOK = "http://127.0.0.1:9/touchpoint-demo"  # `touchpoint demo` points it at the receiver it starts
CLOSE_NOTES = ["Deep-cleaned the toilets and added a check every two hours to the rota.", "Talked the team through greeting every customer at the till.",
               "Fixed the hold music and the queue message; call-backs now go out the same day.", "Restocked soap and paper; the supplier delivers weekly now.",
               "Re-trained the weekend staff on refunds and checked on Saturday."]


def _follow_up(db, catalog: Catalog, store: PhotoStore, rnd: random.Random, rows: list, users: dict, today: dt.date) -> None:
    """Actions as a real program has them (most closed within days, a few overdue, the newest
    open), three audits a reviewer should doubt, and a webhook so the delivery log is not empty."""
    now = dt.datetime.combine(today, dt.time(12), dt.UTC)
    with write(db):
        webhooks.register_in(db, DEMO_WEBHOOK, list(webhooks.EVENTS), None)
        closers = {STAFF[1]: db.execute("SELECT id FROM users WHERE name = ?", [STAFF[0]]).fetchone()[0]}
        for action, location, region, finished in db.execute(
                "SELECT x.id, x.location, x.region, a.finished_at FROM actions x JOIN audits a ON a.id = x.audit").fetchall():
            opened = dt.datetime.fromisoformat(finished) + dt.timedelta(hours=rnd.randrange(4, 48))
            if opened > now:
                opened = now - dt.timedelta(hours=1)
            due = opened.date() + dt.timedelta(days=7)
            closed = opened + dt.timedelta(days=rnd.choice([1, 2, 3, 4, 5, 6, 8, 11]), hours=rnd.randrange(8))
            overdue_left_open = due < today and rnd.random() < 0.015
            if closed < now and not overdue_left_open:
                closer = closers.get(location) or db.execute("SELECT owner FROM actions WHERE id = ?", [action]).fetchone()[0]
                db.execute("UPDATE actions SET opened_at = ?, due = ?, state = 'closed', closed_at = ?, closed_by = ?, note = ? WHERE id = ?",
                           [opened.isoformat(), due.isoformat(), closed.isoformat(), closer, rnd.choice(CLOSE_NOTES), action])
            else:
                db.execute("UPDATE actions SET opened_at = ?, due = ? WHERE id = ?", [opened.isoformat(), due.isoformat(), action])
        # the staff user's shop has one to put right, opened four days ago
        db.execute("""UPDATE actions SET state = 'open', opened_at = ?, due = ?, closed_at = NULL, closed_by = NULL, note = NULL
                      WHERE id = (SELECT id FROM actions WHERE location = ? ORDER BY opened_at DESC LIMIT 1) AND state = 'closed'""",
                   [(now - dt.timedelta(days=4)).isoformat(), (today + dt.timedelta(days=3)).isoformat(), STAFF[1]])
    brand = catalog.brands["harbor"]
    shops = {row.id: row for row in rows}
    # 1. a visit finished in 90 seconds: the checkout checklist's 13 items need 130 at least
    finished = now - dt.timedelta(hours=20)
    _doubtful(db, store, rnd, brand, shops["east-cromer"], "checkout", users["dev"], finished - dt.timedelta(seconds=90), finished)
    # 2. the same picture as another shop's approved bathroom audit
    earlier = db.execute(
        """SELECT p.file FROM photos p JOIN audits a ON a.id = p.audit WHERE a.checklist = 'bathroom' AND a.status = 'approved'
           AND a.location != 'south-hastings' ORDER BY a.finished_at DESC LIMIT 1""").fetchone()[0]
    finished = now - dt.timedelta(hours=26)
    _doubtful(db, store, rnd, brand, shops["south-hastings"], "bathroom", users["chloe"], finished - dt.timedelta(minutes=14), finished,
              reuse=store.read(storage.name(earlier, "display")))
    # 3. photos taken 12 km from the shop
    finished = now - dt.timedelta(hours=30)
    _doubtful(db, store, rnd, brand, shops["west-padstow"], "bathroom", users["ben"], finished - dt.timedelta(minutes=12), finished, far_m=12_000)


CHANNELS = [  # the brand's channels, in a region of their own: customer service runs its campaigns
    locations.LocationIn(id="support-line", name="Support line", region="service", brand="harbor", kind="phone", contact="+44 20 7946 0321"),
    locations.LocationIn(id="web-shop", name="Web shop", region="service", brand="harbor", kind="website", contact="https://shop.harbor.example"),
]
PEOPLE = ["Priya", "Tom", "Aisha", "Marek", "Jo", "Sam K.", "Lena", "Ravi", "Grace", "Owen", "Nadia", "Ben from IT", "Chen", "Fatima", "Luis", "Ellie",
          "Kwame", "Hannah", "Dan", "Zoe", "Ibrahim", "Mia", "Olu", "Rosa"]
VERBATIMS = {
    "call_notes": ["Menu asked for my order number three times before a person picked up.", "Lovely agent, sorted my address change in two minutes.",
                   "Hold music is the same ten seconds on repeat.", "I was transferred and had to spell my postcode again.",
                   "They promised an email and it came before I hung up.", "Nobody told me how long the wait would be.",
                   "Agent apologised for the wait and used my name throughout.", "Cut off after 8 minutes on hold; called back and got straight through."],
    "website_notes": ["Delivery address change is buried three clicks deep.", "Checkout remembered my basket from my phone.",
                      "Confirmation email landed in spam.", "Tracking link worked straight away."],
}


def _campaigns(db, catalog: Catalog, store: PhotoStore, rnd: random.Random, today: dt.date) -> None:
    """"Call your own support line": a finished campaign six weeks ago (long holds) and one running
    this week on the support line and the web shop (better), so the results compare."""
    from server.campaigns import campaigns, participants

    brand = catalog.brands["harbor"]
    locations.import_locations(db, CHANNELS, list(catalog.brands))
    with write(db):
        update(db, "regions", {"id": "service"}, {"name": "Customer service"})
    admin = accounts.user_by_name(db, "admin")
    # noon of the demo's day, or the moment it is built if that is earlier: no call is ever made in the future
    now = min(dt.datetime.combine(today, dt.time(12), dt.UTC), dt.datetime.now(dt.UTC))
    autumn_start = now - dt.timedelta(days=42, hours=2)
    plans = [  # name, starts, ends, channels, participants, calls, quality, how much longer the holds are
        ("Call our support line: autumn", autumn_start, autumn_start + dt.timedelta(hours=3), {"support-line": "phone"}, 22, 34, 0.55, 4),
        ("Customer week: call us, order from us", now - dt.timedelta(days=1), now + dt.timedelta(days=6), {"support-line": "phone", "web-shop": "website"}, 18, 30, 0.8, 0),
    ]
    evidence = []
    for name, starts, ends, channels, people, calls, quality, creep in plans:
        made = campaigns.create(db, admin, name, "harbor", "Call the support line (or order on the web shop) and ask how to change the delivery address of an order.",
                                "Europe/London", starts, ends, channels)
        campaign = campaigns.get(db, made)
        joined = [participants.join(db, campaign, campaign.link, rnd.choice(PEOPLE) if rnd.random() < 0.7 else "") for _ in range(people)]
        span = (min(ends, now) - starts).total_seconds()
        with write(db):
            for n in range(calls):
                who = joined[n % len(joined)] if n < len(joined) else rnd.choice(joined)
                channel = rnd.choice(list(channels))
                loaded = brand.checklists[channels[channel]]
                answers = _answers(rnd, loaded.checklist.items(), quality, hold_creep=creep or None)
                notes = next((i.id for i in loaded.checklist.items() if i.id in VERBATIMS), None)
                if notes and rnd.random() < 0.45:
                    answers[notes] = Answer(value=rnd.choice(VERBATIMS[notes]))
                finished = starts + dt.timedelta(seconds=span * (n + 1) / (calls + 1))
                audit = audits.AuditIn(id=uuid.UUID(int=rnd.getrandbits(128), version=4), location=channel, checklist=loaded.checklist.id,
                                       version=loaded.version, started_at=finished - dt.timedelta(minutes=rnd.randrange(4, 15)), finished_at=finished, answers=answers)
                audits.store(db, audit, score_audit(brand.brand, loaded, answers), who, policy(brand.brand, loaded.checklist))
                evidence += [(str(audit.id), photo, who.id, quality, CHANNELS[0], finished) for a in answers.values() for photo in a.photos]
    _photograph(db, store, evidence, rnd)  # the screenshots of confirmation messages


def _doubtful(db, store: PhotoStore, rnd: random.Random, brand, shop, touchpoint: str, auditor, started: dt.datetime, finished: dt.datetime,
              reuse: bytes | None = None, far_m: float = 0) -> None:
    """One more audit, waiting for review, with its photos through the real pipeline."""
    loaded = brand.checklists[touchpoint]
    answers = _answers(rnd, loaded.checklist.items(), 0.8, None)
    audit = audits.AuditIn(id=uuid.UUID(int=rnd.getrandbits(128), version=4), location=shop.id, checklist=touchpoint, version=loaded.version,
                           started_at=started, finished_at=finished, answers=answers)
    with write(db):
        audits.store(db, audit, score_audit(brand.brand, loaded, answers), auditor, policy(brand.brand, loaded.checklist))
    rules = {"harbor": brand.brand.integrity}
    for n, photo_id in enumerate(p for a in answers.values() for p in a.photos):
        if reuse is not None and n == 0:  # the same pixels, with this visit's time and place written in
            out = io.BytesIO()
            Image.open(io.BytesIO(reuse)).save(out, "JPEG", quality=80, exif=_exif(*_moved(shop.lat, shop.lng, 20, 1.0), finished - dt.timedelta(minutes=3)))
            data = out.getvalue()
        else:
            data = _picture(rnd, 0.8, shop, finished, far_m or rnd.uniform(2, 60))
        processed = process(data)
        written = storage.write_files(store, processed)
        storage.record(db, store, photo_id, str(audit.id), auditor.id, storage.upload_hash(data), processed, rules, written=written)


def _picture(rnd: random.Random, quality: float, where, when: dt.datetime, metres: float | None = None) -> bytes:
    """A small real photo with the EXIF a phone writes: taken a minute or few before `when`, `metres`
    from `where` (None: a few metres, or for about one photo in thirty a few kilometres)."""
    shade = int(90 + 150 * quality)  # a dingier picture where things went worse
    image = Image.new("RGB", (480, 360), (shade, shade, int(shade * 0.95)))
    for _ in range(12):
        x, y = rnd.randrange(440), rnd.randrange(320)
        image.paste((rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)), (x, y, x + rnd.randrange(10, 40), y + rnd.randrange(10, 40)))
    out = io.BytesIO()
    if where.lat is None:  # a channel's evidence is a screenshot: no position
        image.save(out, "JPEG", quality=80)
        return out.getvalue()
    if metres is None:
        metres = rnd.uniform(2000, 15000) if rnd.random() < FAR_PHOTOS else rnd.uniform(2, 60)
    lat, lng = _moved(where.lat, where.lng, metres, rnd.uniform(0, 2 * math.pi))
    image.save(out, "JPEG", quality=80, exif=_exif(lat, lng, when - dt.timedelta(minutes=rnd.randrange(1, 5))))
    return out.getvalue()


def _photograph(db: sqlite_utils.Database, store: PhotoStore, evidence: list, rnd: random.Random) -> None:
    """Small real photos for every photo the demo's answers name, through the real pipeline.

    Each carries the camera's EXIF as a phone writes it: the capture time and a GPS position a few
    metres from the shop, or, for about one photo in thirty, a few kilometres away (taken
    somewhere else), so the distance managers see next to each photo has something to show."""
    for audit_id, photo_id, auditor, quality, where, when in evidence:
        data = _picture(rnd, quality, where, when)
        processed = process(data)
        written = storage.write_files(store, processed)
        storage.record(db, store, photo_id, audit_id, auditor, storage.upload_hash(data), processed, written=written)


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


def users() -> list[str]:
    """The demo's own users, in the order it prints them."""
    return ["admin", *(f"manager-{region}" for region in REGIONS), *AUDITORS, STAFF[0]]


def reset_passwords(db: sqlite_utils.Database) -> dict[str, str]:
    """For `touchpoint demo --reset-passwords` on existing data: new passwords for the demo's own
    users that are still there, nobody else's (a user added by hand keeps theirs; participants have none)."""
    there = {row["name"] for row in db.query("SELECT name FROM users WHERE role != 'participant'")}
    return {name: accounts.set_password(db, name, None) for name in users() if name in there}


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


def is_empty(db: sqlite_utils.Database) -> bool:
    """No location yet: the demo has not been built here."""
    return db.execute("SELECT COUNT(*) FROM locations").fetchone()[0] == 0


def tally(db: sqlite_utils.Database) -> tuple[int, int, int, int, int, int]:
    """What the demo holds: audits, shops, audits waiting for review, visits planned, campaigns, their calls."""
    return db.execute(
        """SELECT (SELECT COUNT(*) FROM audits WHERE campaign IS NULL), (SELECT COUNT(*) FROM locations WHERE kind = 'place'),
                  (SELECT COUNT(*) FROM audits WHERE counts = 0 AND campaign IS NULL AND status IN ('submitted', 'awaiting_photos')),
                  (SELECT COUNT(*) FROM assignments WHERE done_at IS NULL AND cancelled_at IS NULL),
                  (SELECT COUNT(*) FROM campaigns), (SELECT COUNT(*) FROM audits WHERE campaign IS NOT NULL)""").fetchone()


def receiver_webhook(db: sqlite_utils.Database) -> tuple[int, str] | None:
    """The demo's own webhook (to its receiver on loopback): (id, secret), or None."""
    from server.followup.receiver import PATH

    return db.execute("SELECT id, secret FROM webhooks WHERE url LIKE ? AND removed_at IS NULL ORDER BY id LIMIT 1", [f"http://127.0.0.1:%{PATH}"]).fetchone()


def point_webhook(db: sqlite_utils.Database, webhook: int, url: str) -> None:
    """Send the demo's webhook to the receiver now listening at `url`, inside the caller's write; deliveries that
    failed while no receiver listened (a demo built with --no-serve, then served) go again."""
    db.execute("UPDATE webhooks SET url = ? WHERE id = ?", [url, webhook])
    db.execute("UPDATE deliveries SET state = 'pending', next_at = created_at, limit_attempts = attempts + 8 WHERE webhook = ? AND state != 'delivered'", [webhook])
