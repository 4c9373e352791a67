"""Where webhooks may connect, and what a receiver may cost, with real receivers on loopback:
non-public targets refused when saved and on every attempt (unless a setting allows their
network), a huge answer read only as far as 64 KiB, a dribbling receiver cut off at the attempt's
deadline while the other receivers' deliveries go on."""

import socketserver
import threading
import time

import msgspec
import pytest

from server.db import write
from server.followup import webhooks
from tests.conftest import GOOD_VISIT, audit_body, make_server_files, seed
from tests.test_webhooks import App, Receiver, wait_for


@pytest.fixture
def folder(tmp_path):
    settings = msgspec.structs.replace(make_server_files(tmp_path), webhook_retry_seconds=0.05, webhook_poll_seconds=0.05, webhook_attempts=1)
    db, tokens = seed(settings)
    yield settings, tokens, db
    db.conn.close()


REFUSED = [
    ("http://127.0.0.1:6379/", "127.0.0.1 is a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://[::1]:8000/hook", "::1 is a loopback address"),
    ("http://0.0.0.0:8000/", "0.0.0.0 is an unspecified address"),
    ("http://2130706433/", "2130706433 resolves to 127.0.0.1, a loopback address"),
    ("http://0x7f000001/", "0x7f000001 resolves to 127.0.0.1, a loopback address"),
    ("http://127.1:8080/", "127.1 resolves to 127.0.0.1, a loopback address"),
    ("http://localhost:8000/", "localhost resolves to 127.0.0.1, a loopback address"),
    ("https://10.1.2.3/hook", "10.1.2.3 is a private address"),
    ("http://192.168.1.1/", "192.168.1.1 is a private address"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is a loopback address"),
    ("http://[fe80::1]/", "fe80::1 is a link-local address"),
    ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
    ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
]


def test_a_webhook_url_naming_or_resolving_to_a_non_public_address_is_refused_when_saved(folder):
    settings, tokens, _ = folder
    app = App(settings, tokens)
    try:
        for url, said in REFUSED:
            refused = app.post("/api/webhooks", "admin", json={"url": url, "events": ["audit.approved"]})
            assert refused.status_code == 422, (url, refused.text)
            (problem,) = refused.json()["problems"]
            assert problem["field"] == "url"
            assert problem["message"] == f"{said}: webhooks go only to public addresses unless TOUCHPOINT_WEBHOOK_ALLOW_NETWORKS allows its network", url
        assert app.get("/api/webhooks", "admin").json() == []
    finally:
        app.close()


def test_the_setting_allows_named_networks_and_only_those(folder):
    settings, tokens, _ = folder
    app = App(msgspec.structs.replace(settings, webhook_allow_networks="127.0.0.0/8, 10.1.0.0/16"), tokens)
    try:
        for url in ("http://127.0.0.1:6379/", "http://2130706433/", "http://localhost:8000/", "https://10.1.2.3/hook"):
            assert app.post("/api/webhooks", "admin", json={"url": url, "events": ["audit.approved"]}).status_code == 201, url
        for url in ("http://[::1]:8000/hook", "http://169.254.169.254/", "http://10.2.0.1/"):
            assert app.post("/api/webhooks", "admin", json={"url": url, "events": ["audit.approved"]}).status_code == 422, url
    finally:
        app.close()


def test_an_address_and_port_in_the_setting_allows_that_port_only(folder):
    settings, tokens, _ = folder
    app = App(msgspec.structs.replace(settings, webhook_allow_networks="127.0.0.1:8123,[::1]:9000"), tokens)
    try:
        for url, status in (("http://127.0.0.1:8123/hook", 201), ("http://localhost:8123/hook", 201), ("http://127.0.0.1:8124/hook", 422),
                            ("http://127.0.0.1/hook", 422), ("http://[::1]:9000/", 201), ("http://[::1]:9001/", 422)):
            assert app.post("/api/webhooks", "admin", json={"url": url, "events": ["audit.approved"]}).status_code == status, url
    finally:
        app.close()


def test_a_bad_network_in_the_setting_stops_the_start_with_a_message(folder):
    from server.app import create_app
    from server.settings import SettingsError

    settings, _, _ = folder
    with pytest.raises(SettingsError, match=r"TOUCHPOINT_WEBHOOK_ALLOW_NETWORKS: '127.0.0.0/33' is not a network; expected CIDR"):
        create_app(msgspec.structs.replace(settings, webhook_allow_networks="10.0.0.0/8,127.0.0.0/33"))
    with pytest.raises(SettingsError, match=r"'127.0.0.1:99999' is not a network"):
        create_app(msgspec.structs.replace(settings, webhook_allow_networks="127.0.0.1:99999"))


def test_every_attempt_checks_the_address_again(folder):
    """A URL saved while its network was allowed, then the setting taken away: the next attempts
    resolve and check it again, and refuse it; the receiver hears nothing."""
    settings, tokens, _ = folder
    receiver = Receiver()
    first = App(msgspec.structs.replace(settings, webhook_allow_networks="127.0.0.0/8", webhook_poll_seconds=3600), tokens)
    try:
        named = receiver.url.replace("127.0.0.1", "localhost")
        hooks = [first.post("/api/webhooks", "admin", json={"url": url, "events": ["audit.submitted"]}).json()["id"] for url in (receiver.url, named)]
        assert first.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT)).status_code == 201
    finally:
        first.close()
    second = App(settings, tokens)
    try:
        logs = [f"/api/webhooks/{hook}/deliveries" for hook in hooks]
        assert wait_for(lambda: all(second.get(log, "admin").json()[0]["state"] == "failed" for log in logs))
        errors = [second.get(log, "admin").json()[0]["tries"][0]["error"] for log in logs]
        assert errors == [
            "refused: 127.0.0.1 is a loopback address: webhooks go only to public addresses unless TOUCHPOINT_WEBHOOK_ALLOW_NETWORKS allows its network",
            "refused: localhost resolves to 127.0.0.1, a loopback address: webhooks go only to public addresses unless TOUCHPOINT_WEBHOOK_ALLOW_NETWORKS allows its network",
        ]
        assert receiver.received == []
    finally:
        second.close()
        receiver.close()


