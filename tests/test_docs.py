"""The README keeps up: every CLI command, API route and setting is documented."""

import re
from pathlib import Path

from server.api import photos
from server.app import HANDLERS
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
    for handler in [*HANDLERS, *photos.routes(Settings())]:
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
