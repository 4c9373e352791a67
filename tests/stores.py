"""The two photo stores under test: the photos folder, and a bucket on a real S3-protocol server on
loopback (moto in server mode: boto3's real HTTP, signatures and XML, never a mocked call), with
what a test does to the files that it cannot do through the app (age them, lose them)."""

import datetime as dt
import logging
import os
import threading
import time
import uuid

from server.photos.store import Bucket, Folder, photo_store
from server.settings import Settings

STORES = ["folder", "bucket"]
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "touchpoint-tests", "AWS_SECRET_ACCESS_KEY": "touchpoint-tests-secret", "AWS_DEFAULT_REGION": "us-east-1"}


class S3:
    """One moto server for the test run, on 127.0.0.1 and a free port, in this process (so a test
    can age its objects as os.utime ages a file); every server process the tests start reaches it
    over HTTP like any S3 server."""

    _lock = threading.Lock()
    _server = None
    endpoint = ""

    @classmethod
    def start(cls) -> str:
        with cls._lock:
            if cls._server is None:
                from moto.server import ThreadedMotoServer

                logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request in every failure's output

                cls._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
                cls._server.start()
                host, port = cls._server.get_host_and_port()
                cls.endpoint = f"http://{host}:{port}"
            return cls.endpoint

    @classmethod
    def stop(cls) -> None:
        with cls._lock:
            if cls._server is not None:
                cls._server.stop()
                cls._server = None


def new_bucket(monkeypatch, prefix: str = "photos") -> dict:
    """A fresh bucket on the moto server; the settings (and the environment, for the CLI and the
    server processes a test starts) that keep photos under `prefix` in it."""
    import boto3

    endpoint = S3.start()
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = f"touchpoint-{uuid.uuid4().hex[:16]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    url = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    monkeypatch.setenv("TOUCHPOINT_PHOTOS_URL", url)
    monkeypatch.setenv("TOUCHPOINT_S3_ENDPOINT", endpoint)
    return {"photos_url": url, "s3_endpoint": endpoint}


def _moto_keys(store: Bucket):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    keys = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[store.bucket].keys  # S3's backend is one per partition
    return {name: keys[name] for name in list(keys.keys()) if name.startswith(store.prefix)}


def files(settings: Settings) -> list[str]:
    """The stored image files' names (without their folder), sorted."""
    return sorted(name.rpartition("/")[2] for name, _ in photo_store(settings).listing())


def age(settings: Settings, hours: float) -> None:
    """Make every stored image `hours` old, as if written then."""
    store = photo_store(settings)
    then = time.time() - hours * 3600
    if isinstance(store, Folder):
        for image in store.root.rglob("*"):
            if image.is_file():
                os.utime(image, (then, then))
        return
    for key in _moto_keys(store).values():  # the server's own record of when it was written
        key.last_modified = dt.datetime.fromtimestamp(then, dt.UTC).replace(tzinfo=None)


def lose_all(settings: Settings) -> None:
    """Every image gone, as a disk or a bucket restored without them."""
    store = photo_store(settings)
    for name, _ in list(store.listing()):
        store.delete(name)
