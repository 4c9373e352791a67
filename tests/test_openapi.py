"""The OpenAPI schema litestar generates is served and describes the real bodies."""


def test_the_schema_types_requests_and_responses(server):
    schema = server.client.get("/schema/openapi.json").json()
    post = schema["paths"]["/api/audits"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/AuditIn")
    assert post["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/AuditOut")
    components = schema["components"]["schemas"]
    audit_in = components["AuditIn"]
    assert set(audit_in["required"]) == {"id", "location", "checklist", "started_at", "finished_at", "answers"}
    assert audit_in["properties"]["id"]["format"] == "uuid"
    assert "bearer" in schema["components"]["securitySchemes"]
    summary = schema["paths"]["/api/regions/{region_id}/summary"]["get"]
    assert {p["name"] for p in summary["parameters"]} >= {"region_id", "from", "to"}
    assert summary["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/RegionSummary")
    assert "ranking" in components["RegionSummary"]["properties"]


def test_every_route_is_in_the_schema(server):
    from server.app import routes

    paths = server.client.get("/schema/openapi.json").json()["paths"]
    api = [h for h in routes(server.settings) if hasattr(h, "http_methods") and all(p.startswith("/api/") for p in h.paths)]
    assert len(api) > 40
    for handler in api:
        for path in handler.paths:
            assert path.replace(":str", "").replace(":int", "") in {p for p in paths}, path


def test_errors_are_documented_as_they_are_sent(server):
    """Every error answer in the document is the one ErrorBody, and each operation lists what it can answer."""
    schema = server.client.get("/schema/openapi.json").json()
    error = schema["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"status", "code", "message"} and "problems" in error["properties"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                if status[0] in "45":
                    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
    codes = lambda method, path: set(schema["paths"][path][method]["responses"])  # noqa: E731
    assert codes("post", "/api/audits") == {"200", "201", "400", "401", "403", "409", "413", "415", "422", "503"}
    assert codes("put", "/api/audits/{audit_id}/photos/{photo_id}") >= {"401", "403", "404", "409", "413", "415", "422", "503"}
    assert codes("post", "/api/login") == {"200", "400", "401", "403", "413", "415", "422", "429"}
    assert codes("get", "/api/me") == {"200", "401"}
    assert schema["paths"]["/api/login"]["post"]["security"] == [] and schema["paths"]["/api/health"]["get"]["security"] == []
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/audits/{audit_id}/photos/{photo_id}"]["put"]["parameters"]}
    assert parameters["audit_id"]["format"] == parameters["photo_id"]["format"] == "uuid"
    assert schema["components"]["schemas"]["Login"]["additionalProperties"] is False
