"""What a provisioning step reports: per resource, created / updated (which aspects) /
unchanged; and the errors that stop a run."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Result:
    kind: str                    # "s3 bucket", "sqs queue", …
    name: str
    outcome: Outcome
    changes: tuple[str, ...] = ()  # the aspects an update changed
    id: str | None = None          # ARN, URL or id, where the resource has one


class ProvisionError(Exception):
    """A run that cannot go on: bad input (exit 2) or a refused call (exit 1)."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass
class Changes:
    """Collects the aspects of one resource that differed from what we want, writing each."""

    kind: str
    name: str
    created: bool = False
    changed: list[str] = field(default_factory=list)

    def converge(self, aspect: str, current: Any, desired: Any, write: Callable[[], Any]) -> None:
        if current != desired:
            write()
            self.note(aspect)

    def note(self, *aspects: str) -> None:
        """Record changed aspects (a newly created resource reports just "created")."""
        if not self.created:
            self.changed.extend(aspects)

    def result(self, id: str | None = None) -> Result:
        outcome = (Outcome.CREATED if self.created
                   else Outcome.UPDATED if self.changed else Outcome.UNCHANGED)
        return Result(self.kind, self.name, outcome, tuple(self.changed), id)
