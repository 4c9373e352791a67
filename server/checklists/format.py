"""The brand and checklist file format: every key a typed field, constraints in the types."""

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

ItemId = Annotated[str, Meta(pattern=r"^[a-z0-9_]+$")]
BrandId = Annotated[str, Meta(pattern=r"^[a-z0-9_-]+$")]
Score100 = Annotated[float, Meta(ge=0, le=100)]
Fraction = Annotated[float, Meta(ge=0, le=1)]
NonNegative = Annotated[float, Meta(ge=0)]
Text = Annotated[str, Meta(min_length=1)]
#: A value an answer may be compared with in `show_if` (a yes/no, a choice value, a number).
AnswerValue = str | int | float

Mode = Literal["in_person", "phone", "web", "email", "chat"]
PhotoRule = Literal["none", "optional", "required"]
YesNo = Literal["yes", "no"]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """Base for file formats and payloads: an unknown key is a typo, never a silent no-op."""


class Pillar(Strict, kw_only=True):
    id: ItemId
    name: Text
    statement: str = ""
    target: Score100


class Integrity(Strict, kw_only=True):
    """When an audit is flagged for a reviewer's look (server.followup.integrity). Flags never change scores."""

    max_photo_distance_m: Annotated[float, Meta(gt=0)] = 300.0
    """A photo with GPS farther than this from the location."""
    photo_time_tolerance_minutes: Annotated[float, Meta(ge=0, le=24 * 60)] = 30.0
    """A photo taken more than this before the visit started or after it finished."""
    duplicate_photo_bits: Annotated[int, Meta(ge=0, le=8)] = 5
    """A photo whose 64-bit perceptual hash differs from one in another audit in at most this many bits."""
    seconds_per_item: NonNegative = 10.0
    """A visit shorter than this x its checklist's items (unless the checklist sets `min_minutes`)."""
    min_comment_chars: Annotated[int, Meta(ge=10)] = 40
    """A comment at least this long, word for word the same as one in another audit."""
    max_visits_per_auditor: Annotated[int, Meta(ge=1)] = 3
    """More audits than this of one location by one auditor within `visit_window_days`."""
    visit_window_days: Annotated[int, Meta(ge=1, le=366)] = 30


class Actions(Strict, kw_only=True):
    """Follow-up actions opened by a counting audit with a failed critical item or under the threshold."""

    owner: Literal["manager", "staff"] = "manager"
    """Who owns a new action: the region's manager, or the location's staff (the manager where it has none)."""
    due_days: Annotated[int, Meta(ge=1, le=365)] = 7


class Campaigns(Strict, kw_only=True):
    """Team campaigns ("call your own support line", server.campaigns) on the brand's channels."""

    count: bool = False
    """Campaign audits count in the mystery-shop figures (scores, rankings) too; by default they are kept apart."""


class Brand(Strict, kw_only=True):
    id: BrandId
    name: Text
    promise: Text
    threshold: Score100 = 80.0
    critical_cap: Score100 = 0.0
    credibility_k: NonNegative = 5.0
    pillars: list[Pillar] = []
    touchpoints: Annotated[list[ItemId], Meta(min_length=1)]
    review: bool = False  # audits count only once a manager approves them
    anonymous_auditors: bool = False  # managers see an auditor's code, not their name (staff never see either: server.visibility)
    integrity: Integrity = Integrity()
    actions: Actions = Actions()
    campaigns: Campaigns = Campaigns()


class ShowIf(Strict, kw_only=True):
    """Exactly one of `equals`, `not_equals`, `in` (checked by the loader, which can name the place)."""

    item: ItemId
    equals: AnswerValue | None = None
    not_equals: AnswerValue | None = None
    in_: list[AnswerValue] | None = msgspec.field(default=None, name="in")

    def holds(self, value: object) -> bool:
        if self.equals is not None:
            return value == self.equals
        if self.not_equals is not None:
            return value != self.not_equals
        return value in (self.in_ or ())


class Band(Strict, kw_only=True):
    """Holds when value <= at_most and value >= at_least; an absent bound always holds."""

    at_most: float | None = None
    at_least: float | None = None
    score: Fraction

    def holds(self, value: float) -> bool:
        return (self.at_most is None or value <= self.at_most) and (
            self.at_least is None or value >= self.at_least
        )


class Option(Strict, kw_only=True):
    value: Text
    label: Text
    score: Fraction | None = None


class Item(Strict, tag_field="type", kw_only=True):
    """Fields every item type has; the `type` key picks the subclass."""

    id: ItemId
    text: Text
    weight: NonNegative = 1.0
    pillars: list[ItemId] = []
    critical: bool = False
    na: bool = False
    required: bool = True
    photo: PhotoRule = "none"
    show_if: ShowIf | None = None
    help: str = ""
    figure: Annotated[str, Meta(max_length=40)] = ""
    """A headline of campaign results for a yes/no item: its share of "yes" under this name ("First-call resolution")."""


class YesNoItem(Item, tag="yes_no", kw_only=True):
    pass_: YesNo = msgspec.field(default="yes", name="pass")


class ScaleItem(Item, tag="scale", kw_only=True):
    min: int
    max: int
    labels: dict[int, Text] = {}
    """What points of the scale mean ({1: Curt, 5: Warm}); the app shows them beside the buttons."""


class NumberItem(Item, tag="number", kw_only=True):
    bands: Annotated[list[Band], Meta(min_length=1)]
    unit: str = ""


class TimerItem(Item, tag="timer", kw_only=True):
    bands: Annotated[list[Band], Meta(min_length=1)]


class ChoiceItem(Item, tag="choice", kw_only=True):
    options: Annotated[list[Option], Meta(min_length=1)]


class TextItem(Item, tag="text", kw_only=True):
    pass


AnyItem = YesNoItem | ScaleItem | NumberItem | TimerItem | ChoiceItem | TextItem


class Section(Strict, kw_only=True):
    id: ItemId
    title: Text
    items: Annotated[list[AnyItem], Meta(min_length=1)]


class Checklist(Strict, kw_only=True):
    id: ItemId
    title: Text
    mode: Mode
    critical_cap: Score100 | None = None
    min_minutes: NonNegative | None = None  # a shorter visit is flagged; default: items x integrity.seconds_per_item
    sections: Annotated[list[Section], Meta(min_length=1)]

    def items(self) -> list[AnyItem]:
        return [item for section in self.sections for item in section.items]
