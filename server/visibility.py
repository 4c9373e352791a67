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

from server.accounts.accounts import User, user_name

SHOPPER = "a mystery shopper"  # how staff see every auditor: the same words for all, never a name or a code
REVIEWER = "a reviewer"
REVIEWERS = ("manager", "admin")  # the roles that review audits and flags


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


def anonymous_brands(catalog) -> frozenset[str]:
    """Brands whose auditors managers and staff see only by code."""
    return frozenset(b for b, loaded in catalog.brands.items() if loaded.brand.anonymous_auditors)


def auditor_code(code: str) -> str:
    """How an anonymous auditor is named: the same code on every page, never the name."""
    return f"auditor {code}"


STAFF_COLUMN = f"'{SHOPPER}'"  # how an audit list names the auditor to staff (who then see no times either)


def auditor_column(user: User, anonymous: frozenset[str]) -> tuple[str, list]:
    """SQL naming an audit's auditor (audits `a`, users `u`) as `user` may see them, and its parameters."""
    if user.role == "staff":
        return STAFF_COLUMN, []
    if user.role in ("admin", "auditor", "participant") or not anonymous:
        return user_name(), []
    return user_name(f"CASE WHEN a.brand IN ({','.join('?' * len(anonymous))}) THEN 'auditor ' || u.code ELSE u.name END"), sorted(anonymous)


class Viewer:
    """Who is asking, and so what they may see, made once per request (server.auth.provide_viewer)
    and given to handlers as the `viewer` dependency: the user, the brands whose auditors managers
    see only by a code (`anonymous`, from `anonymous_auditors`), and the SQL for both. The domain
    functions it is passed on to still take `viewer.user` and `viewer.anonymous` apart."""

    __slots__ = ("user", "anonymous")

    def __init__(self, user: User, anonymous: frozenset[str]):
        self.user, self.anonymous = user, anonymous

    def auditor(self) -> tuple[str, list]:
        """SQL naming an audit's auditor (audits `a`, users `u`) as this viewer may see them, and its parameters."""
        return auditor_column(self.user, self.anonymous)

    def in_regions(self, column: str) -> tuple[str, list]:
        """SQL keeping the rows whose `column` (a region id) this viewer sees, and its parameters:
        every region for an admin (and an auditor not tied to regions), else theirs (none for staff)."""
        return in_regions(self.user, column)


def in_regions(user: User, column: str) -> tuple[str, list]:
    """SQL keeping the rows whose `column` (a region id) `user` sees (User.sees_region as SQL), and its parameters."""
    if user.role == "admin" or (user.role == "auditor" and not user.regions):
        return "true", []
    if not user.regions:
        return "false", []
    return f"{column} IN ({','.join('?' * len(user.regions))})", sorted(user.regions)


def may_manage(user: User, role: str, regions: frozenset[str] | set[str] | list[str], location_region: str | None = None) -> bool:
    """Whether `user` may make, invite, reset or change a person of `role` with `regions` (a staff
    person: the region of their location): admins anyone; managers only auditors and staff within
    their own regions (an auditor given no regions works everywhere, so only an admin makes one);
    nobody else anyone."""
    if user.role == "admin":
        return True
    if user.role != "manager" or role not in ("auditor", "staff"):
        return False
    if role == "staff":
        return location_region is not None and location_region in user.regions
    return bool(regions) and set(regions) <= user.regions
