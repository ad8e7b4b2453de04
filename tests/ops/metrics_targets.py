"""Processes that expose VideoForge metrics on a port, for the Prometheus scrape test.

``python -m tests.ops.metrics_targets service PORT``: a FastAPI app with the HTTP metrics
middleware, served by uvicorn. ``... worker PORT``: the fleet metrics of
processor/metrics.py with one finished job, served by ``serve_metrics``.
"""

from __future__ import annotations

import sys
import threading

SERVICE_NAME = "gateway"


def serve_service(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    from common.metrics import install_http_metrics

    app = FastAPI()
    install_http_metrics(app, service=SERVICE_NAME)

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def serve_worker(port: int) -> None:
    from common.metrics import serve_metrics
    from processor import metrics

    metrics.JOBS.labels("succeeded").inc()
    metrics.JOB_DURATION.observe(42)
    metrics.ENCODE_SPEED.set(3.5)
    serve_metrics(port, addr="127.0.0.1")
    threading.Event().wait()


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    {"service": serve_service, "worker": serve_worker}[kind](port)
