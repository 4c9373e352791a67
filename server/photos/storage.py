"""Where photos live: image files named by content hash in the photo store (store.py), rows in `photos`."""

import datetime as dt
import hashlib
import re
import time
from pathlib import Path

import msgspec
import sqlite_utils

from server.accounts.accounts import User
from server.audits import audits
from server.db import insert, write
from server.checklists.format import Integrity
from server.errors import ApiError, ErrorCode, conflict, too_many
from server import reactions
from server.events import PhotoStored
from server.photos.processing import Processed
from server.photos.store import Blob, PhotoStore

SIZES = ("display", "thumb")


class Photo(msgspec.Struct, kw_only=True):
    id: str
    audit: str
    uploader: int
    file: str
    width: int
    height: int
    phash: str
    taken_at: str | None
    lat: float | None
    lng: float | None
    camera: str | None
    received_at: str


def audit_owner(db, audit_id: str) -> tuple[int, str] | None:
    """(auditor, region) of a stored audit, or None when it has not arrived yet."""
    return db.execute("SELECT a.auditor, l.region, a.location, a.counts FROM audits a JOIN locations l ON l.id = a.location WHERE a.id = ?", [audit_id]).fetchone()


def may_see(db, user: User, photo: "Photo") -> bool:
    """The audit's rules: its auditor, its region's managers, admins (before the audit arrives: its
    uploader), its location's staff once it counts."""
    if user.role == "admin" or photo.uploader == user.id:
        return True
    owner = audit_owner(db, photo.audit)
    if owner is None:
        return False
    if user.role == "staff":
        return owner[2] == user.location and bool(owner[3])
    return owner[0] == user.id if user.role == "auditor" else user.sees_region(owner[1])


def upload_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def name(file: str, size: str) -> str:
    """ab/abcdef….display.jpg: its file under the photos folder, its key under the bucket's prefix."""
    return f"{file[:2]}/{file}.{size}.jpg"


def image(store: PhotoStore, file: str, size: str, what: str) -> Path | Blob:
    """The image to serve; when it is gone (deleted by hand, a lost disk or bucket), a 410 that
    says so, never naming where it was."""
    found = store.served(name(file, size))
    if found is None:
        raise ApiError(410, ErrorCode.GONE, f"the image of {what} is no longer on the server")
    return found


def thumbnails(db: sqlite_utils.Database, store: PhotoStore, audit_id: str) -> dict[str, bytes]:
    """Each stored photo of an audit: its thumbnail's bytes, by photo id."""
    found = {row["id"]: store.read(name(row["file"], "thumb")) for row in db.query("SELECT id, file FROM photos WHERE audit = ?", [audit_id])}
    return {photo: data for photo, data in found.items() if data is not None}  # a lost file: the PDF shows the rest


def write_files(store: PhotoStore, processed: Processed) -> float | None:
    """Write both images (once: the same content has the same name, so one there already is not
    sent again), each whole or not at all. Returns when, if it wrote both itself: then neither the
    prune nor the sweep deletes them for GRACE_SECONDS, which they spare new images for; None when
    one was there already (an older image, which a prune may take before the row is written)."""
    fresh = time.time()
    for size, data in (("display", processed.display), ("thumb", processed.thumb)):
        if store.has(target := name(processed.sha256, size)):
            fresh = None
        else:
            store.put(target, data)
    return fresh


def keep_files(store: PhotoStore, processed: Processed, written: float | None) -> None:
    """Under the write lock, just before a row names the images: write them again if a prune or a
    sweep may have deleted them since `write_files` (both delete under the same lock). Images it
    wrote itself moments ago are spared by both, so this asks the store nothing (a bucket's two
    HEAD requests would be held inside the write lock); otherwise it checks, as it writes."""
    if written is None or time.time() - written > GRACE_SECONDS / 2:
        write_files(store, processed)


def remove_partial(store: PhotoStore) -> int:
    """At start: delete image files left half-written by a crash (never referenced: a file gets
    its final name only once whole; a bucket never holds half an object). Returns how many."""
    return store.remove_partial()


def get(db: sqlite_utils.Database, photo_id: str) -> Photo | None:
    row = next(db.query("SELECT * FROM photos WHERE id = ?", [photo_id]), None)
    if row is None:
        return None
    for kept_apart in ("upload_hash", "bytes"):  # for retries and the allowance, not the photo's facts
        row.pop(kept_apart)
    return Photo(**row)


