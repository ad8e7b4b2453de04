"""Schemathesis fuzzing of an ASGI app from its own OpenAPI document (no 5xx allowed).

Runs each operation's Hypothesis strategy inside one ordinary test, so the app can be
built from per-test fixtures (the pytest plugin's lazy fixtures do not work on pytest 9).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode


def fuzz_app(app: Any, *, headers: dict[str, str], max_examples: int) -> list[str]:
    """Fuzz every operation with valid and invalid data; returns the 5xx failures."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @given(case=strategy)
            @settings(max_examples=max_examples, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case: Any) -> None:
                response = case.call(headers={**(case.headers or {}), **headers})
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} "
                                    f"query={case.query} body={case.body!r}: "
                                    f"{response.status_code} {response.text[:200]}")

            run()
    # Proof the fuzz got past validation and auth into the handlers, not just 422s.
    assert statuses[422] and (statuses[200] or statuses[201]), statuses
    return failures
