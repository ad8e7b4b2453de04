"""The one cost model: instance time and stored bytes at configured prices."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from common.costs import (
    BYTES_PER_GB,
    MIN_BILLED_S,
    ON_DEMAND_USD_PER_HOUR,
    SPOT_USD_PER_HOUR,
    STORAGE_USD_PER_GB_MONTH,
    Prices,
    PriceSettings,
    billed_seconds,
    cost_of,
)
from common.settings import CommonSettings


def test_an_hour_of_instance_time_costs_the_hourly_price() -> None:
    cost = cost_of(instance_seconds=3600)
    assert cost.compute_on_demand_usd == pytest.approx(ON_DEMAND_USD_PER_HOUR)
    assert cost.compute_spot_usd == pytest.approx(SPOT_USD_PER_HOUR)
    assert cost.storage_usd_per_month == 0


def test_a_job_by_hand() -> None:
    # 267 instance-seconds (the typical upload of docs/SCALE.md) for a 3-minute source that
    # stored 150 MiB, at prices set for the test.
    prices = Prices(on_demand_usd_per_hour=0.085, spot_usd_per_hour=0.03,
                    storage_usd_per_gb_month=0.023)
    cost = cost_of(instance_seconds=267, stored_bytes=150 * 2**20, source_seconds=180,
                   prices=prices)
    assert cost.compute_on_demand_usd == pytest.approx(267 / 3600 * 0.085)
    assert cost.compute_spot_usd == pytest.approx(267 / 3600 * 0.03)
    assert cost.storage_usd_per_month == pytest.approx(150 / 1024 * 0.023)
    assert cost.source_minutes == 3
    assert cost.per_source_minute(cost.compute_on_demand_usd) == pytest.approx(
        267 / 3600 * 0.085 / 3)


def test_storage_is_billed_in_binary_gigabytes() -> None:
    assert BYTES_PER_GB == 1024**3
    cost = cost_of(instance_seconds=0, stored_bytes=BYTES_PER_GB)
    assert cost.storage_usd_per_month == pytest.approx(STORAGE_USD_PER_GB_MONTH)


def test_no_source_no_cost_per_minute() -> None:
    cost = cost_of(instance_seconds=10)
    assert cost.per_source_minute(cost.compute_on_demand_usd) is None


@pytest.mark.parametrize("field", ["on_demand_usd_per_hour", "spot_usd_per_hour",
                                   "storage_usd_per_gb_month"])
@pytest.mark.parametrize("value", [-0.01, math.inf, math.nan])
def test_bad_prices_are_refused(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        Prices(**{field: value})


def test_ec2_bills_per_second_with_a_minute_minimum() -> None:
    # The one billing rule: the simulator's instance-hours come from it too.
    assert billed_seconds(5.0) == MIN_BILLED_S == 60.0
    assert billed_seconds(61.5) == 61.5


def test_negative_quantities_are_refused() -> None:
    with pytest.raises(ValueError):
        cost_of(instance_seconds=-1)
    with pytest.raises(ValueError):
        cost_of(instance_seconds=1, stored_bytes=-1)


class _Settings(CommonSettings, PriceSettings):
    pass


def test_prices_come_from_vf_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _Settings().prices() == Prices()
    monkeypatch.setenv("VF_PRICE_ON_DEMAND_USD_PER_HOUR", "0.085")
    monkeypatch.setenv("VF_PRICE_SPOT_USD_PER_HOUR", "0.0255")
    monkeypatch.setenv("VF_PRICE_STORAGE_USD_PER_GB_MONTH", "0.0125")
    assert _Settings().prices() == Prices(0.085, 0.0255, 0.0125)
    monkeypatch.setenv("VF_PRICE_SPOT_USD_PER_HOUR", "-1")
    with pytest.raises(ValidationError):
        _Settings()
