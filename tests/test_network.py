"""How the running server meets the network (issue 23), against a real `touchpoint serve` on
loopback: who a client is, a parallel burst of guesses, a 1 MB header, a body sent a byte at a time."""

import re
import socket
import threading
import time

import httpx
import pytest

from server.db import connect
from tests.live import ADMIN, LiveServer


@pytest.fixture
def live(tmp_path):
    server = LiveServer(tmp_path)
    yield server
    server.stop()


def failures(server: LiveServer) -> list[str]:
    db = connect(server.store)
    try:
        return sorted(key for (key,) in db.execute("SELECT key FROM login_failures WHERE key LIKE 'addr:%'"))
    finally:
        db.conn.close()


def guess(server: LiveServer, name: str, **headers) -> int:
    return httpx.post(server.url + "/api/login", json={"name": name, "password": "not the password"}, headers=headers, timeout=30).status_code


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(live):
    """Before: uvicorn believed X-Forwarded-For from 127.0.0.1, so a rotating header escaped the per-address limit."""
    live.start()
    for n in range(3):
        assert guess(live, f"nobody-{n}", **{"X-Forwarded-For": f"10.0.0.{n}"}) == 401
    assert failures(live) == ["addr:127.0.0.1"] * 3
    live.stop()
    live.env["TOUCHPOINT_TRUSTED_PROXIES"] = "127.0.0.1"
    live.start()
    assert guess(live, "nobody-9", **{"X-Forwarded-For": "10.0.0.9"}) == 401
    assert failures(live) == ["addr:10.0.0.9"] + ["addr:127.0.0.1"] * 3


def test_a_parallel_burst_on_one_name_gets_five_password_checks(live):
    """Before: ten parallel guesses all read the count before any was written, and got ten checks."""
    live.start()
    answers, start = [], threading.Barrier(10)

    def one():
        start.wait()
        answers.append(guess(live, ADMIN))

    threads = [threading.Thread(target=one) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [401] * 5 + [429] * 5
    assert httpx.post(live.url + "/api/login", json={"name": ADMIN, "password": "boss-password-1"}, timeout=30).status_code == 429  # the name waits, right password or not


def raw(server: LiveServer, head: bytes, body_chunks=(), pause: float = 0.0, timeout: float = 30) -> tuple[bytes, float]:
    """Send `head`, then each body chunk `pause` seconds apart; the answer's first bytes and when they came."""
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(head)
        s.settimeout(0.01 if body_chunks else timeout)
        answer = b""
        for chunk in body_chunks:
            try:
                s.sendall(chunk)
            except OSError:  # the server answered and closed
                break
            try:
                answer += s.recv(65536)
            except (TimeoutError, BlockingIOError):
                pass
            if answer:
                break
            time.sleep(pause)
        s.settimeout(timeout)
        while b"\r\n\r\n" not in answer or not _whole(answer):  # the body may come in a packet of its own
            got = s.recv(65536)
            if not got:
                break
            answer += got
    return answer, time.monotonic() - began


def _whole(answer: bytes) -> bool:
    """The head and as much body as its Content-Length says (a head alone, when it says none)."""
    head, _, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return length is None or len(body) >= int(length.group(1))


def test_a_one_megabyte_header_is_refused(live):
    live.start()
    head = b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"
    try:
        answer, _ = raw(live, head)
    except (ConnectionResetError, BrokenPipeError):
        answer = b"HTTP/1.1 400 (the server closed the connection mid-header)"
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]
    assert httpx.get(live.url + "/api/health", timeout=10).status_code == 200  # and the server goes on


def test_a_body_sent_at_ten_bytes_a_second_gets_a_408(live):
    live.env["TOUCHPOINT_BODY_SECONDS"] = "2"
    live.start()
    body = b'{"name": "' + b"a" * 200 + b'", "password": "x"}'
    head = f"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    answer, took = raw(live, head, [body[i:i + 1] for i in range(len(body))], pause=0.1)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
    assert b"did not arrive within 2 s" in answer or b"request_timeout" in answer
    assert 1.5 < took < 6, took
