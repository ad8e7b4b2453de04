"""A discrete-event simulation of the worker fleet under a job trace.

Jobs arrive into the scheduler's queue (``queue.py``: first come, first served while every
job is one unit); each in-service worker takes one unit at a time. With
``SimSettings.chunking`` a long job becomes a split task, then chunk tasks (an audio task
beside them), then a stitch task (``chunking.py``), and the queue shares the workers
between jobs. Every ``interval_s`` the controller runs the real
:class:`~processor.autoscaler.Autoscaler` on what the real controller reads, each as fresh
as its source: SQS approximate message counts ``staleness_s`` old (they lag by about a
minute), and current database figures (queued jobs, their estimated work, each running
job's remaining work: the jobs table is transactional) and fleet counts (the Auto Scaling
API). It then applies the desired size like the backend does: launches take ``boot_s`` to
come into service, and scale-in removes pending or idle instances only (workers holding a
job are protected from scale-in); a surplus busy worker leaves when it next finds the queue
empty.

Billing is EC2's for Linux, as the cost model has it (``common/costs.billed_seconds``): per
second from launch to termination, at least a minute per instance. The instance-hours
split into busy (encoding), booting and idle, so a policy's overhead shows where it comes
from.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from common.costs import billed_seconds
from processor.autoscaler.policy import Autoscaler, ScalingConfig, Signals
from processor.simulation.chunking import Chunking
from processor.simulation.queue import FairQueue, Unit
from processor.simulation.traces import Trace

# Event kinds, in the order they run when they fall on the same instant: work finishes and
# instances come up before new arrivals are queued, and the controller looks last.
_FINISH, _READY, _ARRIVAL, _OBSERVE, _DECIDE = range(5)
# A policy that never drains its queue must not loop forever.
_MAX_OVERRUN_S = 30 * 24 * 3600.0


@dataclass(frozen=True)
class SimSettings:
    boot_s: float = 120.0      # launch -> in service (the policy's warmup_s is its estimate)
    interval_s: float = 30.0   # controller tick (VF_AUTOSCALER_INTERVAL_S default)
    staleness_s: float = 60.0  # age of the SQS message counts the controller sees
    # Pass each running job's remaining time, as the controller does (from the database);
    # False: totals only.
    per_job_remaining: bool = True
    # Pass the database's count of queued jobs (fresh), as the controller does; False: the
    # policy has only the stale SQS counts.
    db_job_counts: bool = True
    # Split long jobs into tasks (issue 10); None: every job runs whole on one worker.
    chunking: Chunking | None = None
    # The scheduler's fair share, every upload its own user (DESIGN.md); False: the oldest
    # job first, a what-if (queue.py). The same while every job is one unit.
    fair_share: bool = True
    # The hold what-if (queue.py): a started chunked job's tasks go first until a job not
    # yet started has waited this long. None: the fair order.
    chunk_hold_s: float | None = None

    def __post_init__(self) -> None:
        if self.boot_s < 0 or self.interval_s <= 0 or self.staleness_s < 0:
            raise ValueError("need boot_s >= 0, interval_s > 0, staleness_s >= 0")
        if self.chunk_hold_s is not None and self.chunk_hold_s < 0:
            raise ValueError("chunk_hold_s must be >= 0")


@dataclass(frozen=True)
class Sample:
    t: float
    queued: int
    busy: int
    in_service: int
    pending: int
    desired: int


@dataclass
class RunResult:
    policy: str
    trace: str
    waits: list[float]         # arrival -> first start, per job that started
    instance_hours: float
    reversals: int
    interrupted_jobs: int
    end_s: float
    work_s: float              # busy instance-seconds: the trace's work plus any chunking's
    scale_events: int
    boot_hours: float = 0.0  # launch -> in service, billed
    idle_hours: float = 0.0  # in service without a job, billed (incl. the 60 s minimum)
    timeline: list[Sample] = field(default_factory=list)
    # arrival -> done (READY), per job in trace order; None for a job that never finished
    turnarounds: list[float | None] = field(default_factory=list)
    job_work_s: list[float] = field(default_factory=list)  # each job's own, trace order

    @property
    def trace_work_s(self) -> float:
        """The trace's own work: what its source minutes stand for."""
        return sum(self.job_work_s)


@dataclass(eq=False)  # identity: instances are dict keys
class _Instance:
    launched_at: float
    ready: bool = False
    ready_at: float | None = None
    job: Unit | None = None  # the unit it runs
    finish_at: float = 0.0
    terminated_at: float | None = None


@dataclass(frozen=True)
class _QueueCounts:
    """SQS approximate counts, as sampled ``staleness_s`` before a decision."""

    visible: int
    in_flight: int


