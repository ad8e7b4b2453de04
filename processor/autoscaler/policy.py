"""Autoscaling decisions: the two sizing policies and the damping around them.

The controller (``videoforge autoscaler``) and the simulator (``videoforge simulate``) call
the same :class:`Autoscaler`, so what the simulator measures is what production runs.

- ``messages``: the classic target of N messages (visible + in flight) per instance.
- ``work``: the fleet that finishes the estimated queued + running work within a latency
  target, given that a freshly launched instance spends ``warmup_s`` booting. It reads
  the jobs table (queued jobs, their work, each running job's remaining work), which is
  current, rather than the SQS counts, which lag by about a minute. Jobs are indivisible:
  a running or queued job counts for at most one instance's horizon, so a 2-hour upload
  asks for one instance, not fifteen. Optionally it does not
  shrink below a share of the measured work arrival rate (``demand.py``; off by default:
  a one-off batch inflates the rate and held 20+ idle instances after the burst trace).

Damping: scale out at once; scale in only after the policy's ask stayed below the current
size for ``scale_in_window_s``, then to the highest ask within that window (a stabilisation
window, as in the Kubernetes HPA), and never below the busy workers. Pending instances
count as capacity, so nothing is launched twice during warm-up.

One exception, for the work policy only: once the database has said for ``warmup_s`` that
nothing is queued while some in-service workers are idle, the fleet goes to the current
ask without waiting for the window. Why that is not gaming the window: the window protects against a
noisy signal (an SQS count a minute old, a momentary dip) shrinking a fleet that is needed
again at once. Here the signal is exact (the jobs table, transactional) and the instances
it releases have nothing to do; keeping one costs its price every second, relaunching it
costs one warm-up. Holding an idle instance for as long as a relaunch costs and then
releasing it is the classic break-even rule (ski rental: never more than twice the cost of
knowing the future). Busy workers are never released either way. Without the database's
count (``Signals.queued_jobs`` None) or for the messages policy the full window applies.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from processor.autoscaler.demand import ArrivalRate

POLICIES = ("messages", "work")

# Work totals are floats; without a little slack 3.0000001 instances would round up to 4.
_EPSILON = 1e-6
# A rate of 8.05 instances' worth is noise around 8, not a reason to keep a ninth.
_RATE_SLACK = 0.1


@dataclass(frozen=True)
class Signals:
    """What the controller observed at time ``now``."""

    now: float             # seconds (any monotonic origin)
    visible: int           # SQS ApproximateNumberOfMessages
    in_flight: int         # SQS ApproximateNumberOfMessagesNotVisible
    delayed: int           # SQS ApproximateNumberOfMessagesDelayed
    queued_work_s: float   # estimated encode-seconds (one instance's speed) of QUEUED jobs
    running_work_s: float  # estimated remaining encode-seconds of RUNNING jobs
    in_service: int        # workers in service
    pending: int           # workers launching (not yet in service)
    busy: int              # workers holding a job
    # Optional: remaining encode-seconds of each RUNNING job. With it the work policy
    # knows which workers free up within its horizon; without, it assumes the worst.
    running_remaining_s: tuple[float, ...] = ()
    # Optional: QUEUED jobs counted in the database. Fresh, unlike the SQS counts (about a
    # minute behind), so the work policy prefers it; without, it reconciles the SQS counts.
    queued_jobs: int | None = None
    # Optional: estimated work of each QUEUED job (the database's estimates). Jobs are
    # indivisible: with it, a long queued job asks for one instance, not its work's worth.
    queued_work_each_s: tuple[float, ...] = ()


@dataclass(frozen=True)
class ScalingConfig:
    policy: str = "messages"          # "messages" | "work"
    min_size: int = 1
    max_size: int = 3
    messages_per_instance: int = 5    # the classic target (original design)
    target_latency_s: float = 600.0   # work policy: finish queued work within this
    warmup_s: float = 120.0           # instance boot + warm-up time
    scale_in_window_s: float = 300.0  # signal must stay low this long before scale-in
    max_step_out: int = 0             # most instances added per decision; 0 = no limit
    rate_window_s: float = 1800.0     # work policy: arrival-rate window; 0 = ignore rate
    rate_floor: float = 0.0           # work policy: keep this share of the arrival rate

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"unknown policy {self.policy!r}; expected one of {POLICIES}")
        if not 0 <= self.min_size <= self.max_size:
            raise ValueError(
                f"need 0 <= min_size <= max_size, got {self.min_size}..{self.max_size}"
            )
        if self.messages_per_instance < 1:
            raise ValueError("messages_per_instance must be at least 1")
        if self.target_latency_s <= 0:
            raise ValueError("target_latency_s must be positive")
        if min(self.warmup_s, self.scale_in_window_s, self.max_step_out,
               self.rate_window_s, self.rate_floor) < 0:
            raise ValueError("warmup_s, scale_in_window_s, max_step_out, rate_window_s "
                             "and rate_floor must be >= 0")

    @classmethod
    def from_settings(cls, settings: Any) -> ScalingConfig:
        """Build from a settings object's ``autoscaler_*`` fields (``VF_AUTOSCALER_*``);
        a field the settings object lacks keeps this class's default."""
        values = {
            name: getattr(settings, f"autoscaler_{name}")
            for name in cls.__dataclass_fields__
            if hasattr(settings, f"autoscaler_{name}")
        }
        return cls(**values)

    @property
    def horizon_s(self) -> float:
        """The time within which the work policy plans to finish the work.

        Normally the latency target. A target shorter than the warm-up cannot be met by a
        launch at all, so the plan stretches until a new instance is useful for at least
        half the target, rather than asking for an absurd fleet that arrives too late.
        """
        return max(self.target_latency_s, self.warmup_s + self.target_latency_s / 2)


