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


GIVEN_BY_MANAGERS = ("auditor", "staff")  # the roles a manager may give; only admins make managers and admins


def may_manage(user: User, role: str, regions, location_region: str | None) -> tuple[str, str] | None:
    """Whether `user` may manage a person with this role, these regions and (staff) a location in
    `location_region`: see them, change them, or give them exactly that. None when they may; else
    the field that is out of their reach and why. The one rule for people (server/people) and
    invitations: an admin manages everyone; a manager the auditors and staff of their regions only,
    an auditor only when every region the auditor works in is theirs (an auditor with no regions
    works in every region, so only an admin manages them; a manager sees them, read-only:
    may_see_person); nobody else manages anyone."""
    if user.role == "admin":
        return None
    if user.role != "manager":
        return "role", f"only managers and admins manage people; you are {user.role}"
    if role not in GIVEN_BY_MANAGERS:
        return "role", f"a manager manages only auditors and staff, not a {role}: only an admin does"
    held = ", ".join(sorted(user.regions))
    if role == "staff":
        if location_region is None or location_region not in user.regions:
            return "location", f"only a location of your regions ({held})"
        return None
    regions = set(regions)
    if not regions:
        return "regions", f"an auditor with no regions works in every region: give only regions you hold ({held}); only an admin gives every region"
    if outside := sorted(regions - user.regions):
        return "regions", f"only regions you hold ({held}), not {', '.join(outside)}"
    return None


def may_see_person(user: User, role: str, regions, location_region: str | None) -> bool:
    """Whom `user` sees on the people pages: whom they manage, and (managers) an auditor who works
    in one of their regions too, every region included (no regions): read-only."""
    if may_manage(user, role, regions, location_region) is None:
        return True
    return user.role == "manager" and role == "auditor" and (not regions or bool(set(regions) & user.regions))


def people_scope(user: User, u: str = "u") -> tuple[str, list]:
    """may_see_person as SQL over users `u` (and their location's region through locations), and its parameters."""
    if user.role == "admin":
        return "true", []
    if user.role != "manager" or not user.regions:
        return "false", []
    marks = ",".join("?" * len(user.regions))
    held = sorted(user.regions)
    return (f"""(({u}.role = 'staff' AND (SELECT region FROM locations WHERE id = {u}.location) IN ({marks}))
               OR ({u}.role = 'auditor' AND (NOT EXISTS (SELECT 1 FROM user_regions WHERE person = {u}.id)
                    OR EXISTS (SELECT 1 FROM user_regions WHERE person = {u}.id AND region IN ({marks})))))""", held + held)
