"""Forgetting a person: afterwards their name and e-mail are in no page, export, PDF or API answer
(nor anywhere in the database), their code is where their name was, and their audits stay and
count as before (the location's score, worked out by hand, is the same number)."""

import io
import re

import pytest
from pypdf import PdfReader

from server.accounts import accounts
from server.db import write
from server.followup import webhooks
from server.mail import outbox
from tests.conftest import GOOD_VISIT, audit_body
from tests.engine import IntegrityError, every_row
from tests.test_api_summaries import V1
from tests.test_manage import text

AUDITOR, AUDITOR_MAIL = "Zelda Quist", "zelda.quist@example.com"
MANAGER, MANAGER_MAIL = "Mona Lisa-Smith", "mona.ls@example.com"
SECRETS = (AUDITOR, AUDITOR_MAIL, MANAGER, MANAGER_MAIL, "Zelda", "Mona")


def pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


@pytest.fixture
def program(reviewing):
    """Zelda (auditor of r1) claimed a planned visit at l1 and sent two audits there (a good visit,
    86.1, and one that failed its critical item, 0, in a minute: an action and a flag); Mona
    (manager of r1) approved both and closed the action; every event went to a webhook; Zelda has
    a mail in the outbox and a failed sign-in counted under her name."""
    server = reviewing
    db = server.db
    for name, role, email in ((AUDITOR, "auditor", AUDITOR_MAIL), (MANAGER, "manager", MANAGER_MAIL)):
        accounts.add_user(db, name, role, ["r1"], f"password-{name}")
        with write(db):
            db.execute("UPDATE users SET email = ? WHERE name = ?", [email, name])
        server.tokens[name] = accounts.new_token(db, accounts.user_by_name(db, name))
    with write(db):
        webhooks.register_in(db, "http://127.0.0.1:9/nobody", list(webhooks.EVENTS), None)
        outbox.queue(db, server.settings, to_address=AUDITOR_MAIL, subject=f"Welcome, {AUDITOR}", body=f"Hello {AUDITOR}, here is your link.",
                     kind="invitation", to_user=accounts.user_by_name(db, AUDITOR).id)
    planned = server.post("/api/assignments", "admin", json={"location": "l1", "touchpoints": ["visit"], "starts": "2026-02-20", "ends": "2026-03-10", "auditor": AUDITOR})
    assert planned.status_code == 201, planned.text
    assignment = planned.json()["id"]
    good = audit_body(GOOD_VISIT, assignment=assignment)
    failed = audit_body({**GOOD_VISIT, "resolved": "no"}, finished="2026-03-02T10:01:00+00:00", started_at="2026-03-02T10:00:00+00:00")
    for body in (good, failed):
        sent = server.post("/api/audits", AUDITOR, json=body)
        assert sent.status_code == 201, sent.text
    assert server.post("/api/review/approve", MANAGER, json={"audits": [good["id"], failed["id"]]}).status_code == 200
    action = db.execute("SELECT id FROM actions WHERE audit = ?", [failed["id"]]).fetchone()[0]
    assert server.post(f"/api/actions/{action}/close", MANAGER, files={"note": (None, "Retrained the team.")}).status_code == 200
    assert server.client.post("/api/login", json={"name": AUDITOR, "password": "wrong password!"}).status_code == 401
    ids = {"zelda": db.execute("SELECT id FROM users WHERE name = ?", [AUDITOR]).fetchone()[0],
           "mona": db.execute("SELECT id FROM users WHERE name = ?", [MANAGER]).fetchone()[0],
           "good": good["id"], "failed": failed["id"], "assignment": assignment, "action": action,
           "webhook": db.execute("SELECT id FROM webhooks").fetchone()[0]}
    ids["codes"] = {k: db.execute("SELECT code FROM users WHERE id = ?", [ids[k]]).fetchone()[0] for k in ("zelda", "mona")}
    return server, ids


def everything(server, ids) -> dict[str, str]:
    """Every page, export, PDF and API answer that could name them, as admin (who sees names), as text."""
    i = ids
    pages = [
        "/manage/", "/manage/regions/r1", "/manage/locations/l1", f"/manage/audits/{i['good']}", f"/manage/audits/{i['failed']}", "/manage/review",
        "/manage/review?show=all", "/manage/flags", "/manage/actions", "/manage/actions?show=closed", f"/manage/actions/{i['action']}",
        "/manage/assignments", f"/manage/assignments/{i['assignment']}", "/manage/webhooks", "/manage/people", f"/manage/people/{i['zelda']}",
        f"/manage/people/{i['mona']}", "/manage/items",
        "/api/export/audits.csv", "/api/export/answers.csv", "/api/audits?location=l1", f"/api/audits/{i['good']}", f"/api/audits/{i['failed']}",
        f"/api/audits/{i['good']}/history", f"/api/assignments/{i['assignment']}", f"/api/assignments/{i['assignment']}/history", "/api/assignments",
        "/api/people", f"/api/people/{i['zelda']}", f"/api/people/{i['mona']}", "/api/flags", "/api/flags/auditors", "/api/actions",
        f"/api/actions/{i['action']}", f"/api/webhooks/{i['webhook']}/deliveries", "/api/review", f"/api/audits/{i['failed']}/flags",
        "/api/locations/l1/summary", "/api/regions/r1/summary",
    ]
    shown = {}
    for path in pages:
        answer = server.get(path, "admin")
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        shown[path] = text(answer.text) if "text/html" in answer.headers["content-type"] else answer.text
    for audit in ("good", "failed"):
        answer = server.get(f"/manage/audits/{i[audit]}.pdf", "admin")
        assert answer.status_code == 200
        shown[f"{audit}.pdf"] = pdf_text(answer.content)
    return shown


