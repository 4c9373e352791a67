"""The access matrix: every route the app really has (read from the app, so a new route without an
entry here fails) x every persona x an object of region r1 and auditor_a ("A") and one of region r2
and auditor_b ("B"), each with the status it must answer. Bearer tokens throughout (the CSRF and
Origin rules for cookies are tested in test_hardening).

Personas, in the order of each expected row:
  admin, manager_r1 (manager of A's region), manager_r2 (of B's), auditor_a (A's auditor, all
  regions), auditor_b (B's auditor, region r2 only), staff_l1 (staff of A's location, l1), anonymous.
Staff are told an audit they may not see does not exist (404), and are refused everything of the
program: a planned visit, announced or not, never reaches a shop.

An eighth persona, a participant of campaign A (joined through its link; a cookie session, as the
phone has), is checked on every row too: the link grants one thing, sending audits of the
campaign's channels (their own checklists and channels, their own audits, their campaign), and
nothing else. Its column is derived (a public route 200, a managers' page 303 to the app, else
403) except where PARTICIPANT says otherwise.
"""

import uuid

import pytest
from litestar.routes import HTTPRoute

from tests.conftest import GOOD_VISIT, STAFF, audit_body
from tests.figures import FIGURES
from tests.test_photo_processing import phone_jpeg


@pytest.fixture
def server(spread_server):
    """Through the TestClient, and round-robin over three server processes (tests/conftest.py SPREAD)."""
    return spread_server

PERSONAS = ["admin", "manager_r1", "manager_r2", "auditor_a", "auditor_b", STAFF, None]
SIGNED_IN = "200 200 200 200 200 200 401"
OPEN = "200 200 200 200 200 200 200"
PAGES = "303"  # a manage page for an auditor: to the app; signed out: to the sign-in
# only managers and admins: A in r1, B in r2 (managers of the other region refused)
MANAGED_A, MANAGED_B = "200 200 403 403 403 403 401", "200 403 200 403 403 403 401"
MADE_A, MADE_B = MANAGED_A.replace("200", "201"), MANAGED_B.replace("200", "201")
ADMIN = "200 403 403 403 403 403 401"
REVIEWERS = "200 200 200 403 403 403 401"
FORM_A = f"303 303 403 {PAGES} {PAGES} 403 {PAGES}"  # a program form: done (303 back to its page), refused, or to the app
FORM_B = f"303 403 303 {PAGES} {PAGES} 403 {PAGES}"


class Row:
    """One route: how to call it for an object, and the statuses expected per persona."""

    def __init__(self, make, a: str, b: str | None = None):
        self.make, self.a, self.b = make, a.split(), (b or a).split()


def get(path):
    return lambda objects, obj: {"method": "GET", "url": path.format(**objects[obj])}


def post(path, **body):
    return lambda objects, obj: {"method": "POST", "url": path.format(**objects[obj]), **({"json": body} if body else {})}


def form(path, **fields):
    """A program form post; `{location}`, `{region}` and `{audit}` in values are the object's."""
    return lambda objects, obj: {"method": "POST", "url": path.format(**objects[obj]), "data": {k: v.format(**objects[obj]) for k, v in fields.items()}}


def fresh(kind, path, **body):
    """A request on a new assignment or schedule each time: cancelling or claiming one changes it."""
    return lambda objects, obj: {"method": "POST", "url": path.format(id=objects[obj][kind]()), **({"json": body} if body else {})}


def submit(objects, obj):
    return {"method": "POST", "url": "/api/audits", "json": audit_body(GOOD_VISIT, location=objects[obj]["location"])}


def photo(objects, obj):
    return {"method": "PUT", "url": f"/api/audits/{objects[obj]['audit']}/photos/{uuid.uuid4()}", "content": phone_jpeg(320, 240), "headers": {"Content-Type": "image/jpeg"}}


def new_location(objects, obj):
    return {"method": "POST", "url": "/api/locations", "json": [{"id": f"new-{obj}", "name": "New", "region": objects[obj]["region"]}]}


def plan(objects, obj):
    return {"method": "POST", "url": "/api/assignments", "json": {"location": objects[obj]["location"], "touchpoints": ["visit"], "starts": "2027-01-04", "ends": "2027-01-08"}}


def plan_csv(objects, obj):
    return {"method": "POST", "url": "/api/assignments/import", "content": f"location,touchpoints,starts,ends\n{objects[obj]['location']},visit,2027-01-04,2027-01-08\n".encode(),
            "headers": {"Content-Type": "text/csv"}}


def plan_csv_form(objects, obj):
    return {"method": "POST", "url": "/manage/assignments/import", "files": {"file": ("plan.csv", plan_csv(objects, obj)["content"], "text/csv")}}


def schedule(objects, obj):
    return {"method": "POST", "url": "/api/schedules", "json": {"region": objects[obj]["region"], "touchpoints": ["visit"], "every": "month", "first": "2027-01-01", "periods": 1}}


def close_fresh(path):
    """Close a new action each time (closing one changes it): multipart, as the phone sends it."""
    return lambda objects, obj: {"method": "POST", "url": path.format(id=objects[obj]["new_action"]()), "files": {"note": (None, "Fixed and checked.")}}


def campaign_form(objects, obj):
    return {"method": "POST", "url": "/manage/campaigns", "data": {"name": "Matrix", "starts": "2027-01-04T09:00", "ends": "2027-01-04T17:00", "zone": "UTC",
                                                                  "channels": f"{objects[obj]['channel']}:call"}}


def campaign_fresh(action):
    """Revoke or renew a new campaign each time: revoking A's own would stop the participant persona."""
    return lambda objects, obj: {"method": "POST", "url": f"/manage/campaigns/{objects[obj]['new_campaign']()}/{action}", "data": {"csrf_token": ""}}


