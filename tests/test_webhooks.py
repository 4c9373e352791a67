"""Webhooks delivered to a real HTTP receiver on loopback: signed (checked here the way a receiver
would, with hmac and hashlib, not with Touchpoint's code), retried with back-off, logged attempt
by attempt, and kept across a restart of the server."""

import hashlib
import hmac
import http.server
import json
import threading
import time

import msgspec
import pytest

from tests.conftest import GOOD_VISIT, audit_body, make_server_files, seed


class Receiver:
    """A small HTTP server: answers `fail_first` requests with 500, then 200; keeps every request."""

    def __init__(self, fail_first: int = 0, hold_first: threading.Event | None = None):
        self.fail_first, self.received = fail_first, []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                if hold_first is not None and len(receiver.received) == 1:
                    hold_first.wait(10)  # the first answer waits until the test lets it go
                status = 500 if len(receiver.received) <= receiver.fail_first else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hooks/touchpoint"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def verified(secret: str, headers: dict, body: bytes) -> bool:
    """What a receiver writes: t and v1 from the header, HMAC-SHA256 over "t.body", compared in constant time, t recent."""
    fields = dict(part.split("=", 1) for part in headers["Touchpoint-Signature"].split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) < 300


def wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


class App:
    """The real app (TestClient runs its startup: the webhook sender thread) over a given data folder."""

    def __init__(self, settings, tokens):
        from litestar.testing import TestClient

        from server.app import create_app

        self.tokens = tokens
        self.client = TestClient(create_app(settings))
        self.client.__enter__()

    def post(self, path, persona, **kw):
        return self.client.post(path, headers={"Authorization": f"Bearer {self.tokens[persona]}"}, **kw)

    def get(self, path, persona):
        return self.client.get(path, headers={"Authorization": f"Bearer {self.tokens[persona]}"})

    def close(self):
        self.client.__exit__(None, None, None)


@pytest.fixture
def setup(tmp_path):
    settings = make_server_files(tmp_path)
    # the receivers listen on loopback: allowed here explicitly, as an installation with its receiver on its own network would
    settings = msgspec.structs.replace(settings, webhook_retry_seconds=0.05, webhook_poll_seconds=0.05, webhook_attempts=5, webhook_allow_networks="127.0.0.0/8")
    db, tokens = seed(settings)
    yield settings, tokens
    db.conn.close()


def test_a_delivery_is_signed_and_verifiable_by_the_receiver(setup):
    settings, tokens = setup
    receiver, app = Receiver(), App(*setup)
    try:
        hook = app.post("/api/webhooks", "admin", json={"url": receiver.url, "events": ["audit.submitted", "action.opened"]}).json()
        body = audit_body({**GOOD_VISIT, "resolved": "no"})  # a critical failure: submitted, and an action opened
        assert app.post("/api/audits", "auditor_a", json=body).status_code == 201
        assert wait_for(lambda: len(receiver.received) == 2)
        events = {}
        for headers, raw in receiver.received:
            assert verified(hook["secret"], headers, raw)
            assert not verified("another secret", headers, raw)
            assert not verified(hook["secret"], headers, raw + b" ")  # the body changed on the way
            sent = json.loads(raw)
            assert headers["Touchpoint-Delivery"] == sent["id"]
            events[sent["event"]] = sent["data"]
        assert events["audit.submitted"]["audit"] == body["id"] and events["audit.submitted"]["score"] == 0.0
        assert events["action.opened"]["audit"] == body["id"] and events["action.opened"]["critical_failed"] == ["resolved"]
    finally:
        app.close()
        receiver.close()


def test_a_receiver_that_fails_twice_gets_three_attempts(setup):
    receiver, app = Receiver(fail_first=2), App(*setup)
    try:
        hook = app.post("/api/webhooks", "admin", json={"url": receiver.url, "events": ["audit.submitted"]}).json()
        assert app.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT)).status_code == 201
        assert wait_for(lambda: app.get(f"/api/webhooks/{hook['id']}/deliveries", "admin").json()[0]["state"] == "delivered")
        (delivery,) = app.get(f"/api/webhooks/{hook['id']}/deliveries", "admin").json()
        assert [(t["n"], t["status"]) for t in delivery["tries"]] == [(1, 500), (2, 500), (3, 200)]
        assert delivery["attempts"] == 3 and len(receiver.received) == 3
        assert len({json.loads(raw)["id"] for _, raw in receiver.received}) == 1  # the same delivery each time
    finally:
        app.close()
        receiver.close()


