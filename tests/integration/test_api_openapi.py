"""GET /api/v1/openapi.json: every endpoint of the blueprint is described, with its schemas and errors."""
from __future__ import annotations

import re


def test_every_api_route_is_documented_with_schemas_and_errors(client, app):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.") and doc["servers"] == [{"url": "/api/v1"}]
    routes = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert routes == documented
    schemas = doc["components"]["schemas"]
    for path, ops in doc["paths"].items():
        if path == "/openapi.json":
            continue
        for method, op in ops.items():
            ok = next(code for code in op["responses"] if code.startswith("2"))
            ref = op["responses"][ok]["content"]["application/json"]["schema"]["$ref"]
            assert ref.split("/")[-1] in schemas
            assert {"401", "403", "429"} <= set(op["responses"]), (path, method)
            assert op["security"] == [{"widgetToken": []}]
            if method in ("post", "put"):
                body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                assert body.split("/")[-1] in schemas


def test_schemas_carry_their_constraints(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert schemas["FeedbackWrite"]["properties"]["action"]["enum"] == ["dismiss", "snooze"]
    assert schemas["FeedbackWrite"]["required"] == ["action"]
    assert schemas["PlanWrite"]["properties"]["amount"]["minimum"] == 0
    assert "pattern" in schemas["PlanWrite"]["properties"]["month"]
    assert set(schemas["Card"]["properties"]) == {"lead_id", "as_of", "hints", "hidden"}
