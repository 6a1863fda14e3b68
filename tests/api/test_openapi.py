"""The API documents itself (API.md): `/openapi.json` and `/docs`, every
operation with its problem responses, every request body with an example."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

PROBLEM_REF = "#/components/schemas/Problem"
METHODS = {"get", "post", "put", "patch", "delete"}
# Operations anyone may call without a key: a business applying to join.
PUBLIC = {
    ("POST", "/api/v1/applications"),
    ("POST", "/api/v1/applications/status"),
    ("POST", "/api/v1/applications/replies"),
}


@pytest.fixture
def schema(client: TestClient) -> dict[str, Any]:
    got = client.get("/openapi.json")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/json")
    return got.json()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(found) >= 25
    return found


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].removeprefix("#/components/schemas/")
        node = schema["components"]["schemas"][name]
    return node


def _is_versioned(schema: dict[str, Any], created: dict[str, Any] | None) -> bool:
    if created is None:
        return False
    body = resolve(schema, created["content"]["application/json"]["schema"])
    return "version" in body.get("properties", {})


def test_docs_respond(client: TestClient) -> None:
    got = client.get("/docs")
    assert got.status_code == 200
    assert "swagger" in got.text.lower()
    assert "/openapi.json" in got.text


def test_the_problem_schema_exists(schema: dict[str, Any]) -> None:
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) >= {"type", "title", "status", "detail"}
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    assert problem["examples"]
    assert "FieldProblem" in schema["components"]["schemas"]
    assert schema["info"]["version"] and schema["info"]["description"]


def test_every_operation_declares_its_problems(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        where = f"{method} {path}"
        assert {"422", "500"} <= set(responses), where
        assert ("401" in responses) != ((method, path) in PUBLIC), where
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                content = response["content"]
                assert set(content) == {"application/problem+json"}, (where, code)
                assert content["application/problem+json"]["schema"] == {"$ref": PROBLEM_REF}, (where, code)
                assert response["description"], (where, code)
        if "{" in path.split("/")[-1] and method in {"GET", "PATCH", "DELETE"}:
            assert "404" in responses, where
            # A DELETE that removes the record outright (204) has no version left to tag.
            removed = method == "DELETE" and "204" in responses
            assert removed or "ETag" in responses["200"].get("headers", {}) or "transitions" in path, where
        if method in {"PATCH", "DELETE"} or (path.endswith("/transitions") and method == "POST"):
            assert {"412", "428"} <= set(responses), where
        if method == "POST" and _is_versioned(schema, responses.get("201")):
            # What POST creates is a resource of its own, with its address and version.
            assert {"Location", "ETag"} <= set(responses["201"]["headers"]), where
        assert "HTTPValidationError" not in str(operation), where
        assert operation.get("summary") and operation.get("operationId"), where


def test_operation_ids_are_unique(schema: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(schema)]
    assert len(ids) == len(set(ids))


def test_every_request_body_has_an_example(schema: dict[str, Any]) -> None:
    bodies = 0
    for method, path, operation in operations(schema):
        if "requestBody" not in operation:
            continue
        bodies += 1
        content = operation["requestBody"]["content"]["application/json"]
        examples = (
            content.get("examples")
            or content.get("example")
            or resolve(schema, content["schema"]).get("examples")
        )
        assert examples, f"{method} {path}"
    assert bodies >= 10


def test_security_and_lists_are_described(schema: dict[str, Any]) -> None:
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    for method, path, operation in operations(schema):
        assert bool(operation.get("security")) != ((method, path) in PUBLIC), f"{method} {path}"
        if method == "GET" and not path.endswith(("}", "/spread", "/metrics/funnel", ".csv")):
            ok = resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
            assert set(ok["properties"]) == {"items", "next_cursor"}, path


def test_the_schema_is_served_without_a_key(client: TestClient) -> None:
    assert client.get("/openapi.json").json()["openapi"].startswith("3.")
