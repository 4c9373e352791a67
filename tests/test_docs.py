"""The README keeps up: every CLI command, API route and setting is documented."""

import re
from pathlib import Path

from server.app import routes
from server.cli import parser
import msgspec

from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_cli_command_is_in_the_readme():
    top = parser()
    commands = top._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        nested = [a for a in sub._actions if a.__class__.__name__ == "_SubParsersAction"]
        names = [f"touchpoint {name} {action}" for action in nested[0].choices] if nested else [f"touchpoint {name}"]
        for command in names:
            assert f"`{command}" in README, command


def test_every_route_is_in_the_readme():
    api = [h for h in routes(Settings()) if hasattr(h, "http_methods") and all(p.startswith("/api/") for p in h.paths)]
    assert len(api) > 40
    for handler in api:
        for method in handler.http_methods:
            for path in handler.paths:
                shown = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
                assert f"{method} {shown}" in README, f"{method} {shown}"


def test_every_setting_is_in_the_readme():
    for name in (f.name for f in msgspec.structs.fields(Settings)):
        assert f"TOUCHPOINT_{name.upper()}" in README, name


def test_the_readme_check_example_is_what_check_prints(tmp_path, capsys):
    """The four mistakes the README shows, made in a copy of the demo brand, print those lines."""
    import shutil

    from server.cli import main

    root = tmp_path / "checklists"
    shutil.copytree(ROOT / "checklists", root)
    phone = root / "harbor" / "phone.yaml"
    text = phone.read_text()
    for old, new in (("{at_most: 5, score: 0.5}", "{at_most: five, score: 0.5}"), ("weight: 2\n        labels", "wieght: 2\n        labels"),
                     ('pass: "no"\n        pillars: [easy]\n      - id: transfer_explained', 'pass: no\n        pillars: [easy]\n      - id: transfer_explained'),
                     ('{item: was_transferred, equals: "yes"}\n        pillars: [friendly, easy]', '{item: was_transfered, equals: "yes"}\n        pillars: [friendly, easy]')):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    phone.write_text(text)
    assert main(["check", str(root)]) == 2
    printed = capsys.readouterr().err.splitlines()
    shown = README.split("$ touchpoint check\n", 1)[1].split("```", 1)[0].splitlines()
    assert printed[:-1] == shown[:-1]
    assert printed[-1] == f"4 problems in {root}" and shown[-1] == "4 problems in checklists"


def test_the_readme_test_command_is_what_ci_runs():
    """CI proves the README's second command: the very line, not a paraphrase."""
    command = next(line for line in README.splitlines() if line.endswith("&& pytest"))
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()


CONTRACT = (ROOT / "checklists" / "README.md").read_text()


def _blocks(text: str, language: str) -> list[str]:
    return [block.split("```", 1)[0] for block in text.split(f"```{language}\n")[1:]]


def _scored_example() -> dict:
    import json

    from server.checklists import load_brand
    from server.checklists.scoring import parse_answers, score_audit

    harbor = load_brand(ROOT / "checklists" / "harbor")
    answers = json.loads((ROOT / "checklists" / "harbor" / "examples" / "phone-call.json").read_text())["answers"]
    return msgspec.to_builtins(score_audit(harbor.brand, harbor.checklists["phone"], parse_answers(answers)))


def test_the_contract_pages_yaml_examples_load():
    from server.checklists import parse_brand, parse_checklist

    brand_yaml, checklist_yaml = _blocks(CONTRACT, "yaml")
    brand = parse_brand(brand_yaml.encode())
    loaded = parse_checklist(checklist_yaml.encode(), brand, "phone.yaml")
    assert loaded.checklist.items()[5].labels == {1: "Curt or impatient", 5: "Warm, patient, used your name"}


def test_the_worked_audit_example_is_what_scoring_gives():
    import json

    result = _scored_example()
    (shown,) = (json.loads(b) for b in _blocks(CONTRACT, "json"))
    for key, value in shown.items():
        if isinstance(value, dict):
            assert {k: None if v is None else round(v, 2) for k, v in result[key].items()} == value, key
        else:
            assert result[key] == value, key
    block = next(b for b in _blocks(README, "json") if '"checklist": "phone"' in b)
    readme = json.loads(block.replace('"…": {}', '"rings": {"f": 0.5, "earned": 0.5, "possible": 1.0}'))
    assert {k: v for k, v in result.items() if k != "items"} == {k: v for k, v in readme.items() if k != "items"}  # exact, unrounded


def test_the_worked_location_example_is_what_the_figures_give():
    """Shop A: checkout 70 (kept? no) and 90 (yes), phone 62.5 (no); shop B: ten checkouts of 85, kept."""
    from server.checklists import parse_brand
    from server.checklists.scoring import RegionMember, ScoredAudit, location_figures, region_figures

    brand = parse_brand(_blocks(CONTRACT, "yaml")[0].encode())
    shop_a = [ScoredAudit(touchpoint="checkout", score=70, promise_kept=False, pillars={}),
              ScoredAudit(touchpoint="checkout", score=90, promise_kept=True, pillars={}),
              ScoredAudit(touchpoint="phone", score=62.5, promise_kept=False, pillars={})]
    shop_b = [ScoredAudit(touchpoint="checkout", score=85, promise_kept=True, pillars={})] * 10
    a, b = location_figures(brand, shop_a), location_figures(brand, shop_b)
    assert (a.score, round(a.consistency, 2), a.spread, a.weakest, round(a.promise_kept_rate, 2)) == (71.25, 76.79, 17.5, "phone", 0.33)
    assert (b.score, b.consistency, b.spread, b.weakest, b.promise_kept_rate) == (85, 100, 0, "checkout", 1)
    region = region_figures([RegionMember(location="a", figures=a, credibility_k=5), RegionMember(location="b", figures=b, credibility_k=5)])
    assert (region.score, region.consistency) == (78.125, 86.25)
    assert [(r.location, round(r.adjusted, 2)) for r in region.ranking] == [("b", 82.71), ("a", 75.55)]
    for figure in ("**71.25**", "**76.79**", "**17.5**", "**0.33**", "**75.55**", "**82.71**", "**78.125**", "**86.25**"):
        assert figure in CONTRACT


def test_the_readme_links_the_contract():
    assert "](checklists/README.md)" in README


def test_the_readme_lists_the_limits_as_the_code_has_them():
    from server.limits import table

    assert table() in README


def test_the_readme_lists_the_error_catalog_as_the_code_has_it():
    """The table under "HTTP API": each code once, with its statuses and meaning, in the catalog's order."""
    from server.errors import ErrorCode

    table = README.split("| code | status | meaning |\n|---|---|---|\n", 1)[1].split("\n\n", 1)[0]
    rows = [tuple(cell.strip() for cell in line.strip("|").split(" | ")) for line in table.splitlines()]
    assert rows == [(f"`{code.value}`", code.shown_statuses(), code.meaning) for code in ErrorCode]
