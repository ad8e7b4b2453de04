"""Schemathesis fuzzing of an ASGI app from its own OpenAPI document (no 5xx allowed).

Runs each operation's Hypothesis strategy inside one ordinary test, so the app can be
built from per-test fixtures (the pytest plugin's lazy fixtures do not work on pytest 9).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode


def fuzz_app(app: Any, *, headers: dict[str, str], max_examples: int,
             known: dict[str, str] | None = None) -> list[str]:
    """Fuzz every operation with valid and invalid data; returns the 5xx failures.

    ``known`` path parameter values (a real video id) replace the generated ones in
    about half the cases, so the fuzz reaches handlers past the 404.
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @given(case=strategy, use_known=st.booleans())
            @settings(max_examples=max_examples, deadline=None, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def run(case: Any, use_known: bool) -> None:
                for name, value in (known or {}).items():
                    if use_known and name in (case.path_parameters or {}):
                        case.path_parameters[name] = value
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
