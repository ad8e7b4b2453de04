"""What a job cost, as the real worker records it: instance-seconds and stored bytes on
the job row, the cost counters behind the dashboard, and the job's cost in the API body,
all priced by the one cost model (common/costs.py) from the recorded figures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from common.cost_view import cost_public
from common.costs import Prices, cost_of
from common.job_state import JobStatus
from common.job_view import job_public
from common.models import Job
from processor.job_runner import Outcome
from tests.support.worker import Stack

Clip = Callable[[str], Path]
PRICES = Prices(on_demand_usd_per_hour=0.085, spot_usd_per_hour=0.03,
                storage_usd_per_gb_month=0.025)
_COUNTERS = {
    "seconds": ("videoforge_job_instance_seconds_total", {}),
    "on_demand": ("videoforge_job_cost_usd_total", {"pricing": "on_demand"}),
    "spot": ("videoforge_job_cost_usd_total", {"pricing": "spot"}),
    "source": ("videoforge_job_source_seconds_total", {}),
    "bytes": ("videoforge_job_stored_bytes_total", {}),
}


def _counters() -> dict[str, float]:
    return {key: REGISTRY.get_sample_value(name, labels) or 0.0
            for key, (name, labels) in _COUNTERS.items()}


def _priced(stack: Stack) -> Stack:
    stack.settings = stack.settings.model_copy(update={
        "price_on_demand_usd_per_hour": PRICES.on_demand_usd_per_hour,
        "price_spot_usd_per_hour": PRICES.spot_usd_per_hour,
        "price_storage_usd_per_gb_month": PRICES.storage_usd_per_gb_month})
    return stack


def test_a_published_job_records_its_cost(stack: Stack, clip: Clip) -> None:
    stack = _priced(stack)
    job = stack.submit(clip("small"))
    before = _counters()
    assert stack.worker().step() == Outcome.SUCCEEDED
    after = _counters()

    done = stack.job(job.id)
    assets = stack.assets(job.id)
    assert done.instance_seconds and done.instance_seconds > 0
    # The bytes it stored: every published asset's size (an HLS rendition's counts its
    # playlist, init and segments).
    assert done.stored_bytes == sum(a.size_bytes for a in assets) > 0
    # The counters: the attempt's time (measured a moment after the row's), priced.
    spent = after["seconds"] - before["seconds"]
    assert done.instance_seconds <= spent < done.instance_seconds + 2
    priced = cost_of(instance_seconds=spent, prices=PRICES)
    assert after["on_demand"] - before["on_demand"] == pytest.approx(priced.compute_on_demand_usd)
    assert after["spot"] - before["spot"] == pytest.approx(priced.compute_spot_usd)
    assert after["source"] - before["source"] == pytest.approx(done.source_duration_s)
    assert after["bytes"] - before["bytes"] == done.stored_bytes
    # The job as the API and its events show it: the recorded figures, priced.
    with stack.sessions() as session:
        row = session.get(Job, job.id)
        assert row is not None
        shown = job_public(session, row, prices=PRICES).cost
    recorded = cost_of(instance_seconds=done.instance_seconds, stored_bytes=done.stored_bytes,
                       source_seconds=done.source_duration_s or 0, prices=PRICES)
    assert shown == cost_public(recorded)
    assert shown is not None and shown.compute_usd_on_demand == pytest.approx(
        done.instance_seconds / 3600 * 0.085, abs=1e-6)


def test_a_failed_attempt_costs_time_but_publishes_nothing(stack: Stack, clip: Clip) -> None:
    stack = _priced(stack)
    job = stack.submit(clip("text"))  # not media: bad input, fails at once
    before = _counters()
    assert stack.worker().step() == Outcome.FAILED
    after = _counters()
    assert after["seconds"] > before["seconds"] and after["on_demand"] > before["on_demand"]
    assert (after["source"], after["bytes"]) == (before["source"], before["bytes"])
    assert stack.job(job.id).status == JobStatus.FAILED


def test_a_job_not_yet_run_has_no_cost(stack: Stack, clip: Clip) -> None:
    job = stack.submit(clip("small"))
    with stack.sessions() as session:
        row = session.get(Job, job.id)
        assert row is not None and job_public(session, row).cost is None
