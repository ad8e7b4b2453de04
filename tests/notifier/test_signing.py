"""Signatures a receiver can check, and the backoff between retries."""

from __future__ import annotations

import random
import re
from pathlib import Path

from notifier.backoff import retry_delay_s
from notifier.signing import signature_header
from tests.support.webhooks import signature_valid

README = Path(__file__).resolve().parents[2] / "README.md"


def test_signature_verifies_and_fails_on_any_change() -> None:
    body = b'{"id":"evt_1","type":"job.succeeded"}'
    header = signature_header(["whsec_a"], 1_700_000_000, body)
    assert re.fullmatch(r"t=1700000000,v1=[0-9a-f]{64}", header)
    assert signature_valid(header, body, "whsec_a", now=1_700_000_010)
    assert not signature_valid(header, body + b" ", "whsec_a", now=1_700_000_010)
    assert not signature_valid(header, body, "whsec_b", now=1_700_000_010)
    assert not signature_valid(header, body, "whsec_a", now=1_700_000_000 + 301)  # stale
    forged = header.replace("t=1700000000", "t=1700000300")  # a fresher stamp, same MAC
    assert not signature_valid(forged, body, "whsec_a", now=1_700_000_300)


def test_during_a_rotation_both_secrets_sign() -> None:
    body = b"{}"
    header = signature_header(["whsec_new", "whsec_old"], 1_700_000_000, body)
    assert header.count("v1=") == 2
    for secret in ("whsec_new", "whsec_old"):
        assert signature_valid(header, body, secret, now=1_700_000_000)


def test_backoff_doubles_within_jitter_and_stops_at_the_cap() -> None:
    rng = random.Random(1)
    for attempt in range(1, 30):
        ceiling = min(3600, 10 * 2 ** (attempt - 1))
        delays = [retry_delay_s(attempt, base_s=10, max_s=3600, rng=rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4  # really jittered
    assert retry_delay_s(10_000, base_s=10, max_s=3600) <= 3600


def test_the_readme_verifier_accepts_our_signature_and_rejects_stale_ones() -> None:
    code = re.search(r"```python\n(# verify-videoforge-signature.*?)```", README.read_text(),
                     re.S)
    assert code, "README has the verifier block"
    namespace: dict = {}
    exec(code.group(1), namespace)
    verify = namespace["verify"]
    import time

    now = int(time.time())
    body = b'{"id":"evt_x"}'
    header = signature_header(["whsec_s"], now, body)
    assert verify(body, header, "whsec_s") is True
    assert verify(body, header, "whsec_other") is False
    assert verify(body, signature_header(["whsec_s"], now - 3600, body), "whsec_s") is False
    assert verify(body, "garbage", "whsec_s") is False
    lines = [line for line in code.group(1).splitlines()[1:] if line.strip()]
    assert len(lines) <= 10  # a ten-line verifier