class RawReceiver:
    """A receiver on loopback that answers with `answer(socket)`; counts the bytes it got out."""

    def __init__(self, answer):
        self.sent, self.started, self.closed_after = 0, [], None
        receiver = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.recv(65536)  # the POST (small: one delivery)
                receiver.started.append(time.monotonic())
                try:
                    answer(receiver, self.request)
                except OSError:  # the server closed the connection: what it should do
                    pass
                receiver.closed_after = time.monotonic() - receiver.started[-1]

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def huge(receiver, connection):
    """200 OK saying 500 MB follow, then zeros as fast as the other side takes them."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 524288000\r\nContent-Type: application/octet-stream\r\n\r\n")
    block = bytes(65536)
    while receiver.sent < 524288000:
        connection.sendall(block)
        receiver.sent += len(block)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def test_a_receiver_answering_500_mb_costs_only_the_bound_read(folder):
    settings, tokens, _ = folder
    receiver = RawReceiver(huge)
    app = App(msgspec.structs.replace(settings, webhook_allow_networks="127.0.0.0/8"), tokens)
    try:
        before = rss_mb()
        hook = app.post("/api/webhooks", "admin", json={"url": receiver.url, "events": ["audit.submitted"]}).json()["id"]
        assert app.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT)).status_code == 201
        log = f"/api/webhooks/{hook}/deliveries"
        assert wait_for(lambda: app.get(log, "admin").json()[0]["state"] == "delivered")
        (attempt,) = app.get(log, "admin").json()[0]["tries"]
        assert attempt["status"] == 200 and attempt["ms"] < 2000
        assert wait_for(lambda: receiver.closed_after is not None)  # the server hung up rather than read on
        assert receiver.sent < 16 * 2**20, receiver.sent  # 64 KiB read; the rest is what the sockets' buffers took
        assert rss_mb() - before < 50
    finally:
        app.close()
        receiver.close()


def dribble(receiver, connection):
    """A status line, then a header one byte a second, never finishing."""
    connection.sendall(b"HTTP/1.1 200 OK\r\n")
    for byte in b"X-Slow: " + b"z" * 600:
        connection.sendall(bytes([byte]))
        receiver.sent += 1
        time.sleep(1)


def test_a_dribbling_receiver_is_cut_off_at_the_deadline_and_delays_nobody_else(folder):
    settings, tokens, _ = folder
    slow, fast = RawReceiver(dribble), Receiver()
    app = App(msgspec.structs.replace(settings, webhook_allow_networks="127.0.0.0/8", webhook_timeout_seconds=3), tokens)
    try:
        slow_hook = app.post("/api/webhooks", "admin", json={"url": slow.url, "events": ["audit.submitted"]}).json()["id"]
        fast_hook = app.post("/api/webhooks", "admin", json={"url": fast.url, "events": ["audit.submitted"]}).json()["id"]
        sent_at = time.monotonic()
        for n in range(5):  # five events: the slow receiver's five deliveries go on five senders, the fast one's past them
            assert app.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT)).status_code == 201
        assert wait_for(lambda: len(fast.received) == 5, seconds=5)
        fast_done = time.monotonic() - sent_at
        assert fast_done < 1.5, fast_done  # not behind any of the slow receiver's 3 s attempts
        log = f"/api/webhooks/{slow_hook}/deliveries?limit=10"
        assert wait_for(lambda: all(d["state"] == "failed" for d in app.get(log, "admin").json()), seconds=10)
        tries = [d["tries"][0] for d in app.get(log, "admin").json()]
        assert [t["error"] for t in tries] == ["no whole answer within 3 s"] * 5
        assert all(2900 <= t["ms"] <= 3600 for t in tries), [t["ms"] for t in tries]  # a byte a second kept no attempt past its 3 s
        assert all(d["state"] == "delivered" for d in app.get(f"/api/webhooks/{fast_hook}/deliveries", "admin").json())
    finally:
        app.close()
        slow.close()
        fast.close()


def test_a_leased_delivery_is_not_sent_twice_by_two_processes(folder):
    """Two servers over one database: each delivery is claimed by one of them (a lease in the
    database) and received once."""
    settings, tokens, db = folder
    receiver = Receiver()
    allowed = msgspec.structs.replace(settings, webhook_allow_networks="127.0.0.0/8")
    with write(db):
        webhooks.register_in(db, receiver.url, ["audit.submitted"], None)
    one, two = App(allowed, tokens), App(allowed, tokens)
    try:
        for n in range(20):
            assert (one if n % 2 else two).post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT)).status_code == 201
        assert wait_for(lambda: len(receiver.received) >= 20)
        time.sleep(0.5)
        ids = [msgspec.json.decode(body)["id"] for _, body in receiver.received]
        assert len(ids) == 20 and len(set(ids)) == 20
    finally:
        one.close()
        two.close()
        receiver.close()