@dataclass(frozen=True)
class Decision:
    desired: int    # what to apply (after damping, clamped to [max(min_size, busy), max_size])
    raw: int        # what the policy alone asked for
    direction: str  # "out" | "in" | "hold"
    reason: str     # human-readable, for the log line


def messages_policy(signals: Signals, config: ScalingConfig, rate: float = 0.0
                    ) -> tuple[int, str]:
    """Classic target tracking: one instance per ``messages_per_instance`` messages."""
    messages = signals.visible + signals.in_flight
    raw = math.ceil(messages / config.messages_per_instance)
    return raw, f"{messages} messages / {config.messages_per_instance} per instance"


def work_policy(signals: Signals, config: ScalingConfig, rate: float = 0.0
                ) -> tuple[int, str]:
    """The fleet that finishes queued + running work within the horizon.

    In-service instances give the whole horizon; pending and new ones only what is left
    after warm-up. A running job occupies its own worker only (at most one horizon each),
    so a few long running jobs do not ask for instances that could not help them. Jobs
    are indivisible: never more instances than jobs in the system, except that the fleet
    keeps a share of what the arrival ``rate`` (work-seconds per second) needs.
    """
    horizon = config.horizon_s
    useful_new = horizon - config.warmup_s
    visible, queued_work, taken_work = _reconcile(signals)
    if signals.queued_work_each_s and signals.queued_jobs is not None:
        queued_work = sum(min(w, horizon) for w in signals.queued_work_each_s)
    taken = max(0, signals.visible - visible) if signals.queued_jobs is None else 0
    if signals.running_remaining_s:
        running = sum(min(r, horizon) for r in signals.running_remaining_s)
        running += min(taken_work, taken * horizon)
    else:
        running = min(signals.running_work_s + taken_work, signals.busy * horizon)
    free = max(0.0, signals.in_service * horizon - running) + signals.pending * useful_new
    shortfall = queued_work - free
    if shortfall > _EPSILON:
        # A new instance can only take a queued job that no idle or pending one will take.
        idle = max(0, signals.in_service - signals.busy)
        uncovered = max(1, visible + signals.delayed - idle - signals.pending)
        extra = min(math.ceil(shortfall / useful_new - _EPSILON), uncovered)
        raw = signals.in_service + signals.pending + extra
    else:
        raw = math.ceil((queued_work + running) / horizon - _EPSILON)
    jobs = max(signals.busy, signals.in_flight) + visible + signals.delayed
    if jobs and raw < 1:
        raw = 1  # work estimates missing or tiny: still one instance for queued jobs
    # The arrival rate only slows scale-in (keeps instances a steady stream will need); it
    # never launches by itself, so a one-off batch does not hold extra instances idle.
    keep = min(math.ceil(rate * config.rate_floor - _RATE_SLACK),
               signals.in_service + signals.pending)
    raw = max(min(raw, jobs), keep)
    work = signals.queued_work_s + signals.running_work_s
    return raw, (f"{work:.0f} s of work over {jobs} jobs, {horizon:.0f} s horizon, "
                 f"arriving {rate:.1f} s/s")


