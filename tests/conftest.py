"""Shared fixtures: a small hand-made brand whose scores the tests work out by hand."""

import os
import textwrap

# Before the server is imported (and inherited by every server process a test starts): the test
# users' passwords hashed at argon2id's least cost. Production keeps its own, held by
# tests/test_password_hash.py.
os.environ["TOUCHPOINT_TESTS_CHEAP_PASSWORD_HASH"] = "1"

import msgspec
import pytest

from tests import postgres

from server.checklists import parse_brand, parse_checklist

BRAND_YAML = """\
id: acme
name: Acme Stores
promise: Quick, kind and simple, every time.
pillars:
  - {id: fast, name: Fast, target: 85}
  - {id: friendly, name: Friendly, target: 90}
  - {id: easy, name: Easy, target: 80}
touchpoints: [visit, call]
"""

VISIT_YAML = """\
id: visit
title: Visit the shop
mode: in_person
sections:
  - id: a
    title: Arriving
    items:
      - {id: greet, text: Greeted?, type: yes_no, weight: 2, pillars: [friendly]}
      - id: wait
        text: Minutes waited
        type: number
        bands:
          - {at_most: 2, score: 1}
          - {at_least: 2, at_most: 5, score: 0.5}
        pillars: [fast]
      - {id: tidy, text: Tidy?, type: scale, min: 1, max: 5, pillars: [friendly, easy]}
  - id: b
    title: Leaving
    items:
      - {id: transferred, text: Passed on to someone else?, type: yes_no, pass: "no", pillars: [easy]}
      - id: explained
        text: Told why?
        type: yes_no
        show_if: {item: transferred, equals: "yes"}
        pillars: [friendly]
      - id: thanked_after
        text: Thanked after the hand-over?
        type: yes_no
        show_if: {item: explained, equals: "yes"}
      - {id: resolved, text: Sorted out?, type: yes_no, critical: true, weight: 3, pillars: [easy]}
      - id: channel
        text: Follow-up
        type: choice
        options:
          - {value: email, label: Email, score: 1}
          - {value: callback, label: Call back, score: 0.5}
          - {value: none, label: None}
      - id: mood
        text: Mood of the shop
        type: choice
        options:
          - {value: calm, label: Calm}
          - {value: busy, label: Busy}
      - {id: notes, text: Notes, type: text, required: false}
      - {id: sms, text: Text message arrived?, type: yes_no, na: true, photo: required}
"""


@pytest.fixture
def brand():
    return parse_brand(BRAND_YAML.encode())


@pytest.fixture
def visit(brand):
    return parse_checklist(VISIT_YAML.encode(), brand, "visit.yaml")


def write_brand(root, files: dict[str, str], folder: str = "acme"):
    """Write a brand folder under `root` from {file name: YAML text}; returns the folder."""
    path = root / folder
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(textwrap.dedent(text))
    return path


CALL_YAML = """\
id: call
title: Call us
mode: phone
sections:
  - id: s
    title: S
    items:
      - {id: q, text: Sorted on the first call?, type: yes_no}
"""

# name, role, regions
PERSONAS = [
    ("admin", "admin", []),
    ("manager_r1", "manager", ["r1"]),
    ("manager_r2", "manager", ["r2"]),
    ("auditor_a", "auditor", []),
    ("auditor_b", "auditor", ["r2"]),
]

STAFF = "staff_l1"  # staff of location l1 (region r1)


class Server:
    """The real app over a real SQLite file, with a bearer token per persona."""

    def __init__(self, client, settings, db, tokens):
        self.client, self.settings, self.db, self.tokens = client, settings, db, tokens

    def auth(self, persona: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[persona]}"}

    def get(self, path, persona, **kw):
        return self.client.get(path, headers={**self.auth(persona), **kw.pop("headers", {})}, **kw)

    def post(self, path, persona, **kw):
        return self.client.post(path, headers={**self.auth(persona), **kw.pop("headers", {})}, **kw)


def make_server_files(tmp_path, brand_extra: str = "", visit: str = VISIT_YAML, photos: dict | None = None):
    """Settings over a temp folder with the acme brand; `brand_extra` adds brand.yaml lines
    ("review: true"); `photos` the settings of a bucket (the photos_in fixture)."""
    from server.settings import Settings

    checklists = tmp_path / "checklists"
    write_brand(checklists, {"brand.yaml": BRAND_YAML + brand_extra, "visit.yaml": visit, "call.yaml": CALL_YAML})
    # the tests' audits are dated 2026 and must be accepted in later years too
    return Settings(data=tmp_path / "data", checklists=checklists, audit_max_age_days=36_500, database_url=postgres.test_database_url(), **(photos or {}))


@pytest.fixture(scope="session", autouse=True)
def template_database(tmp_path_factory):
    """Every migration run once for the whole test run; seed() and LiveServer copy it (tests.databases)."""
    from tests import databases

    yield databases.make_template(tmp_path_factory.mktemp("template") / "touchpoint.db")
    databases.TEMPLATE.clear()


@pytest.fixture(scope="session")
def postgres_cluster():
    """The run's throwaway PostgreSQL (tests/postgres.py), started by the first test that asks: initdb
    and start about 1-2 s. No PostgreSQL installed fails the test with how to install it, never skips."""
    try:
        cluster = postgres.run_cluster()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    yield cluster


