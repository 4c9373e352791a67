"""What a probe of the running server found (issue 12), each with the test that failed before its fix."""

import datetime as dt
import os
import uuid

import msgspec
import pytest

from tests.conftest import GOOD_VISIT, audit_body
from tests.engine import OLD_STEPS, point_cli_at, sqlite_only


def shape(response, status):
    """The one error shape, with the status given."""
    body = response.json()
    assert response.status_code == status, response.text
    assert set(body) >= {"status", "code", "message"} and body["status"] == status
    return body


@pytest.mark.parametrize("path", ["/api/login", "/api/audits"])
def test_json_nested_ten_thousand_deep_is_a_400_not_a_500(server, path):
    for body in (b"[" * 10_000 + b"]" * 10_000, b'{"name":' + b"[" * 10_000 + b"]" * 10_000 + b"}"):
        response = server.client.post(path, content=body, headers={**server.auth("auditor_a"), "Content-Type": "application/json"})
        assert "nested too deeply" in shape(response, 400)["message"]


@pytest.mark.parametrize("path", ["/api/login", "/api/audits"])
def test_invalid_utf8_in_a_json_body_is_a_400(server, path):
    body = b'{"name": "\xff\xfe", "password": "x", "answers": {"greet": {"value": "\xc3\x28"}}}'
    response = server.client.post(path, content=body, headers={**server.auth("auditor_a"), "Content-Type": "application/json"})
    assert "UTF-8" in shape(response, 400)["message"]
    answer = audit_body({**GOOD_VISIT, "notes": "x"})
    raw = msgspec_encode(answer).replace(b'"x"', b'"\xed\xa0\x80"')  # a lone surrogate: not UTF-8
    response = server.client.post("/api/audits", content=raw, headers={**server.auth("auditor_a"), "Content-Type": "application/json"})
    assert shape(response, 400)


def msgspec_encode(value) -> bytes:
    import msgspec

    return msgspec.json.encode(value)


def test_an_offset_beyond_any_integer_is_a_400_naming_it(server):
    response = server.get("/api/audits?offset=99999999999999999999", "admin")
    body = shape(response, 400)
    assert [p["field"] for p in body["problems"]] == ["offset"] and "<= 1000000000" in body["problems"][0]["message"]


def test_json_routes_take_only_json(server):
    """A cross-site form can post text/plain without a preflight: login CSRF, before this fix."""
    body = b'{"name": "auditor_a", "password": "auditor_a-password"}'
    for media in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": media} if media else {}
        response = server.client.post("/api/login", content=body, headers=headers)
        assert shape(response, 415)["message"] == f"Content-Type: expected application/json, got {media or 'none'}"
    response = server.client.post("/api/audits", content=msgspec_encode(audit_body(GOOD_VISIT)), headers={**server.auth("auditor_a"), "Content-Type": "text/plain"})
    shape(response, 415)
    assert server.client.post("/api/login", content=body, headers={"Content-Type": "application/json; charset=utf-8"}).status_code in (200, 401)


def test_writes_from_another_origin_are_refused(server):
    body = msgspec_encode({"name": "x", "password": "y"})
    response = server.client.post("/api/login", content=body, headers={"Content-Type": "application/json", "Origin": "https://evil.example"})
    assert shape(response, 403)["message"] == "Origin: writes come from this server's own pages, not from https://evil.example"
    same = server.client.post("/api/login", content=body, headers={"Content-Type": "application/json", "Origin": "http://testserver.local"})
    assert same.status_code == 401  # its own origin gets as far as the password check


def refused(server, body, status=422):
    response = server.post("/api/audits", "auditor_a", json=body)
    found = shape(response, status)
    return {p.get("field") or p.get("item"): p["message"] for p in found["problems"]}


