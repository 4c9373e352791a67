"""Heavy work off the request path (issue 27, points 4 and 5): PDFs drawn in worker processes that
recover when one dies, exports made in workers with bounded memory, and the per-person limit on
heavy requests at once, kept in the database so that every server process counts alike."""

import asyncio
import datetime as dt
import os
import signal
import threading
import time
import tracemalloc

from litestar.datastructures import State
from litestar.testing import TestClient

from server import heavy
from server.accounts import accounts
from server.app import create_app
from server.db import Readers
from server.reports import export
from server.workers import Pool
from tests.databases import migrated_database
from tests.test_api_summaries import audited  # noqa: F401  (r1: l1 visits 86.1 and 0 and a call 100, l2 a call 100)
from tests.test_manage import pdf_text


def _run(coroutine):
    """asyncio.run on a thread of its own: in the whole suite an earlier test (Playwright's sync API)
    may have left an event loop running on this one."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def _user(db, name: str) -> int:
    return db.execute("SELECT id FROM users WHERE name = ?", [name]).fetchone()[0]


# --- the per-person limit ---------------------------------------------------------------------


def test_the_limit_holds_across_two_apps_on_one_data_folder(audited):
    """Two server processes' worth of apps on one data folder: what one counts, the other sees."""
    settings, admin = audited.settings, _user(audited.db, "admin")
    audit = audited.get("/api/audits?location=l1&checklist=visit", "admin").json()["items"][0]["id"]
    with TestClient(create_app(settings)) as other:
        first = heavy.start(audited.db, admin, "export", settings.heavy_per_person)  # two held by the first app's process
        second = heavy.start(audited.db, admin, "pdf", settings.heavy_per_person)
        headers = audited.auth("admin")
        refused = other.get("/api/export/answers.csv", headers=headers)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "5"
        body = refused.json()
        assert body["code"] == "too_many_requests"
        assert body["message"] == ("you have 2 heavy requests running (1 CSV export, 1 PDF) and one person may run 2 at once: "
                                   "wait for one to finish, then try again in 5 seconds")
        page = other.get(f"/manage/audits/{audit}.pdf", headers=headers)  # a page says it as a page
        assert page.status_code == 429 and page.headers["retry-after"] == "5" and "<html" in page.text
        assert "Please wait a moment" in page.text and "one person may run 2 at once" in page.text
        assert other.get("/api/export/answers.csv", headers=audited.auth("manager_r1")).status_code == 200  # another person is not held up
        heavy.finish(audited.db, second)
        assert other.get(f"/manage/audits/{audit}.pdf", headers=headers).status_code == 200
        assert audited.get("/api/export/audits.csv", "admin").status_code == 200  # one running, one more allowed
        heavy.finish(audited.db, first)
    assert heavy.count(audited.db, admin) == 0  # every request that ran ended its row


def test_a_row_whose_lease_passed_no_longer_counts(server):
    """A process killed mid-export leaves its row; once its lease passes it does not count."""
    admin = _user(server.db, "admin")
    passed = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    for _ in range(2):
        server.db.execute("INSERT INTO running (person, kind, started_at, until, pid) VALUES (?, 'export', ?, ?, 999999)", [admin, passed, passed])
    assert heavy.count(server.db, admin) == 0
    assert server.get("/api/export/audits.csv", "admin").status_code == 200
    assert server.db.execute("SELECT COUNT(*) FROM running").fetchone()[0] == 0  # swept when the next began, then its own ended


def test_an_export_counts_while_it_streams_and_ends_with_it(audited):
    admin = _user(audited.db, "admin")
    seen = []
    with audited.client.stream("GET", "/api/export/answers.csv", headers=audited.auth("admin")) as response:
        for _ in response.iter_bytes():
            seen.append(heavy.count(audited.db, admin))
    assert response.status_code == 200 and seen and heavy.count(audited.db, admin) == 0


# --- PDFs in worker processes ----------------------------------------------------------------


def test_a_pdf_worker_killed_mid_render_gives_the_next_request_a_good_pdf(audited):
    audit = audited.get("/api/audits?location=l1&checklist=visit", "manager_r1").json()["items"][0]["id"]
    path = f"/manage/audits/{audit}.pdf"
    drawn = audited.get(path, "manager_r1")
    assert drawn.status_code == 200
    expected = pdf_text(drawn.content)
    workers = audited.client.app.state.report_workers
    pids = workers.pids()
    assert pids and os.getpid() not in pids  # drawn in worker processes, not the server's
    got = {}
    thread = threading.Thread(target=lambda: got.update(response=audited.get(path, "manager_r1")))
    thread.start()
    time.sleep(0.02)  # the render under way
    for pid in pids:
        os.kill(pid, signal.SIGKILL)  # as the OOM killer would
    thread.join(30)
    killed = got["response"]
    assert killed.status_code in (200, 503), killed.text  # tried again in new workers, or a 503 once; never a 500
    if killed.status_code == 200:
        assert pdf_text(killed.content) == expected
    else:
        assert killed.headers["retry-after"] == "5" and "its worker stopped twice" in killed.text
    after = audited.get(path, "manager_r1")
    assert after.status_code == 200 and pdf_text(after.content) == expected
    assert workers.restarts >= 1 and set(workers.pids()).isdisjoint(pids)


