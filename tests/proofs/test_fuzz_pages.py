"""Fuzzing the managers' pages and forms and the join page (issue 23): every query parameter, path
parameter and form field of every HTML route, with a list of extreme values (huge numbers, far
dates, empty, NUL, unicode, very long text) and then values hypothesis draws from them and from
any text. No answer is a 5xx. Bounded for CI: TOUCHPOINT_FUZZ_PAGE_EXAMPLES draws per route."""

import dataclasses
import os
import re
import time
import typing
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.datastructures import UploadFile

from tests.conftest import GOOD_VISIT, audit_body
from tests.figures import FIGURES

EXAMPLES = int(os.environ.get("TOUCHPOINT_FUZZ_PAGE_EXAMPLES", "6"))
EXTREMES = [
    "", " ", "0", "-1", str(2**63), str(10**20), "9" * 400, "1e309", "NaN", "0001-01-01", "9999-12-31", "9999-12", "9999-12-31T23:59",
    "0001-01-01T00:00", "2026-02-30", "\x00", "a\x00b", "\u202eevil", "é" * 300, "🙂" * 50, "<script>alert(1)</script>", "' OR 1=1 --",
    "../../etc/passwd", "x" * 6_000, "null", "[]", "yes", "open", "all", "month", "random", "approve", "r1", "l1", "visit",
]
SKIP = {"self", "request", "state", "scope", "data", "headers", "cookies"}
PAGES = ("/manage", "/join")


def _fields(annotation) -> list[tuple[str, bool]]:
    """A form's (field, is a file) from its dataclass (Annotated[Form, Body(...)])."""
    kind = typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation
    if not dataclasses.is_dataclass(kind):
        return []
    return [(f.name, "UploadFile" in str(f.type)) for f in dataclasses.fields(kind)]


def html_routes(app) -> list[dict]:
    """Every page and form: its method, path, path parameters, query parameters and form fields."""
    found = []
    for route in app.routes:
        if not route.path.startswith(PAGES):
            continue
        for handler in getattr(route, "route_handlers", []):
            methods = set(handler.http_methods) - {"OPTIONS", "HEAD"}
            if not methods:
                continue
            path_names = set(re.findall(r"\{(\w+):", route.path))
            query, form = [], []
            for name, field in handler.parsed_fn_signature.parameters.items():
                if name == "data":
                    form = _fields(field.annotation)
                elif name not in SKIP and name not in path_names:
                    query.append(getattr(field.kwarg_definition, "query", None) or name.rstrip("_"))
            found.append({"method": next(iter(methods)), "path": route.path, "params": sorted(path_names), "query": query, "form": form})
    return found


@pytest.fixture
def site(server):
    """The seeded server with an audit and an assignment, so the pages with ids have something to show."""
    audit = server.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT)).json()["id"]
    day = time.strftime("%Y-%m-%d")
    assignment = server.post("/api/assignments", "manager_r1", json={"location": "l1", "touchpoints": ["visit"], "starts": day, "ends": day}).json()["id"]
    server.ids = {"audit_id": audit, "assignment_id": assignment, "region_id": "r1", "location_id": "l1"}
    return server


def call(server, route, values: dict, path_values: dict, persona: str | None) -> int:
    path = route["path"]
    for name in route["params"]:
        value = path_values.get(name, server.ids.get(name, "1"))
        path = re.sub(r"\{" + name + r":\w+\}", quote(value, safe="") or "x", path)
    headers = server.auth(persona) if persona else {}
    query = {k: v for k, v in values.items() if k in route["query"]}
    if route["method"] == "GET":
        response = server.client.get(path, params=query, headers=headers, follow_redirects=False)
    else:
        fields = {k: v for k, v in values.items() if k in dict(route["form"]) and not dict(route["form"])[k]}
        files = {k: ("f.csv", values[k].encode("utf-8", "surrogatepass")) for k, is_file in route["form"] if is_file and k in values}
        response = server.client.post(path, params=query, data={"csrf_token": "", **fields}, files=files or None, headers=headers, follow_redirects=False)
    assert response.status_code < 500, f"{route['method']} {path} {values!r}: {response.status_code} {response.text[:500]}"
    return response.status_code


def test_every_page_and_form_meets_extreme_input_without_a_5xx(site):
    started = time.monotonic()
    routes = html_routes(site.client.app)
    assert len(routes) >= 35, [r["path"] for r in routes]
    cases = 0
    names = {name for r in routes for name in (*r["query"], *(f for f, _ in r["form"]), *r["params"])}
    for route in routes:
        everything = [*route["query"], *(f for f, _ in route["form"] if f != "csrf_token")]
        persona = None if route["path"].startswith("/join") else "admin"
        for n, value in enumerate(EXTREMES):  # every field and parameter of the route at once, then each path parameter
            call(site, route, {name: value for name in everything}, {}, persona)
            cases += 1
            if route["params"] and n % 3 == 0:
                call(site, route, {}, {p: value for p in route["params"]}, persona)
                cases += 1

        values = st.fixed_dictionaries({}, optional={name: st.sampled_from(EXTREMES) | st.text(max_size=30) for name in everything})

        @given(drawn=values, persona=st.sampled_from(["admin", "manager_r2"]) if persona else st.none())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def mixed(drawn, persona):
            call(site, route, drawn, {}, persona)

        mixed()
        cases += EXAMPLES
    took = time.monotonic() - started
    FIGURES["page fuzzing"] = (f"{cases:,} requests over {len(routes)} pages and forms ({len(names)} parameters and fields, {len(EXTREMES)} extreme values "
                               f"and {EXAMPLES} drawn mixes each) in {took:.0f} s: none answered 5xx")
