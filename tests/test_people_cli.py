"""`touchpoint user list` and `touchpoint user edit`: the table, the filters, a change written to
the history, and exit code 2 with the field's message on bad input."""

import pytest

from server.cli import main
from tests.conftest import make_server_files, seed
from tests.engine import point_cli_at


@pytest.fixture
def env(tmp_path, monkeypatch):
    settings = make_server_files(tmp_path)
    db, _ = seed(settings)
    db.execute("UPDATE users SET last_sign_in_at = '2026-11-30T08:15:00+00:00', email = 'b@example.com' WHERE name = 'auditor_b'")
    db.execute("UPDATE users SET disabled_at = '2026-11-01T00:00:00+00:00' WHERE name = 'manager_r2'")
    db.conn.close()
    point_cli_at(monkeypatch, settings)
    monkeypatch.setenv("TOUCHPOINT_CHECKLISTS", str(settings.checklists))
    return settings


def test_user_list_is_a_table_with_filters(env, capsys):
    assert main(["user", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "role", "regions", "or", "location", "state", "last", "sign-in"]
    assert [line.split()[0] for line in lines[1:]] == ["admin", "auditor_a", "auditor_b", "manager_r1", "manager_r2", "staff_l1"]
    assert lines[3].split() == ["auditor_b", "auditor", "r2", "active", "2026-11-30", "08:15"]
    assert lines[2].split() == ["auditor_a", "auditor", "every", "region", "active", "never"]
    assert lines[5].split() == ["manager_r2", "manager", "r2", "disabled", "never"]
    assert lines[6].split() == ["staff_l1", "staff", "Shop", "1", "active", "never"]
    assert main(["user", "list", "--role", "manager"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["manager_r1", "manager_r2"]
    assert main(["user", "list", "--region", "r1"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["manager_r1", "staff_l1"]
    assert main(["user", "list", "--search", "B@EXAMPLE"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["auditor_b"]
    assert main(["user", "list", "--search", "nobody-at-all"]) == 0
    assert capsys.readouterr().out == "nobody matches\n"


def test_user_edit_changes_and_writes_the_history(env, capsys):
    assert main(["user", "edit", "auditor_a", "--region", "r1", "--region", "r2", "--email", "a@example.com"]) == 0
    assert capsys.readouterr().out == "auditor_a: auditor, r1, r2, e-mail a@example.com\n"
    assert main(["user", "edit", "staff_l1", "--location", "l2"]) == 0
    assert capsys.readouterr().out == "staff_l1: staff, Shop 2, e-mail none\n"
    assert main(["user", "edit", "auditor_b", "--role", "staff", "--location", "l4"]) == 0
    capsys.readouterr()
    from server.migrations import open_database

    db = open_database(env.store)
    assert db.execute("SELECT role, location FROM users WHERE name = 'auditor_b'").fetchone() == ("staff", "l4")
    rows = db.execute("SELECT actor, action, before, after FROM history WHERE kind = 'person' ORDER BY seq").fetchall()
    assert rows[0] == (None, "edited", '{"regions":[],"email":"none"}', '{"regions":["r1","r2"],"email":"changed"}')  # the command line: no actor
    assert rows[2] == (None, "edited", '{"role":"auditor","regions":["r2"],"location":null}', '{"role":"staff","regions":[],"location":"l4"}')


@pytest.mark.parametrize("args, message", [
    (["user", "edit", "ghost", "--role", "auditor"], "user edit: no user called 'ghost'"),
    (["user", "edit", "auditor_a"], "user edit: nothing to change"),
    (["user", "edit", "auditor_a", "--role", "staff"], "user edit: location: staff need a location"),
    (["user", "edit", "auditor_a", "--region", "mars"], "user edit: regions: no region 'mars'"),
    (["user", "edit", "auditor_a", "--email", "not an address"], "user edit: email: expected an address like name@example.com"),
    (["user", "edit", "auditor_a", "--location", "l1"], "user edit: location: only staff have a location"),
    (["user", "edit", "manager_r1", "--region", "mars", "--email", "x"], "user edit: regions: no region 'mars' (known: r1, r2)\nuser edit: email: expected"),
])
def test_user_edit_mistakes_exit_2_naming_the_field(env, capsys, args, message):
    assert main(args) == 2
    assert message in capsys.readouterr().err
