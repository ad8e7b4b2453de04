"""Sizing policies and damping: plain tables of observations -> desired fleet size."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from processor.autoscaler.policy import Autoscaler, ScalingConfig, Signals

HOUR = 3600.0


def sig(**kw: Any) -> Signals:
    values: dict[str, Any] = dict(
        now=0.0, visible=0, in_flight=0, delayed=0, queued_work_s=0.0, running_work_s=0.0,
        in_service=1, pending=0, busy=0,
    )
    values.update(kw)
    return Signals(**values)


MESSAGES = ScalingConfig(policy="messages", min_size=1, max_size=3, messages_per_instance=5)
# work: 300 s target, 120 s warm-up -> an instance launched now gives 180 s of work.
WORK = ScalingConfig(policy="work", min_size=1, max_size=20, target_latency_s=300.0)


@pytest.mark.parametrize(
    ("config", "signals", "current", "desired"),
    [
        # messages: ceil((visible + in flight) / 5), clamped to 1..3
        (MESSAGES, sig(), 1, 1),
        (MESSAGES, sig(visible=7), 1, 2),
        (MESSAGES, sig(visible=5, in_flight=1, busy=1), 1, 2),
        (MESSAGES, sig(visible=40), 1, 3),
        # work: ten 2-hour jobs need ten instances (the messages rule would say 2) ...
        (WORK, sig(visible=10, queued_work_s=10 * 2 * HOUR), 1, 10),
        # ... ten 30-second jobs fit in the one instance's 300 s
        (WORK, sig(visible=10, queued_work_s=10 * 30.0), 1, 1),
        # 900 s queued, one idle instance does 300, each new one 180: 1 + ceil(600/180)
        (WORK, sig(visible=30, queued_work_s=900.0), 1, 5),
        # warm-up anticipated: four pending already cover it, no further launch
        (WORK, sig(visible=30, queued_work_s=900.0, pending=4), 5, 5),
        # two long running jobs occupy their workers only; nothing queued: stay at 2
        (WORK, sig(in_flight=2, busy=2, in_service=2, running_work_s=4 * HOUR), 2, 2),
        # queued work behind two long running jobs needs new instances
        (WORK, sig(visible=2, queued_work_s=600.0, in_flight=2, busy=2, in_service=2,
                   running_work_s=4 * HOUR), 2, 4),
        # empty queue, idle fleet, no history: scale-in waits for the window
        (WORK, sig(in_service=4), 4, 4),
        # clamped to max
        (WORK, sig(visible=500, queued_work_s=500 * 600.0), 1, 20),
        # latency target below warm-up: plan over 120 + 30 s; new instances give 30 s each
        (ScalingConfig(policy="work", max_size=50, target_latency_s=60.0),
         sig(visible=10, queued_work_s=300.0), 1, 6),
    ],
)
def test_single_decision(config: ScalingConfig, signals: Signals, current: int,
                         desired: int) -> None:
    decision = Autoscaler(config).decide(signals, current)
    assert decision.desired == desired, decision.reason


def _run(config: ScalingConfig, ticks: list[tuple[float, dict[str, Any]]],
         start: int) -> list[int]:
    scaler, current, sizes = Autoscaler(config), start, []
    for now, kw in ticks:
        decision = scaler.decide(sig(now=now, in_service=current, **kw), current)
        current = decision.desired
        sizes.append(current)
    return sizes


def test_scale_out_at_once_scale_in_after_window() -> None:
    config = ScalingConfig(policy="messages", max_size=3, scale_in_window_s=300)
    ticks = [(0.0, {"visible": 15})] + [(60.0 * i, {}) for i in range(1, 8)]
    assert _run(config, ticks, start=1) == [3, 3, 3, 3, 3, 3, 1, 1]


def test_brief_rise_inside_window_holds_the_highest_ask() -> None:
    config = ScalingConfig(policy="messages", max_size=5, scale_in_window_s=300)
    load = [25, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0]  # 5, then 2 for one tick, then nothing
    ticks = [(60.0 * i, {"visible": v}) for i, v in enumerate(load)]
    # below 5 from t=60; window elapsed at t=360, highest ask since t=60 is 2 (t=180);
    # that 2 is still inside the window at t=480 (exactly 300 s old), gone at t=540 -> 1.
    assert _run(config, ticks, start=1) == [5, 5, 5, 5, 5, 5, 2, 2, 2, 1, 1]


def test_never_below_busy_workers() -> None:
    config = ScalingConfig(policy="messages", max_size=10, scale_in_window_s=0)
    decision = Autoscaler(config).decide(sig(in_flight=4, busy=4, in_service=8), 8)
    assert decision.raw == 1
    assert decision.desired == 4
    assert decision.direction == "in"


def test_rising_signal_resets_the_scale_in_clock() -> None:
    config = ScalingConfig(policy="messages", max_size=4, scale_in_window_s=120)
    load = [20, 0, 0, 20, 0, 0, 0]
    ticks = [(60.0 * i, {"visible": v}) for i, v in enumerate(load)]
    assert _run(config, ticks, start=1) == [4, 4, 4, 4, 4, 4, 1]


def test_work_policy_does_not_relaunch_during_warm_up() -> None:
    scaler = Autoscaler(WORK)
    first = scaler.decide(sig(visible=30, queued_work_s=900.0), 1)
    assert first.direction == "out"
    # same queue a minute later, the launched instances still warming: hold
    later = scaler.decide(
        sig(now=60.0, visible=30, queued_work_s=900.0, pending=first.desired - 1), first.desired
    )
    assert later.direction == "hold"
    assert later.desired == first.desired


def test_max_step_out_limits_each_launch() -> None:
    config = ScalingConfig(policy="messages", max_size=20, max_step_out=4)
    assert Autoscaler(config).decide(sig(visible=100), 1).desired == 5


@pytest.mark.parametrize(
    "kw",
    [
        {"policy": "magic"},
        {"min_size": 4, "max_size": 3},
        {"messages_per_instance": 0},
        {"target_latency_s": 0},
        {"warmup_s": -1},
    ],
)
def test_bad_config_is_refused(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ScalingConfig(**kw)


def test_from_settings_reads_autoscaler_fields() -> None:
    settings = SimpleNamespace(autoscaler_policy="work", autoscaler_max_size=7,
                               autoscaler_target_latency_s=600.0, database_url="x")
    config = ScalingConfig.from_settings(settings)
    assert (config.policy, config.max_size, config.target_latency_s) == ("work", 7, 600.0)
    assert config.min_size == 1


def test_known_remaining_times_free_capacity() -> None:
    # 2 busy workers, 2 h left in total: as a sum that could be one hour each (no free
    # capacity within 300 s); per job, one of them is done in 60 s and takes the queue.
    base = dict(visible=1, queued_work_s=200.0, in_flight=2, busy=2, in_service=2,
                running_work_s=2 * HOUR)
    assert Autoscaler(WORK).decide(sig(**base), 2).desired == 3
    known = sig(**base, running_remaining_s=(2 * HOUR - 60.0, 60.0))
    assert Autoscaler(WORK).decide(known, 2).desired == 2


def test_work_policy_keeps_capacity_for_the_arrival_rate() -> None:
    # 600 s of work arrives every minute (10 instances' worth); between observations
    # the queue is empty and the busy count dips. The rate keeps 0.7 x 10 = 7 of the 10.
    config = ScalingConfig(policy="work", max_size=20, rate_window_s=600,
                           rate_floor=0.7, scale_in_window_s=600)
    scaler, current = Autoscaler(config), 10
    for minute in range(12):
        decision = scaler.decide(
            sig(now=60.0 * minute, in_flight=10, busy=3, in_service=current,
                running_work_s=600.0), current)
        current = decision.desired
    assert current == 7, decision.reason


def test_arrival_rate_never_launches_by_itself() -> None:
    # A one-off batch of 72000 s arrived; nothing is queued any more and two workers are
    # busy. The rate (>= 10 instances' worth) must not grow a fleet of 2.
    config = ScalingConfig(policy="work", max_size=20, rate_window_s=600, rate_floor=0.7)
    scaler = Autoscaler(config)
    scaler.decide(sig(now=0.0, in_flight=2, busy=2, in_service=2, running_work_s=600.0), 2)
    after = scaler.decide(sig(now=60.0, in_flight=2, busy=2, in_service=2,
                              running_work_s=600.0 + 72000.0), 2)
    assert after.desired == 2, after.reason


def test_stale_queue_counts_reconciled_with_busy_workers() -> None:
    # The queue was sampled when 9 jobs waited; since then 9 new workers took them
    # (10 busy, 1 message in flight in the stale sample): nothing is left to launch for.
    signals = sig(visible=9, queued_work_s=9 * 7200.0, in_flight=1, running_work_s=7000.0,
                  in_service=10, busy=10)
    assert Autoscaler(WORK).decide(signals, 10).desired == 10


def test_fresh_queued_job_count_replaces_stale_sqs_counts() -> None:
    # SQS (a minute old) still shows 9 visible; the database says all were taken.
    signals = sig(visible=9, queued_work_s=0.0, in_flight=1, in_service=10, busy=10,
                  running_remaining_s=(200.0,) * 10, queued_jobs=0)
    assert Autoscaler(WORK).decide(signals, 10).desired == 10


def _drain(config: ScalingConfig, queued_jobs: int | None) -> list[int]:
    # 6 in service, 2 busy for long; nothing queued: the policy asks for the 2 busy.
    ticks = [(30.0 * i, {"in_flight": 2, "busy": 2, "running_remaining_s": (3000.0,) * 2,
                         "running_work_s": 6000.0, "queued_jobs": queued_jobs})
             for i in range(12)]
    return _run(config, ticks, start=6)


def test_drained_work_fleet_releases_idle_after_the_warm_up() -> None:
    # Keeping an idle instance longer than a relaunch costs (warmup_s = 120 s) only
    # loses money: released at t=120, not after the 300 s window.
    assert _drain(WORK, queued_jobs=0) == [6, 6, 6, 6, 2, 2, 2, 2, 2, 2, 2, 2]


def test_without_the_database_count_the_window_applies() -> None:
    # Stale SQS counts only (or the messages policy): wait the full 300 s window.
    assert _drain(WORK, queued_jobs=None) == [6] * 10 + [2, 2]
    messages = ScalingConfig(policy="messages", max_size=20)
    assert _drain(messages, queued_jobs=0) == [6] * 10 + [2, 2]


def test_a_long_queued_job_asks_for_one_instance() -> None:
    # A 2-hour job and four 30-second ones queued behind a busy worker. As a total
    # (7320 s) they ask for an instance per job, 5; per job the long one can use one
    # instance's horizon (300 s) only: 300 + 4 x 30 = 420 s, ceil(420 / 180) = 3.
    base = dict(visible=5, queued_jobs=5, queued_work_s=7320.0, in_flight=1, busy=1,
                in_service=1, running_remaining_s=(3000.0,), running_work_s=3000.0)
    assert Autoscaler(WORK).decide(sig(**base), 1).desired == 6
    each = sig(**base, queued_work_each_s=(7200.0, 30.0, 30.0, 30.0, 30.0))
    assert Autoscaler(WORK).decide(each, 1).desired == 4
