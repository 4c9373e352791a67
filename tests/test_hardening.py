"""What a probe of the running server found (issue 12), each with the test that failed before its fix."""

import pytest

from tests.conftest import GOOD_VISIT, audit_body


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
