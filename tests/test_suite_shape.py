"""The test suite's own shape: browser tests in tests/browser/, proofs in tests/proofs/, a marker
for each folder, and the README's fast lane leaving out every one of them."""

import re
import tomllib

from tests.conftest import FOLDER_MARKERS
from tests.live import REPO

TESTS = REPO / "tests"
README = (REPO / "README.md").read_text()
MARKERS = {line.split(":")[0] for line in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]}


def test_only_the_browser_folder_drives_a_browser():
    outside = [str(path.relative_to(TESTS)) for path in TESTS.rglob("test_*.py")
               if "playwright" in path.read_text() and path.parent.name != "browser" and path.name != "test_suite_shape.py"]
    assert outside == []


def test_each_folder_has_its_registered_marker_and_its_tests():
    assert set(FOLDER_MARKERS.values()) <= MARKERS and MARKERS == {"browser", "proof", "slow"}
    for folder in FOLDER_MARKERS:
        assert list((TESTS / folder).glob("test_*.py")), folder


def test_the_readmes_fast_lane_leaves_out_every_marker():
    lane = re.search(r'^pytest -m "([^"]+)"$', README, re.M).group(1)
    assert lane == " and ".join(f"not {marker}" for marker in ("browser", "proof", "slow"))
    for marker in MARKERS:
        assert f"`{marker}`" in README, marker