def test_fields_over_their_limits_are_refused_naming_the_field_and_nothing_is_stored(server):
    before = server.db.execute("SELECT COUNT(*) FROM audits").fetchone()[0]
    body = audit_body({**GOOD_VISIT, "notes": "n" * 9_000_000})
    assert refused(server, body, 413) == {}
    assert server.post("/api/audits", "auditor_a", json=body).json()["message"] == "the body is larger than POST /api/audits takes (at most 4,194,304 bytes)"
    body = audit_body({**GOOD_VISIT, "notes": "n" * 9_000, "mood": {"value": "calm", "comment": "c" * 4_000}}, visit="v" * 5_000)
    problems = refused(server, body)
    assert problems["answers.notes.value"] == "9,000 characters; at most 5,000"
    assert problems["answers.mood.comment"] == "4,000 characters; at most 2,000"
    assert problems["visit"] == "5,000 characters; at most 100"
    many = audit_body({**GOOD_VISIT, "sms": {"value": "yes", "photos": [str(uuid.uuid4()) for _ in range(100_000)]}})
    assert refused(server, many)["answers.sms.photos"] == "100,000 photos; at most 10"  # 3.8 MB: under the body limit
    spread = audit_body({**GOOD_VISIT, **{k: {"value": v, "photos": [str(uuid.uuid4()) for _ in range(10)]} for k, v in GOOD_VISIT.items()}})
    assert refused(server, spread)["answers"] == "80 photos in all; at most 60 in one audit"
    assert server.db.execute("SELECT COUNT(*) FROM audits").fetchone()[0] == before


def test_implausible_times_and_numbers_are_refused(server):
    now = dt.datetime.now(dt.UTC)
    cases = {
        "finished_at": (now - dt.timedelta(hours=1), dt.datetime(9999, 1, 1, tzinfo=dt.UTC)),
        "started_at": (dt.datetime(1, 1, 1, tzinfo=dt.UTC), now),
    }
    for field, (started, finished) in cases.items():
        body = audit_body(GOOD_VISIT, started_at=started.isoformat(), finished=finished.isoformat())
        assert field in refused(server, body)
    later = audit_body(GOOD_VISIT, started_at=now.isoformat(), finished=(now - dt.timedelta(minutes=5)).isoformat())
    assert refused(server, later)["finished_at"] == "is before started_at"
    huge = audit_body({**GOOD_VISIT, "wait": 1e308})
    assert refused(server, huge)["answers.wait.value"] == "1e+308 is above 1,000,000, the largest value of a number item"


def test_an_audit_older_than_the_setting_is_refused(tmp_path):
    from litestar.testing import TestClient

    from server.app import create_app
    from tests.conftest import make_server_files, seed

    settings = msgspec.structs.replace(make_server_files(tmp_path), audit_max_age_days=30)
    db, tokens = seed(settings)
    with TestClient(create_app(settings)) as client:
        old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).isoformat()
        response = client.post("/api/audits", json=audit_body(GOOD_VISIT, started_at=old, finished=old), headers={"Authorization": f"Bearer {tokens['auditor_a']}"})
        assert response.status_code == 422 and response.json()["problems"] == [{"field": "finished_at", "message": f"{old} is more than 30 days ago"}]


def test_an_audit_claims_only_its_own_auditors_photos(server):
    from tests.test_api_photos import put_photo
    from tests.test_photo_processing import phone_jpeg

    photo_id = str(uuid.uuid4())
    body = audit_body({**GOOD_VISIT, "sms": {"value": "yes", "photos": [photo_id]}})
    # someone else sends a photo under the audit's id (and the photo's) before the audit arrives
    assert put_photo(server, "auditor_b", phone_jpeg(300, 200, seed=5), audit_id=body["id"], photo_id=photo_id)[0].status_code == 201
    stored = server.post("/api/audits", "auditor_a", json=body).json()
    assert stored["status"] == "awaiting_photos" and stored["missing_photos"] == [photo_id]  # not theirs: not attached
    assert server.get(f"/api/audits/{body['id']}", "manager_r1").json()["photos"] == []
    # the auditor's own photo then arrives and completes the audit
    assert put_photo(server, "auditor_a", phone_jpeg(300, 200, seed=6), audit_id=body["id"], photo_id=photo_id)[0].status_code == 201
    after = server.get(f"/api/audits/{body['id']}", "manager_r1").json()
    assert after["status"] == "submitted" and [p["id"] for p in after["photos"]] == [photo_id]


