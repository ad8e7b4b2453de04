"""The interactive API docs (Swagger UI) at ``/docs``, with a CSP that admits exactly its
own inline script (by hash) and the CDN it loads Swagger UI from, nothing else."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

# Where FastAPI's Swagger UI page loads its script, styles and icon from.
_CDN = "https://cdn.jsdelivr.net"
_ICON = "https://fastapi.tiangolo.com"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def docs_csp(html: bytes) -> str:
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(html))
    # Swagger UI sets element styles at run time and draws icons from data: URIs.
    return (f"default-src 'none'; script-src {_CDN} {hashes}; "
            f"style-src {_CDN} 'unsafe-inline'; img-src 'self' data: {_ICON}; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")


def install_docs(app: FastAPI) -> None:
    """``/docs`` on ``app``'s OpenAPI document (create the app with ``docs_url=None``)."""
    page = get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json",
                               title=f"{app.title} docs")
    html = bytes(page.body)
    csp = docs_csp(html)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})
