"""Several hosts on one PostgreSQL (issue 28): `touchpoint serve` on three ports, each with a data
folder of its own, started together on one empty database, make its schema once and print one setup
link for the installation between them (the others say where it is), as several servers of one data
folder do on one machine (tests/test_serve_workers.py)."""

import re
import subprocess
import time
from pathlib import Path

import httpx

from tests.live import CLI, LiveServer


def test_three_hosts_started_together_on_one_empty_database_print_one_setup_link(tmp_path, postgres_url):
    hosts = []
    for n in range(3):
        (tmp_path / f"host{n}").mkdir()
        host = LiveServer(tmp_path / f"host{n}", seed=False)
        host.env["TOUCHPOINT_DATABASE_URL"] = postgres_url
        hosts.append(host)
    try:
        for host in hosts:  # all three before any has answered: they race for the empty database
            host.process = subprocess.Popen([*CLI, "serve", "--workers", "1"], env=host.env, cwd=host.root,
                                            stdout=host.log.open("a"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while not all("No admin yet" in host.log.read_text() for host in hosts):
            assert time.monotonic() < deadline, [host.log.read_text() for host in hosts]
            assert all(host.process.poll() is None for host in hosts), [host.log.read_text()[-3000:] for host in hosts]
            time.sleep(0.1)
        links = [link for host in hosts for link in re.findall(r"http://127\.0\.0\.1:\d+/setup/[A-Za-z0-9_-]+", host.log.read_text())]
        assert len(links) == 1, [host.log.read_text() for host in hosts]
        assert sum("printed by the server already running on this database" in host.log.read_text() for host in hosts) == 2
        page = httpx.get(links[0], timeout=5)  # it works, whichever host printed it: no later start revoked it
        assert page.status_code == 200 and "Make the first admin" in page.text
        for host in hosts:
            assert "Traceback" not in host.log.read_text()
            assert not list(Path(host.env["TOUCHPOINT_DATA"]).rglob("*.lock")), "a lock file of one host's data folder stood for the installation"
    finally:
        for host in hosts:
            host.stop()