def existing(db: sqlite_utils.Database, photo_id: str, audit_id: str, uploader: int, digest: str) -> Photo | None:
    """The stored photo when this upload is a retry of it; a conflict when the id holds another."""
    row = next(db.query("SELECT upload_hash, audit, uploader FROM photos WHERE id = ?", [photo_id]), None)
    if row is None:
        return None
    if row["audit"] != audit_id or row["uploader"] != uploader:
        raise conflict(f"photo id {photo_id} is already used for another audit; make a new id")
    if row["upload_hash"] != digest:
        raise conflict(f"photo {photo_id} was already received with different bytes; a retry must send the same file")
    return get(db, photo_id)


class UploadLimit(msgspec.Struct, frozen=True, kw_only=True):
    """What one person may upload in an hour for audits that have not arrived (a photo its audit
    has claimed no longer counts): the settings photos_per_hour and photo_mb_per_hour."""

    photos: int
    bytes: int


HOUR = dt.timedelta(hours=1)
# one person's photos of the hour whose audit has not arrived, oldest first (index photos_uploader)
PENDING = """SELECT received_at, file, bytes FROM photos p WHERE received_at >= ? AND uploader = ?
             AND NOT EXISTS (SELECT 1 FROM audits a WHERE a.id = p.audit) ORDER BY received_at"""


def check_allowance(db: sqlite_utils.Database, store: PhotoStore, uploader: int, limit: UploadLimit, now: dt.datetime | None = None) -> None:
    """A 429 with Retry-After when `uploader` has used up the hour's allowance. Counted from the
    database (each row's `bytes`, the images' size), so it holds across server processes;
    `record` checks again under the write lock, so parallel uploads cannot slip past together."""
    now = now or dt.datetime.now(dt.UTC)
    pending = db.execute(PENDING, [(now - HOUR).isoformat(), uploader]).fetchall()
    if not pending:
        return
    wait = max(1, int((dt.datetime.fromisoformat(pending[0][0]) + HOUR - now).total_seconds()) + 1)  # the oldest leaves the hour
    minutes = f"{-(-wait // 60)} minute{'s' if wait > 60 else ''}"
    if len(pending) >= limit.photos:
        raise too_many(f"you have sent {len(pending):,} photos in the last hour for audits that have not arrived; at most {limit.photos:,} an hour "
                       f"until their audits are sent: send the audits, or the photo again in {minutes}", wait)
    used = sum(_stored_bytes(store, file) if size is None else size for _, file, size in pending)  # None: stored before 0023
    if used >= limit.bytes:
        raise too_many(f"your photos of the last hour for audits that have not arrived take {used / 2**20:,.1f} MiB; at most {limit.bytes / 2**20:,.0f} MiB an hour "
                       f"until their audits are sent: send the audits, or the photo again in {minutes}", wait)


def _stored_bytes(store: PhotoStore, file: str) -> int:
    return sum(store.size(name(file, size)) or 0 for size in SIZES)


def record(db: sqlite_utils.Database, store: PhotoStore, photo_id: str, audit_id: str, uploader: int, digest: str, processed: Processed,
           rules: dict[str, Integrity] | None = None, limit: UploadLimit | None = None, written: float | None = None) -> tuple[Photo, bool]:
    """Store the photo's row (files written before, outside the lock, `written` what write_files
    said); (photo, created). Idempotent on
    the id. Indexed for the duplicate search and, when its audit is here, flagged with `rules` of
    the audit's brand (integrity thresholds by brand id; defaults for a brand not given). With a
    `limit`, a photo for an audit not here yet is refused (429) beyond the uploader's allowance."""
    with write(db):
        already = existing(db, photo_id, audit_id, uploader, digest)
        if already is not None:
            return already, False
        if limit is not None and db.execute("SELECT 1 FROM audits WHERE id = ?", [audit_id]).fetchone() is None:
            check_allowance(db, store, uploader, limit)  # its files, written already, go with the next sweep
        # `prune` may have removed files of this content, unreferenced until now, since they were
        # found: both run under the write lock, so checking here closes that gap (see keep_files)
        keep_files(store, processed, written)
        insert(db, "photos", {
            "id": photo_id, "audit": audit_id, "uploader": uploader, "upload_hash": digest, "file": processed.sha256,
            "width": processed.width, "height": processed.height, "phash": processed.phash, "taken_at": processed.taken_at,
            "lat": processed.lat, "lng": processed.lng, "camera": processed.camera, "bytes": len(processed.display) + len(processed.thumb),
            "received_at": dt.datetime.now(dt.UTC).isoformat(),
        })
        brand = db.execute("SELECT brand FROM audits WHERE id = ?", [audit_id]).fetchone()
        reactions.publish(db, PhotoStored(photo=photo_id, audit=audit_id, phash=processed.phash, taken_at=processed.taken_at, lat=processed.lat,
                                          lng=processed.lng, integrity=(rules or {}).get(brand[0] if brand else "", Integrity())))
        # the last photo an audit was waiting for completes it
        waiting = db.execute("SELECT 1 FROM audits WHERE id = ? AND status = 'awaiting_photos'", [audit_id]).fetchone()
        if waiting and not audits.photos_missing(db, audit_id):
            db.execute("UPDATE audits SET status = 'submitted' WHERE id = ?", [audit_id])
    return get(db, photo_id), True


