"""The integrity rules: when an audit looks invented, and the evidence that says why. Pure: no web
or database imports (server.followup.flags applies them to the store).

A flag points a reviewer at something to look at; it never changes a score. Each kind:

- photo_far: a photo whose GPS lies more than `max_photo_distance_m` from the location.
- photo_time: a photo taken more than `photo_time_tolerance_minutes` before the visit started or
  after it finished. The camera writes local time without a zone; it is compared with the visit's
  times in the visit's own UTC offset.
- photo_reused: a photo within `duplicate_photo_bits` of 64 perceptual-hash bits of a photo in
  another audit (the later audit is flagged, with the earlier one as evidence).
- too_fast: a visit finished in less than the checklist's `min_minutes`, or items x
  `seconds_per_item` when it sets none.
- comment_copied: a comment (or text answer) of at least `min_comment_chars`, the same word for
  word (case and spacing aside) as one in another audit.
- visits_repeated: more than `max_visits_per_auditor` audits of one location by one auditor
  within `visit_window_days` (this audit's day and the days before it).

A photo without GPS or capture time (a screenshot, a camera that writes none) raises neither
photo_far nor photo_time: there is nothing to compare.
"""

import datetime as dt
import hashlib
from typing import Literal

import msgspec

from server.checklists.format import Checklist, Integrity

BANDS = ((43, 21), (22, 21), (0, 22))  # (shift, width): the 64-bit hash cut in three bands for the duplicate index
KINDS = ("photo_far", "photo_time", "photo_reused", "too_fast", "comment_copied", "visits_repeated")
Kind = Literal["photo_far", "photo_time", "photo_reused", "too_fast", "comment_copied", "visits_repeated"]


class _Evidence(msgspec.Struct, tag_field="kind", kw_only=True):
    """What a flag found; `kind` names it."""


class PhotoFar(_Evidence, tag="photo_far", kw_only=True):
    photo: str
    distance_m: float
    limit_m: float
    lat: float
    lng: float


class PhotoTime(_Evidence, tag="photo_time", kw_only=True):
    photo: str
    taken_at: str  # as the camera wrote it, local time
    started_at: str
    finished_at: str
    minutes_outside: float
    tolerance_minutes: float


class PhotoReused(_Evidence, tag="photo_reused", kw_only=True):
    photo: str
    other_photo: str
    other_audit: str
    bits: int  # how many of 64 hash bits differ
    limit_bits: int


class TooFast(_Evidence, tag="too_fast", kw_only=True):
    minutes: float
    min_minutes: float
    items: int


class CommentCopied(_Evidence, tag="comment_copied", kw_only=True):
    item: str
    text: str
    other_audit: str
    other_item: str


class VisitsRepeated(_Evidence, tag="visits_repeated", kw_only=True):
    visits: int
    limit: int
    window_days: int
    audits: list[str]  # the others in the window, oldest first


Evidence = PhotoFar | PhotoTime | PhotoReused | TooFast | CommentCopied | VisitsRepeated


def describe(e: Evidence) -> str:
    """One sentence for a reviewer."""
    match e:
        case PhotoFar():
            far = f"{e.distance_m / 1000:.1f} km" if e.distance_m >= 1000 else f"{e.distance_m:.0f} m"
            return f"Photo taken {far} from the location (more than {e.limit_m:.0f} m)."
        case PhotoTime():
            return (f"Photo taken at {e.taken_at.replace(':', '-', 2)}, {_minutes(e.minutes_outside)} outside the visit "
                    f"({e.started_at[11:16]}–{e.finished_at[11:16]}; {e.tolerance_minutes:.0f} min allowed).")
        case PhotoReused():
            same = "the same file" if e.bits == 0 else f"{e.bits} of 64 hash bits apart"
            return f"The same picture as a photo in another audit ({same}; up to {e.limit_bits} counts as the same)."
        case TooFast():
            return f"Visit finished in {_minutes(e.minutes)}; {e.items} items need at least {_minutes(e.min_minutes)}."
        case CommentCopied():
            return f"Comment on {e.item} copied word for word from another audit ({e.other_item})."
        case VisitsRepeated():
            return f"{e.visits} audits of this location by this auditor in {e.window_days} days (at most {e.limit})."
    raise TypeError(type(e))


