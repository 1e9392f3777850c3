"""docs/openapi.json is the code's OpenAPI document and documents exactly the routes template.yaml deploys."""

import importlib.util
import json
from functools import lru_cache
from types import ModuleType
from typing import Any

from netremedy_local.template import load_stack_model
from tests.conftest import PROJECT_ROOT

DOCUMENT = PROJECT_ROOT / "docs" / "openapi.json"
# The document describes the API; the route that serves it is left out of it on purpose.
SELF_ROUTE = "/api/v1/openapi.json"
ERROR_SCHEMA = "#/components/schemas/ErrorResponse"


def _generator() -> ModuleType:
    """docs/generate_openapi.py, loaded from its file (docs/ is no package): the test renders as it does."""
    path = PROJECT_ROOT / "docs" / "generate_openapi.py"
    spec = importlib.util.spec_from_file_location("generate_openapi", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def test_the_checked_in_document_is_what_the_code_generates() -> None:
    assert DOCUMENT.exists(), "docs/openapi.json is missing: run `make openapi`"
    generated: str = _generator().render()
    assert DOCUMENT.read_text(encoding="utf-8") == generated, (
        "docs/openapi.json is out of date with the code: run `make openapi` and commit the result"
    )


def test_the_document_lists_every_route_of_the_template_with_its_method() -> None:
    routes = load_stack_model(PROJECT_ROOT / "template.yaml", "us-east-1", "x").routes
    deployed = {(route.path, route.method.lower()) for route in routes if route.path != SELF_ROUTE}
    paths = _document()["paths"]
    documented = {(path, method) for path, operations in paths.items() for method in operations}
    assert deployed, "template.yaml declares no REST API routes"
    # Equal, not a subset: a documented route the template does not deploy would mislead clients too.
    assert documented == deployed


def test_every_documented_error_of_the_post_has_the_error_response_body() -> None:
    responses = _document()["paths"]["/api/v1/batch/remediation"]["post"]["responses"]
    errors = {status: response for status, response in responses.items() if int(status) >= 400}
    assert errors, "the POST documents no error responses"
    assert "ErrorResponse" in _document()["components"]["schemas"]
    for status, response in errors.items():
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        assert schema.get("$ref") == ERROR_SCHEMA, f"POST error {status} does not reference ErrorResponse"
