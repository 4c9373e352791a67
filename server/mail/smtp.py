"""Mail as a kind of the outbox's Sender (server/outbox.py: the claim, lease, back-off and threads):
one SMTP connection per attempt, by the standard library's smtplib, under one deadline.

smtp:// with a password: STARTTLS is required and the server's certificate checked, so a password
never crosses in clear (a server that offers no STARTTLS fails the attempt, saying so). smtp://
without one (a local relay): STARTTLS when the server offers it, its certificate not checked (a
relay's own is often self-signed), else plain. smtps://: TLS from the first byte, checked.
"""

import base64
import datetime as dt
import os
import smtplib
import socket
import ssl
import threading
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import sqlite_utils

from server import outbox
from server.mail.outbox import strike_links
from server.settings import SmtpServer


class Mails:
    name = "mail"

    def __init__(self, server: SmtpServer, sender: str, retry_seconds: float, attempts: int = 8, timeout_seconds: float = 10.0):
        self.server, self.sender = server, sender
        self.retry_seconds, self.attempts, self.timeout_seconds = retry_seconds, attempts, timeout_seconds
        self.domain = parseaddr(sender)[1].rpartition("@")[2] or "touchpoint"

    def due(self, db: sqlite_utils.Database, now: str, limit: int) -> list[outbox.Job]:
        rows = db.execute("""SELECT id, attempts, limit_attempts, to_address, subject, body, created_at FROM mail
                             WHERE state = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?""", [now, limit]).fetchall()
        return [outbox.Job(id=row[0], attempts=row[1], limit_attempts=row[2], fields=tuple(row[3:])) for row in rows]

    def counts(self, db: sqlite_utils.Database, id: str) -> tuple[int, int]:
        return db.execute("SELECT attempts, limit_attempts FROM mail WHERE id = ?", [id]).fetchone()

    def lease(self, db: sqlite_utils.Database, jobs: list[outbox.Job], until: str) -> None:
        db.conn.executemany("UPDATE mail SET next_at = ? WHERE id = ?", [(until, job.id) for job in jobs])

    def message(self, job: outbox.Job) -> EmailMessage:
        to_address, subject, body, created_at = job.fields
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to_address
        message["Subject"] = subject
        message["Date"] = format_datetime(dt.datetime.fromisoformat(created_at))
        message["Message-ID"] = f"<{job.id}@{self.domain}>"  # the same on every attempt: a mailbox can tell a second copy
        message.set_content(body, charset="utf-8")
        return message

    def send(self, job: outbox.Job) -> outbox.Outcome:
        try:
            self.deliver(self.message(job))
            return outbox.Outcome()
        except smtplib.SMTPRecipientsRefused as refused:
            code, said = next(iter(refused.recipients.values()))
            return outbox.Outcome(status=code, error=f"recipient refused: {code} {_text(said)}"[:500])
        except smtplib.SMTPResponseException as answer:
            return outbox.Outcome(status=answer.smtp_code, error=f"answered {answer.smtp_code} {_text(answer.smtp_error)}"[:500])
        except (TimeoutError, socket.timeout):
            return outbox.Outcome(error=f"no answer within {self.timeout_seconds:g} s")
        except smtplib.SMTPServerDisconnected as gone:
            if isinstance(gone.__context__, TimeoutError):  # smtplib's word for a reply that never came
                return outbox.Outcome(error=f"no answer within {self.timeout_seconds:g} s")
            return outbox.Outcome(error=f"the server hung up: {gone}"[:500])
        except ssl.SSLError as exc:
            return outbox.Outcome(error=f"TLS failed: {exc}"[:500])
        except (smtplib.SMTPException, OSError) as exc:
            return outbox.Outcome(error=(f"{type(exc).__name__}: {exc}"[:500] if str(exc) else type(exc).__name__))

    def deliver(self, message: EmailMessage) -> None:
        """One connection, one message, under one deadline for all of it (connecting, TLS, the
        greeting, every reply): a timer shuts the socket when the deadline passes, so a server
        trickling its answers byte by byte holds a sender for timeout_seconds, no longer."""
        server, timeout = self.server, self.timeout_seconds
        checked = ssl.create_default_context()
        deadline = _Deadline(timeout)
        client = _TlsClient(deadline, timeout=timeout, context=checked) if server.tls == "tls" else _Client(deadline, timeout=timeout)
        client._host = server.host  # what STARTTLS checks the certificate against (smtplib sets it only when it connects at once)
        try:
            client.connect(server.host, server.port)
            client.ehlo()
            if server.tls == "starttls":
                if client.has_extn("starttls"):
                    client.starttls(context=checked if server.password else _unchecked())
                    client.ehlo()
                elif server.password:
                    raise smtplib.SMTPException("the server offers no STARTTLS: the password is never sent in clear")
            if server.user:
                _sign_in(client, server.user, server.password)
            client.send_message(message)
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                pass  # the message was taken; a lost goodbye changes nothing
        except OSError:
            if deadline.expired:
                raise TimeoutError from None
            raise
        finally:
            deadline.close()
            client.close()

    def record(self, db: sqlite_utils.Database, job: outbox.Job, n: int, state: str, at: dt.datetime, next_at: dt.datetime,
               outcome: outbox.Outcome, ms: float) -> None:
        if state == "sent":
            body = strike_links(job.fields[2])
            db.execute("UPDATE mail SET state = 'sent', attempts = ?, next_at = ?, sent_at = ?, error = NULL, body = ? WHERE id = ?",
                       [n, next_at.isoformat(), at.isoformat(), body, job.id])
        else:
            db.execute("UPDATE mail SET state = ?, attempts = ?, next_at = ?, error = ? WHERE id = ?",
                       [state, n, next_at.isoformat(), outcome.error, job.id])


