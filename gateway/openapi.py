"""One OpenAPI document for the whole API: the gateway's ``/openapi.json`` (and the docs
page on it) describes the gateway's routes and every gallery and streaming route it
routes, with their schemas, whether those services are mounted or proxied.

Each service's document is taken from the service itself (``app.openapi()`` in-process,
``GET /openapi.json`` through the proxy), so it is never a copy that can drift. Only paths
under the prefixes the gateway routes to a service are kept. Two services' schemas with
the same name and different content are kept apart by prefixing the service's own with
its name (``GalleryVideoPublic``), and its references follow.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.routing import Route

from common.logging import get_logger
from gateway.proxy import ROUTES, UpstreamProxy

log = get_logger(__name__)

_REF = "#/components/schemas/"
Document = dict[str, Any]


def _routed(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF) and ref[len(_REF):] in renames:
            node = {**node, "$ref": _REF + renames[ref[len(_REF):]]}
        return {k: _rewrite_refs(v, renames) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


def _without_clashes(doc: Document, service: str, taken: Mapping[str, Any]) -> Document:
    """A copy of ``doc`` in which each schema that ``taken`` holds under the same name with
    other content is renamed, references included."""
    schemas = doc.get("components", {}).get("schemas", {})
    renames = {name: f"{service.title()}{name}" for name, schema in schemas.items()
               if name in taken and taken[name] != schema}
    copied: Document = _rewrite_refs(doc, renames)  # always a copy: the walk rebuilds
    own = copied.get("components", {}).get("schemas", {})
    for old, new in renames.items():
        own[new] = own.pop(old)
    return copied


def merge(base: Document, services: Mapping[str, Document]) -> Document:
    """``base`` (the gateway's own document) plus each service's routed paths."""
    merged = copy.deepcopy(base)
    paths = merged.setdefault("paths", {})
    components = merged.setdefault("components", {})
    tags = {tag["name"]: tag for tag in merged.get("tags", [])}
    for service, original in services.items():
        doc = _without_clashes(original, service, components.get("schemas", {}))
        paths.update({path: item for path, item in doc.get("paths", {}).items()
                      if _routed(path, ROUTES[service])})
        for kind, entries in doc.get("components", {}).items():
            components.setdefault(kind, {}).update(entries)
        tags.update({tag["name"]: tag for tag in doc.get("tags", [])})
    if tags:
        merged["tags"] = list(tags.values())
    return merged


async def _document_of(upstream: Any) -> Document:
    if isinstance(upstream, UpstreamProxy):
        return await upstream.openapi_document()
    document: Document = upstream.openapi()
    return document


def install_merged_openapi(app: FastAPI, upstreams: Mapping[str, Any]) -> None:
    """Serve the merged document at ``app.openapi_url`` in place of FastAPI's own."""
    url = app.openapi_url or "/openapi.json"
    cached: list[Document] = []

    async def merged_document(_: Request) -> JSONResponse:
        if cached:
            return JSONResponse(cached[0])
        documents, complete = {}, True
        for service, upstream in upstreams.items():
            try:
                documents[service] = await _document_of(upstream)
            except (httpx.HTTPError, ValueError) as exc:
                # Serve what there is; the next request tries the missing service again.
                log.warning("openapi_upstream_unavailable", service=service,
                            error_type=type(exc).__name__)
                complete = False
        document = merge(app.openapi(), documents)
        if complete:
            cached.append(document)
        return JSONResponse(document)

    app.router.routes[:] = [r for r in app.router.routes
                            if not (isinstance(r, Route) and r.path == url)]
    app.router.routes.append(Route(url, merged_document, include_in_schema=False))