def _reconcile(signals: Signals) -> tuple[int, float, float]:
    """Queue counts lag the fleet counts (SQS approximate counts vs the Auto Scaling
    API): jobs that workers took after the queue was sampled (more busy workers than
    messages in flight) are running, not queued. Returns the visible jobs and queued work
    left, and the queued work moved to running (in proportion to the jobs). With the
    database's count of queued jobs there is nothing to reconcile."""
    if signals.queued_jobs is not None:
        return signals.queued_jobs, signals.queued_work_s, 0.0
    taken = min(signals.visible, max(0, signals.busy - signals.in_flight))
    moved = signals.queued_work_s * taken / signals.visible if signals.visible else 0.0
    return signals.visible - taken, signals.queued_work_s - moved, moved


_POLICY_FUNCTIONS = {"messages": messages_policy, "work": work_policy}


def _drained(signals: Signals, config: ScalingConfig) -> bool:
    """The work policy's early scale-in case: the database (fresh, unlike SQS counts)
    says no job is queued, and some in-service workers hold no job."""
    return (config.policy == "work" and signals.queued_jobs == 0
            and signals.in_service > signals.busy)


class Autoscaler:
    """Holds the damping memory between ticks; one instance per controller."""

    def __init__(self, config: ScalingConfig) -> None:
        self.config = config
        self._policy = _POLICY_FUNCTIONS[config.policy]
        self._history: deque[tuple[float, int]] = deque()  # (now, clamped raw)
        self._below_since: float | None = None
        self._drained_since: float | None = None
        self._rate = ArrivalRate(config.rate_window_s)

    def decide(self, signals: Signals, current_desired: int) -> Decision:
        cfg = self.config
        raw, why = self._policy(signals, cfg, self._rate.update(signals))
        idle_for = self._drained_for(signals)
        wanted = min(max(raw, cfg.min_size), cfg.max_size)
        self._remember(signals.now, wanted)
        floor = min(max(cfg.min_size, signals.busy), cfg.max_size)
        current = min(max(current_desired, cfg.min_size), cfg.max_size)

        if wanted > current:
            self._below_since = None
            step = wanted - current
            if cfg.max_step_out:
                step = min(step, cfg.max_step_out)
            desired, note = current + step, "scale out"
        elif wanted < current:
            if self._below_since is None:
                self._below_since = signals.now
            low_for = signals.now - self._below_since
            if idle_for + _EPSILON >= cfg.warmup_s:
                # Idle instances with nothing queued: kept longer than a relaunch costs
                # they only lose money (see the module docstring).
                desired, note = wanted, f"drained, idle for {idle_for:.0f} s"
            elif low_for + _EPSILON >= cfg.scale_in_window_s:
                # Highest ask within the window: brief dips do not shrink the fleet.
                # (Never above current: someone may have lowered it meanwhile.)
                desired = min(max(r for _, r in self._history), current)
                note = f"low for {low_for:.0f} s, highest ask in window {desired}"
            else:
                desired, note = current, f"low for {low_for:.0f}/{cfg.scale_in_window_s:.0f} s"
        else:
            self._below_since = None
            desired, note = current, "on target"

        desired = min(max(desired, floor), cfg.max_size)
        if desired < current and desired == floor and floor > cfg.min_size:
            note += f", kept {floor} busy"
        direction = "out" if desired > current else "in" if desired < current else "hold"
        capped = " (capped)" if raw > cfg.max_size else ""
        reason = f"{cfg.policy}: {why} -> {raw}{capped}; {note}"
        return Decision(desired=desired, raw=raw, direction=direction, reason=reason)

    def _drained_for(self, signals: Signals) -> float:
        """How long the fleet has had idle workers and nothing queued; -1 if it has not."""
        if not _drained(signals, self.config):
            self._drained_since = None
            return -1.0
        if self._drained_since is None:
            self._drained_since = signals.now
        return signals.now - self._drained_since

    def _remember(self, now: float, wanted: int) -> None:
        self._history.append((now, wanted))
        while self._history and self._history[0][0] < now - self.config.scale_in_window_s:
            self._history.popleft()

