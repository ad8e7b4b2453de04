"""structlog setup: JSON lines with bound context, secrets redacted, stderr followed."""

from __future__ import annotations

import io
import json
import sys

from common.logging import bound, configure_logging, get_logger


def test_json_lines_carry_context_and_hide_secrets(monkeypatch) -> None:
    configure_logging(env="production")
    for stream in (io.StringIO(), io.StringIO()):  # a swapped stderr is followed
        monkeypatch.setattr(sys, "stderr", stream)
        with bound(job_id="j1", video_id="v1"):
            get_logger().info("claimed", password="hunter2", access_token="abc", n=1)
        line = json.loads(stream.getvalue().splitlines()[-1])
        assert line["job_id"] == "j1" and line["video_id"] == "v1" and line["n"] == 1
        assert line["password"] == line["access_token"] == "[redacted]"
        assert "hunter2" not in stream.getvalue()
