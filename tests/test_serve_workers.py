"""`touchpoint serve` as many processes: N server processes on one port, supervised; several
servers started at once on one empty data folder migrate it once and all serve."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from server.migrations import migrations
from tests.engine import on_postgresql, steps_recorded
from tests.live import CLI, LiveServer, children
from tests.postgres import run_cluster


def server_processes(pid: int) -> list[int]:
    """The uvicorn server processes `serve --workers N` started (multiprocessing's spawn children
    of the supervisor; each has its writer and photo workers below it)."""
    return [child for child, _, cmdline in children(pid) if "spawn_main" in cmdline]


def wait_for(what, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := what():
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what.__doc__ or what}")


def test_three_servers_started_together_on_an_empty_folder_migrate_it_once_and_all_serve(tmp_path):
    servers = [LiveServer(tmp_path, seed=False) for _ in range(3)]
    if on_postgresql():  # one empty database for the three, as one empty folder on SQLite
        empty = run_cluster().new_database()
        for server in servers:
            server.env["TOUCHPOINT_DATABASE_URL"] = empty
    for n, server in enumerate(servers):
        server.log = tmp_path / f"server-{n}.log"
    try:
        for server in servers:  # all three before any has answered: they race for the empty folder
            server.process = subprocess.Popen([*CLI, "serve", "--workers", "1"], env=server.env, cwd=server.root,
                                              stdout=server.log.open("a"), stderr=subprocess.STDOUT)
        for server in servers:
            def answers(server=server):
                try:
                    return httpx.get(server.url + "/api/health", timeout=2).status_code == 200
                except httpx.TransportError:
                    assert server.process.poll() is None, f"a server stopped: {server.log.read_text()[-3000:]}"
                    return False
            wait_for(answers, 60)
        recorded = steps_recorded(servers[0].store)
        assert sorted(name for name, _ in recorded) == sorted(m.name for m in migrations._migrations)
        assert {count for _, count in recorded} == {1}, recorded
        # one setup link for the installation: the first server made it, the others say where it is
        wait_for(lambda: all("No admin yet" in server.log.read_text() for server in servers))
        links = [link for server in servers for link in re.findall(r"http://127\.0\.0\.1:\d+/setup/[A-Za-z0-9_-]+", server.log.read_text())]
        assert len(links) == 1, [server.log.read_text() for server in servers]
        shared = "database" if on_postgresql() else "data folder"
        assert sum(f"printed by the server already running on this {shared}" in server.log.read_text() for server in servers) == 2
        page = httpx.get(links[0], timeout=5)
        assert page.status_code == 200 and "Make the first admin" in page.text
        for server in servers:
            assert "Traceback" not in server.log.read_text()
    finally:
        for server in servers:
            server.stop()


def test_serve_with_three_workers_runs_three_processes_on_one_port_and_replaces_one_killed(tmp_path):
    server = LiveServer(tmp_path)
    server.env["TOUCHPOINT_WORKERS"] = "3"
    server.start()
    try:
        assert "3 server processes" in wait_for(lambda: "ready" in server.log.read_text() and server.log.read_text())
        first = wait_for(lambda: len(found := server_processes(server.process.pid)) == 3 and found)
        # many requests on new connections: each is answered, whichever process accepts it
        for _ in range(30):
            assert httpx.get(server.url + "/api/health", timeout=5).status_code == 200
        os.kill(first[0], signal.SIGKILL)
        again = wait_for(lambda: len(found := server_processes(server.process.pid)) == 3 and first[0] not in found and found)
        assert set(first[1:]) < set(again)
        for _ in range(30):
            assert httpx.get(server.url + "/api/health", timeout=5).status_code == 200
        assert server.api("/api/locations").status_code == 200
    finally:
        server.stop()
    # stopped: the supervisor took its processes with it
    assert all(not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text() for pid in again)


def _migrate(path: str, barrier) -> None:
    from server.migrations import open_database

    barrier.wait()  # every process opens the new file at the same instant
    open_database(Path(path)).conn.close()


def test_six_processes_opening_a_new_database_at_the_same_instant_apply_each_step_once(tmp_path):
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(6)
    path = tmp_path / "touchpoint.db"
    started = [context.Process(target=_migrate, args=(str(path), barrier)) for _ in range(6)]
    for process in started:
        process.start()
    for process in started:
        process.join(60)
    assert [process.exitcode for process in started] == [0] * 6
    recorded = steps_recorded(path)
    assert len(recorded) == len(migrations._migrations) and {count for _, count in recorded} == {1}, recorded
