"""The one writer of audits: a child process that commits the audits handed to it in batches.

With synchronous=FULL every COMMIT waits for the disk. One COMMIT per audit caps ingest at the
disk's fsync rate; committing every audit that queued up meanwhile in one transaction keeps each
audit durable before its 201 while paying one fsync per batch (group commit). The writer is a
process, not a thread, so its work does not wait for the server's event loop to let go of the
interpreter: the two run on two cores.

Each job runs in a savepoint: one that refuses (ApiError: a 409 or 422) is undone alone and the
rest of its batch goes on. Any other failure rolls the whole batch back and every caller in it gets a 503: nobody
was told "stored", so their phones send again and nothing is lost.
"""

import asyncio
import datetime as dt
import itertools
import logging
import multiprocessing
import threading
import time
from pathlib import Path

import msgspec

from server.accounts.accounts import User
from server.audits.audits import AuditIn, AuditOut, Prepared, Stored, counts_on_arrival, prepare, store
from server.db import BUSY_TIMEOUT_MS, begin, connect, on_postgres
from server.errors import ApiError, ErrorBody, ErrorCode
from server.followup.policy import Policy
from server.checklists.scoring import AuditResult

MAX_BATCH = 256
CHECKPOINT_SECONDS = 0.5
# The WAL is kept near this size: a PASSIVE checkpoint copies pages back all the time, but under
# non-stop ingest it never catches up with the writer, so the WAL could never start over and grew
# without end (627 MB in 30 s). Between batches, once it is larger than this, the writer itself
# runs a RESTART checkpoint, waiting at most RESTART_WAIT_MS for readers to move on (else it
# tries again a second later), so the next batch writes the WAL from its start again, and
# journal_size_limit trims the file back to WAL_LIMIT. Not TRUNCATE: growing the file from zero
# again each time cost the p99 at 500 audits/s 37-40 ms against 10-11 ms.
WAL_LIMIT = 64 * 2**20
RESTART_WAIT_MS = 250
log = logging.getLogger("touchpoint.ingest")


class Job(msgspec.Struct, array_like=True):
    n: int
    audit: AuditIn
    result: AuditResult
    user: User
    policy: Policy
    prepared: Prepared  # worked out here, so the writer, the serial step, only writes


class Done(msgspec.Struct, array_like=True):
    """What the server does not know already: a new audit's received time, or the stored one."""

    n: int
    received_at: dt.datetime | None = None
    missing_photos: list[str] = []
    earlier: AuditOut | None = None  # a retry: the audit as first stored; a resubmission: as now stored
    created: bool = False  # with `earlier`: a returned audit's new revision
    error: ErrorBody | None = None


_STOP = b""