def naming(shown: dict[str, str], words) -> dict[str, list[str]]:
    return {path: [w for w in words if w in body] for path, body in shown.items() if any(w in body for w in words)}


def test_forgotten_people_are_named_nowhere_and_their_audits_count_as_before(program):
    server, ids = program
    before = everything(server, ids)
    summary = server.get("/api/locations/l1/summary", "admin").json()
    # l1's only touchpoint, visit: Zelda's two approved audits, 86.111 (7.75 of 9) and 0 (the critical item failed)
    assert summary["n"] == 2 and summary["score"] == pytest.approx((V1 + 0) / 2)  # 43.056
    # the test sees them first: on the audit's page and PDF, the exports, the history, the deliveries
    named = naming(before, (AUDITOR, MANAGER))
    for path in (f"/manage/audits/{ids['good']}", "good.pdf", "/api/export/audits.csv", f"/api/assignments/{ids['assignment']}/history",
                 f"/api/webhooks/{ids['webhook']}/deliveries", f"/manage/actions/{ids['action']}", "/api/people"):
        assert path in named, path

    assert server.post(f"/api/people/{ids['zelda']}/forget", "manager_r1").json()["state"] == "forgotten"
    assert server.post(f"/api/people/{ids['mona']}/forget", "manager_r1").status_code == 403  # a manager: only an admin forgets them
    forgotten = server.post(f"/api/people/{ids['mona']}/forget", "admin").json()
    assert forgotten["name"] == ids["codes"]["mona"] and forgotten["email"] is None and forgotten["state"] == "forgotten"

    after = everything(server, ids)
    assert naming(after, SECRETS) == {}
    for path in (f"/manage/audits/{ids['good']}", "good.pdf", "/api/export/audits.csv", "/api/people"):
        assert ids["codes"]["zelda"] in after[path], path
    assert ids["codes"]["mona"] in after[f"/api/webhooks/{ids['webhook']}/deliveries"]
    # nor anywhere in the database: every table, the history's before and after, mails, deliveries, the sign-in throttle
    dump = every_row(server.db)
    assert [w for w in SECRETS if w in dump] == []
    # the audits stay, and count as before
    assert server.get("/api/locations/l1/summary", "admin").json() == summary
    assert server.db.execute("SELECT count(*) FROM audits WHERE auditor = ?", [ids["zelda"]]).fetchone() == (2,)
    # shut out for good: the token, sign-in, and enabling again
    assert server.get("/api/me", AUDITOR).status_code == 401
    assert server.post(f"/api/people/{ids['zelda']}/enable", "admin").status_code == 409
    assert server.post(f"/api/people/{ids['zelda']}/forget", "admin").status_code == 409
    actions = [a for a, in server.db.execute("SELECT action FROM history WHERE kind = 'person' AND subject = ? ORDER BY seq", [str(ids["zelda"])])]
    assert actions == ["forgotten"]


def test_the_history_stays_append_only_outside_a_forget(program):
    server, _ = program
    with pytest.raises(IntegrityError, match="append-only"):
        with write(server.db):
            server.db.execute("UPDATE history SET note = 'changed'")
    with pytest.raises(IntegrityError, match="append-only"):
        with write(server.db):
            server.db.execute("DELETE FROM history")


def test_forget_asks_first_on_a_page_of_its_own(program):
    server, ids = program
    page = server.get(f"/manage/people/{ids['zelda']}/forget", "manager_r1")
    shown = text(page.text)
    assert page.status_code == 200
    assert "What goes" in shown and "What stays" in shown and f"Their 2 audits, under the code {ids['codes']['zelda']}" in shown
    assert server.db.execute("SELECT forgotten_at FROM users WHERE id = ?", [ids["zelda"]]).fetchone() == (None,)  # asking changes nothing
    assert server.get(f"/manage/people/{ids['zelda']}/forget", "manager_r2").status_code == 403
    done = server.post(f"/manage/people/{ids['zelda']}/forget", "manager_r1", data={"csrf_token": ""}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/manage/people/{ids['zelda']}?said=forgotten"
    shown = text(server.get(done.headers["location"], "manager_r1").text)
    assert "Done: the person is forgotten" in shown and AUDITOR not in shown and "forgotten" in shown