def test_a_delivery_that_keeps_failing_is_given_up_and_sent_again_by_the_admin(setup):
    receiver, app = Receiver(fail_first=5), App(*setup)
    try:
        hook = app.post("/api/webhooks", "admin", json={"url": receiver.url, "events": ["audit.submitted"]}).json()
        assert app.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT)).status_code == 201
        deliveries = f"/api/webhooks/{hook['id']}/deliveries"
        assert wait_for(lambda: app.get(deliveries, "admin").json()[0]["state"] == "failed")
        (failed,) = app.get(deliveries, "admin").json()
        assert failed["attempts"] == 5 and [t["status"] for t in failed["tries"]] == [500] * 5  # webhook_attempts: 5
        assert app.post(f"/api/deliveries/{failed['id']}/send", "manager_r1").status_code == 403
        again = app.post(f"/api/deliveries/{failed['id']}/send", "admin")
        assert again.status_code == 200 and again.json()["state"] == "pending"
        assert wait_for(lambda: app.get(deliveries, "admin").json()[0]["state"] == "delivered")
        assert [t["status"] for t in app.get(deliveries, "admin").json()[0]["tries"]] == [500] * 5 + [200]
    finally:
        app.close()
        receiver.close()


def test_send_again_while_an_attempt_is_in_flight_records_both_attempts(setup):
    """An admin's "send again" while the first attempt still waits for its answer queues it once
    more; a second sender takes it. Both attempts happened, and both are recorded, as 1 and 2 (a
    three-process run of the access matrix found the second record refused: both had counted
    themselves attempt 1)."""
    held = threading.Event()
    receiver, app = Receiver(hold_first=held), App(*setup)
    try:
        hook = app.post("/api/webhooks", "admin", json={"url": receiver.url, "events": ["audit.submitted"]}).json()
        assert app.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT)).status_code == 201
        assert wait_for(lambda: len(receiver.received) == 1)  # the first attempt waits for its answer
        deliveries = f"/api/webhooks/{hook['id']}/deliveries"
        (flying,) = app.get(deliveries, "admin").json()
        assert flying["state"] == "pending" and flying["tries"] == []
        assert app.post(f"/api/deliveries/{flying['id']}/send", "admin").status_code == 200
        assert wait_for(lambda: len(receiver.received) == 2)
        assert wait_for(lambda: app.get(deliveries, "admin").json()[0]["attempts"] == 1)  # the second's answer came first
        held.set()
        assert wait_for(lambda: app.get(deliveries, "admin").json()[0]["attempts"] == 2)
        (done,) = app.get(deliveries, "admin").json()
        assert done["state"] == "delivered" and [(t["n"], t["status"]) for t in done["tries"]] == [(1, 200), (2, 200)]
    finally:
        held.set()
        app.close()
        receiver.close()


def test_a_restart_between_the_event_and_its_delivery_still_delivers_it_once(setup):
    settings, tokens = setup
    receiver = Receiver()
    # the first server never looks for due deliveries (it polls once an hour): it stops with one queued
    first = App(msgspec.structs.replace(settings, webhook_poll_seconds=3600), tokens)
    try:
        first.post("/api/webhooks", "admin", json={"url": receiver.url, "events": ["audit.submitted"]})
        time.sleep(0.2)  # the sender's first look has passed
        body = audit_body(GOOD_VISIT)
        assert first.post("/api/audits", "auditor_a", json=body).status_code == 201
        time.sleep(0.3)
        assert receiver.received == []
    finally:
        first.close()
    second = App(settings, tokens)
    try:
        assert wait_for(lambda: len(receiver.received) == 1)
        time.sleep(0.5)  # and no second copy follows
        assert len(receiver.received) == 1 and json.loads(receiver.received[0][1])["data"]["audit"] == body["id"]
    finally:
        second.close()
        receiver.close()


def test_webhook_urls_must_be_http_and_only_admins_register_them(setup):
    app = App(*setup)
    try:
        for url in ("ftp://example.com/hook", "javascript:alert(1)", "example.com/hook", "http://"):
            refused = app.post("/api/webhooks", "admin", json={"url": url, "events": ["audit.approved"]})
            assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "url", url
        assert app.post("/api/webhooks", "admin", json={"url": "https://example.com/h", "events": ["audit.eaten"]}).status_code == 400
        assert app.post("/api/webhooks", "manager_r1", json={"url": "https://example.com/h", "events": ["audit.approved"]}).status_code == 403
    finally:
        app.close()
