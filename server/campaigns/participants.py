"""Participants: who joined a campaign through its link. Each is a user of role `participant` with
no password, signed in by the session the join made, able to do one thing: send audits of the
campaign's channels, with each channel's checklist, while the campaign runs. The display name is
optional (none: anonymous) and is the only thing a participant tells about themselves.
"""

import datetime as dt
import re
import secrets

import sqlite_utils

from server import leases, text
from server.accounts import accounts
from server.accounts.accounts import User
from server.campaigns.campaigns import Campaign, Link
from server.db import write
from server.errors import ApiError, ApiProblem, ErrorCode, forbidden, invalid, unauthorized

MAX_DISPLAY_NAME = 60
SESSION_AFTER_END = dt.timedelta(days=1)  # a participant's session lasts until a day after the campaign ends


# Words a display name may not hold: a participant must never pass for one of the program's people
TAKEN_WORDS = frozenset((*accounts.ROLES, "participant", "administrator", "touchpoint"))


def display_name_problem(db: sqlite_utils.Database, name: str) -> str | None:
    """Why a display name is refused, or None. Blank is fine: anonymous. A name of one of the
    program's people ("manager-east") or holding a role ("Admin") is refused, whatever its case."""
    if (why := text.problem(name, MAX_DISPLAY_NAME)) is not None:
        return why
    folded = name.strip().casefold()
    words = set(re.split(r"[\W_]+", folded))
    if role := next((w for w in sorted(TAKEN_WORDS) if w in words), None):
        return f"a name with “{role}” in it could pass for one of the program's people: choose another"
    if folded and any(other.casefold() == folded for (other,) in db.execute("SELECT name FROM users WHERE role != 'participant'")):
        return "that is the name of one of the program's people: choose another"
    return None


def join_wait(db: sqlite_utils.Database, address: str, per_minute: int) -> int:
    """At most `per_minute` joins from one address in any 60 seconds (the link is public), counted in
    the database so every server process counts alike: 0 and the join is counted, or the whole
    seconds until one is allowed."""
    return leases.wait(db, f"join:{address}", per_minute, 60)


def link_problem(campaign: Campaign | None, link: Link | None, now: dt.datetime) -> tuple[int, str, str] | None:
    """Why a join link cannot be used: (HTTP status, title, sentence), or None."""
    if campaign is None or link is None:
        return 404, "This link is not known", "No campaign has this join link. Check that the whole link was copied, or ask the organiser for it again."
    if link.revoked_at is not None:
        when = campaign.local(dt.datetime.fromisoformat(link.revoked_at))
        return 410, "This link was revoked", f"The organiser of “{campaign.name}” revoked this join link at {when}. Ask them for the new one."
    if campaign.phase(now) == "ended":
        return 410, "This campaign has ended", f"“{campaign.name}” ended at {campaign.local(campaign.ends_at)}. Thank you for taking part."
    return None


def join(db: sqlite_utils.Database, campaign: Campaign, link: Link, display_name: str) -> User:
    """A new participant of the campaign, through this (live) link."""
    name = f"guest-{campaign.id}-{secrets.token_hex(5)}"
    now = dt.datetime.now(dt.UTC).isoformat()
    with write(db):
        user_id = db.execute(
            "INSERT INTO users (name, role, password_hash, created_at, code) VALUES (?, 'participant', '!', ?, ?) RETURNING id",
            [name, now, secrets.token_hex(4).upper()],
        ).fetchone()[0]
        db.execute("INSERT INTO participants (person, campaign, link, display_name, joined_at) VALUES (?, ?, ?, ?, ?)", [user_id, campaign.id, link.id, display_name.strip() or None, now])
    return accounts.user_by_id(db, user_id)


def session_hours(campaign: Campaign, now: dt.datetime) -> int:
    return max(1, int((campaign.ends_at + SESSION_AFTER_END - now).total_seconds() // 3600) + 1)


def stopped(db: sqlite_utils.Database, user: User) -> ApiError | None:
    """A participant whose link was revoked may do nothing more, from that moment on: a 401 saying so."""
    row = db.execute(
        "SELECT k.revoked_at, c.name FROM participants p JOIN campaign_links k ON k.id = p.link JOIN campaigns c ON c.id = p.campaign WHERE p.person = ?",
        [user.id]).fetchone()
    if row is None:
        return unauthorized("this participant is not part of any campaign")
    if row[0] is not None:
        return unauthorized(f"the join link of “{row[1]}” was revoked at {row[0][:16].replace('T', ' ')} UTC: this phone can send nothing more to it (export any unsent audits)")
    return None


def admits(campaign: Campaign, location: str, checklist: str, now: dt.datetime) -> None:
    """A participant's audit of `location` with `checklist` may be stored now, or an error says why:
    403 for a location that is not one of its channels, 422 for another checklist, 409 outside
    the campaign's time."""
    channel = campaign.channel(location)
    if channel is None:
        names = ", ".join(c.name for c in campaign.channels)
        raise forbidden(f"your join link lets you audit the channels of “{campaign.name}” only ({names}), not {location!r}")
    if checklist != channel.checklist:
        raise invalid("the audit names another checklist than its campaign's", [ApiProblem(field="checklist", message=f"“{campaign.name}” audits {channel.name} with checklist {channel.checklist!r}, not {checklist!r}")], code=ErrorCode.AUDIT_REFUSED)
    phase = campaign.phase(now)
    if phase == "scheduled":
        raise ApiError(409, ErrorCode.CAMPAIGN_CLOSED, f"campaign starts at {campaign.local(campaign.starts_at)}: audits sent before its start are not taken")
    if phase == "ended":
        raise ApiError(409, ErrorCode.CAMPAIGN_CLOSED, f"campaign ended at {campaign.local(campaign.ends_at)}: audits sent after its end are not taken")



def display_name(db: sqlite_utils.Database, user_id: int) -> str | None:
    """The name a participant gave when they joined (None: they gave none)."""
    return db.execute("SELECT display_name FROM participants WHERE person = ?", [user_id]).fetchone()[0]
