"""Webhooks: URLs an admin registers for events, and their deliveries.

`emit` writes one delivery row per subscribed webhook inside the transaction of the event itself
(an audit stored, approved, an action closed...), so an event and its deliveries commit together
or not at all, and a restart loses none. The outbox's `Sender` (server/outbox.py, the one sender of
webhook deliveries and mail) claims what is due with a lease in the database and sends each on its
pool of threads, one HTTP POST per attempt (`Webhooks` below), records every attempt, and retries a
failure after an exponential back-off with jitter until it succeeds or `limit_attempts` pass.
egress.py says where a webhook may connect and how an attempt is bounded.

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
import secrets
import socket
import time
import uuid
from typing import Annotated, Literal
from urllib.parse import urlsplit

import httpcore
import httpx
import msgspec
import sqlite_utils
from msgspec import Meta

from server.events import AuditArrived, AuditReviewed
from server.checklists.format import Strict
from server.db import write
from server import outbox
from server.errors import ApiProblem, invalid, not_found
from server.text import Line
from server.followup import egress

EVENTS = ("audit.submitted", "audit.approved", "audit.returned", "audit.rejected", "action.opened", "action.closed", "flag.raised")
Event = Literal["audit.submitted", "audit.approved", "audit.returned", "audit.rejected", "action.opened", "action.closed", "flag.raised"]
SIGNATURE_HEADER = "Touchpoint-Signature"


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
    return db.execute("INSERT INTO webhooks (url, events, secret, created_by, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                      [url, msgspec.json.encode(sorted(set(events), key=EVENTS.index)).decode(), secrets.token_hex(32), by, _now().isoformat()]).fetchone()[0]


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
            FROM deliveries d JOIN webhooks w ON w.id = d.webhook {where} ORDER BY d.created_at DESC, d.id DESC LIMIT ?""", [*params, limit]))
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


class Webhooks:
    """Webhook deliveries as a kind of the outbox's Sender (server/outbox.py: the claim, lease,
    back-off and threads): one signed HTTP POST per attempt, to checked addresses only."""
    name = "webhook"

    def __init__(self, retry_seconds: float, attempts: int = 8, timeout_seconds: float = 10.0, allow: tuple[egress.Network, ...] = ()):
        self.retry_seconds, self.attempts, self.timeout_seconds, self.allow = retry_seconds, attempts, timeout_seconds, allow
        self._ssl = httpx.create_ssl_context()

    def due(self, db: sqlite_utils.Database, now: str, limit: int) -> list[outbox.Job]:
        rows = db.execute(
            """SELECT d.id, d.attempts, d.limit_attempts, d.body, w.url, w.secret FROM deliveries d JOIN webhooks w ON w.id = d.webhook
               WHERE d.state = 'pending' AND d.next_at <= ? ORDER BY d.next_at LIMIT ?""", [now, limit]).fetchall()
        return [outbox.Job(id=row[0], attempts=row[1], limit_attempts=row[2], fields=tuple(row[3:])) for row in rows]

    def counts(self, db: sqlite_utils.Database, id: str) -> tuple[int, int]:
        return db.execute("SELECT attempts, limit_attempts FROM deliveries WHERE id = ?", [id]).fetchone()

    def lease(self, db: sqlite_utils.Database, jobs: list[outbox.Job], until: str) -> None:
        db.conn.executemany("UPDATE deliveries SET next_at = ? WHERE id = ?", [(until, job.id) for job in jobs])

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

    def send(self, job: outbox.Job) -> outbox.Outcome:
        body, url, secret = job.fields
        body = body.encode()
        try:
            status = self.post(url, body, {
                "Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, int(time.time()), body), "Touchpoint-Delivery": job.id})
            return outbox.Outcome(status=status, error=None if 200 <= status < 300 else f"answered {status}")
        except egress.Refused as refused:
            return outbox.Outcome(error=f"refused: {refused}"[:500])
        except (httpcore.TimeoutException, TimeoutError):
            return outbox.Outcome(error=f"no whole answer within {self.timeout_seconds:g} s")
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError) as exc:
            return outbox.Outcome(error=f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__)

    def record(self, db: sqlite_utils.Database, job: outbox.Job, n: int, state: str, at: dt.datetime, next_at: dt.datetime,
               outcome: outbox.Outcome, ms: float) -> None:
        db.execute("INSERT INTO delivery_attempts (delivery, n, at, status, error, ms) VALUES (?, ?, ?, ?, ?, ?)",
                   [job.id, n, at.isoformat(), outcome.status, outcome.error, round(ms, 1)])
        db.execute("UPDATE deliveries SET state = ?, attempts = ?, next_at = ? WHERE id = ?",
                   ["delivered" if state == "sent" else state, n, next_at.isoformat(), job.id])


def audit_arrived(db: sqlite_utils.Database, e: AuditArrived) -> None:
    """audit.submitted, for every audit that arrives (a campaign's names its campaign)."""
    data = {"audit": str(e.audit.id), "location": e.audit.location, "checklist": e.audit.checklist, "status": e.status,
            "revision": e.audit.revision, "score": e.result.score, "promise_kept": e.result.promise_kept}
    if e.by.campaign is not None:
        data["campaign"] = e.by.campaign
    emit(db, "audit.submitted", data)


def audit_reviewed(db: sqlite_utils.Database, e: AuditReviewed) -> None:
    emit(db, f"audit.{e.done}", {"audit": e.audit, "status": e.after["status"], "note": e.note, "by": e.by.name})