def test_only_auditors_and_admins_submit_audits(server):
    response = server.post("/api/audits", "manager_r1", json=audit_body(GOOD_VISIT))
    assert shape(response, 403)["message"] == "this needs the role auditor or admin or participant; you are manager"
    assert server.post("/api/audits", "admin", json=audit_body(GOOD_VISIT)).status_code == 201


def _health(server) -> dict:
    """/api/health's word on this process's workers (it also lists the installation's processes and jobs)."""
    health = server.client.get("/api/health").json()
    return {k: health[k] for k in ("status", "writer", "photo_workers", "photo_worker_restarts")}


@pytest.mark.parametrize("path", ["/", "/api/health", "/api/nothing-here", "/manage/", "/schema", "/schema/openapi.json", "/manage/static/manage.css"])
def test_every_response_carries_the_security_headers(server, path):
    response = server.client.get(path, follow_redirects=False)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers  # plain http: HSTS would be a lie


def test_https_responses_add_hsts(server):
    response = server.client.get("https://testserver.local/api/health")
    assert response.headers["strict-transport-security"] == "max-age=31536000"


def test_the_api_viewer_loads_nothing_from_elsewhere(server):
    page = server.client.get("/schema").text
    assert "http" not in page.replace('spec-url="/schema/openapi.json"', "")  # no CDN, no fonts: every URL is our own
    assert '<script src="/schema/redoc/redoc.standalone.js"></script>' in page and "<script>" not in page
    script = server.client.get("/schema/redoc/redoc.standalone.js")
    assert script.status_code == 200
    # nor does the script: its one outside address (the footer's logo, on Redocly's CDN) points at a local blank image
    assert "https://cdn." not in script.text and 'src:"/schema/redoc/blank.svg"' in script.text
    assert server.client.get("/schema/redoc/blank.svg").headers["content-type"].startswith("image/svg+xml")


def test_a_retry_that_means_the_same_is_the_same(server):
    body = audit_body(GOOD_VISIT)
    first = server.post("/api/audits", "auditor_a", json=body)
    assert first.status_code == 201
    version = first.json()["version"]
    assert server.post("/api/audits", "auditor_a", json={**body, "version": version}).status_code == 200  # the current version, named
    as_float = {**body, "answers": {**body["answers"], "wait": {"value": 3.0}}}
    assert server.post("/api/audits", "auditor_a", json=as_float).status_code == 200  # 3 resent as 3.0
    other = server.post("/api/audits", "auditor_a", json={**body, "version": "0" * 12})
    assert other.status_code == 409 and "version" in other.json()["message"]
    changed = server.post("/api/audits", "auditor_a", json={**body, "answers": {**body["answers"], "wait": {"value": 4}}})
    assert changed.status_code == 409 and "answers.wait" in changed.json()["message"]


@sqlite_only(OLD_STEPS)
def test_audits_stored_before_the_new_hash_still_match_their_retries(server):
    from server.migrations import migrate

    body = audit_body({**GOOD_VISIT, "wait": 3.0})
    assert server.post("/api/audits", "auditor_a", json=body).status_code == 201
    server.db.execute("UPDATE audits SET content_hash = 'made by the old hash'")
    server.db.execute("DELETE FROM _sqlite_migrations WHERE name = '0005_meaning_hash'")
    migrate(server.db)
    assert server.post("/api/audits", "auditor_a", json=body).status_code == 200


def login(server, name, password):
    return server.client.post("/api/login", json={"name": name, "password": password})  # all from one address


def test_sign_ins_are_throttled_per_name_and_the_wait_is_said(server):
    for _ in range(5):
        assert login(server, "auditor_a", "not-the-password").status_code == 401
    response = login(server, "auditor_a", "password-auditor_a")  # even the right password waits now
    body = shape(response, 429)
    wait = int(response.headers["retry-after"])
    assert 890 <= wait <= 901 and f"try again in {wait} s" in body["message"]  # 15 minutes from the first failure
    assert login(server, "auditor_b", "password-auditor_b").status_code == 200  # another name is not held up


def test_a_success_clears_the_names_failures(server):
    for _ in range(4):
        login(server, "auditor_a", "wrong-password")
    assert login(server, "auditor_a", "password-auditor_a").status_code == 200
    for _ in range(4):
        assert login(server, "auditor_a", "wrong-password").status_code == 401  # counting starts again


