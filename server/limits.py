"""Every limit on what an audit may hold, in one place, with why. The README's table is made from
LIMITS (a test checks it). Beyond a limit the audit is refused with a 422 naming the field;
nothing is stored. Pure: no web or database imports."""

import datetime as dt

import msgspec

from server import text
from server.checklists.format import NumberItem, TextItem, TimerItem
from server.checklists.loader import LoadedChecklist


class Limit(msgspec.Struct, frozen=True):
    value: int
    what: str
    why: str


LIMITS = {
    "answers": Limit(500, "answers in one audit", "the largest checklist we know has under 200 items"),
    "text": Limit(5_000, "characters in a text answer", "about two pages; an observation, not a document"),
    "comment": Limit(2_000, "characters in a comment", "a paragraph beside one answer"),
    "photos_per_answer": Limit(10, "photos named by one answer", "evidence, not an album"),
    "photos_per_audit": Limit(60, "photos named by one audit", "an audit waits for every photo it names"),
    "id": Limit(100, "characters in a location, checklist, visit or photo id", "ids are short keys"),
    "number": Limit(1_000_000, "the largest value of a number item", "counts and measures a shopper takes"),
    "timer": Limit(86_400, "the largest value of a timer item, in seconds (a day)", "a stopwatch run on one visit"),
    "visit_hours": Limit(24, "hours from started_at to finished_at", "one visit, not a week"),
    "ahead_hours": Limit(24, "hours finished_at may be ahead of the server's clock", "time zones and phone clocks, nothing more"),
    "age_days": Limit(365, "days finished_at may be behind the server's clock (the setting TOUCHPOINT_AUDIT_MAX_AGE_DAYS)", "a phone offline for a year has nothing to add to this year's figures"),
}


MAX_AUDIT_BYTES = 4 * 1024 * 1024  # the JSON of 500 answers at their longest is under 3.6 MB; larger is a 413


def problems(audit, loaded: LoadedChecklist, now: dt.datetime, max_age_days: int = LIMITS["age_days"].value) -> list[tuple[str, str]]:
    """(field, message) for every limit the audit breaks; [] when it keeps them all."""
    found = []
    for field in ("location", "checklist", "visit"):
        value = getattr(audit, field)
        if value is not None and len(value) > LIMITS["id"].value:
            found.append((field, f"{len(value):,} characters; at most {LIMITS['id'].value}"))
        elif value is not None and (why := text.problem(value, LIMITS["id"].value)) is not None:
            found.append((field, why))
    if len(audit.answers) > LIMITS["answers"].value:
        found.append(("answers", f"{len(audit.answers):,} answers; at most {LIMITS['answers'].value} in one audit"))
        return found  # no point naming each of thousands
    items = {item.id: item for item in loaded.checklist.items()}
    photos = 0
    for item_id, answer in audit.answers.items():
        place = f"answers.{item_id}"
        if len(item_id) > LIMITS["id"].value:
            found.append((place, f"an item id of {len(item_id):,} characters; at most {LIMITS['id'].value}"))
        item, value = items.get(item_id), answer.value
        if isinstance(item, TextItem) and isinstance(value, str) and len(value) > LIMITS["text"].value:
            found.append((f"{place}.value", f"{len(value):,} characters; at most {LIMITS['text'].value:,}"))
        elif isinstance(value, str) and (why := text.problem(value, LIMITS["text"].value, lines=True)) is not None:
            found.append((f"{place}.value", why))
        ceiling = LIMITS["timer"] if isinstance(item, TimerItem) else LIMITS["number"] if isinstance(item, NumberItem) else None
        if ceiling and type(value) in (int, float) and value > ceiling.value:
            found.append((f"{place}.value", f"{value:g} is above {ceiling.value:,}, {ceiling.what}"))
        if answer.comment is not None and len(answer.comment) > LIMITS["comment"].value:
            found.append((f"{place}.comment", f"{len(answer.comment):,} characters; at most {LIMITS['comment'].value:,}"))
        elif answer.comment is not None and (why := text.problem(answer.comment, LIMITS["comment"].value, lines=True)) is not None:
            found.append((f"{place}.comment", why))
        if len(answer.photos) > LIMITS["photos_per_answer"].value:
            found.append((f"{place}.photos", f"{len(answer.photos):,} photos; at most {LIMITS['photos_per_answer'].value}"))
        if any(len(p) > LIMITS["id"].value for p in answer.photos):
            found.append((f"{place}.photos", f"a photo id longer than {LIMITS['id'].value} characters"))
        photos += len(answer.photos)
    if photos > LIMITS["photos_per_audit"].value:
        found.append(("answers", f"{photos:,} photos in all; at most {LIMITS['photos_per_audit'].value} in one audit"))
    return found + clock_problems(audit.started_at, audit.finished_at, now, max_age_days)


def clock_problems(started: dt.datetime, finished: dt.datetime, now: dt.datetime, max_age_days: int) -> list[tuple[str, str]]:
    found = []
    if finished > now + dt.timedelta(hours=LIMITS["ahead_hours"].value):
        found.append(("finished_at", f"{finished.isoformat()} is more than {LIMITS['ahead_hours'].value} hours ahead of the server's clock ({now.isoformat(timespec='seconds')})"))
    elif finished < now - dt.timedelta(days=max_age_days):
        found.append(("finished_at", f"{finished.isoformat()} is more than {max_age_days:,} days ago"))
    if finished >= started and finished - started > dt.timedelta(hours=LIMITS["visit_hours"].value):
        found.append(("started_at", f"{started.isoformat()} is more than {LIMITS['visit_hours'].value} hours before finished_at"))
    return found


def table() -> str:
    """The README's table of limits."""
    rows = ["| limit | value | why |", "|---|---|---|"]
    rows += [f"| {limit.what} | {limit.value:,} | {limit.why} |" for limit in LIMITS.values()]
    return "\n".join(rows)
