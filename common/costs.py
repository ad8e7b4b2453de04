"""The cost model: what instance time and stored bytes cost at configured prices.

One model for every place that shows money: the gateway (a job's cost, a user's usage),
the worker (the cost counters behind the Grafana panel) and the simulator (a policy's
fleet cost). Each turns instance-seconds and bytes into dollars here, so the figures agree.

Default prices are us-east-1 list prices for the worker instance type, t3.medium (2 vCPU,
4 GiB, Linux), and S3 Standard:
- on-demand $0.0416 per instance-hour: the EC2 On-Demand pricing page;
- spot ~$0.0125 per instance-hour: typical of the EC2 Spot price history for t3.medium in
  us-east-1 (it moves by the hour and zone, roughly $0.012-0.016, ~70% off on-demand);
- storage $0.023 per GB-month: S3 Standard, first 50 TB a month (S3 pricing page). S3
  bills binary gigabytes (2**30 bytes), and a month of 30 days' worth of GB-hours.

Caveat on the instance price: a t3.medium earns CPU credits for 20% of each vCPU. Encoding
keeps both at 100%, so in "unlimited" mode AWS bills the surplus at $0.05 per vCPU-hour
(~$0.08/h more, ~$0.12/h in all); in "standard" mode it throttles to its baseline. Set the
prices to the fleet's real ones (docs/SCALE.md has a non-burstable alternative).

Compute is billed for the instance-seconds a job took; requests (S3 PUTs, SQS) are not in
the model (docs/SCALE.md puts them at a few percent of the fleet bill at scale).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ON_DEMAND_USD_PER_HOUR = 0.0416
SPOT_USD_PER_HOUR = 0.0125
STORAGE_USD_PER_GB_MONTH = 0.023
# S3 measures storage in binary gigabytes (S3 pricing page: "1 GB = 2^30 bytes").
BYTES_PER_GB = 2**30
SECONDS_PER_HOUR = 3600.0
# EC2 bills Linux On-Demand and Spot instances per second with a 60-second minimum
# (EC2 pricing page, "Per Second Billing").
MIN_BILLED_S = 60.0


@dataclass(frozen=True)
class Prices:
    on_demand_usd_per_hour: float = ON_DEMAND_USD_PER_HOUR
    spot_usd_per_hour: float = SPOT_USD_PER_HOUR
    storage_usd_per_gb_month: float = STORAGE_USD_PER_GB_MONTH

    def __post_init__(self) -> None:
        for name in ("on_demand_usd_per_hour", "spot_usd_per_hour",
                     "storage_usd_per_gb_month"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True)
class Cost:
    """What some work cost: compute at both prices, and storage per month it stays."""

    instance_seconds: float
    stored_bytes: int
    source_seconds: float  # source media transcoded (0 when unknown)
    compute_on_demand_usd: float
    compute_spot_usd: float
    storage_usd_per_month: float

    @property
    def source_minutes(self) -> float:
        return self.source_seconds / 60.0

    def per_source_minute(self, usd: float) -> float | None:
        """``usd`` divided by the source minutes; None when no source was transcoded."""
        return usd / self.source_minutes if self.source_seconds > 0 else None


def cost_of(*, instance_seconds: float, stored_bytes: int = 0, source_seconds: float = 0.0,
            prices: Prices | None = None) -> Cost:
    """The cost of ``instance_seconds`` of worker time that stored ``stored_bytes``."""
    prices = prices or Prices()
    if min(instance_seconds, stored_bytes, source_seconds) < 0:
        raise ValueError("instance_seconds, stored_bytes and source_seconds must be >= 0")
    hours = instance_seconds / SECONDS_PER_HOUR
    return Cost(
        instance_seconds=instance_seconds,
        stored_bytes=stored_bytes,
        source_seconds=source_seconds,
        compute_on_demand_usd=hours * prices.on_demand_usd_per_hour,
        compute_spot_usd=hours * prices.spot_usd_per_hour,
        storage_usd_per_month=stored_bytes / BYTES_PER_GB * prices.storage_usd_per_gb_month,
    )


def billed_seconds(lifetime_s: float) -> float:
    """The instance-seconds EC2 bills for an instance that ran ``lifetime_s``."""
    return max(lifetime_s, MIN_BILLED_S)


def _price(default: float) -> Any:
    return Field(default=default, ge=0, allow_inf_nan=False)


class PriceSettings(BaseModel):
    """The prices as ``VF_*`` settings: mixed into the settings of each service that shows
    cost (the gateway, the processor)."""

    price_on_demand_usd_per_hour: float = _price(ON_DEMAND_USD_PER_HOUR)
    price_spot_usd_per_hour: float = _price(SPOT_USD_PER_HOUR)
    price_storage_usd_per_gb_month: float = _price(STORAGE_USD_PER_GB_MONTH)

    def prices(self) -> Prices:
        return Prices(on_demand_usd_per_hour=self.price_on_demand_usd_per_hour,
                      spot_usd_per_hour=self.price_spot_usd_per_hour,
                      storage_usd_per_gb_month=self.price_storage_usd_per_gb_month)


class _EnvPrices(PriceSettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VF_", extra="ignore")


@lru_cache(maxsize=1)
def configured_prices() -> Prices:
    """The ``VF_PRICE_*`` prices of this process's environment, read once: for the code
    that has no settings object at hand (a job read written into an event body)."""
    return _EnvPrices().prices()
