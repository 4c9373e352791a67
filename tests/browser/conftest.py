"""The browser tests' fixtures: one Playwright and one Chromium for the run, the real server process
seeded with two shops, and the demo, built once for the run and served from a copy per module."""

import functools
import re
import shutil

import pytest
from playwright.sync_api import sync_playwright

from tests.live import CHROMIUM_ARGS, LiveServer, chromium
from tests.postgres import run_cluster


@pytest.fixture(scope="session")
def playwright():
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright):
    """The system's Chromium; each test opens contexts of its own in it."""
    launched = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)  # fails, never skips, when Chromium is missing
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`touchpoint serve` over two shops, an auditor and an admin (tests.live.LiveServer)."""
    live = LiveServer(tmp_path_factory.mktemp("pwa")).start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory):
    """`touchpoint demo --no-serve` in a fresh data folder, once for the run: (its folder, what it printed)."""
    folder = tmp_path_factory.mktemp("demo-built")
    builder = LiveServer(folder, seed=False)
    built = builder.cli("demo", "--no-serve")
    return folder, built, builder.env.get("TOUCHPOINT_DATABASE_URL")


class Demo(LiveServer):
    """The demo as `touchpoint demo --no-serve` built it, in a data folder of its own, then served;
    every demo user's password as the build printed it, and an admin's token."""

    def __init__(self, folder, built_demo):
        source, built, database = built_demo
        shutil.copytree(source / "data", folder / "data")
        super().__init__(folder, seed=False)
        if database:  # on PostgreSQL: a copy of the built demo's database, as the folder is copied
            self.env["TOUCHPOINT_DATABASE_URL"] = run_cluster().copy_database(database)
        self.passwords = dict(re.findall(r"^  (\S+)\s+(\S+)$", built.split("Sign in as")[1].split("\n\n")[0], re.M))
        self.manager_password, self.admin_password = self.passwords["manager-east"], self.passwords["admin"]

    @functools.cached_property
    def admin_token(self) -> str:
        """Made when first asked for (LiveServer.api): a module that never asks keeps the demo as built."""
        return self.cli("token", "add", "admin").strip().split()[-1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, built_demo):
    """The demo for one module: what it changes stays in that module."""
    live = Demo(tmp_path_factory.mktemp("demo"), built_demo).start()
    yield live
    live.stop()
