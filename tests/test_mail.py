"""Mail sent through a real SMTP server on loopback (aiosmtpd), never a mock: queued in a write
transaction, sent by the one outbox sender, exactly once, headers right; a 451 retried; a 550
failed after the attempts and sent again; held without SMTP and never sent later; STARTTLS with
AUTH over a certificate made here; the link struck out of a sent mail; the password never shown."""

import contextlib
import email
import email.policy
import logging
import socket
import subprocess
import time
from urllib.parse import quote

import msgspec
import pytest

from server.db import connect, write
from server.mail import outbox
from tests.conftest import make_server_files, seed
from tests.test_webhooks import App, wait_for

SECRET = "Zq3vW9xK2mN8pL4rT6yB1cD5fG7hJ0aS-_e"  # a one-time link's secret, as links.make makes them
BODY = f"Bonjour Zoë,\n\nSet your password here: https://tp.example.com/enrol/{SECRET}\n\nIt works once, within 7 days. ✓\n"


class Inbox:
    """An aiosmtpd handler: answers the first `refuse` messages with `code`, then takes each and keeps it."""

    def __init__(self, refuse: int = 0, code: str = "451 4.3.0 try again later"):
        self.refuse, self.code, self.tries, self.received, self.sessions = refuse, code, 0, [], []

    async def handle_DATA(self, server, session, envelope):
        self.tries += 1
        if self.tries <= self.refuse:
            return self.code
        self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.sessions.append({"tls": server.transport.get_extra_info("ssl_object") is not None, "login": session.auth_data.login if session.authenticated else None})
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_server(handler, **kwargs):
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def certificate(folder) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1: with the `cryptography` package if installed, else `openssl req`."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        import datetime as dt
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        return str(cert), str(key)
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    made = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(private, hashes.SHA256()))
    cert.write_bytes(made.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(cert), str(key)


@pytest.fixture
def site(tmp_path):
    """Settings (fast retries, 3 attempts, a 1 s deadline) and the seeded personas; `with_smtp(url)` adds an SMTP server."""
    settings = msgspec.structs.replace(make_server_files(tmp_path), webhook_retry_seconds=0.05, webhook_poll_seconds=0.05, webhook_attempts=3,
                                       webhook_timeout_seconds=1.0)
    db, tokens = seed(settings)
    db.conn.close()
    return settings, tokens


def with_smtp(settings, url: str):
    from server.settings import Settings

    return Settings.from_env(**{**msgspec.structs.asdict(settings), "smtp_url": url, "mail_from": "Touchpoint <touchpoint@example.com>"})


def queue(settings, subject="Your invitation", body=BODY, to="zoe@example.org") -> str:
    db = connect(settings.store)
    try:
        with write(db):
            return outbox.queue(db, settings, to_address=to, subject=subject, body=body, kind="test")
    finally:
        db.conn.close()


def row(settings, mail_id: str) -> dict:
    db = connect(settings.store)
    try:
        return next(db.query("SELECT * FROM mail WHERE id = ?", [mail_id]))
    finally:
        db.conn.close()


def test_a_queued_mail_arrives_once_with_its_headers_and_its_link_is_struck_out(site):
    settings, tokens = site
    inbox = Inbox()
    with smtp_server(inbox) as smtp:
        settings = with_smtp(settings, f"smtp://127.0.0.1:{smtp.port}")
        app = App(settings, tokens)
        try:
            assert set(app.client.app.state.sender.kinds) == {"webhook", "mail"}  # one sender, two kinds
            mail_id = queue(settings)
            assert wait_for(lambda: row(settings, mail_id)["state"] == "sent")
            time.sleep(0.3)  # a second copy would have come by now (the sender polls every 0.05 s)
            assert len(inbox.received) == 1 and inbox.tries == 1
            got = inbox.received[0]
            assert got["From"] == "Touchpoint <touchpoint@example.com>"
            assert got["To"] == "zoe@example.org"
            assert got["Subject"] == "Your invitation"
            assert got["Message-ID"] == f"<{mail_id}@example.com>"
            assert email.utils.parsedate_to_datetime(got["Date"]).tzinfo is not None
            assert got.get_content_type() == "text/plain" and got.get_content_charset() == "utf-8"
            assert got.get_content().replace("\r\n", "\n") == BODY  # UTF-8 (Zoë, ✓) and the link, whole, reach the mailbox
            stored = row(settings, mail_id)
            assert stored["attempts"] == 1 and stored["sent_at"] and stored["error"] is None
            assert SECRET not in stored["body"]  # the secret lives in the mailbox only
            assert stored["body"] == BODY.replace(f"https://tp.example.com/enrol/{SECRET}", "[link sent]")
            listed = app.get("/api/mail", "admin").json()
            assert [(m["id"], m["state"], m["attempts"]) for m in listed] == [(mail_id, "sent", 1)]
            assert SECRET not in app.get("/manage/mail", "admin").text
        finally:
            app.close()


def test_a_temporary_failure_is_retried_and_the_mail_arrives_once(site):
    settings, tokens = site
    inbox = Inbox(refuse=1, code="451 4.3.0 greylisted, try again later")
    with smtp_server(inbox) as smtp:
        settings = with_smtp(settings, f"smtp://127.0.0.1:{smtp.port}")
        app = App(settings, tokens)
        try:
            mail_id = queue(settings)
            assert wait_for(lambda: row(settings, mail_id)["state"] == "sent")
            assert inbox.tries == 2 and len(inbox.received) == 1
            assert row(settings, mail_id)["attempts"] == 2
        finally:
            app.close()


def test_a_permanent_failure_is_failed_after_the_attempts_and_can_be_sent_again(site):
    settings, tokens = site
    inbox = Inbox(refuse=1000, code="550 5.1.1 no such mailbox")
    with smtp_server(inbox) as smtp:
        settings = with_smtp(settings, f"smtp://127.0.0.1:{smtp.port}")
        app = App(settings, tokens)
        try:
            mail_id = queue(settings)
            assert wait_for(lambda: row(settings, mail_id)["state"] == "failed")
            failed = row(settings, mail_id)
            assert failed["attempts"] == 3 and inbox.tries == 3  # webhook_attempts: the same limit as webhooks
            assert failed["error"] == "answered 550 5.1.1 no such mailbox"
            assert SECRET in failed["body"]  # never mailed: its link stays, to send again
            page = app.get("/manage/mail", "admin").text
            assert "answered 550 5.1.1 no such mailbox" in page and f'action="/manage/mail/{mail_id}/send"' in page
            again = app.post(f"/api/mail/{mail_id}/send", "admin")
            assert again.status_code == 200 and again.json()["state"] == "pending"
            assert wait_for(lambda: row(settings, mail_id)["attempts"] == 6)
            assert row(settings, mail_id)["state"] == "failed" and inbox.tries == 6
            assert app.post(f"/api/mail/{mail_id}/send", "manager_r1").status_code == 403
            assert app.post("/api/mail/nothing/send", "admin").status_code == 404
        finally:
            app.close()


def test_without_smtp_a_mail_is_held_with_its_link_and_never_sent_later(site):
    settings, tokens = site
    app = App(settings, tokens)
    try:
        mail_id = queue(settings)
        assert set(app.client.app.state.sender.kinds) == {"webhook"}
        held = app.get("/api/mail", "admin").json()
        assert [(m["id"], m["state"]) for m in held] == [(mail_id, "held")] and SECRET in held[0]["body"]
        page = app.get("/manage/mail", "admin")
        assert page.status_code == 200 and "No SMTP server is set" in page.text
        assert f"https://tp.example.com/enrol/{SECRET}" in page.text  # the admin passes the link on
        assert app.post(f"/api/mail/{mail_id}/send", "admin").status_code == 409
        assert app.get("/manage/mail", "manager_r1").status_code == 403
        assert app.get("/api/mail", "manager_r1").status_code == 403
    finally:
        app.close()
    inbox = Inbox()
    with smtp_server(inbox) as smtp:  # an SMTP server set afterwards: the held mail stays held
        app = App(with_smtp(settings, f"smtp://127.0.0.1:{smtp.port}"), tokens)
        try:
            time.sleep(0.5)
            assert inbox.tries == 0 and row(settings, mail_id)["state"] == "held" and SECRET in row(settings, mail_id)["body"]
            assert app.post(f"/api/mail/{mail_id}/send", "admin").status_code == 409  # only a failed mail is sent again
        finally:
            app.close()


def test_starttls_and_auth_with_a_percent_encoded_password_that_is_never_shown(site, tmp_path, monkeypatch, caplog):
    import ssl

    from aiosmtpd.smtp import AuthResult

    settings, tokens = site
    cert, key = certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert)  # the client trusts this certificate, and it alone
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    password = "p@ss wörd/1"

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.login == b"touchpoint" and auth_data.password == password.encode(), auth_data=auth_data)

    inbox = Inbox()
    with smtp_server(inbox, tls_context=tls, require_starttls=True, auth_required=True, authenticator=authenticator) as smtp:
        url = f"smtp://touchpoint:{quote(password, safe='')}@127.0.0.1:{smtp.port}"
        settings = with_smtp(settings, url)
        assert settings.smtp.password == password and password not in repr(settings.smtp)
        caplog.set_level(logging.DEBUG)
        app = App(settings, tokens)
        try:
            mail_id = queue(settings)
            assert wait_for(lambda: row(settings, mail_id)["state"] == "sent"), row(settings, mail_id)["error"]
            assert len(inbox.received) == 1 and inbox.sessions[0]["tls"] and inbox.sessions[0]["login"] == b"touchpoint"
            page = app.get("/manage/mail", "admin").text
            assert f"smtp://127.0.0.1:{smtp.port}" in page
            shown = page + app.get("/api/mail", "admin").text + app.get("/api/health", "admin").text + caplog.text
            assert password not in shown and quote(password, safe="") not in shown and "touchpoint:" not in shown
        finally:
            app.close()