class Writer:
    """Hands audits to the writer process and gives each caller its own answer."""

    def __init__(self, path: Path):
        self.path = path
        self._numbers = itertools.count()
        # each job waiting for its answer, with the pipe it was sent down: a writer that dies fails only its own
        self._pending: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future, object]] = {}
        self._lock = threading.Lock()
        self._encoder = msgspec.json.Encoder()
        self._process = None
        self._start()

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")  # a clean interpreter, whatever the parent holds
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(str(self.path), child), name="touchpoint-writer", daemon=True)
        self._process.start()
        child.close()
        threading.Thread(target=self._read, args=(self._pipe,), name="touchpoint-writer-answers", daemon=True).start()

    async def store(self, audit: AuditIn, result: AuditResult, user: User, policy: Policy) -> Stored:
        """Store a scored audit; returns once it is committed to disk (or raises why not)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        number = next(self._numbers)
        # JSON, not msgpack: it keeps each timestamp's UTC offset (the local day) exactly
        message = self._encoder.encode(Job(number, audit, result, user, policy, prepare(audit, policy)))
        with self._lock:
            if not self.alive():
                log.error("the writer process had stopped; starting another")
                self._start()
            self._pending[number] = (loop, future, self._pipe)
            try:
                self._pipe.send_bytes(message)
            except OSError:  # it died an instant ago (is_alive had not noticed): nothing was sent
                self._pending.pop(number, None)
                log.error("the writer process stopped while an audit was handed to it; starting another")
                self._start()
                raise ApiError(503, ErrorCode.UNAVAILABLE, "the audit was not stored (the writer stopped); send it again") from None
        done: Done = await future
        if done.earlier is not None:
            return Stored(done.earlier, created=done.created)
        return Stored(
            AuditOut(
                id=str(audit.id), location=audit.location, checklist=audit.checklist, version=result.version, visit=audit.visit,
                started_at=audit.started_at, finished_at=audit.finished_at, auditor=user.name,
                status="awaiting_photos" if done.missing_photos else "submitted", received_at=done.received_at,
                answers=audit.answers, result=result, missing_photos=done.missing_photos,
                assignment=str(audit.assignment) if audit.assignment else None,
                counts=counts_on_arrival(policy, user), campaign=user.campaign, day=audit.day,
            ),
            created=True,
        )

    def alive(self) -> bool:
        return self._process.is_alive()

    def _read(self, pipe) -> None:
        decoder = msgspec.json.Decoder(Done)
        while True:
            try:
                done = decoder.decode(pipe.recv_bytes())
            except (EOFError, OSError):
                self._fail_pending(pipe)
                return
            with self._lock:
                waiting = self._pending.pop(done.n, None)
            if waiting is None:  # already answered 503 (its writer was taken for dead): the retry finds it stored
                continue
            loop, future, _ = waiting
            error = None if done.error is None else ApiError(done.error.status, done.error.code, done.error.message, done.error.problems)
            loop.call_soon_threadsafe(_settle, future, done, error)

    def _fail_pending(self, pipe) -> None:
        """The writer behind `pipe` stopped: every job sent down it gets a 503 (send it again)."""
        with self._lock:
            pending = {n: job for n, job in self._pending.items() if job[2] is pipe}
            for n in pending:
                del self._pending[n]
        for loop, future, _ in pending.values():
            error = ApiError(503, ErrorCode.UNAVAILABLE, "the audit was not stored (the writer stopped); send it again")
            loop.call_soon_threadsafe(_settle, future, None, error)

    def close(self) -> None:
        with self._lock:
            try:
                self._pipe.send_bytes(_STOP)
            except OSError:
                pass
        self._process.join(timeout=30)
        self._pipe.close()


class SharedWriter(Writer):
    """One writer process for the installation (design (b) of issue 27, kept to measure it against one
    writer per server process): every server process hands its audits over a Unix socket beside the
    database. Whoever finds no writer starts one (a session of its own, so it outlives the server
    that started it); the writer holds `touchpoint.db.writer.lock` while it lives, so a second one
    started at the same instant sees the lock taken and ends. A writer that dies fails the audits in
    flight (503, sent again) and the next audit starts another."""

    def _start(self) -> None:
        import subprocess
        import sys
        from multiprocessing.connection import Client

        address = str(self.path) + ".writer.sock"
        deadline = time.monotonic() + 30
        launched = False
        while True:
            try:
                self._pipe = Client(address, family="AF_UNIX")
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                if not launched and not _held(Path(str(self.path) + ".writer.lock")):
                    subprocess.Popen([sys.executable, "-m", "server.audits.ingest", str(self.path)], start_new_session=True,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
                    launched = True
                time.sleep(0.02)
        self._process = None
        threading.Thread(target=self._read, args=(self._pipe,), name="touchpoint-writer-answers", daemon=True).start()

    def alive(self) -> bool:
        return not self._pipe.closed and self._connected

    _connected = True

    def _read(self, pipe) -> None:
        self._connected = True
        super()._read(pipe)
        self._connected = False

    def close(self) -> None:
        self._pipe.close()


def _held(lock: Path) -> bool:
    """Is `lock` held by a living process (flock, let go by the kernel when its holder dies)?"""
    import fcntl

    with open(lock, "a") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(file, fcntl.LOCK_UN)
        return False


def serve_shared(path: str, idle_seconds: float = 30) -> None:
    """The installation's one writer: takes audits from every server process connected to its socket,
    commits what has queued up from all of them in one batch, answers each down its own connection."""
    import fcntl
    import os
    import queue
    from multiprocessing.connection import Listener

    held = open(path + ".writer.lock", "a")
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another writer started at the same instant
    held.truncate(0)
    held.write(str(os.getpid()))  # who the writer is (the benchmark ends it)
    held.flush()
    address = path + ".writer.sock"
    if os.path.exists(address):
        os.unlink(address)  # a dead writer's
    listener = Listener(address, family="AF_UNIX", backlog=64)
    arrived: queue.SimpleQueue = queue.SimpleQueue()
    connected = [0]

    def take(conn) -> None:
        connected[0] += 1
        try:
            while True:
                arrived.put((conn, conn.recv_bytes()))
        except (EOFError, OSError):
            pass
        finally:
            connected[0] -= 1

    def accept() -> None:
        while True:
            threading.Thread(target=take, args=(listener.accept(),), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    db, wal, stop, _ = _writing(path)
    decoder, encoder = msgspec.json.Decoder(Job), msgspec.json.Encoder()
    idle_since = time.monotonic()
    next_look = time.monotonic() + 1
    while True:
        try:
            batch = [arrived.get(timeout=1)]
        except queue.Empty:
            if connected[0] == 0 and time.monotonic() - idle_since > idle_seconds:
                break
            continue
        while len(batch) < MAX_BATCH:
            try:
                batch.append(arrived.get_nowait())
            except queue.Empty:
                break
        batch = [(conn, raw) for conn, raw in batch if raw != _STOP]
        if batch:
            for (conn, _), done in zip(batch, _commit(db, [decoder.decode(raw) for _, raw in batch])):
                try:
                    conn.send_bytes(encoder.encode(done))
                except OSError:  # that server process died: its phones send again and find the audit stored
                    pass
        idle_since = time.monotonic()
        if time.monotonic() >= next_look:
            next_look = time.monotonic() + 1
            bound_wal(db, wal)
    stop.set()
    listener.close()
    db.conn.close()


def _settle(future: asyncio.Future, result, error) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


# --- the writer process --------------------------------------------------------------------


def _writing(path: str) -> tuple:
    """A writer's connection, its WAL's path, and its checkpoint thread with the event that stops it.
    Copying the WAL back into the database (a checkpoint) inside a COMMIT would make that batch
    wait for it; the thread does it instead, between batches. PostgreSQL keeps its own WAL: no
    thread, and no WAL path to bound (None)."""
    db = connect(path)
    if on_postgres(db):
        return db, None, threading.Event(), None
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
    stop = threading.Event()
    checkpointer = threading.Thread(target=_checkpoint, args=(Path(path), stop), daemon=True)
    checkpointer.start()
    return db, Path(f"{path}-wal"), stop, checkpointer


def _serve(path: str, pipe) -> None:
    db, wal, stop, checkpointer = _writing(path)
    next_look = time.monotonic() + 1
    decoder = msgspec.json.Decoder(Job)
    encoder = msgspec.json.Encoder()
    running = True
    while running:
        try:
            first = pipe.recv_bytes()
        except (EOFError, OSError):
            break
        raw = [first]
        while raw[-1] != _STOP and len(raw) < MAX_BATCH and pipe.poll(0):
            raw.append(pipe.recv_bytes())
        if raw[-1] == _STOP:
            running = False
            raw.pop()
        if raw:
            for done in _commit(db, [decoder.decode(r) for r in raw]):
                pipe.send_bytes(encoder.encode(done))
        if time.monotonic() >= next_look:
            next_look = time.monotonic() + 1
            bound_wal(db, wal)
    stop.set()
    if checkpointer is not None:
        checkpointer.join()
    db.conn.close()


def _commit(db, jobs: list[Job]) -> list[Done]:
    answers = []
    try:
        begin(db)
        for job in jobs:
            db.execute("SAVEPOINT job")  # a refusal undoes this job's writes only; the batch goes on
            try:
                stored = store(db, job.audit, job.result, job.user, job.policy, job.prepared)
                if stored.created and stored.audit.revision == 1:
                    answers.append(Done(job.n, received_at=stored.audit.received_at, missing_photos=stored.audit.missing_photos))
                else:
                    answers.append(Done(job.n, earlier=stored.audit, created=stored.created))
            except ApiError as refused:
                db.execute("ROLLBACK TO job")
                answers.append(Done(job.n, error=ErrorBody(status=refused.status, code=refused.code, message=refused.message, problems=refused.problems)))
            db.execute("RELEASE job")
        db.execute("COMMIT")
        return answers
    except Exception:  # a job broke half-way, or the commit failed: nothing of the batch is stored
        logging.getLogger("touchpoint.ingest").exception("a batch of %d audits failed", len(jobs))
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        failed = ErrorBody(status=503, code=ErrorCode.UNAVAILABLE, message="the audit was not stored (the database refused the write); send it again")
        return [Done(job.n, error=failed) for job in jobs]


def bound_wal(db, wal: Path | None) -> bool | None:
    """Make the WAL start over when it has grown past WAL_LIMIT; True if it will, False if readers kept
    it (a long export holds its snapshot to the end), None if it was small enough."""
    try:
        if wal is None or wal.stat().st_size <= WAL_LIMIT:
            return None
    except FileNotFoundError:
        return None
    db.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
    try:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
    finally:
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if busy:
        log.info("the WAL is over %d MiB and readers kept it from starting over; trying again in a second", WAL_LIMIT // 2**20)
    return not busy


def _checkpoint(path: Path, stop: threading.Event) -> None:
    db = connect(path)
    try:
        while not stop.wait(CHECKPOINT_SECONDS):
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.conn.close()


if __name__ == "__main__":  # the shared writer (SharedWriter starts it)
    import sys

    serve_shared(sys.argv[1])
