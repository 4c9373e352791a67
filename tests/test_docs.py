"""The README keeps up: every CLI command, API route and setting is documented."""

import re
from pathlib import Path

from server.api import photos
from server.app import HANDLERS
from server.cli import parser
import msgspec

from server.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


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
