"""One audit as a report a manager would forward: every answer in words, beside its points,
comment and photos; critical failures first. Pure: it reads an audit and its checklist version."""

import msgspec

from server.audits.audits import AuditOut, Evidence
from server.checklists.format import AnyItem, Brand, ChoiceItem, NumberItem, ScaleItem, TimerItem, YesNoItem
from server.checklists.loader import LoadedChecklist
from server.checklists.scoring import Answer


class AnswerRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    text: str
    said: str  # the answer in words: "Yes", "4 of 1 to 5 (Warm)", "215 seconds", "not asked"
    f: float | None
    earned: float
    possible: float
    comment: str | None
    photos: list[Evidence]
    critical: bool
    failed: bool  # a critical item that failed


def taken(photo: Evidence) -> str:
    """The camera's capture time ("2026:10:30 16:01:00", its own local time) as a reader writes it."""
    if not photo.taken_at or len(photo.taken_at) < 16:
        return "time unknown"
    return f"{photo.taken_at[:10].replace(':', '-')} {photo.taken_at[11:16]}"


class SectionRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    score: float | None
    answers: list[AnswerRow]


class PillarScore(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    score: float | None
    target: float


class Report(msgspec.Struct, frozen=True, kw_only=True):
    audit: AuditOut
    brand: str
    promise: str
    location: str
    region: str
    touchpoint: str
    threshold: float
    critical: list[AnswerRow]
    sections: list[SectionRow]
    pillars: list[PillarScore]


def said(item: AnyItem, answer: Answer | None) -> str:
    """The answer as the auditor meant it."""
    if answer is None or answer.value is None:
        return "no answer"
    value = answer.value
    if value == "na":
        return "N/A"
    if isinstance(item, YesNoItem):
        return "Yes" if value == "yes" else "No"
    if isinstance(item, ChoiceItem):
        return next((o.label for o in item.options if o.value == value), str(value))
    if isinstance(item, ScaleItem):
        label = item.labels.get(value)
        return f"{value} of {item.min} to {item.max}" + (f" ({label})" if label else "")
    if isinstance(item, TimerItem):
        return f"{value:g} seconds"
    if isinstance(item, NumberItem):
        return f"{value:g} {item.unit}".strip()
    return str(value)  # text


def report(audit: AuditOut, brand: Brand, loaded: LoadedChecklist, location: str, region: str) -> Report:
    photos = {p.id: p for p in audit.photos}
    result = audit.result
    failed = set(result.critical_failed)
    sections = []
    for section in loaded.checklist.sections:
        rows = []
        for item in section.items:
            answer = audit.answers.get(item.id)
            points = result.items.get(item.id)
            if (answer is None and item.show_if is not None) or item.id in result.ignored:
                continue  # a follow-up question that did not arise: nothing to say
            rows.append(AnswerRow(
                id=item.id, text=item.text, said=said(item, answer), f=points.f if points else None,
                earned=points.earned if points else 0.0, possible=points.possible if points else 0.0,
                comment=answer.comment if answer else None, photos=[photos[p] for p in (answer.photos if answer else []) if p in photos],
                critical=item.critical, failed=item.id in failed,
            ))
        sections.append(SectionRow(id=section.id, title=section.title, score=result.sections.get(section.id), answers=rows))
    critical = [row for s in sections for row in s.answers if row.failed]
    pillars = [PillarScore(name=p.name, score=result.pillars.get(p.id), target=p.target) for p in brand.pillars]
    return Report(audit=audit, brand=brand.name, promise=brand.promise, location=location, region=region, touchpoint=loaded.checklist.title,
                  threshold=brand.threshold, critical=critical, sections=sections, pillars=pillars)
