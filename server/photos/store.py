"""Where image files are kept: the photos folder in the data folder (the default), or an S3-compatible
bucket (TOUCHPOINT_PHOTOS_URL=s3://bucket/prefix). One seam, `PhotoStore`; storage.py decides what
to keep and both stores only keep it.

A name is `ab/abcdef….display.jpg` (two-letter folders keep any one folder small): the file in the
folder, the key under the prefix in the bucket. Images are named by their content, so an object
is written once and never changes.
"""

import contextlib
import functools
import logging
import os
import shutil
from pathlib import Path
from typing import Iterator, NamedTuple, Protocol

from server.errors import unavailable
from server.settings import Settings, SettingsError, bucket_of

log = logging.getLogger("touchpoint")


class Blob(NamedTuple):
    """An object read whole from the bucket, with what its response says about it."""
    data: bytes
    modified: float  # seconds since the epoch
    etag: str  # the bucket's, quoted: the content's MD5 for a single PUT, the same on every host


class PhotoStore(Protocol):
    def check(self) -> None:
        """At start: a SettingsError naming the setting when the store cannot be used."""

    def has(self, name: str) -> bool: ...

    def put(self, name: str, data: bytes) -> None:
        """Whole or not at all, and durable when it returns."""

    def read(self, name: str) -> bytes | None:
        """The bytes, or None when the image is gone."""

    def served(self, name: str) -> Path | Blob | None:
        """What a response sends: the file to stream (the folder) or the object read whole (the bucket)."""

    def adopt(self, name: str, file: Path) -> None:
        """Take a whole file as `name` (a restore): moved into the folder, uploaded to the bucket."""

    def size(self, name: str) -> int | None: ...

    def delete(self, name: str, before: float | None = None) -> bool:
        """Delete it if it is there (and, with `before`, was last written before then); whether it was deleted."""

    def listing(self) -> Iterator[tuple[str, float]]:
        """Every (name, modified) under the store, unordered; names of the two-level shape only."""

    def remove_partial(self) -> int:
        """At start: delete what a crash left half-written; how many."""


class Folder:
    """The photos folder: a file gets its final name only once whole (written beside it, then renamed)."""

    def __init__(self, root: Path):
        self.root = root

    def __repr__(self) -> str:
        return f"Folder({self.root})"

    def check(self) -> None:
        pass  # made on the first write

    def has(self, name: str) -> bool:
        return (self.root / name).exists()

    def put(self, name: str, data: bytes) -> None:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(data)
        os.replace(partial, target)  # atomic: a reader never sees half a file

    def adopt(self, name: str, file: Path) -> None:
        (self.root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(file, self.root / name)

    def read(self, name: str) -> bytes | None:
        try:
            return (self.root / name).read_bytes()
        except FileNotFoundError:
            return None

    def served(self, name: str) -> Path | None:
        found = self.root / name
        return found if found.is_file() else None

    def size(self, name: str) -> int | None:
        try:
            return (self.root / name).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, name: str, before: float | None = None) -> bool:
        try:
            if before is not None and (self.root / name).stat().st_mtime >= before:
                return False
            (self.root / name).unlink()
            return True
        except FileNotFoundError:
            return False

    def listing(self) -> Iterator[tuple[str, float]]:
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                try:
                    yield f"{folder.name}/{entry.name}", entry.stat().st_mtime
                except FileNotFoundError:
                    pass

    def remove_partial(self) -> int:
        removed = 0
        for partial in self.root.glob("*/*.part") if self.root.is_dir() else ():
            partial.unlink(missing_ok=True)
            removed += 1
        return removed


