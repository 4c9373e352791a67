"""Campaign pages: in the managers' web, the list and the form to start one, the results (live while
it runs), the meeting room's big screen, the A4 poster with the QR code, the link's revoke and
renew, the exports; for everyone with the link, the join page. Plain HTML; no JavaScript needed."""

import dataclasses
import datetime as dt
from typing import Annotated

from server.db import Database
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from server import forms, links
from server.visibility import Viewer
from server.locations import locations
from server.forms import Refusal, refusal, several
from server.auth import SESSION_COOKIE, check_form
from server.campaigns import campaigns, compare, participants, qr, results
from server.campaigns.campaigns import Campaign, problem
from server.errors import ApiError, ApiProblem, forbidden, invalid, too_many
from server.followup.api import RowId
from server.reports import export
from server.forms import TokenForm
from server import text
from server.accounts import accounts
from server.notices import notice

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
MODES = {"phone": "phone", "website": "web", "chat": "chat", "email": "email"}  # a channel's kind -> the checklist mode that fits it
KIND_NAMES = {"phone": "phone line", "website": "website", "chat": "chat", "email": "e-mail address"}
MAX_NAME, MAX_INSTRUCTIONS = 120, 2000
REFRESH_SECONDS = 20  # the big screen reloads itself this often


@dataclasses.dataclass
class CampaignForm:
    csrf_token: str = ""
    name: str = ""
    instructions: str = ""
    starts: str = ""  # datetime-local: 2026-12-01T09:00
    ends: str = ""
    zone: str = "UTC"
    channels: list[str] | str | None = None  # "location:checklist", one per channel


@dataclasses.dataclass
class JoinForm:
    display_name: str = ""


_managers = forms.managers_only("campaigns")


def join_url(request: Request, token: str) -> str:
    """The join link as people outside open it (server.links: the public address)."""
    return links.outside(request.app.state.settings, request, f"/join/{token}")


def channel_choices(db, catalog, user) -> list[dict]:
    """Every channel the user may run a campaign on, with the checklists that fit it."""
    found = []
    for location in locations.listing(db, None if user.role == "admin" else user.regions):
        if not location.channel or location.brand not in catalog.brands:
            continue
        loaded = catalog.brands[location.brand]
        fitting = [c.checklist for c in loaded.checklists.values() if c.checklist.mode == MODES[location.kind]] or [c.checklist for c in loaded.checklists.values()]
        found.append({"location": location, "kind": KIND_NAMES[location.kind], "checklists": fitting})
    return found


def _parse(data: CampaignForm, db, catalog, user) -> tuple[dict, list[ApiProblem]]:
    problems = []
    name, instructions, zone = data.name.strip(), data.instructions.strip(), data.zone.strip() or "UTC"
    if not name:
        problems.append(problem("name", f"expected a name of 1 to {MAX_NAME} characters"))
    for field, value, most, lines in (("name", name, MAX_NAME, False), ("instructions", instructions, MAX_INSTRUCTIONS, True), ("zone", zone, 100, False)):
        if (why := text.problem(value, most, lines)) is not None:
            problems.append(problem(field, why))
    if (why := campaigns.zone_problem(zone)) is not None:
        problems.append(problem("zone", why))
    times = {}
    for field in ("starts", "ends"):
        try:
            times[field] = dt.datetime.fromisoformat(getattr(data, field).strip()).replace(tzinfo=None)  # a wall-clock time in the zone chosen
        except ValueError:
            problems.append(problem(field, f"expected a date and time such as 2026-12-01T09:00, got {getattr(data, field)!r}"))
    if len(times) == 2:
        problems += [problem(field, why) for field, why in campaigns.time_problems(times["starts"], times["ends"], dt.datetime.now(dt.UTC))]
    chosen = several(data.channels)
    choices = {c["location"].id: c for c in channel_choices(db, catalog, user)}
    channels: dict[str, str] = {}
    for pair in chosen:
        location, _, checklist = pair.partition(":")
        if location not in choices:
            problems.append(problem("channels", f"{location!r} is not a channel in your regions"))
        elif checklist not in {c.id for c in choices[location]["checklists"]}:
            problems.append(problem("channels", f"{location!r} has no checklist {checklist!r} to run"))
        elif location in channels:
            problems.append(problem("channels", f"{choices[location]['location'].name}: one checklist per channel, got {channels[location]} and {checklist}"))
        else:
            channels[location] = checklist
    if not chosen:
        problems.append(problem("channels", "choose at least one channel and its checklist"))
    brands = {choices[c]["location"].brand for c in channels}
    if len(brands) > 1:
        problems.append(problem("channels", f"one brand per campaign, got {', '.join(sorted(brands))}"))
    fields = {"name": name, "instructions": instructions, "zone": zone, "channels": channels, "brand": next(iter(brands), None)}
    if not problems:
        fields["starts_at"], fields["ends_at"] = (campaigns.in_zone(times[f], zone) for f in ("starts", "ends"))
    return fields, problems