class Simulation:
    def __init__(self, trace: Trace, config: ScalingConfig, sim: SimSettings) -> None:
        if config.max_size < 1:
            raise ValueError("max_size must be at least 1 to drain a trace")
        self.trace, self.config, self.sim = trace, config, sim
        self.scaler = Autoscaler(config)
        self._events: list[tuple[float, int, int, object]] = []
        self._seq = itertools.count()
        self._instances: list[_Instance] = []  # every instance ever launched
        # Insertion-ordered sets (dicts), so runs are repeatable and lookups O(1).
        self._live: dict[_Instance, None] = {}  # not terminated
        self._idle: dict[_Instance, None] = {}  # in service, no job
        self._queue = FairQueue(fair_share=sim.fair_share, hold_s=sim.chunk_hold_s)
        self._starts: list[float | None] = [None] * len(trace.jobs)
        self._finished: list[float | None] = [None] * len(trace.jobs)
        self._tasks_left: dict[int, int] = {}  # chunked job -> split/chunk/audio tasks not done
        self._stitches: dict[int, float] = {}  # chunked job -> its stitch's work
        self._after_split: dict[int, list[Unit]] = {}  # chunked job -> chunks to queue
        self._work = 0.0
        self._done = 0
        self._last_finish = 0.0
        self._views: dict[int, _QueueCounts] = {}
        self.desired = config.min_size
        self._last_direction: str | None = None
        self.reversals = self.scale_events = self.interrupted = 0
        self.timeline: list[Sample] = []

    # --- event plumbing -------------------------------------------------------------
    def _at(self, t: float, kind: int, data: object = None) -> None:
        heapq.heappush(self._events, (t, kind, next(self._seq), data))

    def run(self) -> RunResult:
        for index, job in enumerate(self.trace.jobs):
            self._at(job.arrival_s, _ARRIVAL, index)
        for _ in range(self.desired):
            self._launch(0.0, boot_s=0.0)  # the fleet at min size is already warm
        self._schedule_tick(0)
        end, stop_by = self.trace.duration_s, self.trace.duration_s + _MAX_OVERRUN_S
        while self._events:
            t, kind, _, data = heapq.heappop(self._events)
            finished = self._done == len(self.trace.jobs)
            if kind == _DECIDE and ((finished and t >= end) or t > stop_by):
                break
            self._handle(t, kind, data)
        end = max(end, self._last_finish)
        return self._result(end)

    def _handle(self, t: float, kind: int, data: object) -> None:
        if kind == _FINISH:
            assert isinstance(data, _Instance)
            if data.terminated_at is None and data.job is not None:
                self._finish(t, data.job)
                data.job = None
                self._on_idle(t, data)
        elif kind == _READY:
            assert isinstance(data, _Instance)
            if data.terminated_at is None:
                data.ready, data.ready_at = True, t
                self._on_idle(t, data)
        elif kind == _ARRIVAL:
            assert isinstance(data, int)
            self._enqueue(t, data)
        elif kind == _OBSERVE:
            assert isinstance(data, int)
            self._views[data] = self._observe(t)
        else:
            assert isinstance(data, int)
            self._decide(t, self._views.pop(data))
            self._schedule_tick(data + 1)

    def _schedule_tick(self, k: int) -> None:
        decide_at = k * self.sim.interval_s
        self._at(max(0.0, decide_at - self.sim.staleness_s), _OBSERVE, k)
        self._at(decide_at, _DECIDE, k)

    # --- the queue and the workers --------------------------------------------------
    def _enqueue(self, t: float, index: int) -> None:
        work = self.trace.jobs[index].work_s
        tasks = self.sim.chunking.split(work) if self.sim.chunking else None
        if tasks is None:
            self._add(t, [Unit(index, work)])
            return
        chunks = [Unit(index, w, task=True) for w in tasks.chunks]
        audio = [Unit(index, tasks.audio, task=True)] if tasks.audio > 0 else []
        self._stitches[index] = tasks.stitch
        if tasks.split > 0:  # the chunks wait for their parts; the audio needs only the plan
            self._after_split[index] = chunks
            self._tasks_left[index] = 1 + len(chunks) + len(audio)
            self._add(t, [Unit(index, tasks.split, split=True, task=True), *audio])
        else:
            self._tasks_left[index] = len(chunks) + len(audio)
            self._add(t, [*chunks, *audio])

    def _add(self, t: float, units: list[Unit]) -> None:
        for unit in units:
            unit.queued_at = t
            self._queue.push(unit)
            self._work += unit.work_s
        while self._idle and self._queue:
            self._on_idle(t, next(iter(self._idle)))

    def _finish(self, t: float, unit: Unit) -> None:
        self._queue.done(unit)
        self._last_finish = t
        left = self._tasks_left.get(unit.job)
        if left is not None and not unit.stitch:
            self._tasks_left[unit.job] = left - 1
            if unit.split:
                self._add(t, self._after_split.pop(unit.job))
            elif left == 1:  # the last chunk or the audio: the stitch can run
                self._add(t, [Unit(unit.job, self._stitches.pop(unit.job), stitch=True,
                                     task=True)])
            return
        self._tasks_left.pop(unit.job, None)
        self._finished[unit.job] = t
        self._done += 1

    def _on_idle(self, t: float, inst: _Instance) -> None:
        self._idle.pop(inst, None)
        unit = self._queue.pop(t)
        if unit is not None:
            if self._starts[unit.job] is None:
                self._starts[unit.job] = t
            inst.job, inst.finish_at = unit, t + unit.work_s
            self._at(inst.finish_at, _FINISH, inst)
        elif len(self._live) > self.desired:
            self._terminate(t, inst)
        else:
            self._idle[inst] = None

    def _alive(self) -> list[_Instance]:
        return list(self._live)

    def _launch(self, t: float, boot_s: float) -> None:
        inst = _Instance(launched_at=t)
        self._instances.append(inst)
        self._live[inst] = None
        self._at(t + boot_s, _READY, inst)

    def _terminate(self, t: float, inst: _Instance) -> None:
        if inst.job is not None:
            # The backend must never pick a busy worker; if it did, the unit would be lost
            # mid-encode and re-queued at the front, its work done again.
            self.interrupted += 1
            self._queue.done(inst.job)
            self._queue.push(inst.job, front=True)
            self._work += inst.job.work_s
            inst.job = None
        inst.terminated_at = t
        del self._live[inst]
        self._idle.pop(inst, None)

    # --- the controller -------------------------------------------------------------
    def _observe(self, t: float) -> _QueueCounts:
        return _QueueCounts(visible=len(self._queue),
                            in_flight=sum(1 for i in self._live if i.job is not None))

    def _decide(self, t: float, sqs: _QueueCounts) -> None:
        alive = self._alive()
        in_service = sum(1 for i in alive if i.ready)
        running = [i.finish_at - t for i in alive if i.job is not None]
        busy = len(running)
        signals = Signals(
            now=t, visible=sqs.visible, in_flight=sqs.in_flight, delayed=0,
            queued_work_s=max(0.0, self._queue.work_s), running_work_s=sum(running),
            running_remaining_s=tuple(running) if self.sim.per_job_remaining else (),
            queued_jobs=len(self._queue) if self.sim.db_job_counts else None,
            queued_work_each_s=(tuple(unit.work_s for unit in self._queue)
                                if self.sim.db_job_counts and self.sim.per_job_remaining
                                else ()),
            in_service=in_service, pending=len(alive) - in_service, busy=busy,
        )
        decision = self.scaler.decide(signals, self.desired)
        if decision.direction != "hold":
            self.scale_events += 1
            if self._last_direction not in (None, decision.direction):
                self.reversals += 1
            self._last_direction = decision.direction
        self._apply(t, decision.desired)
        alive = self._alive()
        self.timeline.append(Sample(
            t=t, queued=len(self._queue), busy=busy,
            in_service=sum(1 for i in alive if i.ready),
            pending=sum(1 for i in alive if not i.ready), desired=self.desired,
        ))

    def _apply(self, t: float, desired: int) -> None:
        self.desired = desired
        alive = self._alive()
        for _ in range(desired - len(alive)):
            self._launch(t, self.sim.boot_s)
        surplus = len(alive) - desired
        # Pending first (they have done nothing yet), then idle workers; never busy ones.
        removable = [i for i in alive if not i.ready] + list(self._idle)
        for inst in removable[: max(0, surplus)]:
            self._terminate(t, inst)

    def _result(self, end: float) -> RunResult:
        seconds = boot = 0.0
        for inst in self._instances:
            stop = min(inst.terminated_at if inst.terminated_at is not None else end, end)
            seconds += billed_seconds(stop - inst.launched_at)
            ready = inst.ready_at if inst.ready_at is not None else stop
            boot += max(0.0, min(ready, stop) - inst.launched_at)
        work = self._work
        waits = [
            start - job.arrival_s
            for start, job in zip(self._starts, self.trace.jobs, strict=True)
            if start is not None
        ]
        return RunResult(
            policy=self.config.policy, trace=self.trace.name, waits=waits,
            instance_hours=seconds / 3600.0, reversals=self.reversals,
            interrupted_jobs=self.interrupted, end_s=end, work_s=work,
            scale_events=self.scale_events, timeline=self.timeline,
            boot_hours=boot / 3600.0, idle_hours=max(0.0, seconds - boot - work) / 3600.0,
            turnarounds=[None if done is None else done - job.arrival_s
                         for done, job in zip(self._finished, self.trace.jobs, strict=True)],
            job_work_s=[j.work_s for j in self.trace.jobs],
        )


def simulate(trace: Trace, config: ScalingConfig, sim: SimSettings | None = None) -> RunResult:
    return Simulation(trace, config, sim or SimSettings()).run()


def simulate_policies(trace: Trace, policies: Sequence[str], config: ScalingConfig,
                      sim: SimSettings | None = None) -> list[RunResult]:
    """The same trace under each policy, everything else in ``config`` equal."""
    return [simulate(trace, replace(config, policy=policy), sim) for policy in policies]