def test_a_password_is_never_sent_to_a_server_without_starttls(site):
    settings, tokens = site
    inbox = Inbox()
    with smtp_server(inbox) as smtp:  # no tls_context: it offers no STARTTLS
        settings = with_smtp(settings, f"smtp://touchpoint:secret@127.0.0.1:{smtp.port}")
        app = App(settings, tokens)
        try:
            mail_id = queue(settings)
            assert wait_for(lambda: row(settings, mail_id)["state"] == "failed")
            assert "offers no STARTTLS" in row(settings, mail_id)["error"] and inbox.tries == 0
        finally:
            app.close()


def test_a_refused_connection_and_a_silent_server_are_each_an_attempt_s_error(site):
    settings, tokens = site
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # takes connections (the kernel's backlog) and never says a word
    nobody = free_port()
    mails = {}
    app = App(with_smtp(settings, f"smtp://127.0.0.1:{silent.getsockname()[1]}"), tokens)
    try:
        mails["silent"] = queue(with_smtp(settings, "smtp://127.0.0.1:25"))  # queued while an SMTP server is set: pending
        started = time.monotonic()
        assert wait_for(lambda: row(settings, mails["silent"])["state"] == "failed")
        assert row(settings, mails["silent"])["error"] == "no answer within 1 s"
        assert time.monotonic() - started < 3 * 1.0 + 2  # three attempts, each cut at its 1 s deadline
    finally:
        app.close()
        silent.close()
    app = App(with_smtp(settings, f"smtp://127.0.0.1:{nobody}"), tokens)
    try:
        mails["refused"] = queue(with_smtp(settings, "smtp://127.0.0.1:25"))
        assert wait_for(lambda: row(settings, mails["refused"])["state"] == "failed")
        assert row(settings, mails["refused"])["error"].startswith("ConnectionRefusedError")
    finally:
        app.close()


