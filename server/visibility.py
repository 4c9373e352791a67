"""What a shop's own staff may see of an audit: the one place for the rule that keeps a mystery
shopper unknown to the shop they visit, whatever the brand's `anonymous_auditors` says (that flag
governs what managers see).

Staff see what was found and on which day: the answers, comments, photos, the score and the
checklist. Never who found it, nor what would let them work it out over a few visits: a name, a
code that stays the same across visits, the time of day, how long the visit took, when it was
sent, the visit or planned assignment it belonged to, a reviewer's notes or name, a photo's
place and time. Every route, page, PDF and export that shows staff an audit goes through here
(tests/test_staff.py walks them all)."""

import msgspec

SHOPPER = "a mystery shopper"  # how staff see every auditor: the same words for all, never a name or a code
REVIEWER = "a reviewer"


def for_staff(audit):
    """The audit (an `audits.AuditOut`) as its location's staff may see it."""
    return msgspec.structs.replace(
        audit, auditor=SHOPPER, started_at=None, finished_at=None, received_at=None, visit=None, assignment=None, review_note=None,
        photos=[], corrections=[msgspec.structs.replace(c, by=REVIEWER) for c in audit.corrections],
    )


def listed_for_staff(item):
    """A row of an audit list (an `audits.AuditListed`) as staff may see it."""
    return msgspec.structs.replace(item, auditor=SHOPPER, finished_at=None, review_note=None)


def action_for_staff(action):
    """A follow-up action (an `actions.ActionOut`) as staff may see it: opened on its day (without review an
    action opens the moment its audit arrives, so its time is the shopper's)."""
    return msgspec.structs.replace(action, opened_at=action.opened_at[:10])
