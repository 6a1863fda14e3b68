"""Structured logs: one JSON object per line, each request logged once with
its route's template, and a request id that comes back in `X-Request-ID`
on every kind of answer (API, problem, page, error page, unexpected 500)."""

import json
import logging
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import logs
from app.config import Settings
from tests.factories import World

HEADER = "X-Request-ID"


def request_lines(err: str) -> list[dict[str, Any]]:
    """The request log's lines among what was written to standard error."""
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "app.requests"]


def test_every_answer_carries_a_request_id(client: TestClient, world: World) -> None:
    answers = [
        client.get("/healthz"),
        client.get("/api/v1/innovations", headers=world.auth("trust")),  # API
        client.get("/api/v1/innovations"),  # a problem: no key
        client.get("/sign-in"),  # a page
        client.get("/no-such-page"),  # an error page no route took
    ]
    ids = [answer.headers[HEADER] for answer in answers]
    assert [answer.status_code for answer in answers] == [200, 200, 401, 200, 404]
    assert len(set(ids)) == len(ids) and all(logs.WELL_FORMED_ID.fullmatch(i) for i in ids)


def test_an_unexpected_error_carries_it_too(app: FastAPI, client: TestClient) -> None:
    @app.get("/api/v1/explode-for-test")
    def explode() -> None:
        raise RuntimeError("boom")

    answer = client.get("/api/v1/explode-for-test", headers={HEADER: "trace-500"})
    assert answer.status_code == 500 and answer.headers[HEADER] == "trace-500"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("0b9c6a8e-6f5d-4c1e-9f00-3c4d5e6f7a8b", True),
        ("lb.1234:abcd_EF-9", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("has space", False),
        ("<script>", False),
        ("-leading-dash", False),
        ("", False),
    ],
)
def test_a_well_formed_incoming_id_is_kept(client: TestClient, sent: str, kept: bool) -> None:
    got = client.get("/healthz", headers={HEADER: sent}).headers[HEADER]
    assert (got == sent) is kept
    assert logs.WELL_FORMED_ID.fullmatch(got)


def test_one_json_line_per_request_with_the_template_not_the_path(
    client: TestClient, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    adoption = world.adoption.id
    capsys.readouterr()
    client.get(f"/api/v1/adoptions/{adoption}?secret=query", headers={**world.auth("trust"), HEADER: "req-1"})
    (line,) = request_lines(capsys.readouterr().err)
    assert line["request_id"] == "req-1"
    assert line["method"] == "GET" and line["route"] == "/api/v1/adoptions/{adoption_id}"
    assert line["status"] == 200 and isinstance(line["duration_ms"], float)
    assert line["level"] == "INFO" and line["time"].endswith("+00:00")
    assert str(adoption) not in json.dumps(line) and "secret=query" not in json.dumps(line)


def test_lines_written_while_serving_carry_the_request_id(
    app: FastAPI, client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    @app.get("/api/v1/log-for-test")
    def write_a_line() -> dict[str, str]:
        logging.getLogger("app.test").warning("inside the request")
        return {}

    capsys.readouterr()
    client.get("/api/v1/log-for-test", headers={HEADER: "req-2"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    inside = next(line for line in lines if line["message"] == "inside the request")
    assert inside["request_id"] == "req-2" and inside["level"] == "WARNING" and inside["logger"] == "app.test"


def test_console_format_for_development() -> None:
    record = logging.LogRecord("app.x", logging.INFO, __file__, 1, "hello %s", ("there",), None)
    record.request_id = "abc"
    text = logs.formatter("console").format(record)
    assert "INFO" in text and "[abc] hello there" in text and not text.startswith("{")
    assert Settings(log_format="console").log_format == "console"
