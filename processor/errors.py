"""The ways a transcode can end without a result.

Callers (the CLI, the worker) map them to outcomes: ``BadInput`` is permanent (exit 2, job
FAILED with its ``code``, no retry), ``Cancelled`` is a requested stop, ``TranscodeError``
is unexpected and may be retried.
"""

from __future__ import annotations

from common.error_codes import ErrorCode


class BadInput(Exception):
    """The source can never be transcoded: not media, truncated, audio only, over a limit…

    The message is one short sentence a user can act on (no paths, no FFmpeg output);
    ``code`` is the stable reason callers branch on.
    """

    def __init__(self, message: str, *, code: ErrorCode) -> None:
        super().__init__(message)
        self.code = code


class BudgetExceeded(BadInput):
    """FFmpeg ran past the CPU or wall-clock budget the source's measured size allows."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=ErrorCode.BUDGET_EXCEEDED)


class Cancelled(Exception):
    """The cancel event was set; FFmpeg was stopped and the outputs are incomplete."""


class TranscodeError(Exception):
    """FFmpeg failed unexpectedly; ``stderr_tail`` holds its last lines for the log."""

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base}\n{self.stderr_tail}" if self.stderr_tail else base
