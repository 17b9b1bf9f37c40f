"""Health and the API's own description."""

from typing import Literal

import msgspec

from chalicelib import __version__, config, errors, store
from chalicelib.api import openapi
from chalicelib.api.routing import PUBLIC, ApiBlueprint, Call, Reply

meta_api = ApiBlueprint(__name__, tag="meta")


class TableHealth(msgspec.Struct):
    schema_version: int
    status: str


class HealthResponse(msgspec.Struct):
    status: Literal["ok"]  # otherwise 503
    version: str
    stage: str
    tables: dict[str, TableHealth]


@meta_api.endpoint(
    "GET", "/health", policy=PUBLIC, response=HealthResponse,
    summary="The app version and the tables it expects, with their state",
    errors=(errors.ServiceUnavailable,),
)
def health(call: Call):
    tables = store.table_status()
    missing = sorted(name for name, table in tables.items() if table["status"] != "ACTIVE")
    if missing:
        raise errors.ServiceUnavailable("Tables not ready: " + ", ".join(missing))
    return HealthResponse(
        status="ok",
        version=__version__,
        stage=config.stage(),
        tables={name: TableHealth(**table) for name, table in tables.items()},
    )


@meta_api.endpoint("GET", "/openapi.json", policy=PUBLIC, summary="This API as an OpenAPI 3.1 document")
def openapi_document(call: Call):
    return openapi.document()


@meta_api.endpoint(
    "GET", "/docs", policy=PUBLIC, summary="The API document rendered for people", content_type="text/html"
)
def docs(call: Call):
    return Reply(openapi.DOCS_PAGE)


@meta_api.endpoint(
    "GET", "/docs/redoc.js", policy=PUBLIC, summary="The docs page's renderer (Redoc), served by the API itself",
    content_type="text/javascript",
)
def docs_renderer(call: Call):
    return Reply(openapi.docs_renderer(), headers={"Cache-Control": openapi.RENDERER_CACHE_CONTROL})
