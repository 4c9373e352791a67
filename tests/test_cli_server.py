"""The CLI's server side: users, tokens, locations import, the demo, settings from the environment."""

import io
import json

import msgspec
import pytest

from server.cli import main
from tests.conftest import make_server_files, seed
from tests.engine import point_cli_at


@pytest.fixture
def env(tmp_path, monkeypatch):
    settings = make_server_files(tmp_path)
    db, _ = seed(settings)
    db.conn.close()
    point_cli_at(monkeypatch, settings)
    monkeypatch.setenv("TOUCHPOINT_CHECKLISTS", str(settings.checklists))
    return settings


def test_user_add_prints_a_generated_password_that_signs_in(env, capsys):
    assert main(["user", "add", "zoe", "--role", "manager", "--region", "r1", "--region", "r2"]) == 0
    password = capsys.readouterr().out.strip().rsplit("password: ", 1)[1]
    from server.accounts.accounts import check_password
    from server.migrations import open_database

    user = check_password(open_database(env.store), "zoe", password)
    assert user.role == "manager" and user.regions == {"r1", "r2"}


def test_user_add_with_password_on_stdin(env, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["user", "add", "yan", "--role", "auditor", "--password-stdin"]) == 0
    assert "password" not in capsys.readouterr().out
    from server.accounts.accounts import check_password
    from server.migrations import open_database

    assert check_password(open_database(env.store), "yan", "correct horse battery") is not None


@pytest.mark.parametrize(
    "args, message",
    [
        (["user", "add", "admin", "--role", "admin"], "a user called 'admin' already exists"),
        (["user", "add", "m", "--role", "manager"], "a manager needs at least one --region"),
        (["user", "add", "m", "--role", "manager", "--region", "mars"], "no region 'mars'"),
        (["token", "add", "ghost"], "no user called 'ghost'"),
    ],
)
def test_user_and_token_mistakes_exit_2(env, capsys, args, message):
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_a_bad_role_is_refused_by_the_parser(env, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["user", "add", "x", "--role", "owner"])
    assert exit_.value.code == 2
    assert "invalid choice: 'owner'" in capsys.readouterr().err


def test_a_token_from_the_cli_works_on_the_api(env, capsys):
    from litestar.testing import TestClient

    from server.app import create_app

    assert main(["token", "add", "manager_r1"]) == 0
    token = capsys.readouterr().out.strip()
    with TestClient(create_app(env)) as client:
        assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()["name"] == "manager_r1"


