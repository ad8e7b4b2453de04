"""The control loop: every interval, observe → decide → apply, and account for it.

Each decision is logged with every input, exported as Prometheus gauges, and the backlog
per instance goes to CloudWatch for ops who prefer AWS target tracking to this loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from common.costs import Prices, cost_of
from common.logging import bound, get_logger
from processor import metrics
from processor.autoscaler.backends import FleetBackend, FleetState
from processor.autoscaler.policy import Autoscaler, Decision
from processor.autoscaler.signals import Observation, SignalReader, describe

if TYPE_CHECKING:
    from types_boto3_cloudwatch import CloudWatchClient
    from types_boto3_cloudwatch.literals import StandardUnitType
    from types_boto3_cloudwatch.type_defs import DimensionTypeDef

log = get_logger(__name__)


@dataclass(frozen=True)
class Tick:
    observation: Observation
    decision: Decision
    applied: bool


def backlog_per_instance(observation: Observation) -> float:
    """Messages (visible + in flight) per in-service instance, as AWS's SQS target
    tracking recipe defines it; with no instance, the whole backlog."""
    s = observation.signals
    return (s.visible + s.in_flight) / max(s.in_service, 1)


class CloudWatchPublisher:
    """Puts BacklogPerInstance (and the inputs behind it) once per tick."""

    def __init__(self, cloudwatch: CloudWatchClient, *, namespace: str,
                 dimension: tuple[str, str]) -> None:
        self.cloudwatch = cloudwatch
        self.namespace = namespace
        self.dimensions: list[DimensionTypeDef] = [{"Name": dimension[0], "Value": dimension[1]}]
        self._failed = False

    def publish(self, observation: Observation, desired: int) -> None:
        values: dict[str, tuple[float, StandardUnitType]] = {
            "BacklogPerInstance": (backlog_per_instance(observation), "Count"),
            "QueuedWorkSeconds": (observation.signals.queued_work_s, "Seconds"),
            "DesiredWorkers": (float(desired), "Count"),
        }
        try:
            self.cloudwatch.put_metric_data(
                Namespace=self.namespace,
                MetricData=[{"MetricName": name, "Value": value, "Unit": unit,
                             "Dimensions": self.dimensions}
                            for name, (value, unit) in values.items()],
            )
            self._failed = False
        except Exception as exc:  # a metrics outage must not stop scaling
            if not self._failed:
                log.warning("cloudwatch_put_failed", error=str(exc))
            self._failed = True


def export_gauges(observation: Observation, decision: Decision) -> None:
    s, b = observation.signals, observation.backlog
    metrics.QUEUE_VISIBLE.set(s.visible)
    metrics.QUEUE_IN_FLIGHT.set(s.in_flight)
    if observation.dead_letters is not None:
        metrics.DLQ_MESSAGES.set(observation.dead_letters)
    metrics.OLDEST_QUEUED_AGE.set(b.oldest_queued_age_s)
    metrics.QUEUED_WORK.set(s.queued_work_s + s.running_work_s)
    metrics.FLEET_DESIRED.set(decision.desired)
    metrics.FLEET_IN_SERVICE.set(s.in_service)
    metrics.FLEET_PENDING.set(s.pending)
    metrics.FLEET_BUSY.set(s.busy)
    metrics.BACKLOG_PER_INSTANCE.set(backlog_per_instance(observation))
    metrics.SCALING_DECISIONS.labels(decision.direction).inc()


class FleetMeter:
    """The fleet's instance time and its cost, from successive observations: the size seen
    at one tick (in service + launching) is taken to have run until the next. Busy, idle
    and booting time are all billed, so this is what the fleet costs, beside what the
    jobs themselves took (the workers' ``videoforge_job_*`` counters)."""

    def __init__(self, prices: Prices | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.prices = prices or Prices()
        self.clock = clock
        self._last: tuple[float, int] | None = None

    def observe(self, fleet: FleetState) -> float:
        """Record an observation; returns the instance-seconds since the previous one."""
        now, size = self.clock(), fleet.in_service + fleet.pending
        seconds = 0.0
        if self._last is not None:
            seconds = max(0.0, now - self._last[0]) * self._last[1]
            metrics.count_cost(cost_of(instance_seconds=seconds, prices=self.prices),
                               seconds=metrics.FLEET_INSTANCE_SECONDS, usd=metrics.FLEET_COST)
        self._last = (now, size)
        return seconds


class Controller:
    def __init__(
        self,
        *,
        reader: SignalReader,
        autoscaler: Autoscaler,
        backend: FleetBackend,
        interval_s: float,
        publisher: CloudWatchPublisher | None = None,
        on_tick: Callable[[Tick], None] | None = None,
        meter: FleetMeter | None = None,
    ) -> None:
        self.reader = reader
        self.autoscaler = autoscaler
        self.backend = backend
        self.interval_s = interval_s
        self.publisher = publisher
        self.on_tick = on_tick
        self.meter = meter or FleetMeter()
        self.stopping = threading.Event()
        self.ticks = 0

    def tick(self) -> Tick:
        self.ticks += 1
        with bound(tick=self.ticks, backend=self.backend.name):
            observation = self.reader.read()
            current = observation.fleet.desired
            decision = self.autoscaler.decide(observation.signals, current)
            applied = decision.desired != current
            if applied:
                self.backend.set_desired(decision.desired)
            log.info("scaling_decision", desired=decision.desired, previous=current,
                     raw=decision.raw, direction=decision.direction, applied=applied,
                     reason=decision.reason, **describe(observation))
            export_gauges(observation, decision)
            self.meter.observe(observation.fleet)
            if self.publisher:
                self.publisher.publish(observation, decision.desired)
        tick = Tick(observation, decision, applied)
        if self.on_tick:
            self.on_tick(tick)
        return tick

    def run(self, *, once: bool = False) -> None:
        """Tick every ``interval_s`` until :meth:`stop`; a failed tick is logged and the
        next one tries again (the fleet keeps its size meanwhile)."""
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception:
                if once:
                    raise
                log.exception("scaling_tick_failed")
            if once:
                return
            self.stopping.wait(max(0.0, self.interval_s - (time.monotonic() - started)))

    def stop(self) -> None:
        self.stopping.set()