GRACE_SECONDS = 3600  # an image file younger than this may belong to an upload or a close in flight


def referenced(db: sqlite_utils.Database, file: str) -> bool:
    """Whether anything keeps this image: a photo of an audit, or an action closed with it."""
    return db.execute("SELECT 1 FROM photos WHERE file = ? UNION ALL SELECT 1 FROM actions WHERE photo = ? LIMIT 1", [file, file]).fetchone() is not None


class Pruned(msgspec.Struct, kw_only=True):
    photos: int  # photos of audits that never arrived, deleted
    files: int  # their image files that nothing else used, deleted
    strays: int  # image files nothing referenced (a lost race, a kill -9), deleted


_IMAGE = re.compile(r"([0-9a-f]{64})\.(?:display|thumb)\.(?:jpg|\d+\.part)")


def prune(db: sqlite_utils.Database, store: PhotoStore, days: int, grace_seconds: float = GRACE_SECONDS) -> Pruned:
    """Delete photos uploaded more than `days` ago for audits that never arrived, and the image
    files nothing else references (another photo, an action's photo) once older than
    `grace_seconds`. Then sweep the store: an
    image file no row references, older than `grace_seconds`, is deleted too (what a losing racer
    of one photo id or one action's close, or a process killed between file and row, left)."""
    cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()
    with write(db):
        orphans = db.execute(
            "SELECT id, file FROM photos p WHERE received_at < ? AND NOT EXISTS (SELECT 1 FROM audits a WHERE a.id = p.audit)", [cutoff]
        ).fetchall()
        db.conn.executemany("DELETE FROM photos WHERE id = ?", [(photo_id,) for photo_id, _ in orphans])
        unused = {file for _, file in orphans if not referenced(db, file)}
        removed, before = 0, time.time() - grace_seconds
        for file in unused:  # inside the transaction: an upload of the same picture waits for it (see record)
            # an image younger than the grace is an upload's of the same picture, in flight: the
            # sweep takes it later if no row names it by then
            removed += sum(store.delete(name(file, size), before) for size in SIZES)
    return Pruned(photos=len(orphans), files=removed, strays=sweep(db, store, grace_seconds))


def sweep(db: sqlite_utils.Database, store: PhotoStore, grace_seconds: float = GRACE_SECONDS) -> int:
    """Delete image files that no row references and that are older than `grace_seconds`; how many.
    The store is listed outside the write lock (it may hold a million files); each candidate is
    checked again and deleted under it, and an upload or a close writes its files again under the
    same lock if they are gone (see record), so no file a row is about to reference is lost."""
    keep = {row[0] for row in db.execute("SELECT file FROM photos UNION SELECT photo FROM actions WHERE photo IS NOT NULL")}
    before = dt.datetime.now().timestamp() - grace_seconds
    candidates: dict[str, list[str]] = {}
    for stored, modified in store.listing():
        found = _IMAGE.fullmatch(stored.rpartition("/")[2])
        if found and found[1] not in keep and modified < before:
            candidates.setdefault(found[1], []).append(stored)
    if not candidates:
        return 0
    removed = 0
    with write(db):
        for file, stray in candidates.items():
            if not referenced(db, file):
                removed += sum(store.delete(each, before) for each in stray)
    return removed
