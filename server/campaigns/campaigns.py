"""Campaigns: a team is its own customer for a while. A campaign has one brand, one or more channels
(each audited with one checklist), a start and an end (entered and shown in its time zone, stored
in UTC), instructions for the participants, and a join link: a public secret in the address,
revocable and renewable. Revoking a link stops it at once, for people about to join and for every
participant who joined through it; renewing revokes the live link and makes a new one.

A campaign is `scheduled` before its start, `running` from its start until its end and `ended`
after (start inclusive, end exclusive).
"""

import datetime as dt
import re
import secrets
import zoneinfo
from typing import Literal

import msgspec
import sqlite_utils

from server.accounts.accounts import User
from server.db import write
from server.errors import ApiProblem, forbidden, invalid, not_found

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16}$")  # what secrets.token_urlsafe(12) makes
Phase = Literal["scheduled", "running", "ended"]


class Channel(msgspec.Struct, kw_only=True):
    location: str
    name: str
    kind: str
    contact: str
    region: str
    checklist: str


class Link(msgspec.Struct, kw_only=True):
    id: int
    token: str
    created_at: str
    revoked_at: str | None


class Campaign(msgspec.Struct, kw_only=True):
    id: int
    name: str
    brand: str
    instructions: str
    zone: str
    starts_at: dt.datetime  # aware, UTC
    ends_at: dt.datetime
    created_by: str
    created_at: str
    channels: list[Channel]
    link: Link | None  # the newest link, live or revoked

    def phase(self, now: dt.datetime) -> Phase:
        return "scheduled" if now < self.starts_at else "running" if now < self.ends_at else "ended"

    @property
    def live(self) -> bool:
        return self.link is not None and self.link.revoked_at is None

    def local(self, when: dt.datetime | str) -> str:
        """A time as the campaign's people read it: '2026-11-30 17:00 (Europe/London)'."""
        when = dt.datetime.fromisoformat(when) if isinstance(when, str) else when
        return f"{when.astimezone(zoneinfo.ZoneInfo(self.zone)):%Y-%m-%d %H:%M} ({self.zone})"

    def channel(self, location: str) -> Channel | None:
        return next((c for c in self.channels if c.location == location), None)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# When a campaign may run: starting at most a month back (one entered late) and two years ahead,
# lasting at most a year (its participants' sessions end a day after it does).
STARTS_BACK, STARTS_AHEAD, LONGEST = dt.timedelta(days=31), dt.timedelta(days=2 * 366), dt.timedelta(days=366)


def time_problems(starts: dt.datetime, ends: dt.datetime, now: dt.datetime) -> list[tuple[str, str]]:
    """(field, message) for a start and end (wall-clock, as entered) a campaign may not have."""
    found = []
    first, last = (now - STARTS_BACK).replace(tzinfo=None), (now + STARTS_AHEAD).replace(tzinfo=None)
    if not first <= starts <= last:
        found.append(("starts", f"expected a start from {first:%Y-%m-%d} to {last:%Y-%m-%d} (a month back, two years ahead), got {starts:%Y-%m-%d}"))
    if ends <= starts:
        found.append(("ends", "must be after starts"))
    elif ends - starts > LONGEST:
        found.append(("ends", f"a campaign lasts at most {LONGEST.days} days; this one {(ends - starts).days}"))
    return found


