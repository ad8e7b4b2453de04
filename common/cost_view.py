"""Cost as the API shows it: a job's, and the prices it was worked out at.

Every figure comes from the one cost model (``common/costs.py``); this module only gives
it a public shape, so a job read (the gateway, an event body) and a usage report agree.
Dollars are rounded to a millionth (a short job costs a few hundredths of a cent).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from common.costs import Cost, Prices, cost_of

_USD_DIGITS = 6


class PricesPublic(BaseModel):
    on_demand_usd_per_hour: float = Field(description="One instance-hour, on-demand.")
    spot_usd_per_hour: float = Field(description="One instance-hour, spot.")
    storage_usd_per_gb_month: float = Field(
        description="A GB (2^30 bytes) stored for a month.")


class CostPublic(BaseModel):
    instance_seconds: float = Field(description="Worker time spent, measured.")
    stored_bytes: int = Field(description="Bytes of the published assets.")
    source_minutes: float = Field(description="Minutes of source media transcoded.")
    compute_usd_on_demand: float = Field(description="The worker time at on-demand prices.")
    compute_usd_spot: float = Field(description="The worker time at spot prices.")
    storage_usd_per_month: float = Field(description="What the stored bytes cost a month.")
    usd_per_source_minute_on_demand: float | None = Field(
        description="Compute on-demand per source minute; null without a source.")
    usd_per_source_minute_spot: float | None


def prices_public(prices: Prices) -> PricesPublic:
    return PricesPublic(on_demand_usd_per_hour=prices.on_demand_usd_per_hour,
                        spot_usd_per_hour=prices.spot_usd_per_hour,
                        storage_usd_per_gb_month=prices.storage_usd_per_gb_month)


def _usd(value: float | None) -> float | None:
    return None if value is None else round(value, _USD_DIGITS)


def cost_public(cost: Cost) -> CostPublic:
    return CostPublic(
        instance_seconds=round(cost.instance_seconds, 3),
        stored_bytes=cost.stored_bytes,
        source_minutes=round(cost.source_minutes, 3),
        compute_usd_on_demand=round(cost.compute_on_demand_usd, _USD_DIGITS),
        compute_usd_spot=round(cost.compute_spot_usd, _USD_DIGITS),
        storage_usd_per_month=round(cost.storage_usd_per_month, _USD_DIGITS),
        usd_per_source_minute_on_demand=_usd(cost.per_source_minute(cost.compute_on_demand_usd)),
        usd_per_source_minute_spot=_usd(cost.per_source_minute(cost.compute_spot_usd)),
    )


def job_cost(*, instance_seconds: float | None, stored_bytes: int | None,
             source_duration_s: float | None, prices: Prices) -> CostPublic | None:
    """A job's cost from what its row recorded; None until a worker has recorded any."""
    if instance_seconds is None:
        return None
    return cost_public(cost_of(instance_seconds=instance_seconds,
                               stored_bytes=stored_bytes or 0,
                               source_seconds=source_duration_s or 0.0, prices=prices))