def person_form(action):
    """A person's button, on a new person each time: disabling or forgetting one changes them."""
    return lambda objects, obj: {"method": "POST", "url": f"/manage/people/{objects[obj]['new_person']()}/{action}", "data": {"csrf_token": ""}}


def place_form(path, fresh_kind=None, **fields):
    """A locations form: on the object's location, or on a new one each time (deactivating or activating one changes it)."""
    def make(objects, obj):
        target = objects[obj][fresh_kind]() if fresh_kind else objects[obj]["location"]
        return {"method": "POST", "url": path.format(id=target, region=objects[obj]["region"]),
                "data": {"csrf_token": "", **{k: v.format(id=target, region=objects[obj]["region"]) for k, v in fields.items()}}}
    return make


def place_api(path, fresh_kind=None, method="POST", **body):
    def make(objects, obj):
        target = objects[obj][fresh_kind]() if fresh_kind else objects[obj]["location"]
        return {"method": method, "url": path.format(id=target, region=objects[obj]["region"]), **({"json": body} if body else {})}
    return make


def places_csv(objects, obj):
    return {"method": "POST", "url": "/manage/locations/import", "data": {"csrf_token": ""},
            "files": {"file": ("places.csv", f"id,name,region\ncsv-{uuid.uuid4().hex[:8]},From a file,{objects[obj]['region']}\n".encode(), "text/csv")}}


SEES_ACTION_A, SEES_ACTION_B = "200 200 404 403 403 200 401", "200 404 200 403 403 404 401"
ADMIN_FORM = f"303 403 403 {PAGES} {PAGES} 403 {PAGES}"
CORRECTION = {"action": "correct", "corrections": [{"item": "notes", "value": "checked", "reason": "the access matrix"}]}

