"""The service against its own OpenAPI document: every route described, and schemathesis sending
what the document allows (and what it does not) without a 5xx, every answer as described."""
import re

import pytest
import schemathesis
from schemathesis.checks import positive_data_acceptance
from hypothesis import HealthCheck, given, settings

from moderation.web.schema import Verdict
from service import create_app


@pytest.fixture(scope="module")
def app(tiny_artifact, tmp_path_factory):
    from moderation.moderator import Moderator
    from moderation.rulebook import load_rulebook
    from moderation.store import SqliteStore

    history = SqliteStore(tmp_path_factory.mktemp("openapi") / "history.sqlite3")
    return create_app({"max_body": 1_000_000}, moderator=Moderator(tiny_artifact, load_rulebook(), history=history))


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


def test_the_document_is_openapi_3_1_and_has_every_route(app):
    document = app.test_client().get("/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    routes = {re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()
              if rule.endpoint != "static"}
    assert routes == set(document["paths"])
    schemas = document["components"]["schemas"]
    assert {"Comment", "Batch", "Verdict", "Flag", "Evidence", "Error"} <= set(schemas)
    assert schemas["Comment"]["properties"]["text"]["maxLength"] == 20_000


def test_a_real_verdict_is_what_the_document_calls_a_verdict(app):
    answer = app.test_client().post("/v1/moderate", json={"text": "see a.com/x b.com/y c.com/z", "store": False})
    Verdict.model_validate(answer.get_json())


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_the_service_answers_as_its_document_says(api_schema, mode):
    # Each operation's cases from the document: valid ones, and (negative) ones it forbids, which
    # must get a described 4xx. call_and_validate checks no 5xx, status, content type and schema.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /v1/moderate", "GET /readyz", "GET /metrics"}
    if mode == schemathesis.GenerationMode.NEGATIVE:   # only a body can be wrong: the GET routes take nothing
        operations = [op for op in operations if op.method.upper() == "POST"]
    for operation in operations:
        @given(operation.as_strategy(generation_mode=mode))
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def answers(case):
            # A decision on an id that is not queued needs its text: state the document cannot
            # express, so a schema-valid decision may be refused there (a described 422).
            stateful = [positive_data_acceptance] if operation.label == "POST /v1/decisions" else []
            case.call_and_validate(excluded_checks=stateful)
        answers()