def zone_problem(zone: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"expected a time zone such as Europe/London or UTC, got {zone!r}"
    return None


def in_zone(local: dt.datetime, zone: str) -> dt.datetime:
    """A wall-clock time entered in `zone` -> UTC."""
    return local.replace(tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(dt.UTC)


def create(db: sqlite_utils.Database, user: User, name: str, brand: str, instructions: str, zone: str,
           starts_at: dt.datetime, ends_at: dt.datetime, channels: dict[str, str]) -> int:
    """A new campaign with its first join link. `channels`: location id -> checklist id, already
    checked by the caller against the catalog and the user's regions."""
    now = _now().isoformat()
    with write(db):
        campaign = db.execute(
            "INSERT INTO campaigns (name, brand, instructions, zone, starts_at, ends_at, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [name, brand, instructions, zone, starts_at.isoformat(), ends_at.isoformat(), user.id, now],
        ).fetchone()[0]
        db.conn.executemany("INSERT INTO campaign_channels (campaign, location, checklist) VALUES (?, ?, ?)", [(campaign, location, checklist) for location, checklist in channels.items()])
        _new_link(db, campaign)
    return campaign


def _new_link(db: sqlite_utils.Database, campaign: int) -> None:
    db.execute("INSERT INTO campaign_links (campaign, token, created_at) VALUES (?, ?, ?)", [campaign, secrets.token_urlsafe(12), _now().isoformat()])


def revoke(db: sqlite_utils.Database, campaign: int) -> None:
    """The live link stops working, for whoever has it and for every participant who joined through it."""
    with write(db):
        db.execute("UPDATE campaign_links SET revoked_at = ? WHERE campaign = ? AND revoked_at IS NULL", [_now().isoformat(), campaign])


def renew(db: sqlite_utils.Database, campaign: int) -> None:
    """A new link; the old one is revoked (with its participants) if it was not already."""
    with write(db):
        db.execute("UPDATE campaign_links SET revoked_at = ? WHERE campaign = ? AND revoked_at IS NULL", [_now().isoformat(), campaign])
        _new_link(db, campaign)


def get(db: sqlite_utils.Database, campaign_id: int) -> Campaign | None:
    row = db.execute(
        """SELECT c.id, c.name, c.brand, c.instructions, c.zone, c.starts_at, c.ends_at, u.name, c.created_at
           FROM campaigns c JOIN users u ON u.id = c.created_by WHERE c.id = ?""", [campaign_id]).fetchone()
    if row is None:
        return None
    channels = [Channel(location=r[0], name=r[1], kind=r[2], contact=r[3], region=r[4], checklist=r[5]) for r in db.execute(
        """SELECT l.id, l.name, l.kind, l.contact, l.region, cc.checklist FROM campaign_channels cc JOIN locations l ON l.id = cc.location
           WHERE cc.campaign = ? ORDER BY l.name""", [campaign_id])]
    link = db.execute("SELECT id, token, created_at, revoked_at FROM campaign_links WHERE campaign = ? ORDER BY id DESC LIMIT 1", [campaign_id]).fetchone()
    return Campaign(
        id=row[0], name=row[1], brand=row[2], instructions=row[3], zone=row[4], starts_at=dt.datetime.fromisoformat(row[5]),
        ends_at=dt.datetime.fromisoformat(row[6]), created_by=row[7], created_at=row[8], channels=channels,
        link=Link(id=link[0], token=link[1], created_at=link[2], revoked_at=link[3]) if link else None,
    )


def sees(user: User, campaign: Campaign) -> bool:
    """Admins see every campaign; a manager those whose channels are all in their regions."""
    return user.role == "admin" or (user.role == "manager" and all(user.sees_region(c.region) for c in campaign.channels))


def in_scope(db: sqlite_utils.Database, user: User, campaign_id: int) -> Campaign:
    """The campaign, if the user may see it: 404 when there is none, 403 when it is not theirs."""
    campaign = get(db, campaign_id)
    if campaign is None:
        raise not_found("campaign", str(campaign_id))
    if not sees(user, campaign):
        raise forbidden(f"campaign {campaign_id} has channels outside your regions")
    return campaign


def listing(db: sqlite_utils.Database, user: User) -> list[Campaign]:
    """The campaigns the user may see, newest start first."""
    found = [get(db, campaign_id) for (campaign_id,) in db.execute("SELECT id FROM campaigns ORDER BY starts_at DESC, id DESC").fetchall()]
    return [c for c in found if c is not None and sees(user, c)]


def by_token(db: sqlite_utils.Database, token: str) -> tuple[Campaign | None, Link | None]:
    """The campaign whose link (live or revoked) this is, with that link."""
    row = db.execute("SELECT id, campaign, token, created_at, revoked_at FROM campaign_links WHERE token = ?", [token]).fetchone()
    if row is None:
        return None, None
    return get(db, row[1]), Link(id=row[0], token=row[2], created_at=row[3], revoked_at=row[4])


def earlier(db: sqlite_utils.Database, campaign: Campaign) -> list[Campaign]:
    """The campaigns before this one (by start) that audited one of its channels with the same
    checklist: the line it is compared along, oldest first."""
    pairs = [(c.location, c.checklist) for c in campaign.channels]
    ids = {campaign_id for location, checklist in pairs for (campaign_id,) in db.execute(
        """SELECT cc.campaign FROM campaign_channels cc JOIN campaigns c ON c.id = cc.campaign
           WHERE cc.location = ? AND cc.checklist = ? AND c.starts_at < ? AND c.id != ?""",
        [location, checklist, campaign.starts_at.isoformat(), campaign.id])}
    return sorted((c for c in map(lambda i: get(db, i), ids) if c is not None), key=lambda c: c.starts_at)


def problem(field: str, message: str) -> ApiProblem:
    return ApiProblem(field=field, message=message)


def refuse(problems: list[ApiProblem]) -> None:
    if problems:
        raise invalid(f"the campaign was not made: {len(problems)} problem{'s' if len(problems) > 1 else ''}", problems)


def checklists_of(db: sqlite_utils.Database, campaign_id: int) -> set[tuple[str, str]]:
    """The (brand, checklist) pairs of a campaign's channels."""
    return {(brand, checklist) for brand, checklist in db.execute(
        "SELECT c.brand, cc.checklist FROM campaigns c JOIN campaign_channels cc ON cc.campaign = c.id WHERE c.id = ?", [campaign_id])}


def channel_locations(db: sqlite_utils.Database, campaign_id: int) -> list[str]:
    """The location ids of a campaign's channels, in order."""
    return [location for (location,) in db.execute("SELECT location FROM campaign_channels WHERE campaign = ? ORDER BY location", [campaign_id])]


def call_counts(db: sqlite_utils.Database) -> dict[int, int]:
    """campaign id -> how many audits (calls, visits) its participants sent."""
    return dict(db.execute("SELECT campaign, COUNT(*) FROM audits WHERE campaign IS NOT NULL GROUP BY campaign").fetchall())