@pytest.fixture
def postgres_url(postgres_cluster):
    """A new empty database of the run's cluster, dropped after the test."""
    url = postgres_cluster.new_database()
    yield url
    postgres_cluster.drop_database(url)


@pytest.fixture
def postgres_head_url(postgres_cluster):
    """A new database at the head schema (server/pgschema.py), copied from the cluster's template."""
    url = postgres_cluster.new_database(head=True)
    yield url
    postgres_cluster.drop_database(url)


def seed(settings):
    """Locations l1-l3 in r1, l4 in r2; the personas with tokens."""
    from server.accounts import accounts
    from server.locations.locations import LocationIn, import_locations

    from tests.databases import migrated_database

    db = migrated_database(settings.store)
    from server.checklists.catalog import Catalog

    Catalog.load(db, settings.checklists)
    rows = [LocationIn(id=f"l{i}", name=f"Shop {i}", region="r1" if i < 4 else "r2") for i in range(1, 5)]
    import_locations(db, rows, ["acme"])
    tokens = {}
    for name, role, regions in PERSONAS:
        accounts.add_user(db, name, role, regions, f"password-{name}")
        tokens[name] = accounts.new_token(db, accounts.user_by_name(db, name))
    accounts.add_user(db, STAFF, "staff", [], f"password-{STAFF}", location="l1")
    tokens[STAFF] = accounts.new_token(db, accounts.user_by_name(db, STAFF))
    return db, tokens


@pytest.fixture
def server(tmp_path):
    yield from _serve(tmp_path)


@pytest.fixture
def reviewing(tmp_path):
    """The same server with the brand's review on: audits count once approved."""
    yield from _serve(tmp_path, "review: true\n")


def _serve(tmp_path, brand_extra: str = "", visit: str = VISIT_YAML, processes: int = 1, database_url: str = "", photos: dict | None = None):
    from litestar.testing import TestClient

    from server.app import create_app

    settings = make_server_files(tmp_path, brand_extra, visit, photos)
    if database_url:
        settings = msgspec.structs.replace(settings, database_url=database_url)
    db, tokens = seed(settings)
    if processes == 1:
        with TestClient(create_app(settings)) as client:
            yield Server(client, settings, db, tokens)
    else:
        from tests.spread import Spread

        spread = Spread(settings, tmp_path)
        try:
            yield Server(spread.client, settings, db, tokens)
            assert not spread.tracebacks(), spread.tracebacks()[0][-3000:]
        finally:
            spread.close()
    db.conn.close()


# the API tests and the access matrix run three times: through litestar's TestClient, round-robin over
# three real server processes on one data folder (tests/spread.py; in the slow lane), and through the
# TestClient on the run's throwaway PostgreSQL (tests/postgres.py)
SPREAD = ["one process", pytest.param("three processes", marks=pytest.mark.slow), "postgresql"]


@pytest.fixture(params=SPREAD)
def spread_server(request, tmp_path):
    if request.param == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        url = cluster.new_database()
        try:
            yield from _serve(tmp_path, database_url=url)
        finally:
            cluster.drop_database(url)
        return
    yield from _serve(tmp_path, processes=1 if request.param == "one process" else 3)


@pytest.fixture(params=["folder", "bucket"])
def photos_in(request, monkeypatch) -> dict:
    """Where the photo tests keep images: the photos folder (no settings), and a fresh bucket on a
    real S3-protocol server on loopback (tests/stores.py); the settings that say so."""
    from tests.stores import new_bucket

    return {} if request.param == "folder" else new_bucket(monkeypatch)


@pytest.fixture
def photo_server(tmp_path, photos_in):
    """The `server`, once with photos in the folder and once in a bucket."""
    yield from _serve(tmp_path, photos=photos_in)


@pytest.fixture(scope="session", autouse=True)
def _s3_server():
    yield
    from tests.stores import S3

    S3.stop()  # when a test started it


def audit_body(answers: dict, location="l1", checklist="visit", finished="2026-03-01T10:30:00+00:00", **extra) -> dict:
    import uuid

    body = {
        "id": str(uuid.uuid4()),
        "location": location,
        "checklist": checklist,
        "started_at": "2026-03-01T10:00:00+00:00",
        "finished_at": finished,
        "answers": {k: v if isinstance(v, dict) else {"value": v} for k, v in answers.items()},
    }
    body.update(extra)
    return body


GOOD_VISIT = {"greet": "yes", "wait": 3, "tidy": 4, "transferred": "no", "resolved": "yes", "channel": "callback", "mood": "calm", "sms": "na"}


FOLDER_MARKERS = {"browser": "browser", "proofs": "proof"}  # tests/<folder>/ -> its marker


def pytest_collection_modifyitems(config, items):
    """Each test is marked by the folder it is in: `-m "not browser and not proof and not slow"` is the fast lane."""
    here = config.rootpath / "tests"
    for item in items:
        folder = item.path.relative_to(here).parts[0] if item.path.is_relative_to(here) else None
        if folder in FOLDER_MARKERS:
            item.add_marker(FOLDER_MARKERS[folder])


def pytest_terminal_summary(terminalreporter):
    """The proofs' figures (issue 12), at the end of every run: CI's log carries them."""
    from tests.figures import FIGURES

    if FIGURES:
        terminalreporter.section("what the proofs measured")
        for name, figure in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {figure}")
