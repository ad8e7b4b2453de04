"""Property-based fuzz of the gateway from its own OpenAPI document: no input, valid or
not, may produce a 5xx, and every answer must match the documented responses.

The operations are driven through schemathesis's Hypothesis strategies directly
(its pytest fixture loader does not run under pytest 9).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from gateway.app import create_app

# Every schemathesis check runs but two that judge semantics, not robustness: a made-up
# ?cursor= is rightly a 400 although any string fits the schema (cursors are opaque), and
# unknown query parameters are ignored on purpose (cache busters, newer clients).
EXCLUDED_CHECKS = [positive_data_acceptance, negative_data_rejection]


MAX_EXAMPLES = 10


def fuzz_operation(operation, mode: GenerationMode, headers: dict[str, str],
                   **fixed: dict) -> None:
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        case.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS)

    run()


def gateway_schema(settings):
    # Sign-in attempts are limited too: the fuzz should reach Cognito, not the limiter.
    # Event streams of unfinished jobs end at once, so that each example returns.
    app = create_app(settings.model_copy(update={"rate_limit_auth": "100000/1",
                                                 "sse_max_duration_s": 0.01}))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_gateway_openapi_fuzz(gateway_settings, users, mode) -> None:
    operations = gateway_schema(gateway_settings)
    assert len(operations) >= 6
    for operation in operations:
        fuzz_operation(operation, mode, users["owner"].headers)


def test_fuzz_with_a_real_job(gateway_settings, users, make_video, client) -> None:
    """Random everything else, but the path names a job that exists (and is the caller's,
    or for the other user, is not)."""
    owner = users["owner"]
    job = client.post("/api/jobs", json={"video_id": make_video(owner).id},
                      headers=owner.headers).json()
    for operation in gateway_schema(gateway_settings):
        if "{job_id}" in operation.path:
            for user in (owner, users["other"]):
                fuzz_operation(operation, GenerationMode.POSITIVE, user.headers,
                               path_parameters={"job_id": job["id"]})