MATRIX = {
    "POST /api/login": Row(lambda o, obj: {"method": "POST", "url": "/api/login", "json": {"name": "auditor_a", "password": "password-auditor_a"}}, OPEN),
    "POST /api/logout": Row(lambda o, obj: {"method": "POST", "url": "/api/logout"}, SIGNED_IN),
    "GET /api/me": Row(get("/api/me"), SIGNED_IN),
    "GET /api/health": Row(get("/api/health"), OPEN),
    "GET /api/brands": Row(get("/api/brands"), SIGNED_IN),
    "GET /api/checklists": Row(get("/api/checklists"), SIGNED_IN),
    "GET /api/checklists/{checklist_id}": Row(get("/api/checklists/visit"), SIGNED_IN),
    "GET /api/regions": Row(get("/api/regions"), SIGNED_IN),
    "GET /api/locations": Row(get("/api/locations"), SIGNED_IN),
    "POST /api/locations": Row(new_location, "201 403 403 403 403 403 401"),
    "GET /api/locations/{location_id}": Row(get("/api/locations/{location}"), "200 200 403 200 403 200 401", "200 403 200 200 200 403 401"),
    "GET /api/locations/{location_id}/summary": Row(get("/api/locations/{location}/summary"), "200 200 403 403 403 200 401", "200 403 200 403 403 403 401"),
    "GET /api/regions/{region_id}/summary": Row(get("/api/regions/{region}/summary"), MANAGED_A, MANAGED_B),
    "GET /api/audits": Row(get("/api/audits?location={location}"), SIGNED_IN),
    "POST /api/audits": Row(submit, "201 403 403 201 403 403 401", "201 403 403 201 201 403 401"),
    "GET /api/audits/{audit_id}": Row(get("/api/audits/{audit}"), "200 200 403 200 403 200 401", "200 403 200 403 200 404 401"),
    "GET /api/export/audits.csv": Row(get("/api/export/audits.csv?region={region}"), MANAGED_A, MANAGED_B),
    "GET /api/export/answers.csv": Row(get("/api/export/answers.csv?region={region}"), MANAGED_A, MANAGED_B),
    "PUT /api/audits/{audit_id}/photos/{photo_id}": Row(photo, "403 403 403 201 403 403 401", "403 403 403 403 201 403 401"),
    "GET /api/photos/{photo_id}": Row(get("/api/photos/{photo}"), "200 200 403 200 403 200 401", "200 403 200 403 200 403 401"),
    # the program (issue 13): review, assignments, schedules, history
    "POST /api/audits/{audit_id}/review": Row(post("/api/audits/{audit}/review", **CORRECTION), MANAGED_A, MANAGED_B),
    "POST /api/review/approve": Row(lambda o, obj: {"method": "POST", "url": "/api/review/approve", "json": {"audits": [o[obj]["audit"]]}}, REVIEWERS),
    "GET /api/review": Row(get("/api/review"), REVIEWERS),
    "GET /api/audits/{audit_id}/history": Row(get("/api/audits/{audit}/history"), ADMIN),
    "GET /api/assignments": Row(get("/api/assignments"), "200 200 200 200 200 403 401"),
    "POST /api/assignments": Row(plan, MADE_A, MADE_B),
    "POST /api/assignments/import": Row(plan_csv, "201 201 422 403 403 403 401", "201 422 201 403 403 403 401"),
    "GET /api/assignments/{assignment_id}": Row(get("/api/assignments/{assignment}"), "200 200 404 200 404 403 401", "200 404 200 200 200 403 401"),
    "POST /api/assignments/{assignment_id}/claim": Row(fresh("new_assignment", "/api/assignments/{id}/claim"), "422 422 403 200 404 403 401", "422 403 422 200 200 403 401"),
    "POST /api/assignments/{assignment_id}/cancel": Row(fresh("new_assignment", "/api/assignments/{id}/cancel"), MANAGED_A, MANAGED_B),
    "GET /api/assignments/{assignment_id}/history": Row(get("/api/assignments/{assignment}/history"), ADMIN),
    "POST /api/schedules": Row(schedule, MADE_A, MADE_B),
    "POST /api/schedules/{schedule_id}/cancel": Row(fresh("new_schedule", "/api/schedules/{id}/cancel"), MANAGED_A, MANAGED_B),
    "GET /manage": Row(get("/manage/"), f"200 200 200 {PAGES} {PAGES} 303 {PAGES}"),  # staff: to their location's page
    "GET /manage/regions/{region_id}": Row(get("/manage/regions/{region}"), f"200 200 403 {PAGES} {PAGES} 403 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/regions/{region_id}/items": Row(get("/manage/regions/{region}/items"), f"200 200 403 {PAGES} {PAGES} 403 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/locations/{location_id}": Row(get("/manage/locations/{location}"), f"200 200 403 {PAGES} {PAGES} 200 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/audits/{audit_id}": Row(get("/manage/audits/{audit}"), f"200 200 403 {PAGES} {PAGES} 200 {PAGES}", f"200 403 200 {PAGES} {PAGES} 404 {PAGES}"),
    "GET /manage/items": Row(get("/manage/items"), f"200 403 403 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/review": Row(get("/manage/review"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/review/approve": Row(form("/manage/review/approve", audit="{audit}"), f"303 303 303 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/audits/{audit_id}/review": Row(form("/manage/audits/{audit}/review", action="correct", item="notes", value="checked", reason="matrix"), FORM_A, FORM_B),
    "GET /manage/assignments": Row(get("/manage/assignments"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/assignments": Row(form("/manage/assignments", location="{location}", touchpoints="visit", starts="2027-01-04", ends="2027-01-08"), FORM_A, FORM_B),
    "POST /manage/assignments/import": Row(plan_csv_form, f"303 303 422 {PAGES} {PAGES} 403 {PAGES}", f"303 422 303 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/assignments/{assignment_id}": Row(get("/manage/assignments/{assignment}"), f"200 200 404 {PAGES} {PAGES} 403 {PAGES}", f"200 404 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/assignments/{assignment_id}/cancel": Row(lambda o, obj: {"method": "POST", "url": f"/manage/assignments/{o[obj]['new_assignment']()}/cancel", "data": {"csrf_token": ""}}, FORM_A, FORM_B),
    "POST /manage/schedules": Row(form("/manage/schedules", region="{region}", touchpoints="visit", every="month", day="window", first="2027-01-01", periods="1"), FORM_A, FORM_B),
    # follow-up (issue 14): flags, actions, webhooks
    "GET /api/flags": Row(get("/api/flags"), REVIEWERS),
    "GET /api/flags/auditors": Row(get("/api/flags/auditors"), REVIEWERS),
    "GET /api/audits/{audit_id}/flags": Row(get("/api/audits/{flagged}/flags"), MANAGED_A, MANAGED_B),
    "POST /api/flags/{flag_id}/explain": Row(post("/api/flags/{flag}/explain", note="checked"), "200 200 404 403 403 403 401", "200 404 200 403 403 403 401"),
    "GET /api/actions": Row(get("/api/actions"), "200 200 200 403 403 200 401"),
    "GET /api/actions/{action_id}": Row(get("/api/actions/{action}"), SEES_ACTION_A, SEES_ACTION_B),
    "POST /api/actions/{action_id}/close": Row(close_fresh("/api/actions/{id}/close"), "200 200 403 403 403 200 401", "200 403 200 403 403 403 401"),
    "GET /api/actions/{action_id}/photo": Row(get("/api/actions/{action}/photo"), SEES_ACTION_A, SEES_ACTION_B),
    "GET /api/webhooks": Row(get("/api/webhooks"), ADMIN),
    "POST /api/webhooks": Row(post("/api/webhooks", url="https://example.com/hook", events=["audit.approved"]), "201 403 403 403 403 403 401"),
    "DELETE /api/webhooks/{webhook_id}": Row(lambda o, obj: {"method": "DELETE", "url": f"/api/webhooks/{o[obj]['new_webhook']()}"}, "204 403 403 403 403 403 401"),
    "GET /api/webhooks/{webhook_id}/deliveries": Row(get("/api/webhooks/{webhook}/deliveries"), ADMIN),
    "POST /api/deliveries/{delivery_id}/send": Row(post("/api/deliveries/{delivery}/send"), ADMIN),
    "GET /manage/flags": Row(get("/manage/flags"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/flags/{flag_id}/explain": Row(form("/manage/flags/{flag}/explain", note="checked"), f"303 303 404 {PAGES} {PAGES} 403 {PAGES}", f"303 404 303 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/actions": Row(get("/manage/actions"), f"200 200 200 {PAGES} {PAGES} 200 {PAGES}"),
    "GET /manage/actions/{action_id}": Row(get("/manage/actions/{action}"), f"200 200 404 {PAGES} {PAGES} 200 {PAGES}", f"200 404 200 {PAGES} {PAGES} 404 {PAGES}"),
    "POST /manage/actions/{action_id}/close": Row(close_fresh("/manage/actions/{id}/close"), f"303 303 403 {PAGES} {PAGES} 303 {PAGES}", f"303 403 303 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/webhooks": Row(get("/manage/webhooks"), f"200 403 403 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/webhooks": Row(form("/manage/webhooks", url="https://example.com/hook", events="audit.approved"), ADMIN_FORM),
    "POST /manage/webhooks/{webhook_id}/remove": Row(lambda o, obj: {"method": "POST", "url": f"/manage/webhooks/{o[obj]['new_webhook']()}/remove", "data": {"csrf_token": ""}}, ADMIN_FORM),
    "POST /manage/deliveries/{delivery_id}/send": Row(form("/manage/deliveries/{delivery}/send"), ADMIN_FORM),
    # mail (issue 25): the outbox is for admins; this server has no SMTP set, so "send again" is a 409 for them
    "GET /api/mail": Row(get("/api/mail"), ADMIN),
    "POST /api/mail/{mail_id}/send": Row(post("/api/mail/{mail}/send"), "409 403 403 403 403 403 401"),
    "GET /manage/mail": Row(get("/manage/mail"), f"200 403 403 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/mail/{mail_id}/send": Row(form("/manage/mail/{mail}/send"), f"409 403 403 {PAGES} {PAGES} 403 {PAGES}"),
    # campaigns (issue 15): managers of the channel's region and admins; the join link is public
    "GET /api/campaign": Row(get("/api/campaign"), "403 403 403 403 403 403 401"),
    "GET /manage/campaigns": Row(get("/manage/campaigns/"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/campaigns": Row(campaign_form, f"303 303 422 {PAGES} {PAGES} 403 {PAGES}", f"303 422 303 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/campaigns/{campaign_id}": Row(get("/manage/campaigns/{campaign}"), f"200 200 403 {PAGES} {PAGES} 403 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/campaigns/{campaign_id}/screen": Row(get("/manage/campaigns/{campaign}/screen"), f"200 200 403 {PAGES} {PAGES} 403 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/campaigns/{campaign_id}/poster": Row(get("/manage/campaigns/{campaign}/poster"), f"200 200 403 {PAGES} {PAGES} 403 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/campaigns/{campaign_id}/qr.svg": Row(get("/manage/campaigns/{campaign}/qr.svg"), f"200 200 403 {PAGES} {PAGES} 403 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/campaigns/{campaign_id}/qr.png": Row(get("/manage/campaigns/{campaign}/qr.png"), f"200 200 403 {PAGES} {PAGES} 403 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/campaigns/{campaign_id}/audits.csv": Row(get("/manage/campaigns/{campaign}/audits.csv"), f"200 200 403 {PAGES} {PAGES} 403 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/campaigns/{campaign_id}/answers.csv": Row(get("/manage/campaigns/{campaign}/answers.csv"), f"200 200 403 {PAGES} {PAGES} 403 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/campaigns/{campaign_id}/revoke": Row(campaign_fresh("revoke"), FORM_A, FORM_B),
    "POST /manage/campaigns/{campaign_id}/renew": Row(campaign_fresh("renew"), FORM_A, FORM_B),
    "GET /join/{token}": Row(get("/join/{token}"), OPEN),
    # the managers' sign-in and sign-out forms (no JavaScript): anyone may sign in; signing out ends the caller's own session
    "GET /manage/signin": Row(get("/manage/signin"), OPEN),
    "POST /manage/signin": Row(lambda o, obj: {"method": "POST", "url": "/manage/signin", "data": {"name": "auditor_a", "password": "password-auditor_a"}}, "303 303 303 303 303 303 303"),
    "POST /manage/signout": Row(lambda o, obj: {"method": "POST", "url": "/manage/signout", "data": {"csrf_token": ""}}, "303 303 303 303 303 303 303"),
    "POST /join/{token}": Row(lambda o, obj: {"method": "POST", "url": f"/join/{o[obj]['token']}", "data": {"display_name": "Matrix"}}, "303 303 303 303 303 303 303"),
    # people (issue 25): admins manage everyone; a manager the auditors and staff of their regions (A: staff_l1 of l1 in r1, B: auditor_b of r2)
    "GET /api/people": Row(get("/api/people"), REVIEWERS),
    "GET /api/people/{person_id}": Row(get("/api/people/{person}"), MANAGED_A, MANAGED_B),
    "PATCH /api/people/{person_id}": Row(lambda o, obj: {"method": "PATCH", "url": f"/api/people/{o[obj]['person']}", "json": {"email": "matrix@example.com"}}, MANAGED_A, MANAGED_B),
    "POST /api/people/{person_id}/disable": Row(fresh("new_person", "/api/people/{id}/disable"), MANAGED_A, MANAGED_B),
    "POST /api/people/{person_id}/enable": Row(fresh("new_person", "/api/people/{id}/enable"), MANAGED_A, MANAGED_B),
    "POST /api/people/{person_id}/forget": Row(fresh("new_person", "/api/people/{id}/forget"), MANAGED_A, MANAGED_B),
    "GET /manage/people": Row(get("/manage/people/"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/people/{person_id}": Row(get("/manage/people/{person}"), f"200 200 403 {PAGES} {PAGES} 403 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/people/{person_id}": Row(lambda o, obj: {"method": "POST", "url": f"/manage/people/{o[obj]['person']}", "data": o[obj]["person_form"]}, FORM_A, FORM_B),
    "POST /manage/people/{person_id}/disable": Row(person_form("disable"), FORM_A, FORM_B),
    "POST /manage/people/{person_id}/enable": Row(person_form("enable"), FORM_A, FORM_B),
    "POST /manage/people/{person_id}/sessions/end": Row(person_form("sessions/end"), FORM_A, FORM_B),
    "GET /manage/people/{person_id}/forget": Row(get("/manage/people/{person}/forget"), f"200 200 403 {PAGES} {PAGES} 403 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/people/{person_id}/forget": Row(person_form("forget"), FORM_A, FORM_B),
    # your own account: everyone signed in but participants; a token is revoked only by its owner (here the admin's: others are told there is none)
    "GET /account": Row(get("/account/"), f"200 200 200 200 200 200 {PAGES}"),
    "POST /account/tokens": Row(lambda o, obj: {"method": "POST", "url": "/account/tokens", "data": {"label": "matrix", "days": "1"}}, f"201 201 201 201 201 201 {PAGES}"),
    "POST /account/tokens/{token_id}/revoke": Row(lambda o, obj: {"method": "POST", "url": f"/account/tokens/{o[obj]['new_admin_token']()}/revoke", "data": {"csrf_token": ""}},
                                                  f"303 404 404 404 404 404 {PAGES}"),
    # one-time links (issue 25): the pages that take a secret are public and never tell whether a name exists
    "GET /setup/{secret}": Row(get("/setup/any-secret"), "409 409 409 409 409 409 409"),  # an admin exists: closed, whatever the secret
    "POST /setup/{secret}": Row(form("/setup/any-secret", name="eve", password="a long passphrase", again="a long passphrase"), "409 409 409 409 409 409 409"),
    "GET /enrol/{secret}": Row(lambda o, obj: {"method": "GET", "url": f"/enrol/{o[obj]['new_invitation']()}"}, OPEN),
    "POST /enrol/{secret}": Row(lambda o, obj: {"method": "POST", "url": f"/enrol/{o[obj]['new_invitation']()}", "data": {"password": "a long passphrase", "again": "a long passphrase"}},
                                "303 303 303 303 303 303 303"),
    "GET /reset/{secret}": Row(get("/reset/not-a-link"), "404 404 404 404 404 404 404"),
    "POST /reset/{secret}": Row(form("/reset/not-a-link", password="a long passphrase", again="a long passphrase"), "404 404 404 404 404 404 404"),
    "GET /forgot": Row(get("/forgot"), OPEN),
    "POST /forgot": Row(lambda o, obj: {"method": "POST", "url": "/forgot", "data": {"name": f"someone-{uuid.uuid4()}"}}, OPEN),
    "GET /account/password": Row(get("/account/password"), f"200 200 200 200 200 200 {PAGES}"),
    "POST /account/password": Row(form("/account/password", old_password="not the password", password="a long passphrase", again="a long passphrase"),
                                  f"422 422 422 422 422 422 {PAGES}"),
    "POST /api/me/password": Row(post("/api/me/password", old_password="not the password", password="a long passphrase"), "422 422 422 422 422 422 401"),
    "POST /api/invitations": Row(lambda o, obj: {"method": "POST", "url": "/api/invitations", "json": {"name": f"nia-{uuid.uuid4()}", "role": "auditor", "regions": [o[obj]["region"]]}},
                                 "201 201 422 403 403 403 401", "201 422 201 403 403 403 401"),
    "GET /manage/people/invite": Row(get("/manage/people/invite"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/people/invite": Row(lambda o, obj: {"method": "POST", "url": "/manage/people/invite", "data": {"csrf_token": "", "name": f"nia-{uuid.uuid4()}", "role": "auditor", "regions": o[obj]["region"]}},
                                      f"200 200 422 {PAGES} {PAGES} 403 {PAGES}", f"200 422 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/people/{person_id}/invite": Row(form("/manage/people/{invited}/invite"), f"200 200 403 {PAGES} {PAGES} 403 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/people/{person_id}/invite/revoke": Row(form("/manage/people/{invited}/invite/revoke"), f"303 303 403 {PAGES} {PAGES} 403 {PAGES}", f"303 403 303 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/people/{person_id}/reset": Row(form("/manage/people/{enrolled}/reset"), f"200 200 403 {PAGES} {PAGES} 403 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/people/import": Row(get("/manage/people/import"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/people/import": Row(lambda o, obj: {"method": "POST", "url": "/manage/people/import", "data": {"csrf_token": ""},
                                                      "files": {"file": ("people.csv", f"name,role,regions\nnia-{uuid.uuid4()},auditor,{o[obj]['region']}\n".encode(), "text/csv")}},
                                      f"200 200 422 {PAGES} {PAGES} 403 {PAGES}", f"200 422 200 {PAGES} {PAGES} 403 {PAGES}"),
    # places (issue 25): admins every location and region; a manager the locations of their regions; regions by admins only
    "GET /manage/locations": Row(get("/manage/locations"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/locations": Row(lambda o, obj: place_form("/manage/locations", id=f"add-{uuid.uuid4().hex[:8]}", name="Added", region="{region}")(o, obj),
                                  # a region not theirs is a problem of the form's region field, shown beside it: 422
                                  f"303 303 422 {PAGES} {PAGES} 403 {PAGES}", f"303 422 303 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/locations/{location_id}/edit": Row(get("/manage/locations/{location}/edit"), f"200 200 403 {PAGES} {PAGES} 403 {PAGES}", f"200 403 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/locations/{location_id}/edit": Row(place_form("/manage/locations/{id}/edit", name="Shop {id}", region="{region}"), FORM_A, FORM_B),
    "POST /manage/locations/{location_id}/deactivate": Row(place_form("/manage/locations/{id}/deactivate", "new_place", note="closed"), FORM_A, FORM_B),
    "POST /manage/locations/{location_id}/activate": Row(place_form("/manage/locations/{id}/activate", "new_inactive"), FORM_A, FORM_B),
    "POST /manage/regions": Row(lambda o, obj: place_form("/manage/regions", id=f"made-{uuid.uuid4().hex[:8]}", name="Made")(o, obj), ADMIN_FORM),
    "POST /manage/regions/{region_id}/rename": Row(place_form("/manage/regions/{region}/rename", name="{region}"), ADMIN_FORM),
    "GET /manage/locations/import": Row(get("/manage/locations/import"), f"200 403 403 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/locations/import": Row(places_csv, f"200 403 403 {PAGES} {PAGES} 403 {PAGES}"),
    "PATCH /api/locations/{location_id}": Row(place_api("/api/locations/{id}", method="PATCH", name="Shop matrix"), MANAGED_A, MANAGED_B),
    "POST /api/locations/{location_id}/deactivate": Row(place_api("/api/locations/{id}/deactivate", "new_place"), MANAGED_A, MANAGED_B),
    "POST /api/locations/{location_id}/activate": Row(place_api("/api/locations/{id}/activate", "new_inactive"), MANAGED_A, MANAGED_B),
    "POST /api/regions": Row(lambda o, obj: {"method": "POST", "url": "/api/regions", "json": {"id": f"made-{uuid.uuid4().hex[:8]}", "name": "Made"}}, "201 403 403 403 403 403 401"),
    "PATCH /api/regions/{region_id}": Row(place_api("/api/regions/{region}", method="PATCH", name="Region matrix"), ADMIN),
    # brands and checklists (issue 26): managers and admins read
    "GET /manage/brands": Row(get("/manage/brands/"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/brands/{brand_id}/checklists/{checklist_id}": Row(get("/manage/brands/acme/checklists/visit"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/brands/{brand_id}/draft": Row(get("/manage/brands/acme/draft"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    "GET /manage/brands/{brand_id}/draft/{file}": Row(get("/manage/brands/acme/draft/visit.yaml"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    # admins edit and publish; a new draft for each request that needs one (a save or a publish moves its revision on)
    "POST /manage/brands/{brand_id}/draft/{file}": Row(lambda o, obj: {"method": "POST", "url": "/manage/brands/acme/draft/visit.yaml", "data": o[obj]["draft_form"]()}, ADMIN_FORM),
    "POST /manage/brands/{brand_id}/publish": Row(lambda o, obj: {"method": "POST", "url": "/manage/brands/acme/publish", "data": {"csrf_token": "", "note": "matrix", "revision": str(o[obj]["new_draft"]())}}, ADMIN_FORM),
    "GET /manage/brands/{brand_id}/draft/{file}/workbook": Row(get("/manage/brands/acme/draft/visit.yaml/workbook"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/brands/{brand_id}/draft/{file}/workbook": Row(lambda o, obj: {"method": "POST", "url": "/manage/brands/acme/draft/visit.yaml/workbook",
                                                                           "data": {"csrf_token": "", "revision": "0"}, "files": {"file": ("visit.xlsx", o[obj]["workbook"]())}}, ADMIN_FORM),
    "GET /manage/brands/{brand_id}/draft/{file}/form": Row(get("/manage/brands/acme/draft/visit.yaml/form"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    "POST /manage/brands/{brand_id}/draft/{file}/form": Row(lambda o, obj: {"method": "POST", "url": "/manage/brands/acme/draft/visit.yaml/form",
                                                                       "data": {"csrf_token": "", "revision": o[obj]["draft_form"]()["revision"], "action": "save"}}, ADMIN_FORM),
    "GET /api/drafts/{brand_id}": Row(get("/api/drafts/acme"), REVIEWERS),
    "GET /api/drafts/{brand_id}/test-audits": Row(get("/api/drafts/acme/test-audits"), REVIEWERS),
    "POST /api/drafts/{brand_id}/test-audits": Row(lambda o, obj: {"method": "POST", "url": "/api/drafts/acme/test-audits", "json": audit_body(GOOD_VISIT, location=o[obj]["location"])},
                                                   REVIEWERS.replace("200", "201")),
    "POST /manage/brands/{brand_id}/copy": Row(lambda o, obj: {"method": "POST", "url": "/manage/brands/acme/copy", "data": {"csrf_token": "", "id": f"copy_{uuid.uuid4().hex[:8]}", "name": "A copy"}}, ADMIN_FORM),
    "POST /manage/brands/{brand_id}/draft/discard": Row(lambda o, obj: (o[obj]["new_draft"](), {"method": "POST", "url": "/manage/brands/acme/draft/discard", "data": {"csrf_token": ""}})[1], ADMIN_FORM),
    "GET /manage/brands/{brand_id}/checklists/{checklist_id}/diff": Row(get("/manage/brands/acme/checklists/visit/diff"), f"200 200 200 {PAGES} {PAGES} 403 {PAGES}"),
    # the app's shell, its files and the API's description: public by design, they hold no data
    "GET /": Row(get("/"), OPEN),
    "GET /sw.js": Row(get("/sw.js"), OPEN),
    "GET /icons/{name}": Row(get("/icons/192.png"), OPEN),
    "GET /{file_path}": Row(get("/app.css"), OPEN),
    "GET /manage/static/{file_path}": Row(get("/manage/static/manage.css"), OPEN),
    "GET /schema": Row(get("/schema"), OPEN),
    "GET /schema/openapi.json": Row(get("/schema/openapi.json"), OPEN),
    "GET /schema/{path}": Row(get("/schema/nothing-here"), "404 404 404 404 404 404 404"),  # the framework's not-found for schema pages
    "GET /schema/redoc/{file_path}": Row(get("/schema/redoc/redoc.standalone.js"), OPEN),
}
# the participant's column where the rule (public 200, managers' page 303, else 403) does not give it
PARTICIPANT = {
    "POST /api/logout": "200", "GET /api/me": "200", "GET /api/brands": "200", "GET /api/checklists": "200",
    "GET /api/checklists/{checklist_id}": "404",  # not a checklist of its campaign: not there for it
    "GET /api/regions": "200", "GET /api/locations": "200", "GET /api/audits": "200",  # none, its channels, its own audits
    "GET /api/campaign": "200", "POST /join/{token}": "303", "GET /schema/{path}": "404",
    "POST /manage/signout": "403",  # a browser session: the form's CSRF token is checked, and "" is not its token
    "GET /account": "403", "POST /account/tokens": "403", "POST /account/tokens/{token_id}/revoke": "403",  # a participant has no account page
    "GET /setup/{secret}": "409", "POST /setup/{secret}": "409", "GET /reset/{secret}": "404", "POST /reset/{secret}": "404",
    "GET /account/password": "403", "POST /account/password": "403",  # a participant has no password
}
# the same handler under another address: the PDF of an audit report
EXTRA = {"GET /manage/audits/{audit_id}.pdf": Row(get("/manage/audits/{audit}.pdf"), f"200 200 403 {PAGES} {PAGES} 200 {PAGES}", f"200 403 200 {PAGES} {PAGES} 404 {PAGES}")}


def app_routes(app) -> set[str]:
    """'METHOD /path' for every route the app serves (HEAD and OPTIONS are the framework's)."""
    from server.openapi import plain_path

    found = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                for method in handler.http_methods - {"HEAD", "OPTIONS"}:
                    found.add(f"{method} {plain_path(route.path)}")
    return found


def test_every_route_has_a_row_and_every_row_a_route(server):
    routes = app_routes(server.client.app)
    assert routes - MATRIX.keys() == set(), "a route without an entry in the access matrix"
    assert MATRIX.keys() - routes == set(), "an entry for a route the app no longer has"


@pytest.fixture
def objects(server):
    """Audit A (auditor_a, l1 in r1) and audit B (auditor_b, l4 in r2), each with a photo."""
    from tests.test_api_photos import put_photo

    made = {}
    # deliveries to a loopback port nobody listens on (refused at every attempt: the matrix only needs
    # rows), written straight in: the API refuses a loopback URL
    from server.db import write
    from server.followup import webhooks

    from server.mail import outbox

    with write(server.db):
        webhook = webhooks.register_in(server.db, "http://127.0.0.1:9/nobody", ["audit.submitted"], None)
        mail = outbox.queue(server.db, server.settings, to_address="someone@example.com", subject="Test", body="Hello", kind="test")
        server.db.execute("UPDATE mail SET state = 'failed', attempts = 8 WHERE id = ?", [mail])

    def new_webhook():
        return server.post("/api/webhooks", "admin", json={"url": "https://example.com/hook", "events": ["flag.raised"]}).json()["id"]

    def new_action(persona, location):
        """An audit that failed its critical item and was finished in a minute: an open action and a too-fast flag."""
        body = audit_body({**GOOD_VISIT, "resolved": "no"}, location=location, finished="2026-03-01T10:01:00+00:00")
        assert server.post("/api/audits", persona, json=body).status_code == 201
        return body["id"], server.db.execute("SELECT id FROM actions WHERE audit = ?", [body["id"]]).fetchone()[0]

    for name, persona, location, region in (("A", "auditor_a", "l1", "r1"), ("B", "auditor_b", "l4", "r2")):
        body = audit_body(GOOD_VISIT, location=location)
        response, _, photo_id = put_photo(server, persona, phone_jpeg(640, 480, seed=len(made)), body["id"])
        assert response.status_code == 201
        body["answers"]["greet"] = {"value": "yes", "photos": [photo_id]}
        assert server.post("/api/audits", persona, json=body).status_code == 201
        assignment = server.post("/api/assignments", "admin", json={"location": location, "touchpoints": ["visit"], "starts": "2027-01-04", "ends": "2027-01-08"}).json()["id"]
        made[name] = {"audit": body["id"], "photo": photo_id, "location": location, "region": region, "assignment": assignment,
                      "new_assignment": lambda location=location: server.post("/api/assignments", "admin", json={
                          "location": location, "touchpoints": ["visit"], "starts": "2027-01-04", "ends": "2027-01-08"}).json()["id"],
                      "new_schedule": lambda region=region: server.post("/api/schedules", "admin", json={
                          "region": region, "touchpoints": ["visit"], "every": "month", "first": "2027-01-01", "periods": 1}).json()["id"]}
        flagged, action = new_action(persona, location)
        closed = server.post(f"/api/actions/{action}/close", "admin", files={"note": (None, "Done."), "photo": ("p.jpg", phone_jpeg(320, 240), "image/jpeg")})
        assert closed.status_code == 200, closed.text
        made[name].update(
            flagged=flagged, action=action, flag=server.db.execute("SELECT id FROM flags WHERE audit = ?", [flagged]).fetchone()[0],
            new_action=lambda persona=persona, location=location: new_action(persona, location)[1], webhook=webhook, new_webhook=new_webhook, mail=mail,
            delivery=server.db.execute("SELECT id FROM deliveries LIMIT 1").fetchone()[0])
    # a campaign on a channel of each region, running for a day; the participant persona joined A's
    import datetime as dt

    from server.accounts import accounts
    from server.campaigns import campaigns

    assert server.post("/api/locations", "admin", json=[{"id": f"line-{r}", "name": f"Line {r}", "region": r, "kind": "phone", "contact": "+44 20 7946 0000"}
                                                       for r in ("r1", "r2")]).status_code == 201
    now = dt.datetime.now(dt.UTC)
    for name, region in (("A", "r1"), ("B", "r2")):
        def new_campaign(region=region):
            return campaigns.create(server.db, accounts.user_by_name(server.db, "admin"), f"Campaign {region}", "acme", "", "UTC",
                                    now - dt.timedelta(hours=1), now + dt.timedelta(days=1), {f"line-{region}": "call"})
        campaign = new_campaign()
        made[name].update(channel=f"line-{region}", campaign=campaign, new_campaign=new_campaign,
                          token=server.db.execute("SELECT token FROM campaign_links WHERE campaign = ?", [campaign]).fetchone()[0])

    def join():
        server.client.cookies.clear()
        assert server.client.post(f"/join/{made['A']['token']}", data={"display_name": ""}, follow_redirects=False).status_code == 303
        cookie = server.client.cookies.get("tp_session")
        server.client.cookies.clear()
        return {"cookie": cookie, "csrf_token": server.client.get("/api/me", cookies={"tp_session": cookie}).json()["csrf_token"]}

    # people: A is staff_l1 (l1, r1), B auditor_b (r2); a new one of each for the buttons that change them
    import itertools

    counter = itertools.count()

    def new_person(role, region, location=None):
        name = f"matrix-{role}-{next(counter)}"
        accounts.add_user(server.db, name, role, [] if location else [region], f"password-{name}", location=location)
        return accounts.user_by_name(server.db, name).id

    made["A"].update(person=accounts.user_by_name(server.db, STAFF).id, new_person=lambda: new_person("staff", "r1", "l1"),
                     person_form={"role": "staff", "location": "l1", "email": "matrix@example.com"})
    made["B"].update(person=accounts.user_by_name(server.db, "auditor_b").id, new_person=lambda: new_person("auditor", "r2"),
                     person_form={"role": "auditor", "regions": "r2", "email": "matrix@example.com"})
    admin = accounts.user_by_name(server.db, "admin")
    for name in ("A", "B"):
        made[name]["new_admin_token"] = lambda: (accounts.new_token(server.db, admin, label="matrix"),
                                                 server.db.execute("SELECT max(id) FROM api_tokens").fetchone()[0])[1]
    made["participant"] = {**join(), "join": join}
    # invitations: a person invited to each region (sent again, revoked), and an enrolled person each region's manager manages
    from server.accounts import accounts as people

    for name, region, enrolled in (("A", "r1", "staff_l1"), ("B", "r2", "auditor_b")):
        invited = server.post("/api/invitations", "admin", json={"name": f"invited-{region}", "role": "auditor", "regions": [region]}).json()["person"]

        def new_invitation(region=region):
            return server.post("/api/invitations", "admin", json={"name": f"nia-{uuid.uuid4()}", "role": "auditor", "regions": [region]}).json()["link"].rsplit("/", 1)[1]
        made[name].update(invited=invited, enrolled=people.user_by_name(server.db, enrolled).id, new_invitation=new_invitation)
    # places: a new location of each region for the buttons that deactivate, one deactivated for those that activate
    for name, region in (("A", "r1"), ("B", "r2")):
        def new_place(region=region):
            place = f"place-{uuid.uuid4().hex[:8]}"
            assert server.post("/api/locations", "admin", json=[{"id": place, "name": "A place", "region": region}]).status_code == 201
            return place

        def new_inactive(new_place=new_place):
            place = new_place()
            assert server.post(f"/api/locations/{place}/deactivate", "admin").status_code == 200
            return place
        made[name].update(new_place=new_place, new_inactive=new_inactive)
    # drafts: the published visit checklist saved again (a change of nothing but a comment), at the draft's revision
    from server.checklists import drafts, workbook
    from server.db import write

    def draft_revision():
        row = server.db.execute("SELECT revision FROM drafts WHERE brand = 'acme'").fetchone()
        return row[0] if row else 0

    def visit_text():
        return server.client.app.state.catalog.brands["acme"].checklists["visit"].source.decode()

    def new_draft():
        with write(server.db):
            drafts.save(server.db, admin, server.client.app.state.catalog.brands, "acme", "visit.yaml", visit_text() + f"# matrix {uuid.uuid4()}\n", draft_revision())
        return draft_revision()

    for name in ("A", "B"):
        made[name].update(workbook=lambda: workbook.to_workbook(visit_text().encode(), "visit.yaml"), new_draft=new_draft, draft_form=lambda: {"csrf_token": "", "text": visit_text(), "revision": str(draft_revision())})
    return made


def participant_status(key: str, row: Row) -> str:
    if key in PARTICIPANT:
        return PARTICIPANT[key]
    anonymous = row.a[-1]
    return "200" if anonymous == "200" else "303" if anonymous == PAGES else "403"


def test_the_access_matrix(server, objects):
    cells, wrong = 0, []
    participant = objects["participant"]
    for key, row in {**MATRIX, **EXTRA}.items():
        for obj, expected in (("A", row.a), ("B", row.b)):
            for persona, status in zip([*PERSONAS, "participant"], [*expected, participant_status(key, row)], strict=True):
                request = row.make(objects, obj)
                headers = {**request.pop("headers", {}), **(server.auth(persona) if persona not in (None, "participant") else {})}
                server.client.cookies.clear()
                if persona == "participant":  # signed in by the session its join made, as on the phone
                    who = participant["join"]() if key == "POST /api/logout" else participant  # signing out ends a session: another's
                    headers["X-CSRF-Token"] = who["csrf_token"]
                    request["cookies"] = {"tp_session": who["cookie"]}
                response = server.client.request(**request, headers=headers, follow_redirects=False)
                cells += 1
                if response.status_code != int(status):
                    wrong.append(f"{key} [{obj}] as {persona or 'anonymous'}: expected {status}, got {response.status_code} {response.text[:120]}")
    assert not wrong, "\n".join(wrong)
    FIGURES["access matrix"] = f"{len(MATRIX)} routes (and the PDF address) x {len(PERSONAS) + 1} personas (a campaign's participant too) x 2 objects: {cells} requests, each with the status expected"
