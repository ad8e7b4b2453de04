"""When a failed delivery is tried again: exponential backoff with jitter.

Retry n waits between half and all of ``base × 2^(n-1)`` (capped at ``max_s``): the
exponent spaces a failing receiver's load out, the jitter keeps the deliveries that failed
together (an outage) from all coming back in the same second.
"""

from __future__ import annotations

import random


def retry_delay_s(attempt: int, *, base_s: float, max_s: float,
                  rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 = the first)."""
    ceiling = min(max_s, base_s * 2.0 ** min(max(attempt - 1, 0), 62))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
