"""An audit's status, the reviewer's moves between statuses, and which audits count: the one place
for these rules. Pure: no web, no database.

    submitted (or awaiting_photos) --approve--> approved
    submitted, awaiting_photos, approved --return--> returned --sent again--> submitted (revision + 1)
    submitted, awaiting_photos, approved --reject--> rejected (final)

An audit counts (enters every figure, page, export and rollup) when its brand has no review and
it was submitted, or when it is approved. Returned and rejected audits never count.
"""

import msgspec

WAITING = ("submitted", "awaiting_photos")
STATUSES = ("submitted", "awaiting_photos", "approved", "returned", "rejected")


class Move(msgspec.Struct, frozen=True):
    """A reviewer's action: from which statuses, to which, whether the audit then counts, and
    whether a written note (comments for the auditor, or the reason) is required."""

    allowed_from: tuple[str, ...]
    to: str
    counts: bool
    needs_note: bool


MOVES = {
    # photos still on their way are evidence not seen yet: approve only once they are all in
    "approve": Move(("submitted",), "approved", True, False),
    "return": Move(("submitted", "awaiting_photos", "approved"), "returned", False, True),
    "reject": Move(("submitted", "awaiting_photos", "approved"), "rejected", False, True),
}
# A reviewer may correct answers while an audit waits for review or once approved (then it is
# rescored and its figures move with it); not when it is back with its auditor or rejected.
CORRECTABLE = ("submitted", "awaiting_photos", "approved")


def refusal(action: str, status: str) -> str | None:
    """Why `action` cannot be taken on an audit in `status` (None: it can)."""
    move = MOVES[action]
    if status in move.allowed_from:
        return None
    if action == "approve" and status == "awaiting_photos":
        return "the audit is awaiting_photos: approve it once its photos have arrived (or return it)"
    return f"the audit is {status}; {action} applies to an audit that is {' or '.join(move.allowed_from)}"
