"""The design and the service compared beyond their operations: success statuses, schema shapes."""

from __future__ import annotations

from typing import Any

from devfactory.checks.tools.shapes import Drift, drifts, shape

TODO = {"type": "object", "properties": {"title": {"type": "string"}, "done": {"type": "boolean"}}}


def document(responses: dict[Any, Any], body: object = None, method: str = "get") -> dict[str, Any]:
    operation: dict[str, Any] = {"responses": responses}
    if body is not None:
        operation["requestBody"] = {"content": {"application/json": {"schema": body}}}
    return {
        "paths": {"/todos/{id}": {method: operation}},
        "components": {
            "schemas": {"Todo": TODO, "Wrapped": {"allOf": [{"$ref": "#/components/schemas/Todo"}]}}
        },
    }


def json_response(schema: object) -> dict[str, Any]:
    return {"description": "ok", "content": {"application/json": {"schema": schema}}}


def test_shapes_follow_references_and_leave_open_schemas_unjudged() -> None:
    doc = document({})
    assert shape({"$ref": "#/components/schemas/Wrapped"}, doc) == (
        "object",
        frozenset({"title", "done"}),
    )
    assert shape({"type": "array", "items": {"$ref": "#/components/schemas/Todo"}}, doc) == (
        "array",
        frozenset({"title", "done"}),
    )
    assert shape({"type": "object", "additionalProperties": True}, doc) == ("object", None)
    assert shape({}, doc) is None and shape({"$ref": "#/components/schemas/Nowhere"}, doc) is None


def test_an_operation_that_keeps_its_statuses_and_shapes_has_no_drift() -> None:
    design = document({200: json_response({"$ref": "#/components/schemas/Todo"}), 404: {}})
    service = document({"200": json_response(TODO), "422": {}})  # error statuses not compared
    assert drifts("GET", "/todos/{}", design, service) == []


def test_each_drift_goes_to_the_side_that_must_change() -> None:
    design = document({"201": json_response(TODO)}, body=TODO, method="post")
    service = document(
        {"200": json_response({"type": "object", "properties": {"title": {}, "id": {}}})},
        body={"type": "array", "items": TODO},
        method="post",
    )
    assert drifts("POST", "/todos/{}", design, service) == [
        Drift("service", "POST /todos/{} answers 200, where the design has 201"),
        Drift(
            "service", "the request body of POST /todos/{} is array, where the design has object"
        ),
    ]
    service = document(
        {"201": json_response({"type": "object", "properties": {"title": {}, "id": {}}})},
        method="post",
    )
    assert drifts("POST", "/todos/{}", design, service) == [
        Drift("service", "the 201 response of POST /todos/{} lacks done, which the design has"),
        Drift("design", "the 201 response of POST /todos/{} has id, which the design lacks"),
    ]
