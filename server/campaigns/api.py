"""The one thing a participant's app asks besides the checklists: its campaign."""

import datetime as dt

import msgspec
from server.db import Database
from litestar import Request, get
from litestar.datastructures import State

from server.auth import roles
from server.campaigns import campaigns, participants
from server.campaigns.campaigns import Channel


class MyCampaign(msgspec.Struct, kw_only=True):
    id: int
    name: str
    brand: str
    instructions: str
    zone: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    starts: str  # as its people read it: "2026-12-01 09:00 (Europe/London)"
    ends: str
    phase: campaigns.Phase
    channels: list[Channel]
    display_name: str | None  # null: anonymous


@get("/api/campaign", guards=[roles("participant")], sync_to_thread=True, tags=["campaigns"])
def my_campaign(request: Request, state: State, db: Database) -> MyCampaign:
    """A participant's campaign: what to do, on which channels, until when. (Participants only.)"""
    c = campaigns.get(db, request.user.campaign)
    name = participants.display_name(db, request.user.id)
    return MyCampaign(id=c.id, name=c.name, brand=c.brand, instructions=c.instructions, zone=c.zone, starts_at=c.starts_at, ends_at=c.ends_at,
                      starts=c.local(c.starts_at), ends=c.local(c.ends_at), phase=c.phase(dt.datetime.now(dt.UTC)),
                      channels=[msgspec.structs.replace(ch, region="") for ch in c.channels], display_name=name)


HANDLERS = [my_campaign]
