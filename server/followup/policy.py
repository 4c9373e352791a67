"""What storing an audit needs to know of its brand and checklist beyond the score: whether it
waits for review, the integrity thresholds, how follow-up actions are opened. Built by the server
per audit and handed to the writer process with it (a few hundred bytes, not the checklist)."""

import msgspec

from server.checklists.format import Actions, Brand, Checklist, Integrity
from server.followup.integrity import min_minutes


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    brand: str
    review: bool = False
    threshold: float = 80.0
    integrity: Integrity = Integrity()
    actions: Actions = Actions()
    min_minutes: float = 0.0  # of this audit's checklist
    items: int = 0
    count_campaigns: bool = False  # the brand's campaigns.count


def policy(brand: Brand, checklist: Checklist) -> Policy:
    return Policy(brand=brand.id, review=brand.review, threshold=brand.threshold, integrity=brand.integrity, actions=brand.actions,
                  min_minutes=min_minutes(checklist, brand.integrity), items=len(checklist.items()),
                  count_campaigns=brand.campaigns.count)
