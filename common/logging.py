"""structlog, configured once per process; context is bound per unit of work.

Bind ``job_id``/``video_id``/``request_id`` with ``structlog.contextvars.bind_contextvars``
(or :func:`bound`) where a unit of work starts; every log line inside carries them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

from common.settings import Mode

_SECRET_KEYS = {"password", "token", "access_token", "id_token", "refresh_token",
                "authorization", "secret", "aws_secret_access_key"}
_configured: tuple[str, str] | None = None


def _redact_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Secrets never reach a log line, whoever passes them in."""
    for key in list(event):
        if key.lower() in _SECRET_KEYS:
            event[key] = "[redacted]"
    return event


class _StderrLogger:
    """Writes each line to whatever ``sys.stderr`` is at that moment, so a stream that
    was swapped (test capture, a daemon's redirect) never leaves a closed file behind."""

    def __init__(self, *_: Any) -> None:
        pass

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def configure_logging(*, env: str = Mode.PRODUCTION, level: str = "INFO") -> None:
    """``env`` is the mode (``VF_ENV``): readable lines locally, JSON elsewhere."""
    global _configured
    if _configured == (env, level):
        return
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if Mode(env).readable_logs
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=_StderrLogger,
        cache_logger_on_first_use=True,
    )
    _configured = (env, level)


@contextmanager
def bound(**context: Any) -> Iterator[None]:
    """Bind context (job_id, video_id, request_id…) for the duration of a unit of work."""
    tokens = structlog.contextvars.bind_contextvars(**context)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