# --- exports in worker processes: memory bounded by a chunk ---------------------------------


SHAPED = "SELECT a, b, c, '', '', '', '', '', '', '', 1 FROM generated"  # the audits export's 11 columns, three of them filled


def _drain(state: State, count: int, claim: int) -> tuple[int, int, int, int]:
    """Stream `count` generated rows through an export worker: (chunks, largest chunk, bytes, parent's peak bytes)."""

    async def run():
        chunks = largest = size = 0
        async for chunk in export._from_worker(state, (str(state.readers.path), ["a", "b", "c"], SHAPED + f" LIMIT {count}", [], None), claim):
            chunks, largest, size = chunks + 1, max(largest, len(chunk)), size + len(chunk)
        return chunks, largest, size

    tracemalloc.start()
    try:
        chunks, largest, size = _run(run())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return chunks, largest, size, peak


def test_an_exports_memory_in_the_server_does_not_grow_with_its_size(tmp_path):
    """The server holds one chunk (BATCH rows) of an export at a time, whatever its size: 20,000
    rows and 200,000 rows peak alike in the server's interpreter, the rows made in the worker."""
    database = tmp_path / "touchpoint.db"
    db = migrated_database(database)
    accounts.add_user(db, "boss", "admin", [], "boss-password-1")
    db.execute("CREATE TABLE generated (a TEXT, b TEXT, c REAL)")
    db.conn.executemany("INSERT INTO generated VALUES (?, ?, ?)", ((f"audit-{i:08d}", "a comment of some forty characters long", i / 7) for i in range(200_000)))
    admin = _user(db, "boss")
    state = State({"export_workers": Pool("export", 1), "readers": Readers(database)})
    try:
        found = {}
        for count in (20_000, 200_000):
            found[count] = _drain(state, count, heavy.start(db, admin, "export", 2))
        small, big = found[20_000], found[200_000]
        assert small[0] == 20_000 // 2000 and big[0] == 200_000 // 2000  # a chunk a batch of 2,000 rows, the header with the first
        assert big[2] > 200_000 * 50  # about 14 MB of CSV went through
        assert big[1] < 2000 * 90 and big[1] <= 1.1 * small[1]  # no chunk larger than a batch (rows of about 84 bytes)
        assert big[3] < 2 * small[3] and big[3] < 2_000_000, (small, big)  # bytes held at once in the server
        assert heavy.count(db, admin) == 0  # each export's row ended with it
    finally:
        state.export_workers.close()
        state.readers.close()
        db.conn.close()


def test_exports_read_the_same_in_a_worker(audited):
    """The worker's CSV is what the export always was (tests/test_export.py checks the columns)."""
    response = audited.get("/api/export/answers.csv?region=r1", "manager_r1")
    assert response.status_code == 200 and response.text.startswith("audit_id,item,section,value,f,earned,possible,comment,photo_count\r\n")
    assert response.text.count("\r\n") == 1 + audited.db.execute(
        "SELECT COUNT(*) FROM answers x JOIN audits a ON a.seq = x.audit JOIN locations l ON l.id = a.location WHERE l.region = 'r1' AND a.counts = 1").fetchone()[0]
    assert os.getpid() not in audited.client.app.state.export_workers.pids() and audited.client.app.state.export_workers.pids()


def test_an_export_is_gzipped_in_its_worker_for_a_client_that_takes_gzip(audited):
    """Not by the server's compression, which would run on the event loop: once, in the worker."""
    plain = audited.get("/api/export/answers.csv", "admin", headers={"Accept-Encoding": "identity"})
    packed = audited.get("/api/export/answers.csv", "admin", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers and packed.headers["content-encoding"] == "gzip"
    assert packed.text == plain.text and plain.text.count("\r\n") > 10  # decoded by the client: the same rows
    audits = audited.get("/api/export/audits.csv", "admin", headers={"Accept-Encoding": "gzip, br"})
    assert audits.headers["content-encoding"] == "gzip" and audits.text.startswith("id,location,region")


def test_an_error_raised_in_a_worker_crosses_back_whole(tmp_path):
    """A refusal raised by a job in a report worker reaches the handler as the same error."""
    from server.accounts.accounts import User
    from server.errors import ApiError
    from server.followup import actions

    pool = Pool("report", 1)
    try:
        auditor = User(id=1, name="ann", role="auditor", regions=frozenset())
        try:
            _run(pool.read(migrated_database(tmp_path / "touchpoint.db").conn.execute("PRAGMA database_list").fetchone()[2], actions.listing, auditor))
        except ApiError as refused:
            assert (refused.status, refused.code, refused.message) == (403, "forbidden", "actions are for managers, admins and staff; you are auditor")
        else:
            raise AssertionError("no error")
        assert pool.restarts == 0 and pool.state() == "ok"  # the pool is whole: the error was the job's, not a dead worker
    finally:
        pool.close()