@contextlib.contextmanager
def _answering(bucket: "Bucket"):
    """A bucket that does not answer (no connection, a timeout, S3's own 5xx after boto3's retries)
    is a 503 with Retry-After: nothing was stored, the phone sends it again; a refusal (403) is
    the installation's to fix, logged as the server's error."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except BotoCoreError:
        log.exception("the photo bucket %r did not answer", bucket)
        raise unavailable("the photo store did not answer: nothing was stored, send it again in a minute", 60) from None
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) < 500:
            raise
        log.exception("the photo bucket %r answered an error", bucket)
        raise unavailable("the photo store did not answer: nothing was stored, send it again in a minute", 60) from None


class Bucket:
    """An S3-compatible bucket (AWS, MinIO, Garage) through boto3: credentials and region from boto3's
    own variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION), the endpoint from
    TOUCHPOINT_S3_ENDPOINT (AWS when empty). A PUT is atomic and durable when S3 answers it, so
    there is never a half-written object to clean up."""

    def __init__(self, url: str, endpoint: str = ""):
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket_of(url)
        self.endpoint = endpoint
        # a client is thread-safe (the server's threads share it); timeouts so that a stalled store
        # answers the request with an error instead of holding it
        self.client = boto3.session.Session().client("s3", endpoint_url=endpoint or None, config=Config(
            connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}))

    def __repr__(self) -> str:
        return f"Bucket(s3://{self.bucket}/{self.prefix})"

    def _key(self, name: str) -> str:
        return self.prefix + name

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        where = f"s3://{self.bucket}" + (f" at {self.endpoint}" if self.endpoint else " on AWS")
        try:
            self.client.head_bucket(Bucket=self.bucket)
            self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)  # what the sweep does
        except NoCredentialsError:
            raise SettingsError(f"TOUCHPOINT_PHOTOS_URL: no credentials for {where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") from None
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404 or exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket"):
                raise SettingsError(f"TOUCHPOINT_PHOTOS_URL: there is no bucket {self.bucket!r} in {where}: make it first, or correct the name") from None
            if status == 403:
                raise SettingsError(f"TOUCHPOINT_PHOTOS_URL: {where} refused these credentials (403): check AWS_ACCESS_KEY_ID, "
                                    "AWS_SECRET_ACCESS_KEY and the bucket's policy") from None
            raise SettingsError(f"TOUCHPOINT_PHOTOS_URL: {where} answered {status}: {exc.response.get('Error', {}).get('Message', exc)}") from None
        except BotoCoreError as exc:  # no connection, a bad endpoint, a timeout
            raise SettingsError(f"TOUCHPOINT_PHOTOS_URL: cannot reach {where} (TOUCHPOINT_S3_ENDPOINT): {exc}") from None

    def has(self, name: str) -> bool:
        return self._head(name) is not None

    def _head(self, name: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            with _answering(self):
                return self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise

    def put(self, name: str, data: bytes) -> None:
        # put_object answers once the object is stored; S3 never shows a partial object
        with _answering(self):
            self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data, ContentType="image/jpeg")

    def adopt(self, name: str, file: Path) -> None:
        with file.open("rb") as body:
            self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=body, ContentType="image/jpeg")

    def _get(self, name: str) -> dict | None:
        try:
            with _answering(self):
                return self.client.get_object(Bucket=self.bucket, Key=self._key(name))
        except self.client.exceptions.NoSuchKey:
            return None

    def read(self, name: str) -> bytes | None:
        found = self._get(name)
        with _answering(self):
            return None if found is None else found["Body"].read()

    def served(self, name: str) -> Blob | None:
        # read whole: a display image is at most 1600 px on its long edge, a few hundred KB
        found = self._get(name)
        if found is None:
            return None
        with _answering(self):
            return Blob(found["Body"].read(), found["LastModified"].timestamp(), found["ETag"])

    def size(self, name: str) -> int | None:
        head = self._head(name)
        return None if head is None else head["ContentLength"]

    def delete(self, name: str, before: float | None = None) -> bool:
        # S3 answers a DELETE of an absent key like any other: asked first, for the count and the age
        head = self._head(name)
        if head is None or (before is not None and head["LastModified"].timestamp() >= before):
            return False
        with _answering(self):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))
        return True

    def listing(self) -> Iterator[tuple[str, float]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for found in page.get("Contents", ()):
                name = found["Key"][len(self.prefix):]
                if name.count("/") == 1:
                    yield name, found["LastModified"].timestamp()

    def remove_partial(self) -> int:
        return 0  # a PUT is whole or absent


@functools.cache
def _opened(url: str, endpoint: str, folder: Path) -> PhotoStore:
    return Bucket(url, endpoint) if url else Folder(folder)


def photo_store(settings: Settings) -> PhotoStore:
    """The settings' store, one per process (a boto3 client holds a pool of connections)."""
    return _opened(settings.photos_url, settings.s3_endpoint, settings.photos)
