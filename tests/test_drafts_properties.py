"""A property (issue 26, Done means): no sequence of drafts saved, test audits made, drafts discarded
and publishes changes any stored audit's score or any rollup. Over the real app and a real SQLite
file; each example a fresh server with audits already counted."""

import re
from html import unescape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import GOOD_VISIT, _serve, audit_body

STEP = st.one_of(
    st.tuples(st.just("weight"), st.integers(min_value=0, max_value=9)),  # the first item's weight, in the form editor
    st.tuples(st.just("comment"), st.integers(min_value=0, max_value=99)),  # a comment line, in the text editor
    st.tuples(st.just("test"), st.sampled_from(["yes", "no"])),  # a test audit of the draft
    st.tuples(st.just("publish"), st.booleans()),  # confirmed or not
    st.tuples(st.just("discard"), st.just(None)),
)


def _held(server) -> tuple:
    """What counts: every stored audit's scores, and every rollup."""
    return (list(server.db.execute("SELECT id, version, score, raw_score, result, counts FROM audits ORDER BY id")),
            *(list(server.db.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3")) for t in ("rollups", "rollup_months", "rollup_keys")))


def _revision(server) -> int:
    row = server.db.execute("SELECT revision FROM drafts WHERE brand = 'acme'").fetchone()
    return row[0] if row else 0


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=1, max_size=6))
def test_no_sequence_of_drafts_test_audits_and_publishes_changes_a_stored_score_or_a_rollup(tmp_path_factory, steps):
    serving = _serve(tmp_path_factory.mktemp("drafts"))
    server = next(serving)
    try:
        for n, day in enumerate(("2026-01-05", "2026-02-10", "2026-03-02")):
            body = audit_body({**GOOD_VISIT, "greet": "yes" if n % 2 else "no"}, finished=f"{day}T12:00:00+00:00", started_at=f"{day}T11:00:00+00:00")
            assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
        before = _held(server)
        for kind, value in steps:
            revision = _revision(server)
            if kind == "weight":
                page = server.get("/manage/brands/acme/draft/visit.yaml/form", "admin").text
                form = {name: unescape(v) for name, v in re.findall(r'type="text"[^>]*? name="(s\d+\.(?:title|i\d+\.\w+))" value="([^"]*)"', page)}
                form |= {name: "yes" for name in re.findall(r'name="(s\d+\.i\d+\.\w+)" value="yes" checked', page)}
                form |= dict(re.findall(r'<select name="(s\d+\.i\d+\.photo)">.*?<option selected>(\w+)</option>', page))
                form.update({"s0.i0.weight": str(value), "revision": str(revision), "action": "save"})
                assert server.post("/manage/brands/acme/draft/visit.yaml/form", "admin", data=form).status_code in (200, 422)
            elif kind == "comment":
                text = unescape(server.get("/manage/brands/acme/draft/visit.yaml", "admin").text.split('name="text"')[1].split(">", 1)[1].split("</textarea>")[0])
                assert server.post("/manage/brands/acme/draft/visit.yaml", "admin", data={"text": text + f"# {value}\n", "revision": str(revision)}).status_code == 200
            elif kind == "test":
                visit = next(c for c in server.get("/api/drafts/acme", "admin").json()["checklists"] if c["id"] == "visit")
                made = server.post("/api/drafts/acme/test-audits", "manager_r1", json={**audit_body({**GOOD_VISIT, "greet": value}), "version": visit["version"]})
                assert made.status_code == 201, made.text
            elif kind == "publish":
                data = {"note": "a property", "revision": str(revision), **({"confirm": "yes"} if value else {})}
                assert server.post("/manage/brands/acme/publish", "admin", data=data).status_code in (200, 409)
            else:
                assert server.post("/manage/brands/acme/draft/discard", "admin", data={}).status_code in (200, 409)
            assert _held(server) == before, (kind, value)
    finally:
        next(serving, None)
