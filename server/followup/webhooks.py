"""Webhooks: URLs an admin registers for events, and their deliveries.

`emit` writes one delivery row per subscribed webhook inside the transaction of the event itself
(an audit stored, approved, an action closed...), so an event and its deliveries commit together
or not at all, and a restart loses none. The `Sender` claims what is due (a lease in the database:
another process takes a delivery over only once the lease has passed) and sends each on a pool of
SENDERS threads, one HTTP POST per delivery, records every attempt, and retries a failure after an
exponential back-off with jitter until it succeeds or `limit_attempts` pass. Sending happens after
the event's commit, on its own threads: a slow or dead receiver never slows or fails the request
that caused the event, and holds one sender for at most the attempt's deadline (egress.py says
where a webhook may connect and how an attempt is bounded) while the others go on.

Each POST carries the exact JSON body and the header

    Touchpoint-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the webhook's secret>

(the scheme of the well-known payment webhooks). A receiver recomputes the HMAC over the raw body,
compares it in constant time, and refuses a timestamp older than a few minutes (a replay). A
delivery is sent at least once: a receiver keeps the `id` of each body it has handled and drops
one it has seen (the same id comes again only when an answer was lost).
"""

import datetime as dt
import hashlib
import hmac
import logging
import random
import secrets
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import httpcore
import httpx
import msgspec
import sqlite_utils
from msgspec import Meta

from server.events import AuditArrived, AuditReviewed
from server.checklists.format import Strict
from server.db import connect, write
from server.errors import ApiProblem, invalid, not_found
from server.text import Line
from server.followup import egress

EVENTS = ("audit.submitted", "audit.approved", "audit.returned", "audit.rejected", "action.opened", "action.closed", "flag.raised")
Event = Literal["audit.submitted", "audit.approved", "audit.returned", "audit.rejected", "action.opened", "action.closed", "flag.raised"]
SIGNATURE_HEADER = "Touchpoint-Signature"
SENDERS = 8  # deliveries sent at once: a slow receiver holds one of them, never the rest
LEASE_MARGIN_SECONDS = 30  # a claimed delivery is another process's to take only this long after its attempt's deadline
log = logging.getLogger("touchpoint.webhooks")


class WebhookIn(Strict, kw_only=True):
    url: Line(2000, "http:// or https:// URL that receives a POST per event")
    events: Annotated[list[Event], Meta(min_length=1)]


class WebhookOut(msgspec.Struct, kw_only=True):
    id: int
    url: str
    events: list[str]
    secret: str  # the HMAC key: give it to the receiver
    created_at: str
    pending: int
    delivered: int
    failed: int


class Attempt(msgspec.Struct, kw_only=True):
    n: int
    at: str
    status: int | None  # the receiver's HTTP status; null when it did not answer
    error: str | None
    ms: float


class Delivery(msgspec.Struct, kw_only=True):
    id: str
    webhook: int
    url: str
    event: str
    created_at: str
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    limit_attempts: int  # 0: the server's webhook_attempts
    next_at: str | None  # when a pending one is tried next
    body: str
    tries: list[Attempt] = []