def _results(request: Request, state: State, db: Database, campaign_id: int) -> tuple[Campaign, results.Results]:
    campaign = campaigns.in_scope(db, request.user, campaign_id)
    return campaign, results.read(db, state.catalog, campaign)


class Campaigns(Controller):
    path = "/manage/campaigns"
    include_in_schema = False
    before_request = _managers

    @get("/", sync_to_thread=True)
    def campaign_list(self, request: Request, state: State, db: Database) -> Template:
        """The campaigns the user may see, and the form to start one."""
        return self._list(request, state, db)

    @staticmethod
    def _list(request: Request, state: State, db: Database, refused: Refusal | None = None, status: int = 200) -> Template:
        now = dt.datetime.now(dt.UTC)
        found = campaigns.listing(db, request.user)
        calls = campaigns.call_counts(db)
        return Template("campaigns/campaigns.html", status_code=status, context={
            "user": request.user, "items": found, "now": now, "calls": calls, "csrf": request.auth.csrf_token or "",
            "choices": channel_choices(db, state.catalog, request.user), "refused": refused,
            "counted": [b.brand.name for b in state.catalog.brands.values() if b.brand.campaigns.count]})

    @post("/", sync_to_thread=True, opt={"form": True, "media": "form"})
    def campaign_add(self, request: Request, state: State, data: Annotated[CampaignForm, Form], db: Database) -> Redirect | Template:
        check_form(request, data.csrf_token)
        try:
            fields, problems = _parse(data, db, state.catalog, request.user)
            campaigns.refuse(problems)
            made = campaigns.create(db, request.user, fields["name"], fields["brand"], fields["instructions"], fields["zone"],
                                    fields["starts_at"], fields["ends_at"], fields["channels"])
        except ApiError as exc:
            return self._list(request, state, db, refusal(exc, "campaign", data, ("name", "instructions", "channels", "starts", "ends", "zone")), exc.status)
        return Redirect(f"/manage/campaigns/{made}?said=made", status_code=303)

    @get("/{campaign_id:int}", sync_to_thread=True)
    def campaign_page(self, request: Request, state: State, campaign_id: RowId, db: Database, said: FromQuery[str | None] = None) -> Template:
        """The results, live while it runs, with the join link and its QR code, and the comparison with earlier campaigns."""
        campaign, found = _results(request, state, db, campaign_id)
        return Template("campaigns/campaign.html", context={
            "user": request.user, "c": campaign, "r": found, "now": dt.datetime.now(dt.UTC), "csrf": request.auth.csrf_token or "", "said": notice("campaign", said),
            "url": join_url(request, campaign.link.token) if campaign.link else None, "qr": qr.svg(join_url(request, campaign.link.token)) if campaign.live else None,
            "lines": compare.lines(db, state.catalog, campaign, found), "when": results.when,
            "address_warning": links.warning(state.settings, request) if campaign.live else None,
            "titles": {t: c.checklist.title for b in state.catalog.brands.values() for t, c in b.checklists.items()},
        })

    @get("/{campaign_id:int}/screen", sync_to_thread=True)
    def screen(self, request: Request, state: State, campaign_id: RowId, db: Database) -> Template:
        """For the meeting room's big screen: the headline figures and the newest comments, reloading itself."""
        campaign, found = _results(request, state, db, campaign_id)
        return Template("campaigns/screen.html", context={"c": campaign, "r": found, "now": dt.datetime.now(dt.UTC), "refresh": REFRESH_SECONDS,
                                                "when": results.when, "url": join_url(request, campaign.link.token) if campaign.live else None,
                                                "qr": qr.svg(join_url(request, campaign.link.token)) if campaign.live else None})

    @get("/{campaign_id:int}/poster", sync_to_thread=True)
    def poster(self, request: Request, state: State, campaign_id: RowId, db: Database) -> Template:
        """An A4 page to print and pin up: the campaign, what to do, and the QR code."""
        campaign = campaigns.in_scope(db, request.user, campaign_id)
        if not campaign.live:
            raise invalid("the join link is revoked: renew it to print a poster")
        url = join_url(request, campaign.link.token)
        return Template("campaigns/poster.html", context={"c": campaign, "url": url, "qr": qr.svg(url, scale=10), "kinds": KIND_NAMES})

    @get("/{campaign_id:int}/qr.svg", sync_to_thread=True)
    def qr_svg(self, request: Request, state: State, campaign_id: RowId, db: Database) -> Response[str]:
        return Response(qr.svg(self._live_url(request, state, db, campaign_id)), media_type="image/svg+xml",
                        headers={"Content-Disposition": f'inline; filename="campaign-{campaign_id}-qr.svg"'})

    @get("/{campaign_id:int}/qr.png", sync_to_thread=True)
    def qr_png(self, request: Request, state: State, campaign_id: RowId, db: Database) -> Response[bytes]:
        return Response(qr.png(self._live_url(request, state, db, campaign_id)), media_type="image/png",
                        headers={"Content-Disposition": f'inline; filename="campaign-{campaign_id}-qr.png"'})

    @staticmethod
    def _live_url(request: Request, state: State, db: Database, campaign_id: int) -> str:
        campaign = campaigns.in_scope(db, request.user, campaign_id)
        if not campaign.live:
            raise invalid("the join link is revoked: renew it for a new QR code")
        return join_url(request, campaign.link.token)

    @post("/{campaign_id:int}/revoke", sync_to_thread=True, opt={"form": True, "media": "form"})
    def revoke(self, request: Request, state: State, campaign_id: RowId, data: Annotated[TokenForm, Form], db: Database) -> Redirect:
        check_form(request, data.csrf_token)
        campaigns.in_scope(db, request.user, campaign_id)
        campaigns.revoke(db, campaign_id)
        return Redirect(f"/manage/campaigns/{campaign_id}?said=revoked", status_code=303)

    @post("/{campaign_id:int}/renew", sync_to_thread=True, opt={"form": True, "media": "form"})
    def renew(self, request: Request, state: State, campaign_id: RowId, data: Annotated[TokenForm, Form], db: Database) -> Redirect:
        check_form(request, data.csrf_token)
        campaigns.in_scope(db, request.user, campaign_id)
        campaigns.renew(db, campaign_id)
        return Redirect(f"/manage/campaigns/{campaign_id}?said=renewed", status_code=303)

    @get("/{campaign_id:int}/audits.csv", sync_to_thread=True)
    def audits_csv(self, request: Request, state: State, campaign_id: RowId, db: Database, viewer: Viewer) -> Response:
        """The campaign's audits, with the same columns as the main export."""
        campaigns.in_scope(db, request.user, campaign_id)
        return export.audits_stream(request, state, viewer, ["a.campaign = ?"], [campaign_id], f"campaign-{campaign_id}-audits.csv")

    @get("/{campaign_id:int}/answers.csv", sync_to_thread=True)
    def answers_csv(self, request: Request, state: State, campaign_id: RowId, db: Database) -> Response:
        """The campaign's answers, with the same columns as the main export."""
        campaigns.in_scope(db, request.user, campaign_id)
        return export.answers_stream(request, state, db, ["a.campaign = ?"], [campaign_id], f"campaign-{campaign_id}-answers.csv")


