"""Fuzzing every operation of the OpenAPI document (schemathesis, over the real app and a real
database): as an admin, an auditor and signed out, no answer is a 5xx, every error is in the one
shape, and every answer matches the document (its status listed, its body the schema's)."""

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance
from hypothesis import HealthCheck, given, settings

from tests.conftest import make_server_files, seed

import os

from tests.figures import FIGURES

FUZZ = {"cases": 0, "5xx": 0, "operations": set()}
EXAMPLES = int(os.environ.get("TOUCHPOINT_FUZZ_EXAMPLES", "40"))  # per operation and persona; more by the variable


@pytest.fixture
def fuzzed(tmp_path):
    from server.app import create_app

    server_settings = make_server_files(tmp_path)
    db, tokens = seed(server_settings)
    app = create_app(server_settings)
    from litestar.testing import TestClient

    with TestClient(app):  # runs the startup hooks (the error documentation among them)
        yield app, tokens
    db.conn.close()


def fuzz_all(fuzzed, persona) -> list[str]:
    """Every operation of the document, each with up to EXAMPLES generated requests."""
    app, tokens = fuzzed
    api = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    headers = {"Authorization": f"Bearer {tokens[persona]}"} if persona else {}
    done, failures = [], []
    for found in api.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            response = case.call(headers=headers)
            FUZZ["cases"] += 1
            FUZZ["5xx"] += response.status_code >= 500 and response.status_code != 503
            assert response.status_code < 500 or response.status_code == 503, f"{operation.label}: {response.status_code} {response.text}"
            if response.status_code >= 400:
                body = response.json()
                assert set(body) >= {"status", "code", "message"} and body["status"] == response.status_code, (operation.label, body)
            # A 422 for a request the schema allows is right here: the schema cannot say that an
            # audit's location must exist or that its answers must fit the checklist's items
            case.validate_response(response, excluded_checks=[positive_data_acceptance])

        try:
            run()
        except (Exception, BaseExceptionGroup) as failure:  # go on with the other operations: every failure at once
            failures.append(f"{operation.label}: {failure}"[:1500])
        done.append(operation.label)
    assert not failures, "\n\n".join(failures)
    return done


@pytest.mark.parametrize("persona", ["admin", "auditor_a", None], ids=["admin", "auditor", "signed-out"])
def test_every_operation(fuzzed, persona):
    done = fuzz_all(fuzzed, persona)
    assert len(done) >= 20
    FUZZ["operations"] |= set(done)
    FIGURES["fuzzing"] = (
        f"{FUZZ['cases']:,} generated requests over {len(FUZZ['operations'])} operations (admin, auditor, signed out; "
        f"{EXAMPLES} examples each): {FUZZ['5xx']} answered 5xx, every error in the one shape, every answer as documented"
    )
