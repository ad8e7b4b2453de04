"""AWS Lambda entry point for API Gateway HTTP API events: ``streaming.lambda_handler.handler``.

Set ``VF_STREAM_SIGNING_KEY`` so every Lambda instance accepts the others' HLS grants.
"""

from __future__ import annotations

from mangum import Mangum

from common.lambda_entry import behind_signed_hop
from streaming.app import create_app

# Behind the gateway's signed hop: the caller's token and address come back first.
handler = behind_signed_hop(Mangum(create_app(), lifespan="off"))
