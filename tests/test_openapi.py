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
    from server.api import photos
    from server.app import HANDLERS

    paths = server.client.get("/schema/openapi.json").json()["paths"]
    for handler in [*HANDLERS, *photos.routes(server.settings)]:
        for path in handler.paths:
            assert path.replace(":str", "") in {p for p in paths}, path