# --- the join link: public ----------------------------------------------------------------------


def _link(state: State, db: Database, token: str) -> tuple[Campaign | None, campaigns.Link | None, tuple[int, str, str] | None]:
    if not campaigns.TOKEN.match(token):
        return None, None, (400, "This link is malformed", "The join link is cut short or has extra characters. Open it again from the message or the poster, or scan the QR code.")
    campaign, link = campaigns.by_token(db, token)
    return campaign, link, participants.link_problem(campaign, link, dt.datetime.now(dt.UTC))


def _problem_page(status: int, title: str, sentence: str) -> Template:
    return Template("campaigns/join_problem.html", context={"title": title, "sentence": sentence}, status_code=status)


@get("/join/{token:str}", exclude_from_auth=True, sync_to_thread=False, include_in_schema=False)
def join_page(request: Request, state: State, token: FromPath[str], db: Database) -> Template:
    """What the campaign is about, and a display name to give (or not)."""
    campaign, link, wrong = _link(state, db, token)
    if wrong:
        return _problem_page(*wrong)
    return Template("campaigns/join.html", context={"c": campaign, "token": token, "now": dt.datetime.now(dt.UTC), "kinds": KIND_NAMES,
                                          "most": participants.MAX_DISPLAY_NAME, "name": "", "error": None})


@post("/join/{token:str}", exclude_from_auth=True, sync_to_thread=True, include_in_schema=False, opt={"media": "form"})
def join(request: Request, state: State, token: FromPath[str], data: Annotated[JoinForm, Form], db: Database) -> Template | Redirect:
    """Join: a participant and its session, then the app. Too many joins from one address wait."""
    campaign, link, wrong = _link(state, db, token)
    if wrong:
        return _problem_page(*wrong)
    why = participants.display_name_problem(db, data.display_name)
    if why:
        return Template("campaigns/join.html", context={"c": campaign, "token": token, "now": dt.datetime.now(dt.UTC), "kinds": KIND_NAMES,
                                              "most": participants.MAX_DISPLAY_NAME, "name": data.display_name, "error": f"Display name: {why}."}, status_code=422)
    wait = participants.join_wait(db, request.client.host if request.client else "unknown", state.settings.joins_per_minute)
    if wait:
        raise too_many(f"many people joined from this network in the last minute: wait {wait} s and join again", wait)
    user = participants.join(db, campaign, link, data.display_name)
    session = accounts.new_session(db, user, participants.session_hours(campaign, dt.datetime.now(dt.UTC)))
    cookie = Cookie(key=SESSION_COOKIE, value=session.token, httponly=True, samesite="lax", path="/", secure=request.url.scheme == "https",
                    max_age=int((session.expires_at - dt.datetime.now(dt.UTC)).total_seconds()))
    return Redirect("/#/campaign", status_code=303, cookies=[cookie])


HANDLERS = [Campaigns, join_page, join]
