"""The fleet behind one small interface: the controller observes it and sets its size.

Implementations: :class:`processor.autoscaler.asg.AsgBackend` (an EC2 Auto Scaling group),
:class:`processor.autoscaler.local_pool.LocalPool` (worker processes on this machine) and
:class:`StaticFleet` (in memory, for tests and dry runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class FleetState:
    desired: int     # the size the fleet is heading to
    in_service: int  # workers able to take a job
    pending: int     # workers launching
    busy: int        # workers holding a job (never removed by scale-in)


class FleetBackend(Protocol):
    name: str

    def observe(self) -> FleetState: ...
    def set_desired(self, desired: int) -> None: ...
    def close(self, *, drain: bool = True) -> None:
        """The controller is stopping: a local pool stops its workers (``drain``: let them
        finish their jobs first); a cloud fleet is left as it is."""


class StaticFleet:
    """A fleet that becomes whatever size it is asked for at once; busy is set by hand."""

    name = "static"

    def __init__(self, desired: int = 1, *, busy: int = 0) -> None:
        self.desired = desired
        self.busy = busy
        self.history: list[int] = []

    def observe(self) -> FleetState:
        return FleetState(self.desired, self.desired, 0, min(self.busy, self.desired))

    def set_desired(self, desired: int) -> None:
        self.desired = desired
        self.history.append(desired)

    def close(self, *, drain: bool = True) -> None:
        pass
