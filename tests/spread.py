"""The API tests' server as three real server processes: `touchpoint serve --workers 1` three
times over one seeded data folder, each on its own loopback port, and a client that sends each
request to the next of them in turn. Each process has its own writer, caches, sender and limits,
as the processes of `serve --workers 3` have: a test that passes here does not depend on one
process having seen what another did. The Host header stays the test client's own
(testserver.local), so Origin checks and links read the same as through litestar's TestClient.
"""

import itertools
import os
import subprocess
import time

import httpx

from tests.live import CLI, REPO, free_port

PROCESSES = 3


class RoundRobin(httpx.BaseTransport):
    """Each request to the next port in turn, on loopback."""

    def __init__(self, ports: list[int]):
        self.ports = ports
        self._next = itertools.cycle(ports)
        self._transport = httpx.HTTPTransport()
        self.sent: dict[int, int] = dict.fromkeys(ports, 0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        port = next(self._next)
        self.sent[port] += 1
        # a copy: the client reads cookies off the request it made (for testserver.local), not this one
        there = httpx.Request(request.method, request.url.copy_with(scheme="http", host="127.0.0.1", port=port),
                              headers=request.headers, stream=request.stream, extensions=request.extensions)
        return self._transport.handle_request(there)

    def close(self) -> None:
        self._transport.close()


class SpreadClient(httpx.Client):
    """The test client over the processes; `app` as Spread.app."""

    def __init__(self, spread: "Spread", **kw):
        super().__init__(**kw)
        self.spread = spread

    @property
    def app(self):
        return self.spread.app


class Spread:
    """Three server processes over `settings`' data folder (seeded already) and the client over them.
    `app` is the same code's app made over the same folder, never serving: for tests that read the
    routes or the published checklists from it, as the processes have them."""

    def __init__(self, settings, folder):
        self.settings, self.ports, self.processes = settings, [free_port() for _ in range(PROCESSES)], []
        self.logs = [folder / f"server-{n}.log" for n in range(PROCESSES)]
        for port, log in zip(self.ports, self.logs):
            env = {**os.environ, **settings.environment(), "TOUCHPOINT_PORT": str(port), "TOUCHPOINT_WORKERS": "1"}
            self.processes.append(subprocess.Popen([*CLI, "serve"], env=env, cwd=REPO, stdout=log.open("a"), stderr=subprocess.STDOUT))
        for port, process, log in zip(self.ports, self.processes, self.logs):
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"a server process did not start: {log.read_text()[-3000:]}")
                time.sleep(0.1)
        self.transport = RoundRobin(self.ports)
        self.client = SpreadClient(self, base_url="http://testserver.local", transport=self.transport, follow_redirects=True, timeout=30)
        self._app = None

    @property
    def app(self):
        if self._app is None:
            from server.app import create_app

            self._app = create_app(self.settings)
        self._app.state.catalog.refresh(self._app.state.readers.get)
        return self._app

    def close(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if getattr(self, "client", None) is not None:
            self.client.close()
        if self._app is not None:
            self._app.state.writer.close()
            self._app.state.readers.close()

    def tracebacks(self) -> list[str]:
        return [log.read_text() for log in self.logs if "Traceback" in log.read_text()]
