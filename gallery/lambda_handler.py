"""AWS Lambda entry point for API Gateway HTTP API events: ``gallery.lambda_handler.handler``."""

from __future__ import annotations

from mangum import Mangum

from common.lambda_entry import behind_signed_hop
from gallery.app import create_app

# No lifespan: the app holds no startup work; clients are built when the module loads,
# so a warm Lambda reuses them across invocations.
# Behind the gateway's signed hop: the caller's token and address come back first.
handler = behind_signed_hop(Mangum(create_app(), lifespan="off"))