def _minutes(value: float) -> str:
    if value < 1:
        return f"{value * 60:.0f} s"
    return f"{value:.1f} min" if value < 10 else f"{value:.0f} min"


# --- the duplicate-photo index ---------------------------------------------------------------


def band_keys(phash: str) -> list[int]:
    """The three index keys of a hash: band number << 22 | the band's bits."""
    value = int(phash, 16)
    return [n << 22 | (value >> shift) & ((1 << width) - 1) for n, (shift, width) in enumerate(BANDS)]


def search_keys(phash: str, bits: int) -> list[int]:
    """Keys to look up to find every stored hash within `bits`: if two hashes differ in at most
    `bits` bits, one of the three bands differs in at most bits // 3 (pigeonhole), so each band's
    value and all values within that many flips of it: 3 keys for bits < 3, 67 for < 6 (the
    default, 5), 718 for <= 8. At 1,000,000 photos a key holds about 0.5 photos, so a search reads
    a few dozen rows whatever the store's size."""
    radius = bits // len(BANDS)
    keys = []
    for key, (_, width) in zip(band_keys(phash), BANDS):
        band, value = key >> 22, key & ((1 << 22) - 1)
        for flips in _flip_masks(radius, width):
            keys.append(band << 22 | (value ^ flips))
    return keys


def _flip_masks(radius: int, width: int) -> list[int]:
    masks = [0]
    if radius >= 1:
        masks += [1 << i for i in range(width)]
    if radius >= 2:
        masks += [1 << i | 1 << j for i in range(width) for j in range(i + 1, width)]
    return masks


def hash_distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


# --- the other rules ------------------------------------------------------------------------


def min_minutes(checklist: Checklist, integrity: Integrity) -> float:
    """The shortest believable visit with this checklist."""
    if checklist.min_minutes is not None:
        return checklist.min_minutes
    return len(checklist.items()) * integrity.seconds_per_item / 60


def too_fast(started_at: dt.datetime, finished_at: dt.datetime, least_minutes: float, items: int) -> TooFast | None:
    minutes = (finished_at - started_at).total_seconds() / 60
    if minutes >= least_minutes:
        return None
    return TooFast(minutes=round(minutes, 2), min_minutes=round(least_minutes, 2), items=items)


def photo_time(photo: str, taken_at: str | None, started_at: dt.datetime, finished_at: dt.datetime, tolerance: float) -> PhotoTime | None:
    """`taken_at` as EXIF writes it ("2026:11:30 14:05:09", local, no zone)."""
    if not taken_at:
        return None
    try:
        taken = dt.datetime.strptime(taken_at[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    start = started_at.astimezone(started_at.tzinfo).replace(tzinfo=None)  # the visit's own wall clock
    end = finished_at.astimezone(started_at.tzinfo).replace(tzinfo=None)
    outside = max((start - taken).total_seconds(), (taken - end).total_seconds(), 0) / 60
    if outside <= tolerance:
        return None
    return PhotoTime(photo=photo, taken_at=taken_at, started_at=started_at.isoformat(), finished_at=finished_at.isoformat(),
                     minutes_outside=round(outside, 1), tolerance_minutes=tolerance)


def normalised(text: str) -> str:
    return " ".join(text.casefold().split())


def comment_print(text: str, min_chars: int) -> int | None:
    """A fingerprint of a comment long enough to be worth comparing (None when it is short): two
    comments with the same words in the same order, whatever their case and spacing, share it.
    A signed 64-bit integer (SQLite's), the first 8 bytes of the words' BLAKE2b-128: two different
    comments share one by chance about once in 10^19 pairs, and then a reviewer sees both texts."""
    words = normalised(text)
    if len(words) < min_chars:
        return None
    return int.from_bytes(hashlib.blake2b(words.encode(), digest_size=16).digest()[:8], "big", signed=True)


def comment_prints(answers: dict, min_chars: int) -> list[tuple[str, int, str]]:
    """(item, fingerprint, text) of each comment and text answer long enough to compare."""
    shortest = min_chars / 3  # casefolding makes one character at most three: a shorter text never is long enough
    found = []
    for item, answer in answers.items():
        for text in (answer.comment, answer.value):
            if text.__class__ is str and len(text) >= shortest and (fingerprint := comment_print(text, min_chars)) is not None:
                found.append((item, fingerprint, text))
    return found
