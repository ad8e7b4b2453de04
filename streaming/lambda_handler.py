"""AWS Lambda entry point for API Gateway HTTP API events: ``streaming.lambda_handler.handler``.

Set ``VF_STREAM_SIGNING_KEY`` so every Lambda instance accepts the others' HLS grants.
"""

from __future__ import annotations

from mangum import Mangum

from streaming.app import create_app

handler = Mangum(create_app(), lifespan="off")
