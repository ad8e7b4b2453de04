"""AWS Lambda entry point for API Gateway HTTP API events: ``gallery.lambda_handler.handler``."""

from __future__ import annotations

from mangum import Mangum

from gallery.app import create_app

# No lifespan: the app holds no startup work; clients are built when the module loads,
# so a warm Lambda reuses them across invocations.
handler = Mangum(create_app(), lifespan="off")