@pytest.mark.parametrize("url, mail_from, says", [
    ("http://mail.example.com", "t@example.com", "TOUCHPOINT_SMTP_URL: expected smtp://user:password@host:587, smtps://user:password@host:465 or smtp://host:25; the scheme must be smtp or smtps, got 'http'"),
    ("smtp://:587", "t@example.com", "TOUCHPOINT_SMTP_URL: expected smtp://user:password@host:587, smtps://user:password@host:465 or smtp://host:25; no host is given"),
    ("smtp://u:hunter2@mail.example.com:99999", "t@example.com", "TOUCHPOINT_SMTP_URL: expected smtp://user:password@host:587, smtps://user:password@host:465 or smtp://host:25; the port must be a number from 1 to 65535"),
    ("smtp://u:hunter2@mail.example.com:smtp", "t@example.com", "the port must be a number from 1 to 65535"),
    ("smtp://u@mail.example.com", "t@example.com", "a user name needs its password"),
    ("smtp://mail.example.com:25", "", "TOUCHPOINT_MAIL_FROM: expected the sender address of the mail"),
    ("smtp://mail.example.com:25", "touchpoint", "TOUCHPOINT_MAIL_FROM: expected an address like touchpoint@example.com or 'Touchpoint <touchpoint@example.com>', got 'touchpoint'"),
])
def test_a_bad_smtp_setting_stops_the_start_naming_it(monkeypatch, url, mail_from, says):
    from server.settings import Settings, SettingsError

    monkeypatch.setenv("TOUCHPOINT_SMTP_URL", url)
    monkeypatch.setenv("TOUCHPOINT_MAIL_FROM", mail_from)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env()
    assert says in str(refused.value) and "hunter2" not in str(refused.value)


