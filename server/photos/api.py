"""Photo upload (one PUT per photo, idempotent on the phone's id) and serving, with the audit's access rules."""

import asyncio
import uuid
from email.utils import formatdate
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from server.db import Database
from litestar import Request, Response, get, put
from litestar.datastructures import State
from litestar.params import FromQuery, Parameter
from litestar.response import File

from server.accounts.accounts import User
from server.errors import ApiError, ErrorCode, forbidden, invalid, not_found
from server.photos import storage
from server.photos.store import Blob
from server.photos.processing import PhotoRefused
from server.settings import Settings

# Audit and photo ids are UUIDs made on the phone: documented as such; a malformed one is a 422
# that says so (_uuid), not the framework's generic 400
PhoneId = Annotated[str, Parameter(schema_extra={"format": "uuid"}, description="a UUID made on the phone")]


class PhotoOut(msgspec.Struct, kw_only=True):
    id: str
    audit: str
    width: int
    height: int
    received_at: str
    # the photo's own facts: managers and admins only
    taken_at: str | None = None
    lat: float | None = None
    lng: float | None = None
    camera: str | None = None


def _out(photo: storage.Photo, user: User) -> PhotoOut:
    out = PhotoOut(id=photo.id, audit=photo.audit, width=photo.width, height=photo.height, received_at=photo.received_at)
    if user.role in ("admin", "manager"):
        out.taken_at, out.lat, out.lng, out.camera = photo.taken_at, photo.lat, photo.lng, photo.camera
    return out


IMAGE_HEADERS = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}


def image_response(found: Path | Blob) -> File | Response:
    """An image as the browser gets it, from either store: the same type, name, caching and
    validators (a file streamed from the folder; an object read whole from the bucket)."""
    if isinstance(found, Path):
        return File(found, media_type="image/jpeg", content_disposition_type="inline", headers=IMAGE_HEADERS)
    return Response(found.data, media_type="image/jpeg", headers={
        **IMAGE_HEADERS, "Content-Disposition": 'inline; filename=""',  # as litestar's File writes it for the folder: no name
        "Last-Modified": formatdate(found.modified, usegmt=True), "ETag": found.etag})


def _uuid(value: str, field: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise invalid(f"{field} must be a UUID made on the phone", code=ErrorCode.BAD_ID) from None


def routes(settings: Settings) -> list:
    """Built per app: the upload's body limit is a setting."""

    @put(
        "/api/audits/{audit_id:str}/photos/{photo_id:str}",
        request_max_body_size=settings.max_photo_bytes,
        status_code=201,
        opt={"media": "an image: JPEG, PNG or WebP, told apart by its bytes", "also": {200: "The same bytes again for this photo id: the photo as stored"}, "errors": {
            409: "The photo id is already used for another audit, or was received with other bytes",
            413: "The body, the image's pixels or its decoded size is over the limit (see the README's Photos)",
            415: "Not a JPEG, PNG or WebP image, or an image holding markup",
            422: "An id that is not a UUID, or a damaged or cut-short image",
            429: "Over the hour's allowance of photos for audits that have not arrived (photos_per_hour, photo_mb_per_hour): wait Retry-After or send the audits",
            503: "The photo workers stopped twice, or the photo bucket did not answer: send the photo again after Retry-After",
        }},
        tags=["photos"],
        description="The image's bytes as the body (JPEG, PNG or WebP). 201 the first time; the same bytes again 200; other bytes for the same photo id 409.",
    )
    async def upload(request: Request, state: State, db: Database, audit_id: PhoneId, photo_id: PhoneId) -> Response[PhotoOut]:
        user = request.user
        audit_id, photo_id = _uuid(audit_id, "audit_id"), _uuid(photo_id, "photo_id")
        owner = storage.audit_owner(db, audit_id)
        if owner is not None and owner[0] != user.id:
            raise forbidden("photos are added by the audit's own auditor")
        data = await request.body()
        digest = storage.upload_hash(data)
        already = storage.existing(db, photo_id, audit_id, user.id, digest)
        if already is not None:
            return Response(_out(already, user), status_code=200)
        limit = storage.UploadLimit(photos=settings.photos_per_hour, bytes=settings.photo_mb_per_hour * 2**20)
        if owner is None:  # refused before any image work; checked again as it is stored
            await asyncio.to_thread(storage.check_allowance, db, state.photos, user.id, limit)
        try:
            processed = await state.photo_workers.process(data)
        except PhotoRefused as refused:
            raise ApiError(refused.status, ErrorCode.PHOTO_REFUSED, refused.message) from None
        written = await asyncio.to_thread(storage.write_files, state.photos, processed)
        photo, created = await asyncio.to_thread(lambda: storage.record(
            db, state.photos, photo_id, audit_id, user.id, digest, processed,
            {b: loaded.brand.integrity for b, loaded in state.catalog.brands.items()}, limit, written))
        return Response(_out(photo, user), status_code=201 if created else 200)

    @get("/api/photos/{photo_id:str}", sync_to_thread=True, tags=["photos"], opt={"errors": {410: "The photo's image file is no longer on the server",
                                                                                              503: "The photo bucket did not answer: ask again after Retry-After"}})
    def serve(request: Request, state: State, photo_id: PhoneId, db: Database, size: FromQuery[Literal["display", "thumb"]] = "display") -> File:
        """The re-encoded image (never the uploaded bytes), with the same access rules as its audit."""
        photo = storage.get(db, photo_id)
        if photo is None:
            raise not_found("photo", photo_id)
        if not storage.may_see(db, request.user, photo):
            raise forbidden("this photo belongs to an audit you may not see")
        return image_response(storage.image(state.photos, photo.file, size, f"photo {photo_id}"))

    return [upload, serve]