def test_sign_ins_are_throttled_per_address(server):
    from server.accounts import accounts

    for i in range(accounts.PER_ADDRESS):
        assert login(server, f"nobody-{i}", "guess-guess-guess").status_code == 401
    assert shape(login(server, "auditor_a", "password-auditor_a"), 429)


@pytest.mark.parametrize("password, why", [
    ("password", "at least 12 characters"), ("12345678", "at least 12 characters"), (" " * 8, "at least 12 characters"),
    (" " * 14, "more than a few different characters"), ("password1234", "not one of the common passwords"),
("x" * 1001, "at most 1000 characters"),
])
def test_weak_passwords_are_refused_saying_why(server, password, why):
    from server.accounts import accounts

    with pytest.raises(accounts.AccountError, match=why):
        accounts.add_user(server.db, "ann", "auditor", [], password)


def test_names_longer_than_sign_in_takes_are_refused(server):
    from server.accounts import accounts

    with pytest.raises(accounts.AccountError, match="name: at most 200 characters"):
        accounts.add_user(server.db, "n" * 201, "auditor", [], "a-long-enough-passphrase")


# --- 4: tokens expire and can be revoked; users can be disabled ---------------------------------


def test_a_token_works_until_it_expires(server):
    from server.accounts import accounts

    db = server.db
    token = accounts.new_token(db, accounts.user_by_name(db, "auditor_a"), days=1, label="sync script")
    assert server.client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # a day later: move its expiry into the past rather than wait
    db.execute("UPDATE api_tokens SET expires_at = ? WHERE label = 'sync script'", [(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()])
    response = server.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert "has expired or was revoked" in shape(response, 401)["message"]


def test_tokens_last_ninety_days_unless_told_and_list_with_their_last_use(server):
    from server.accounts import accounts

    made = accounts.tokens(server.db, "manager_r1")
    assert len(made) == 1 and made[0].last_used_at is None
    created, expires = dt.datetime.fromisoformat(made[0].created_at), dt.datetime.fromisoformat(made[0].expires_at)
    assert expires - created == dt.timedelta(days=90)
    server.get("/api/me", "manager_r1")
    used = accounts.tokens(server.db, "manager_r1")[0].last_used_at
    assert used is not None and abs(dt.datetime.fromisoformat(used) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    server.get("/api/me", "manager_r1")  # within ten minutes: not written again
    assert accounts.tokens(server.db, "manager_r1")[0].last_used_at == used
    with pytest.raises(accounts.AccountError, match="1 to 3660 days"):
        accounts.new_token(server.db, accounts.user_by_name(server.db, "admin"), days=0)


def test_a_revoked_token_is_refused_on_the_next_request(server):
    from server.accounts import accounts

    assert server.get("/api/me", "auditor_a").status_code == 200
    token_id = accounts.tokens(server.db, "auditor_a")[0].id
    revoked = accounts.revoke_token(server.db, token_id)
    assert revoked.state(dt.datetime.now(dt.UTC)) == "revoked"
    shape(server.get("/api/me", "auditor_a"), 401)
    with pytest.raises(accounts.AccountError, match="no token 999"):
        accounts.revoke_token(server.db, 999)


def test_disabling_a_user_ends_their_sessions_and_tokens_at_once(server):
    from server.accounts import accounts

    login = {"name": "manager_r1", "password": "password-manager_r1"}
    assert server.client.post("/api/login", json=login).status_code == 200
    assert server.client.get("/api/me").status_code == 200  # the session cookie
    assert server.get("/api/me", "manager_r1").status_code == 200  # the token
    assert accounts.disable_user(server.db, "manager_r1") == (1, 1)
    shape(server.client.get("/api/me"), 401)
    shape(server.get("/api/me", "manager_r1"), 401)
    # the right password now says why; a wrong one says no more than for anyone else
    assert "disabled" in shape(server.client.post("/api/login", json=login), 403)["message"]
    assert shape(server.client.post("/api/login", json={**login, "password": "not-the-password"}), 401)["message"] == "wrong name or password"
    accounts.enable_user(server.db, "manager_r1")
    assert server.client.post("/api/login", json=login).status_code == 200
    shape(server.get("/api/me", "manager_r1"), 401)  # a revoked token stays revoked


def test_the_token_and_user_commands(tmp_path, monkeypatch, capsys):
    from server.cli import main
    from tests.conftest import make_server_files, seed

    settings = make_server_files(tmp_path)
    db, _ = seed(settings)
    point_cli_at(monkeypatch, settings)
    assert main(["token", "add", "auditor_b", "--days", "7", "--label", "nightly export"]) == 0
    assert capsys.readouterr().out.startswith("tp_")
    assert main(["token", "list", "auditor_b"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split() == ["id", "user", "state", "created", "expires", "last", "used", "label"]
    newest = listed[1].split()
    assert newest[1:3] == ["auditor_b", "active"] and newest[-3:] == ["never", "nightly", "export"]
    assert (dt.date.fromisoformat(newest[4]) - dt.date.fromisoformat(newest[3])).days == 7
    assert main(["token", "revoke", newest[0]]) == 0
    assert f"token {newest[0]} of auditor_b revoked at" in capsys.readouterr().out
    assert main(["token", "revoke", "4242"]) == 2 and "no token 4242" in capsys.readouterr().err
    assert main(["user", "disable", "auditor_b"]) == 0
    assert capsys.readouterr().out.strip() == "auditor_b disabled: 0 sessions ended, 1 token revoked; their audits stay"
    assert main(["token", "list", "auditor_b"]) == 0
    assert [line.split()[2] for line in capsys.readouterr().out.splitlines()[1:]] == ["revoked", "revoked"]
    assert main(["user", "disable", "nobody"]) == 2 and "no user called 'nobody'" in capsys.readouterr().err
    assert main(["token", "add", "auditor_a", "--days", "0"]) == 2 and "--days: expected 1 to 3660 days" in capsys.readouterr().err


def test_tokens_made_before_expiry_existed_expire_ninety_days_after_the_upgrade(tmp_path):
    from server.db import connect
    from server.migrations import migrations, migrate

    db = connect(tmp_path / "old.db")
    migrations.apply(db, stop_before="0007_token_expiry")
    db["users"].insert({"id": 1, "name": "old", "role": "admin", "password_hash": "x", "created_at": "2025-01-01T00:00:00+00:00"})
    db["api_tokens"].insert({"token_hash": "abc", "user": 1, "created_at": "2025-01-01T00:00:00+00:00"})
    migrate(db)
    row = db.execute("SELECT id, expires_at, revoked_at FROM api_tokens").fetchone()
    assert row[0] == 1 and row[2] is None
    assert abs(dt.datetime.fromisoformat(row[1]) - (dt.datetime.now(dt.UTC) + dt.timedelta(days=90))) < dt.timedelta(minutes=1)


# --- 1 and 2: photo workers recover, and an image's cost is bounded --------------------------------


def _photo_workers():
    import multiprocessing

    return [p for p in multiprocessing.active_children() if p.name != "touchpoint-writer"]


def _wait_for(check, seconds=10.0):
    import time

    end = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_a_killed_photo_worker_is_replaced_and_health_says_so(server):
    import os
    import signal

    from tests.test_api_photos import put_photo
    from tests.test_photo_processing import phone_jpeg

    health = server.client.get("/api/health").json()
    assert {k: health[k] for k in ("status", "writer", "photo_workers", "photo_worker_restarts")} == {"status": "ok", "writer": "ok", "photo_workers": "idle", "photo_worker_restarts": 0}
    assert health["process"] == os.getpid() and [p["pid"] for p in health["processes"]] == [os.getpid()] and health["processes"][0]["this"]
    assert put_photo(server, "auditor_a", phone_jpeg(800, 600))[0].status_code == 201
    assert server.client.get("/api/health").json()["photo_workers"] == "ok"
    for worker in _photo_workers():
        os.kill(worker.pid, signal.SIGKILL)  # as the OOM killer would
    _wait_for(lambda: server.client.get("/api/health").status_code == 503)
    assert _health(server) == {"status": "degraded", "writer": "ok", "photo_workers": "broken", "photo_worker_restarts": 0}
    response, _, _ = put_photo(server, "auditor_a", phone_jpeg(800, 600, seed=2))
    assert response.status_code == 201, response.text  # rebuilt and tried again, not a 500
    assert _health(server) == {"status": "ok", "writer": "ok", "photo_workers": "ok", "photo_worker_restarts": 1}


def test_a_killed_writer_shows_in_health_and_the_next_audit_starts_it_again(server):
    import os
    import signal

    writer = next(p for p in __import__("multiprocessing").active_children() if p.name == "touchpoint-writer")
    os.kill(writer.pid, signal.SIGKILL)
    _wait_for(lambda: server.client.get("/api/health").status_code == 503)
    assert server.client.get("/api/health").json()["writer"] == "stopped"
    assert server.post("/api/audits", "auditor_a", json=audit_body(GOOD_VISIT)).status_code == 201
    assert server.client.get("/api/health").json()["writer"] == "ok"


def test_workers_that_keep_dying_make_a_503_with_retry_after_not_a_500(server):
    """A killer kills every photo worker as soon as it appears: both attempts fail."""
    import os
    import signal
    import threading

    from tests.test_api_photos import put_photo
    from tests.test_photo_processing import phone_jpeg

    stop = threading.Event()

    def killer():
        while not stop.is_set():
            for worker in _photo_workers():
                try:
                    os.kill(worker.pid, signal.SIGKILL)
                except (ProcessLookupError, TypeError):  # gone already, or not started yet
                    pass
            stop.wait(0.01)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        response, _, _ = put_photo(server, "auditor_a", phone_jpeg(800, 600))
    finally:
        stop.set()
        thread.join()
    assert "worker stopped twice" in shape(response, 503)["message"]
    assert response.headers["retry-after"] == "5"
    # once the workers may live again, the same upload goes through
    assert put_photo(server, "auditor_a", phone_jpeg(800, 600))[0].status_code == 201


def _png_16bit_rgba(side: int) -> bytes:
    """A PNG of side x side 16-bit RGBA, all zero: a few hundred KB on the wire, streamed out."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(1)
    row = b"\0" * (1 + side * 8)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 16, 6, 0, 0, 0)) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def test_an_image_that_is_small_on_the_wire_but_huge_in_memory_is_a_413(server):
    from tests.test_api_photos import put_photo

    data = _png_16bit_rgba(6300)  # the probe's file: 39.7 MP, under the pixel limit
    assert len(data) < 2_000_000
    response, _, _ = put_photo(server, "auditor_a", data)
    # 6300 x 6300 x 4 bytes = 158,760,000 bytes = 151.4 MiB as Pillow would hold it
    assert shape(response, 413)["message"] == "6300 x 6300 pixels of RGBA take 151 MiB to decode; at most 64 MiB is accepted: send it as a JPEG, or smaller"


def test_beyond_pillows_own_bomb_limit_is_a_413_too(server):
    from PIL import Image

    from tests.test_api_photos import put_photo
    from tests.test_photo_processing import _saved

    data = _saved(Image.new("1", (10_000, 10_000)), "PNG")  # 100 MP: over Pillow's 89 MP warning
    response, _, _ = put_photo(server, "auditor_a", data)
    assert "more than the 40 megapixels accepted" in shape(response, 413)["message"]


def test_a_16_megapixel_png_screenshot_is_still_accepted(server):
    from PIL import Image

    from tests.test_api_photos import put_photo
    from tests.test_photo_processing import _saved

    data = _saved(Image.new("RGB", (4096, 4096), "teal"), "PNG")  # 4 bytes a pixel: exactly 64 MiB
    response, _, _ = put_photo(server, "auditor_a", data)
    assert response.status_code == 201, response.text


def test_a_decode_beyond_the_workers_memory_cap_is_a_413_and_the_worker_lives_on(tmp_path):
    """Workers held to 64 MiB of address space (they start at about 40, importing only the photo
    modules): the 48 MiB decode of a 4096 x 4096 screenshot cannot be done there, and says so,
    instead of taking the machine's memory."""
    from litestar.testing import TestClient
    from PIL import Image

    from server.app import create_app
    from tests.conftest import Server, make_server_files, seed
    from tests.test_api_photos import put_photo
    from tests.test_photo_processing import _saved

    settings = msgspec.structs.replace(make_server_files(tmp_path), photo_worker_mb=64)
    db, tokens = seed(settings)
    with TestClient(create_app(settings)) as client:
        server = Server(client, settings, db, tokens)
        response, _, _ = put_photo(server, "auditor_a", _saved(Image.new("RGB", (4096, 4096), "teal"), "PNG"))
        assert shape(response, 413)["message"] == "the image needs more than the 64 MiB a photo may take to decode"
        assert client.get("/api/health").json()["photo_workers"] == "ok"
    db.conn.close()


# --- 5: the WAL stays bounded ----------------------------------------------------------------------


def test_the_writer_starts_a_large_wal_over_once_readers_let_it(tmp_path, monkeypatch):
    from server.audits import ingest
    from server.db import connect

    monkeypatch.setattr(ingest, "WAL_LIMIT", 1 * 2**20)
    monkeypatch.setattr(ingest, "RESTART_WAIT_MS", 50)
    path = tmp_path / "t.db"
    writer, reader = connect(path), connect(path)
    writer.execute("PRAGMA wal_autocheckpoint=0")  # as the writer process runs
    writer.execute(f"PRAGMA journal_size_limit={ingest.WAL_LIMIT}")
    writer.execute("CREATE TABLE t (x BLOB)")
    wal = tmp_path / "t.db-wal"
    assert ingest.bound_wal(writer, wal) is None  # small: nothing to do
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM t").fetchone()  # a reader holds a snapshot, as an export does
    for _ in range(8):
        writer.execute("INSERT INTO t VALUES (randomblob(500000))")
    assert wal.stat().st_size > 3 * 2**20
    assert ingest.bound_wal(writer, wal) is False  # kept by the reader, after waiting 50 ms
    reader.execute("COMMIT")
    assert ingest.bound_wal(writer, wal) is True
    writer.execute("INSERT INTO t VALUES (x'00')")  # the next write starts the WAL over, trimmed to the limit
    assert wal.stat().st_size <= 2**20
    assert reader.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 9  # nothing lost
    writer.conn.close()
    reader.conn.close()


# --- 6 (second half): photos of audits that never arrive are deleted --------------------------------


def test_photos_of_audits_that_never_arrived_are_deleted_after_the_set_days(photo_server, capsys, monkeypatch):
    server = photo_server  # photos in the folder, and in a bucket
    from server.cli import main
    from tests import stores
    from tests.test_api_photos import files, put_photo
    from tests.test_photo_processing import phone_jpeg

    same = phone_jpeg(800, 600)
    kept_audit = audit_body({**GOOD_VISIT})
    _, _, kept_photo = put_photo(server, "auditor_a", phone_jpeg(800, 600, seed=3), kept_audit["id"])
    _, _, lone_photo = put_photo(server, "auditor_a", same)  # its audit never comes
    _, _, twin_photo = put_photo(server, "auditor_a", same)  # the same picture for another audit that never comes
    _, _, recent_photo = put_photo(server, "auditor_a", phone_jpeg(800, 600, seed=4))  # uploaded just now
    kept_audit["answers"]["greet"] = {"value": "yes", "photos": [kept_photo]}
    assert server.post("/api/audits", "auditor_a", json=kept_audit).status_code == 201
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).isoformat()
    server.db.execute("UPDATE photos SET received_at = ? WHERE id IN (?, ?, ?)", [long_ago, kept_photo, lone_photo, twin_photo])
    assert len(files(server)) == 6  # three pictures, each a display image and a thumbnail
    stores.age(server.settings, 2)  # a new image is spared for an hour: an upload of the same picture may be in flight

    point_cli_at(monkeypatch, server.settings)
    assert main(["photos", "prune"]) == 0
    assert capsys.readouterr().out.strip() == "deleted 2 photos uploaded over 30 days ago for audits that never arrived (2 image files)"
    left = {row[0] for row in server.db.execute("SELECT id FROM photos")}
    assert left == {kept_photo, recent_photo}
    assert len(files(server)) == 4
    assert server.get(f"/api/photos/{kept_photo}", "auditor_a").status_code == 200
    assert main(["photos", "prune", "--days", "0"]) == 0  # the recent one too, now
    assert capsys.readouterr().out.startswith("deleted 1 photo uploaded over 0 days ago")
    assert main(["photos", "prune", "--days", "-1"]) == 2 and "--days: expected 0 or more" in capsys.readouterr().err


def test_an_upload_of_a_picture_whose_files_were_just_pruned_writes_them_again(photo_server):
    from server.photos import storage
    from server.photos.processing import process
    from server.photos.store import photo_store
    from tests.test_photo_processing import phone_jpeg

    server, store = photo_server, photo_store(photo_server.settings)  # the folder, and a bucket
    data = phone_jpeg(800, 600)
    processed = process(data)
    storage.write_files(store, processed)
    for size in storage.SIZES:  # a prune, between the upload's writing its files and its row
        assert store.delete(storage.name(processed.sha256, size))
    user = server.db.execute("SELECT id FROM users WHERE name = 'auditor_a'").fetchone()[0]
    storage.record(server.db, store, str(uuid.uuid4()), str(uuid.uuid4()), user, storage.upload_hash(data), processed)
    assert all(store.has(storage.name(processed.sha256, size)) for size in storage.SIZES)


def test_the_prune_spares_new_images_so_an_upload_that_wrote_its_own_asks_the_store_nothing_under_the_lock(photo_server, capsys, monkeypatch):
    """An orphan's picture uploaded again just now: the prune deletes the orphan's row but not the
    images, younger than the grace (the new upload's row may not be written yet); the sweep takes
    them an hour later if nothing names them. So an upload that wrote both images itself need not
    check them again under the write lock (storage.keep_files)."""
    from server.cli import main
    from server.photos import storage
    from server.photos.processing import process
    from server.photos.store import photo_store
    from tests import stores
    from tests.test_api_photos import files, put_photo
    from tests.test_photo_processing import phone_jpeg

    server, store = photo_server, photo_store(photo_server.settings)
    _, _, orphan = put_photo(server, "auditor_a", phone_jpeg(800, 600, seed=21))  # its audit never comes; images written now
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).isoformat()
    server.db.execute("UPDATE photos SET received_at = ? WHERE id = ?", [long_ago, orphan])
    point_cli_at(monkeypatch, server.settings)
    assert main(["photos", "prune"]) == 0
    assert capsys.readouterr().out.strip() == "deleted 1 photo uploaded over 30 days ago for audits that never arrived (0 image files)"
    assert len(files(server)) == 2  # spared: young
    stores.age(server.settings, 2)
    assert main(["photos", "prune"]) == 0
    assert capsys.readouterr().out.strip().endswith("and 2 image files nothing referenced")
    assert files(server) == []

    # an upload that wrote its own images: under the lock it trusts them (here taken behind its
    # back, which only a person deleting by hand does, so they stay gone: nothing was asked)
    processed = process(phone_jpeg(800, 600, seed=22))
    written = storage.write_files(store, processed)
    assert written is not None and storage.write_files(store, processed) is None  # the second found them
    for size in storage.SIZES:
        store.delete(storage.name(processed.sha256, size))
    user = server.db.execute("SELECT id FROM users WHERE name = 'auditor_a'").fetchone()[0]
    storage.record(server.db, store, str(uuid.uuid4()), str(uuid.uuid4()), user, storage.upload_hash(b"x"), processed, written=written)
    assert files(server) == []


def test_half_written_images_left_by_a_crash_are_deleted_at_start(tmp_path):
    from litestar.testing import TestClient

    from server.app import create_app
    from tests.conftest import make_server_files, seed

    settings = make_server_files(tmp_path)
    seed(settings)[0].conn.close()
    folder = settings.photos / "ab"
    folder.mkdir(parents=True)
    (folder / "abcdef.display.4242.part").write_bytes(b"\xff\xd8half a jpeg")
    (folder / "abcdef.thumb.jpg").write_bytes(b"\xff\xd8a whole one")
    with TestClient(create_app(settings)):
        assert sorted(p.name for p in folder.iterdir()) == ["abcdef.thumb.jpg"]
