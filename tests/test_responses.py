"""What every answer carries, over the app's whole route list (issue 23): private answers are never
cached, and a method a route does not take is a 405 naming the methods it does take."""

import re

import pytest

from tests.conftest import GOOD_VISIT, audit_body

STATIC = re.compile(r"^/(sw\.js|icons/|schema/redoc|index\.html$)|^/$")  # the app's own files: they say how to cache them
PHOTOS = re.compile(r"/photos/|/photo$")  # content-addressed images: private, kept a day (their own header)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def routes(app):
    """(path with sample values, the methods it takes) for every HTTP route."""
    found = []
    for route in app.routes:
        methods = set(getattr(route, "methods", set())) - {"OPTIONS", "HEAD"}
        if not methods:
            continue
        path = re.sub(r"\{(\w+):int\}", "1", re.sub(r"\{(\w+):(str|uuid)\}", "00000000-0000-4000-8000-000000000000", route.path))
        found.append((path.replace("{file_path:path}", "index.html"), methods))
    return found


def test_every_private_answer_says_private_no_store(server):
    """Before: pages, CSVs and PDFs carried no Cache-Control, so a shared computer's browser kept them on disk."""
    audit = server.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT)).json()["id"]
    checked = 0
    for path, methods in routes(server.client.app):
        if "GET" not in methods or STATIC.search(path) or PHOTOS.search(path):
            continue
        path = path.replace("00000000-0000-4000-8000-000000000000", audit) if "/audits/" in path else path
        for persona in ("admin", "manager_r1"):
            response = server.get(path, persona, follow_redirects=False)
            assert response.headers.get("cache-control") == "private, no-store", (path, persona, response.status_code, response.headers.get("cache-control"))
            checked += 1
    assert checked >= 60
    signed_out = server.client.get("/api/me")
    assert signed_out.headers["cache-control"] == "private, no-store"
    assert server.client.get("/sw.js").headers["cache-control"] == "no-cache"  # the app's files keep theirs


def test_an_audit_pdf_and_a_csv_are_private(server):
    audit = server.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT)).json()["id"]
    for path in (f"/manage/audits/{audit}.pdf", "/api/export/audits.csv", f"/manage/audits/{audit}"):
        response = server.get(path, "admin")
        assert response.status_code == 200 and response.headers["cache-control"] == "private, no-store", path


def test_every_405_names_the_methods_the_route_takes(server):
    """Before: 41 answers 405 without an Allow header (RFC 9110 says it must be there)."""
    checked = 0
    for path, methods in routes(server.client.app):
        wrong = next(m for m in METHODS if m not in methods)
        response = server.client.request(wrong, path, headers=server.auth("admin"))
        if response.status_code != 405:  # a route of the same path under another handler took it
            continue
        allowed = {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}
        assert allowed >= methods, (wrong, path, response.headers.get("allow"))
        checked += 1
    assert checked >= 40
