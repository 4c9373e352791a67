"""What the stores say happened, as small typed events: an audit arrived, a reviewer moved or
corrected it, a photo was stored. A store publishes an event (server.reactions.publish) inside the
transaction that made the change, and what follows it (its history row, flags, action, webhook
deliveries, the assignment it fulfils) is written in that same transaction: all or nothing.

Events hold plain facts, never a connection or a module: a store knows nothing of what follows
it, and a reaction nothing of how the store did its work."""

from typing import Any

import msgspec

from server.accounts.accounts import User
from server.checklists.format import Actions
from server.checklists.scoring import AuditResult
from server.followup.policy import Policy


class AuditArrived(msgspec.Struct, frozen=True, kw_only=True):
    """An audit was stored: new (`before` None), or a returned audit sent again with its next revision."""

    audit: Any  # the audits.AuditIn as sent
    result: AuditResult
    by: User
    policy: Policy
    seq: int  # its row
    status: str  # submitted, or awaiting_photos
    counts: bool  # in the figures from now (no review, or a campaign the brand counts)
    prints: list[tuple[str, int, str]]  # its comments' fingerprints (integrity.comment_prints)
    before: dict | None = None  # a resubmitted audit: what it held before


class AuditReviewed(msgspec.Struct, frozen=True, kw_only=True):
    """A reviewer approved, returned or rejected an audit."""

    audit: str  # its id
    done: str  # approved, returned or rejected
    by: User
    note: str
    before: dict  # {"status", "counts"}
    after: dict  # {"status", "counts"}
    score: float | None
    critical_failed: list[str]
    threshold: float  # its brand's
    actions: Actions  # its brand's rules for follow-up actions
    assignment: str | None


class AnswerCorrected(msgspec.Struct, frozen=True, kw_only=True):
    """A reviewer changed one answer, with a reason; the audit was rescored."""

    audit: str
    by: User
    item: str
    original: Any
    corrected: Any
    reason: str
    score_before: float | None
    score_after: float | None


class PhotoStored(msgspec.Struct, frozen=True, kw_only=True):
    """A photo was stored, whether or not its audit has arrived."""

    photo: str
    audit: str
    phash: str
    taken_at: str | None
    lat: float | None
    lng: float | None
    integrity: Any  # the audit's brand's checklists.format.Integrity (defaults when the audit is not here yet)


Event = AuditArrived | AuditReviewed | AnswerCorrected | PhotoStored
