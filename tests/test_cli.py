"""The `touchpoint` command: check and score, with their exit codes and messages."""

import json
import subprocess
from pathlib import Path

import pytest

from server.cli import main
from tests.conftest import BRAND_YAML, CALL_YAML, VISIT_YAML, write_brand

ROOT = Path(__file__).resolve().parent.parent
GOOD = {"greet": "yes", "wait": 3, "tidy": 4, "transferred": "no", "resolved": "yes", "channel": "callback", "mood": "calm", "sms": "na"}


@pytest.fixture
def acme(tmp_path):
    return write_brand(tmp_path / "checklists", {"brand.yaml": BRAND_YAML, "visit.yaml": VISIT_YAML, "call.yaml": CALL_YAML})


def audit_file(tmp_path, answers, **extra):
    path = tmp_path / "audit.json"
    path.write_text(json.dumps({"id": "0b9c3c1e-7f1a-4f0e-9d55-2f8d1c1a9e10", "location": "x", **extra, "answers": {k: {"value": v} for k, v in answers.items()}}))
    return path


def test_check_passes_on_the_shipped_brand(capsys):
    assert main(["check", str(ROOT / "checklists")]) == 0
    assert capsys.readouterr().out.startswith("harbor: ok: checkout (13 items, version ")


def test_check_lists_every_problem_and_exits_2(acme, capsys):
    (acme / "visit.yaml").write_text(VISIT_YAML.replace("weight: 2", "weight: two").replace("min: 1, max: 5", "min: 5, max: 1"))
    assert main(["check", str(acme.parent)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        'acme/visit.yaml:8: section a, item greet: weight: expected a number >= 0, got "two"',
        "acme/visit.yaml:16: section a, item tidy: max: must be greater than min (5), got 1",
        "2 problems in " + str(acme.parent),
    ]


def test_check_refuses_integrity_thresholds_that_make_no_sense(acme, capsys):
    (acme / "brand.yaml").write_text(BRAND_YAML + "integrity:\n  max_photo_distance_m: -300\n  duplicate_photo_bits: 65\nactions: {owner: everyone}\n")
    assert main(["check", str(acme.parent)]) == 2
    err = capsys.readouterr().err
    assert "integrity.max_photo_distance_m: expected a number > 0, got -300" in err
    assert "integrity.duplicate_photo_bits: expected a whole number from 0 to 8, got 65" in err
    assert "actions.owner" in err and "everyone" in err


def test_check_lists_a_misspelt_show_if_beside_broken_parts_in_one_run(acme, capsys):
    """Three problems in one file: an unknown top-level key and a bad band once hid the show_if typo."""
    broken = (VISIT_YAML.replace("mode: in_person", "mode: in_person\ncolour: blue")  # line 4
              .replace("at_most: 2, score: 1", "at_most: two, score: 1")  # wait's first band, line 14
              .replace("{item: transferred, equals", "{item: transfered, equals"))  # explained's show_if, line 25
    (acme / "visit.yaml").write_text(broken)
    assert main(["check", str(acme.parent)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "acme/visit.yaml:4: colour: unknown key (expected one of: id, title, mode, critical_cap, min_minutes, sections)",
        'acme/visit.yaml:14: section a, item wait: bands[0].at_most: expected a number, got "two"',
        "acme/visit.yaml:25: section b, item explained: show_if.item: 'transfered' must name an item that comes earlier"
        " in this checklist (did you mean 'transferred'?)",
        "3 problems in " + str(acme.parent),
    ]


def test_check_reads_the_folder_from_the_environment(acme, capsys, monkeypatch):
    monkeypatch.setenv("TOUCHPOINT_CHECKLISTS", str(acme.parent))
    assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith("acme: ok: visit (")


def test_check_takes_the_folder_as_an_option_too(acme, capsys):
    assert main(["check", "--checklists", str(acme.parent)]) == 0
    assert capsys.readouterr().out.startswith("acme: ok: visit (")


def test_check_on_a_missing_folder(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_score_prints_the_result_json(acme, tmp_path, capsys):
    assert main(["score", str(acme / "visit.yaml"), str(audit_file(tmp_path, GOOD))]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["score"] == pytest.approx(7.75 / 9 * 100)  # worked out in test_scoring
    assert result["checklist"] == "visit" and len(result["version"]) == 12
    assert set(result) == {"checklist", "version", "score", "raw_score", "sections", "pillars", "critical_failed", "promise_kept", "earned", "possible", "ignored", "items"}


def test_score_refused_exits_1_with_one_line_per_problem(acme, tmp_path, capsys):
    answers = {**GOOD, "tidy": 9, "bogus": "yes"}
    del answers["greet"]
    assert main(["score", str(acme / "visit.yaml"), str(audit_file(tmp_path, answers))]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert [line.split(":")[0] for line in lines] == ["bogus", "greet", "tidy"]


@pytest.mark.parametrize(
    "content, expected",
    [
        ("{not json", "not valid JSON"),
        ('{"id": "x"}', 'expected an audit object with an "answers" field'),
        ("[1, 2]", 'expected an audit object with an "answers" field'),
    ],
)
def test_score_bad_json_exits_2(acme, tmp_path, capsys, content, expected):
    path = tmp_path / "audit.json"
    path.write_text(content)
    assert main(["score", str(acme / "visit.yaml"), str(path)]) == 2
    assert expected in capsys.readouterr().err


def test_score_bad_checklist_or_missing_files_exit_2(acme, tmp_path, capsys):
    audit = audit_file(tmp_path, GOOD)
    assert main(["score", str(acme / "missing.yaml"), str(audit)]) == 2
    assert "missing.yaml: cannot read" in capsys.readouterr().err
    (acme / "visit.yaml").write_text(VISIT_YAML.replace("type: scale", "type: scales"))
    assert main(["score", str(acme / "visit.yaml"), str(audit)]) == 2
    assert "visit.yaml:16: section a, item tidy: type: expected one of" in capsys.readouterr().err
    (acme / "brand.yaml").write_text("id: acme\n")
    assert main(["score", str(acme / "call.yaml"), str(audit)]) == 2
    assert "acme/brand.yaml:1: name: missing" in capsys.readouterr().err


def test_wrong_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["score", "only-one.yaml"])
    assert exit_.value.code == 2
    assert "AUDIT.json" in capsys.readouterr().err


def test_the_installed_command_runs(acme, tmp_path):
    done = subprocess.run(["touchpoint", "score", str(acme / "visit.yaml"), str(audit_file(tmp_path, {**GOOD, "resolved": "no"}))], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["critical_failed"] == ["resolved"]
    assert result["score"] == 0.0
