"""GET /api/v1/openapi.json: the OpenAPI 3 document of the whole API, generated from the pydantic models."""

from functools import lru_cache

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from netremedy import __version__
from netremedy.handlers import (
    cancel_job,
    create_job,
    create_upload,
    job_report,
    job_results,
    job_status,
    list_jobs,
    single_device,
)
from netremedy.handlers.api import build_handler, new_router

router = new_router()


@lru_cache(maxsize=1)
def openapi_json() -> str:
    app = APIGatewayRestResolver(enable_validation=True)
    modules = (
        create_job,
        create_upload,
        job_status,
        job_results,
        job_report,
        cancel_job,
        single_device,
        list_jobs,
    )
    for module in modules:
        app.include_router(module.router)
    return app.get_openapi_json_schema(
        title="netremedy",
        version=__version__,
        summary="Fleet-scale network configuration remediation with hier_config",
        description="Submit running and intended configurations for a fleet; get per-device remediation and "
        "rollback commands exactly as hier_config computes them.",
    )


@router.get("/api/v1/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=openapi_json())


handler = build_handler(router)