def test_smtp_settings_are_read_as_documented(monkeypatch):
    from server.settings import Settings

    monkeypatch.setenv("TOUCHPOINT_MAIL_FROM", "touchpoint@example.com")
    for url, expected in [("smtp://relay.local", ("starttls", "relay.local", 25, "", "")),
                          ("smtps://me%40example.com:p%25w@mail.example.com", ("tls", "mail.example.com", 465, "me@example.com", "p%w")),
                          ("smtp://me:pw@mail.example.com:587", ("starttls", "mail.example.com", 587, "me", "pw"))]:
        monkeypatch.setenv("TOUCHPOINT_SMTP_URL", url)
        assert tuple(Settings.from_env().smtp) == expected


def test_a_server_answering_a_byte_at_a_time_is_cut_off_at_the_deadline(site):
    """Every read gets a byte within 0.2 s, so no socket timeout fires: only the attempt's deadline (1 s) ends it."""
    import threading

    settings, tokens = site
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                for byte in b"220 slow.example.com ESMTP taking its time, one byte at a time\r\n":
                    if stop.wait(0.2):
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break

    threading.Thread(target=trickle, daemon=True).start()
    from server.mail.smtp import Mails
    from server.outbox import Job

    mails = Mails(with_smtp(settings, f"smtp://127.0.0.1:{listener.getsockname()[1]}").smtp, "touchpoint@example.com", 0.05, 3, 1.0)
    try:
        started = time.monotonic()
        outcome = mails.send(Job(id="m1", attempts=0, limit_attempts=0, fields=("zoe@example.org", "Hi", "Hello", "2026-03-01T10:00:00+00:00")))
        took = time.monotonic() - started
    finally:
        stop.set()
        listener.close()
    assert outcome.error == "no answer within 1 s"
    assert 0.9 < took < 1.5  # 67 bytes at 0.2 s would take 13 s


def test_smtps_checks_the_certificate_and_a_relay_s_starttls_does_not(site, tmp_path, monkeypatch):
    """smtps:// (TLS from the first byte) sends to a server whose certificate the system trusts and
    fails on one it does not; smtp:// without a password takes a relay's self-signed STARTTLS as it is."""
    import ssl

    settings, tokens = site
    cert, key = certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    (tmp_path / "other").mkdir()
    other, _ = certificate(tmp_path / "other")  # a store that trusts some other certificate, not the server's
    outcomes = {}
    for case, trusted in (("smtps trusted", True), ("smtps untrusted", False), ("relay", False)):
        if trusted:
            monkeypatch.setenv("SSL_CERT_FILE", cert)
        else:
            monkeypatch.setenv("SSL_CERT_FILE", other)
        inbox = Inbox()
        kwargs = {"ssl_context": tls} if case.startswith("smtps") else {"tls_context": tls}
        with smtp_server(inbox, **kwargs) as smtp:
            scheme = "smtps" if case.startswith("smtps") else "smtp"
            mailing = with_smtp(settings, f"{scheme}://127.0.0.1:{smtp.port}")
            app = App(mailing, tokens)
            try:
                mail_id = queue(mailing)
                assert wait_for(lambda: row(settings, mail_id)["state"] in ("sent", "failed"))
                outcomes[case] = (row(settings, mail_id)["state"], len(inbox.received), inbox.sessions[0]["tls"] if inbox.sessions else None)
                if case == "smtps untrusted":
                    assert "CERTIFICATE_VERIFY_FAILED" in row(settings, mail_id)["error"]
            finally:
                app.close()
    assert outcomes == {"smtps trusted": ("sent", 1, True), "smtps untrusted": ("failed", 0, None), "relay": ("sent", 1, True)}


def test_serve_with_a_bad_smtp_url_exits_2_naming_it_and_not_the_password(monkeypatch, tmp_path, capsys):
    from server.cli import main

    monkeypatch.setenv("TOUCHPOINT_SMTP_URL", "smtps://me:hunter2@mail.example.com:0")
    monkeypatch.setenv("TOUCHPOINT_MAIL_FROM", "touchpoint@example.com")
    assert main(["serve", "--data", str(tmp_path / "data")]) == 2
    said = capsys.readouterr().err
    assert said.startswith("TOUCHPOINT_SMTP_URL: expected smtp://") and "the port must be a number from 1 to 65535" in said and "hunter2" not in said
    assert not (tmp_path / "data").exists()  # stopped before touching anything