def _sign_in(client: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib's login, but a user or password beyond ASCII goes as UTF-8 in AUTH PLAIN (RFC 4616),
    which smtplib cannot send (it encodes the exchange as ASCII and fails)."""
    if (user + password).isascii():
        client.login(user, password)
        return
    if "plain" not in client.esmtp_features.get("auth", "").lower().split():
        raise smtplib.SMTPException("the server offers no AUTH PLAIN, needed for a user or password beyond ASCII")
    code, said = client.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode())
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, said)


def _text(said: bytes | str) -> str:
    return said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)


def _unchecked() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class _Deadline:
    """Shuts the attempt's connection when its time is up. It keeps a duplicate of the socket's file
    descriptor from the moment it is connected: shutdown acts on the connection, not the descriptor, so
    it wakes a read blocked anywhere (the greeting, a TLS handshake, after STARTTLS replaced the socket
    object), where close() would not."""

    def __init__(self, seconds: float):
        self.expired, self._fd, self._lock = False, None, threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._fd = os.dup(sock.fileno())
            if self.expired:
                self._shut()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut()

    def _shut(self) -> None:
        if self._fd is not None:
            try:
                socket.socket(fileno=os.dup(self._fd)).shutdown(socket.SHUT_RDWR)  # the duplicate closes with its object
            except OSError:
                pass

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class _Client(smtplib.SMTP):
    def __init__(self, deadline: _Deadline, **kwargs):
        self.deadline = deadline
        super().__init__(**kwargs)

    def _get_socket(self, host, port, timeout):
        connected = super()._get_socket(host, port, timeout)
        self.deadline.watch(connected)
        return connected


class _TlsClient(smtplib.SMTP_SSL):
    def __init__(self, deadline: _Deadline, **kwargs):
        self.deadline = deadline
        super().__init__(**kwargs)

    def _get_socket(self, host, port, timeout):
        connected = socket.create_connection((host, port), timeout, self.source_address)
        self.deadline.watch(connected)  # before the TLS handshake: a server stalling in it is cut off too
        return self.context.wrap_socket(connected, server_hostname=self._host)