def test_locations_import_all_or_nothing_with_line_numbers(env, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,region,lat,lng\nn1,North 1,r3,54.1,-1.2\nn2,,r3,54.2,-1.3\nn3,North 3,r3,91,-1.3\nn1,Again,r3,,\nn4,North 4,r3,54.2,\n")
    assert main(["locations", "import", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == [
        f"{bad}: line 3 name: missing: expected a non-empty text",
        f"{bad}: line 4 lat: expected a number from -90 to 90, got \"91\"",
    ]
    assert f"{bad}: line 5 id: 'n1' appears twice (first on line 2)" in err
    assert f"{bad}: line 6 lng: give both lat and lng, or neither" in err
    assert err[-1] == "nothing was imported"
    good = tmp_path / "good.csv"
    good.write_text("id,name,region,address,lat,lng\nn1,North 1,r3,1 Quay St,54.1,-1.2\nn2,North 2,r3,,,\n")
    assert main(["locations", "import", str(good)]) == 0
    assert capsys.readouterr().out.strip() == "2 locations imported"
    from server.migrations import open_database

    db = open_database(env.store)
    assert db.execute("SELECT COUNT(*) FROM locations WHERE region = 'r3'").fetchone()[0] == 2
    assert db.execute("SELECT lat, brand FROM locations WHERE id = 'n1'").fetchone() == (54.1, "acme")


def test_locations_import_refuses_unknown_columns_and_brands(env, tmp_path, capsys):
    odd = tmp_path / "odd.csv"
    odd.write_text("id,name,zone\nx,X,r1\n")
    assert main(["locations", "import", str(odd)]) == 2
    assert "line 1: missing column region; unknown column zone" in capsys.readouterr().err
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,name,region,brand\nx,X,r1,zeta\n")
    assert main(["locations", "import", str(wrong)]) == 2
    assert "line 2 brand: no brand 'zeta' (known: acme)" in capsys.readouterr().err


def test_post_locations_is_all_or_nothing(server):
    rows = [{"id": "n1", "name": "N1", "region": "r3"}, {"id": "n1", "name": "N1 again", "region": "r3", "brand": "zeta"}]
    response = server.post("/api/locations", "admin", json=rows)
    assert response.status_code == 422
    assert response.json()["problems"] == [
        {"field": "[1].brand", "message": "no brand 'zeta' (known: acme)"},
        {"field": "[1].id", "message": "'n1' appears twice (first at [0])"},
    ]
    assert server.get("/api/locations/n1", "admin").status_code == 404
    bad_shape = server.post("/api/locations", "admin", json=[{"id": "n1", "name": "N1", "region": "r3", "lat": "north"}])
    assert bad_shape.status_code == 400  # litestar reports a bad entry of a top-level list as `data`
    assert bad_shape.json()["problems"][0]["message"] == "Expected `float | null`, got `str`"


def test_demo_builds_believable_data(tmp_path, capsys):
    root = __import__("pathlib").Path(__file__).resolve().parent.parent
    data = tmp_path / "demo"
    assert main(["demo", "--data", str(data), "--checklists", str(root / "checklists"), "--no-serve"]) == 0
    out = capsys.readouterr().out
    # six months of 5 audits at 40 shops, one made for each of the 8 done assignments (2 a region),
    # and 3 a reviewer should doubt (too fast, a reused photo, photos taken far away)
    assert "1211 audits of 40 locations; 22 wait for review" in out
    assert "manager-east" in out and "curl" in out
    assert "2 campaigns on the support line with 64 calls" in out
    from server.checklists.catalog import Catalog
    from server.migrations import open_database
    from server.locations.summaries import region_summary

    db = open_database(data / "touchpoint.db")
    catalog = Catalog.load(db, root / "checklists")
    regions = {r["id"]: region_summary(db, catalog, r, None, None) for r in db.query("SELECT * FROM regions WHERE id != 'service'")}
    assert set(regions) == {"north", "south", "east", "west"}
    service = region_summary(db, catalog, next(db.query("SELECT * FROM regions WHERE id = 'service'")), None, None)
    assert service.score is None  # the channels' campaign calls are kept apart from the mystery-shop figures
    assert all(len(r.ranking) == 10 for r in regions.values())
    assert max(regions, key=lambda r: regions[r].consistency) == "east"  # the consistent region
    scores = [row[0] for row in db.execute("SELECT score FROM audits WHERE campaign IS NULL")]
    in_the_80s_or_more = sum(1 for s in scores if s >= 80) / len(scores)
    assert 0.5 < in_the_80s_or_more < 0.9  # most shops do well, with a tail down
    neglected = db.execute("SELECT AVG(score) FROM audits WHERE checklist = 'bathroom' AND location IN ('north-hexham', 'south-margate', 'west-bude')").fetchone()[0]
    others = db.execute("SELECT AVG(score) FROM audits WHERE checklist = 'bathroom' AND location NOT IN ('north-hexham', 'south-margate', 'west-bude')").fetchone()[0]
    assert neglected < others - 15
    holds = [json.loads(v) for (v,) in db.execute("SELECT value FROM answers JOIN audits ON audits.seq = answers.audit WHERE location = 'south-lewes' AND item = 'hold_seconds' ORDER BY day")]
    assert holds[-1] > holds[0] + 150  # the hold time creeps up
    assert db.execute("SELECT COUNT(*) FROM audits WHERE status = 'awaiting_photos'").fetchone()[0] == 0
    photos = db.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
    assert photos > 300 and len(list((data / "photos").rglob("*.jpg"))) == 2 * photos  # real evidence, display and thumbnail
    whitby = db.execute("SELECT lat, lng FROM locations WHERE id = 'north-whitby'").fetchone()
    assert whitby == pytest.approx((54.49, -0.62), abs=0.01)  # the real town, not 0, 0
    assert db.execute("SELECT COUNT(*) FROM locations WHERE kind = 'place' AND (lat IS NULL OR lng IS NULL)").fetchone()[0] == 0
    # a living program: every status, every assignment state, corrections and a history to read
    statuses = dict(db.execute("SELECT status, COUNT(*) FROM audits WHERE campaign IS NULL GROUP BY status").fetchall())
    assert statuses["returned"] == 3 and statuses["rejected"] == 2 and statuses["submitted"] == 22 and statuses["approved"] == 1184
    assert db.execute("SELECT COUNT(*) FROM corrections").fetchone()[0] == 3
    from server.accounts.accounts import user_by_name
    from server.program.assignments import STATES, listing

    states = {a.state for a in listing(db, user_by_name(db, "admin"), __import__("datetime").date.today(), list(STATES), limit=1000)}
    assert states == {"planned", "due", "overdue", "done", "cancelled"}
    assert db.execute("SELECT COUNT(DISTINCT action) FROM history").fetchone()[0] >= 8
    assert user_by_name(db, "staff-whitby").location == "north-whitby"
    from server.locations.locations import distance_m

    far = [distance_m(p_lat, p_lng, l_lat, l_lng) for p_lat, p_lng, l_lat, l_lng in db.execute(
        "SELECT p.lat, p.lng, l.lat, l.lng FROM photos p JOIN audits a ON a.id = p.audit JOIN locations l ON l.id = a.location WHERE a.campaign IS NULL")]
    screenshots = db.execute("SELECT COUNT(*) FROM photos p JOIN audits a ON a.id = p.audit WHERE a.campaign IS NOT NULL AND p.lat IS NULL").fetchone()[0]
    assert len(far) + screenshots == photos  # every shop photo has its GPS position; a channel's screenshot has none
    photos -= screenshots
    near = sum(1 for d in far if d <= 60.5)  # a few metres from the shop
    away = sum(1 for d in far if 2000 <= d <= 15100)  # taken somewhere else
    assert near + away == photos and 0 < away < photos / 10
    # follow-up: the three doubtful audits are flagged, actions are open and overdue, the webhook has deliveries
    flagged = {kind for (kind,) in db.execute("SELECT f.kind FROM flags f JOIN audits a ON a.id = f.audit WHERE a.status = 'submitted'")}
    assert {"too_fast", "photo_reused", "photo_far"} <= flagged
    today = __import__("datetime").date.today().isoformat()
    opened, overdue, closed = db.execute("SELECT sum(state = 'open'), sum(state = 'open' AND due < ?), sum(state = 'closed') FROM actions", [today]).fetchone()
    assert opened > overdue > 0 and closed > 100
    assert db.execute("SELECT count(*) FROM deliveries d JOIN webhooks w ON w.id = d.webhook WHERE w.url LIKE '%/touchpoint-demo'").fetchone()[0] > 0
    # campaigns: a finished one and a running one on the support line, their calls kept apart (never counted, never reviewed)
    now = __import__("datetime").datetime.now(__import__("datetime").UTC).isoformat()
    assert db.execute("SELECT sum(ends_at < ?), sum(starts_at <= ? AND ends_at > ?) FROM campaigns", [now, now, now]).fetchone() == (1, 1)
    assert db.execute("SELECT COUNT(*) FROM campaign_channels WHERE location = 'support-line'").fetchone()[0] == 2
    assert db.execute("SELECT COUNT(*), sum(counts), sum(status != 'submitted') FROM audits WHERE campaign IS NOT NULL").fetchone() == (64, 0, 0)
    # run again on its data: nobody's password changes (the demo's users, one added by hand), none is printed
    import re

    from server.accounts.accounts import check_password

    printed = dict(re.findall(r"^  (\S+)\s+(\S+)$", out, re.M))
    assert set(printed) == {"admin", "manager-north", "manager-south", "manager-east", "manager-west", "ana", "ben", "chloe", "dev", "staff-whitby"}
    from server.accounts import accounts

    accounts.add_user(db, "zoe", "auditor", [], "zoe's own long password")
    again = ["demo", "--data", str(data), "--checklists", str(root / "checklists"), "--no-serve"]
    assert main(again) == 0
    out = capsys.readouterr().out
    assert "already holds data: keeping it and every password" in out and "--reset-passwords" in out
    assert not re.findall(r"^  (\S+)\s+(\S+)$", out, re.M) and printed["admin"] not in out
    assert check_password(db, "admin", printed["admin"]) and check_password(db, "zoe", "zoe's own long password")
    # asked for: new passwords for the demo's own users only, never a participant's, never zoe's
    assert main([*again, "--reset-passwords"]) == 0
    reset = dict(re.findall(r"^  (\S+)\s+(\S+)$", capsys.readouterr().out, re.M))
    assert set(reset) == set(printed)
    assert check_password(db, "admin", printed["admin"]) is None and check_password(db, "admin", reset["admin"]).name == "admin"
    assert check_password(db, "zoe", "zoe's own long password").name == "zoe"
    assert db.execute("SELECT COUNT(*) FROM users WHERE role = 'participant' AND password_hash != '!'").fetchone()[0] == 0


def test_settings_from_the_environment_are_checked(monkeypatch, capsys):
    monkeypatch.setenv("TOUCHPOINT_PORT", "eighty")
    assert main(["serve"]) == 2
    assert "TOUCHPOINT_PORT / --port" in capsys.readouterr().err


def test_serve_refuses_to_start_on_bad_checklists(tmp_path, capsys):
    (tmp_path / "c" / "x").mkdir(parents=True)
    (tmp_path / "c" / "x" / "brand.yaml").write_text("id: x\n")
    assert main(["serve", "--data", str(tmp_path / "d"), "--checklists", str(tmp_path / "c")]) == 2
    assert "the server did not start" in capsys.readouterr().err


def test_locations_import_is_the_first_command_on_a_new_data_folder(tmp_path, monkeypatch, capsys):
    """No server has run yet, so the brands are not in the database until the import records them."""
    settings = make_server_files(tmp_path)
    point_cli_at(monkeypatch, msgspec.structs.replace(settings, data=tmp_path / "fresh"))  # on PostgreSQL: its new, empty database
    monkeypatch.setenv("TOUCHPOINT_CHECKLISTS", str(settings.checklists))
    csv = tmp_path / "first.csv"
    csv.write_text("id,name,region\nshop-1,First Shop,north\n")
    assert main(["locations", "import", str(csv)]) == 0
    assert capsys.readouterr().out.strip() == "1 location imported"
    assert main(["user", "add", "ann", "--role", "auditor", "--region", "north"]) == 0


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A folder with no data and no checklists, the settings left at their defaults."""
    for name in ("TOUCHPOINT_DATA", "TOUCHPOINT_CHECKLISTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("command", [["demo", "--no-serve"], ["serve", "--port", "1"]])
def test_demo_and_serve_run_elsewhere_say_where_they_looked_and_create_nothing(elsewhere, capsys, command):
    assert main(command) == 2
    err = capsys.readouterr().err
    assert f"no checklists folder at {elsewhere / 'checklists'}" in err
    assert "--checklists DIR" in err and "Nothing was created" in err
    assert list(elsewhere.iterdir()) == []  # no data folder, no empty database


def test_token_in_a_folder_without_data_creates_no_database(elsewhere, capsys):
    assert main(["token", "add", "ana"]) == 2
    err = capsys.readouterr().err
    assert f"no Touchpoint data in {elsewhere / 'data'}" in err and "--data DIR" in err
    assert list(elsewhere.iterdir()) == []


def test_user_set_password_generates_one_and_ends_the_sessions(env, capsys):
    from server.accounts import accounts
    from server.migrations import open_database
    from server.program import history

    db = open_database(env.store)
    user = accounts.user_by_name(db, "auditor_b")
    accounts.new_session(db, user, 8)
    accounts.new_session(db, user, 8)
    assert main(["user", "set-password", "auditor_b"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("auditor_b: new password: ") and out.endswith("(2 sessions ended)")
    password = out.removeprefix("auditor_b: new password: ").rsplit(" (", 1)[0]
    assert len(password) == 16 and accounts.check_password(db, "auditor_b", password) is not None
    assert db.execute("SELECT count(*) FROM sessions WHERE person = ?", [user.id]).fetchone()[0] == 0
    assert [(e.actor, e.action, e.note) for e in history.entries(db, "person", str(user.id))] == [(None, "password reset", "touchpoint user set-password")]


def test_user_set_password_takes_one_by_the_clis_rules(env, capsys):
    from server.accounts.accounts import check_password
    from server.migrations import open_database

    assert main(["user", "set-password", "manager_r2", "--password", "a chosen passphrase"]) == 0
    assert capsys.readouterr().out.strip() == "manager_r2: password set (0 sessions ended)"
    assert check_password(open_database(env.store), "manager_r2", "a chosen passphrase") is not None
    assert main(["user", "set-password", "manager_r2", "--password", "short"]) == 2
    assert "user set-password: password: at least 12 characters" in capsys.readouterr().err
    assert main(["user", "set-password", "ghost"]) == 2
    assert "user set-password: no user called 'ghost'" in capsys.readouterr().err
