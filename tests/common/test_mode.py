"""One mode, VF_ENV: secure by default; only `videoforge up` (local) and the tests relax."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from common.settings import CommonSettings, Mode
from streaming.settings import StreamingSettings


def test_the_default_is_production(monkeypatch) -> None:
    monkeypatch.delenv("VF_ENV", raising=False)
    assert CommonSettings().env is Mode.PRODUCTION and not CommonSettings().env.relaxed
    # So a streaming process started with no mode at all refuses to run on a random key.
    monkeypatch.delenv("VF_STREAM_SIGNING_KEY", raising=False)
    with pytest.raises(ValidationError, match="VF_STREAM_SIGNING_KEY"):
        StreamingSettings()


def test_only_local_and_test_are_relaxed(monkeypatch) -> None:
    for value, relaxed in (("production", False), ("local", True), ("test", True),
                           (" LOCAL ", True)):
        monkeypatch.setenv("VF_ENV", value)
        assert CommonSettings().env.relaxed is relaxed, value
    for unknown in ("development", "prod", "bench", ""):
        monkeypatch.setenv("VF_ENV", unknown)
        with pytest.raises(ValidationError, match="VF_ENV must be one of"):
            CommonSettings()

