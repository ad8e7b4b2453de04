"""The web page's files under ``/static/…``, served by the gateway (no build step).

The gateway answers ``/`` with ``static/index.html``; this adds what the page loads.

Front-end packages come from npm, pinned in ``web/package-lock.json`` and installed by
``npm ci`` (``make web``); the page loads them from ``/static/vendor/``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
NODE_MODULES = Path(__file__).resolve().parent.parent / "web" / "node_modules"
# URL name under /static/vendor/ -> file inside node_modules.
VENDOR_FILES = {"hls.min.js": "hls.js/dist/hls.min.js"}


def mount_web(app: FastAPI, *, node_modules: Path = NODE_MODULES) -> None:
    """Serve the page's files under ``/static`` on ``app``."""

    @app.get("/static/vendor/{name}", include_in_schema=False)
    def vendor(name: str) -> FileResponse:
        relative = VENDOR_FILES.get(name)
        path = node_modules / relative if relative else None
        if path is None or not path.is_file():
            raise HTTPException(404, f"{name} is not installed: run `make web` (npm ci)")
        return FileResponse(path, media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