class Envelope(msgspec.Struct, kw_only=True):
    id: str
    event: str
    created_at: str
    data: dict


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, tolerance_seconds: int = 300, now: float | None = None) -> bool:
    """What a receiver does (here for the demo's receiver and the tests): the signature over this
    exact body, with a timestamp no older than `tolerance_seconds`."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}")


def emit(db: sqlite_utils.Database, event: str, data: dict) -> int:
    """Queue `event` for every webhook that wants it, in the caller's transaction. Returns how many.
    Its limit of attempts is left 0: the sender's setting (webhook_attempts) when it is sent."""
    hooks = [row for row in db.execute("SELECT id, events FROM webhooks WHERE removed_at IS NULL").fetchall() if event in msgspec.json.decode(row[1])]
    now = _now().isoformat()
    for hook, _ in hooks:
        delivery = str(uuid.uuid4())
        body = msgspec.json.encode(Envelope(id=delivery, event=event, created_at=now, data=data)).decode()
        db.execute("INSERT INTO deliveries (id, webhook, event, body, created_at, limit_attempts, next_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [delivery, hook, event, body, now, 0, now])
    return len(hooks)


def register(db: sqlite_utils.Database, w: WebhookIn, by: int, allow: tuple[egress.Network, ...] = ()) -> WebhookOut:
    """Save a webhook; 422 naming the URL when it is not http(s) or names or resolves to an
    address it may not reach (`allow`: the networks allowed besides public ones). A name that does
    not resolve now is taken: every attempt resolves and checks it again."""
    if (why := url_problem(w.url, allow)) is not None:
        raise invalid("the webhook URL is refused", [ApiProblem(field="url", message=why)])
    with write(db):
        hook = register_in(db, w.url, w.events, by)
    return get(db, hook)


def url_problem(url: str, allow: tuple[egress.Network, ...]) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        return f"expected an http:// or https:// URL, got {url!r}"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return f"expected a port from 1 to 65535 in {url!r}"
    try:
        egress.resolve(parts.hostname, port, allow)
    except egress.Refused as refused:
        return str(refused)
    except (socket.gaierror, UnicodeError):
        return None
    return None


def register_in(db: sqlite_utils.Database, url: str, events: list[str], by: int | None) -> int:
    """Insert a webhook in the caller's transaction (the URL checked by the caller); its id."""
    return db["webhooks"].insert({
        "url": url, "events": msgspec.json.encode(sorted(set(events), key=EVENTS.index)).decode(),
        "secret": secrets.token_hex(32), "created_by": by, "created_at": _now().isoformat(),
    }).last_pk


def remove(db: sqlite_utils.Database, hook: int) -> None:
    """Stop sending to it (its delivery log stays); pending deliveries are dropped."""
    get(db, hook)
    with write(db):
        db.execute("UPDATE webhooks SET removed_at = ? WHERE id = ?", [_now().isoformat(), hook])
        db.execute("UPDATE deliveries SET state = 'failed' WHERE webhook = ? AND state = 'pending'", [hook])


def listing(db: sqlite_utils.Database) -> list[WebhookOut]:
    rows = db.execute(
        """SELECT w.id, w.url, w.events, w.secret, w.created_at,
                  (SELECT count(*) FROM deliveries d WHERE d.webhook = w.id AND d.state = 'pending'),
                  (SELECT count(*) FROM deliveries d WHERE d.webhook = w.id AND d.state = 'delivered'),
                  (SELECT count(*) FROM deliveries d WHERE d.webhook = w.id AND d.state = 'failed')
           FROM webhooks w WHERE w.removed_at IS NULL ORDER BY w.id""").fetchall()
    return [WebhookOut(id=r[0], url=r[1], events=msgspec.json.decode(r[2]), secret=r[3], created_at=r[4], pending=r[5], delivered=r[6], failed=r[7]) for r in rows]


def get(db: sqlite_utils.Database, hook: int) -> WebhookOut:
    found = [w for w in listing(db) if w.id == hook]
    if not found:
        raise not_found("webhook", str(hook))
    return found[0]


def deliveries(db: sqlite_utils.Database, hook: int | None = None, limit: int = 50, delivery: str | None = None) -> list[Delivery]:
    """Newest first, each with its attempts (of one webhook, or the one `delivery`, or all)."""
    where, params = ("WHERE d.webhook = ?", [hook]) if hook is not None else ("WHERE d.id = ?", [delivery]) if delivery is not None else ("", [])
    rows = list(db.query(
        f"""SELECT d.id, d.webhook, w.url, d.event, d.created_at, d.state, d.attempts, d.limit_attempts, d.next_at, d.body
            FROM deliveries d JOIN webhooks w ON w.id = d.webhook {where} ORDER BY d.created_at DESC, d.rowid DESC LIMIT ?""", [*params, limit]))
    found = []
    for row in rows:
        tries = [Attempt(**a) for a in db.query("SELECT n, at, status, error, ms FROM delivery_attempts WHERE delivery = ? ORDER BY n", [row["id"]])]
        if row["state"] != "pending":
            row["next_at"] = None
        found.append(Delivery(**row, tries=tries))
    return found


def send_again(db: sqlite_utils.Database, delivery: str, limit_attempts: int) -> Delivery:
    """Queue a delivery once more, now, with a fresh allowance of attempts (its id stays the same)."""
    with write(db):
        changed = db.execute("UPDATE deliveries SET state = 'pending', next_at = ?, limit_attempts = attempts + ? WHERE id = ?",
                             [_now().isoformat(), limit_attempts, delivery]).rowcount
    if not changed:
        raise not_found("delivery", delivery)
    return deliveries(db, delivery=delivery)[0]


def backoff(attempt: int, base: float, cap: float = 6 * 3600) -> float:
    """Seconds before the next try after `attempt` failures: base x 2^(attempt-1), at most `cap`,
    with "equal jitter" (half fixed, half random) so receivers that fail together are not all
    retried in the same second."""
    delay = min(cap, base * 2 ** (attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)


class Sender:
    """The background sender: a thread that wakes every `poll` seconds (or when `wake()` is called),
    claims what is due and hands each delivery to one of SENDERS threads."""

    def __init__(self, database: Path, retry_seconds: float, poll_seconds: float = 1.0, attempts: int = 8,
                 timeout_seconds: float = 10.0, allow: tuple[egress.Network, ...] = ()):
        self.database, self.retry_seconds, self.poll_seconds, self.attempts = database, retry_seconds, poll_seconds, attempts
        self.timeout_seconds, self.allow = timeout_seconds, allow
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite_utils.Database] = []
        self._ssl = httpx.create_ssl_context()

    def start(self) -> None:
        """Start sending (again, after `stop`: one app may be started more than once, as its tests do)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="touchpoint-webhooks", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_seconds + 5)

    def _run(self) -> None:
        db = connect(self.database)
        pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="touchpoint-webhook-send")
        try:
            while not self._stop.is_set():
                try:
                    sent = self.send_due(db, pool)
                except Exception:  # a locked database now is no reason to stop sending later
                    log.exception("sending webhooks failed; trying again shortly")
                    sent = 0
                if not sent:
                    self._wake.wait(self.poll_seconds)
                    self._wake.clear()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # an attempt in flight ends by its deadline
            db.conn.close()
            with self._lock:
                for each in self._connections:
                    each.conn.close()
                self._connections.clear()

    def send_due(self, db: sqlite_utils.Database, pool: ThreadPoolExecutor) -> int:
        """Claim deliveries due now, as many as senders are free, and start sending them; how many."""
        with self._lock:
            free = SENDERS - self._busy
        if free <= 0:
            return 0
        claimed = self.claim(db, free)
        for delivery in claimed:
            with self._lock:
                self._busy += 1
            pool.submit(self._attempt, *delivery)
        return len(claimed)

    def claim(self, db: sqlite_utils.Database, limit: int) -> list[tuple]:
        """Up to `limit` due deliveries, each leased to this sender until its attempt's deadline
        has passed (plus a margin): if this process dies mid-attempt, the lease runs out and
        another process (or this one restarted) sends it."""
        now = _now()
        lease = (now + dt.timedelta(seconds=self.timeout_seconds + LEASE_MARGIN_SECONDS)).isoformat()
        with write(db):
            due = db.execute(
                """SELECT d.id, d.body, d.attempts, d.limit_attempts, w.url, w.secret FROM deliveries d JOIN webhooks w ON w.id = d.webhook
                   WHERE d.state = 'pending' AND d.next_at <= ? ORDER BY d.next_at LIMIT ?""", [now.isoformat(), limit]).fetchall()
            db.conn.executemany("UPDATE deliveries SET next_at = ? WHERE id = ?", [(lease, row[0]) for row in due])
        return due

    def _db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.database)
            with self._lock:
                self._connections.append(db)
        return db

    def _attempt(self, delivery: str, body: str, attempts: int, limit: int, url: str, secret: str) -> None:
        try:
            self._send(self._db(), delivery, body.encode(), attempts + 1, limit or self.attempts, url, secret)
        except Exception:  # recorded next time: the lease runs out and the delivery is tried again
            log.exception("webhook delivery %s could not be recorded", delivery)
        finally:
            with self._lock:
                self._busy -= 1
            self._wake.set()  # a sender is free: look for more

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """One POST under one deadline, to checked addresses only; the receiver's status. At most
        ANSWER_BYTES of its answer are read (a receiver sending 500 MB costs 64 KiB)."""
        deadline = egress.Deadline(self.timeout_seconds)
        timeouts = {kind: self.timeout_seconds for kind in ("connect", "read", "write", "pool")}
        with httpcore.ConnectionPool(ssl_context=self._ssl, network_backend=egress.GuardedBackend(self.allow, deadline), max_connections=1) as pool:
            with pool.stream("POST", url, headers={**headers, "User-Agent": "Touchpoint-Webhooks/1"}, content=body, extensions={"timeout": timeouts}) as answer:
                read = 0
                for chunk in answer.iter_stream():
                    read += len(chunk)
                    if read >= egress.ANSWER_BYTES:
                        break  # closing the answer unread closes its connection
                return answer.status

    def _send(self, db, delivery: str, body: bytes, n: int, limit: int, url: str, secret: str) -> None:
        started = time.perf_counter()
        status, error = None, None
        try:
            status = self.post(url, body, {
                "Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, int(time.time()), body), "Touchpoint-Delivery": delivery})
            if not 200 <= status < 300:
                error = f"answered {status}"
        except egress.Refused as refused:
            error = f"refused: {refused}"[:500]
        except (httpcore.TimeoutException, TimeoutError):
            error = f"no whole answer within {self.timeout_seconds:g} s"
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        except Exception as exc:  # counted as a failed attempt all the same: never a delivery retried forever
            log.exception("webhook delivery %s to %s: unexpected error", delivery, url)
            error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        ms = (time.perf_counter() - started) * 1000
        now = _now()
        if error is None:
            state, next_at = "delivered", now
        elif n >= limit:
            state, next_at = "failed", now
            log.warning("webhook delivery %s to %s failed %d times; giving up (%s)", delivery, url, n, error)
        else:
            state, next_at = "pending", now + dt.timedelta(seconds=backoff(n, self.retry_seconds))
        with write(db):
            db.execute("INSERT INTO delivery_attempts (delivery, n, at, status, error, ms) VALUES (?, ?, ?, ?, ?, ?)", [delivery, n, now.isoformat(), status, error, round(ms, 1)])
            db.execute("UPDATE deliveries SET state = ?, attempts = ?, next_at = ? WHERE id = ?", [state, n, next_at.isoformat(), delivery])


def audit_arrived(db: sqlite_utils.Database, e: AuditArrived) -> None:
    """audit.submitted, for every audit that arrives (a campaign's names its campaign)."""
    data = {"audit": str(e.audit.id), "location": e.audit.location, "checklist": e.audit.checklist, "status": e.status,
            "revision": e.audit.revision, "score": e.result.score, "promise_kept": e.result.promise_kept}
    if e.by.campaign is not None:
        data["campaign"] = e.by.campaign
    emit(db, "audit.submitted", data)


def audit_reviewed(db: sqlite_utils.Database, e: AuditReviewed) -> None:
    emit(db, f"audit.{e.done}", {"audit": e.audit, "status": e.after["status"], "note": e.note, "by": e.by.name})
