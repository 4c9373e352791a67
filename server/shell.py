"""The auditor's app (`pwa/`) served by the server: its files, its icons and its service worker.

The files are served as they are, with no build step. The service worker alone is filled in on
the way out: it gets the list of files to precache and a version, which is a hash of every file.
Any change to the app makes a byte-different `sw.js`, and that is what makes browsers install the
new version.
"""

import hashlib
import json
from functools import cache
from pathlib import Path

from litestar import Response, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.static_files import create_static_files_router

from server import icons
from server.shipped import PWA

WORKER = "sw.js"
# Every shell file is revalidated (a cheap 304): the service worker, not the HTTP cache, keeps it offline.
REVALIDATE = CacheControlHeader(no_cache=True)
ICONS = [f"/icons/{size}.png" for size in icons.SIZES] + ["/icons/maskable-512.png"]


@cache
def shell() -> tuple[list[str], str]:
    """The URLs to precache and the version: a hash of the app's files and the icons' drawing code."""
    files = sorted(p for p in PWA.rglob("*") if p.is_file() and p.parent.name != "screenshots")  # those are for installing, not offline
    digest = hashlib.sha256(Path(icons.__file__).read_bytes())
    for path in files:
        digest.update(path.relative_to(PWA).as_posix().encode() + b"\0" + path.read_bytes())
    urls = ["/"] + [f"/{p.relative_to(PWA).as_posix()}" for p in files if p.name not in (WORKER, "index.html")]
    return urls + ICONS, digest.hexdigest()[:12]


@cache
def worker_script() -> bytes:
    urls, version = shell()
    return (PWA / WORKER).read_text().replace("__VERSION__", version).replace("__SHELL__", json.dumps(urls)).encode()


@get("/sw.js", exclude_from_auth=True, include_in_schema=False, cache_control=REVALIDATE, sync_to_thread=False)
def service_worker() -> Response[bytes]:
    return Response(worker_script(), media_type="text/javascript")


@get("/icons/{name:str}", exclude_from_auth=True, include_in_schema=False, sync_to_thread=False,
     cache_control=CacheControlHeader(max_age=86400))
def icon(name: FromPath[str]) -> Response[bytes]:
    maskable = name.startswith("maskable-")
    size = name.removeprefix("maskable-").removesuffix(".png")
    if not name.endswith(".png") or not size.isdigit() or int(size) not in icons.SIZES or (maskable and int(size) != 512):
        raise NotFoundException(f"no icon {name!r}: there are {', '.join(u.rsplit('/', 1)[1] for u in ICONS)}")
    return Response(icons.icon_png(int(size), maskable), media_type="image/png")


def routes() -> list:
    files = create_static_files_router(
        path="/", directories=[PWA], html_mode=True, name="pwa", include_in_schema=False,
        cache_control=REVALIDATE, opt={"exclude_from_auth": True},
    )
    return [service_worker, icon, files]
