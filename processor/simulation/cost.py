"""The cost model: what an instance-hour costs and how much work a source minute is.

Prices are us-east-1 Linux list prices for the worker instance type, t3.medium
(2 vCPU, 4 GiB):
- on-demand $0.0416/h: the EC2 On-Demand pricing page;
- spot ~$0.0125/h: typical of the EC2 Spot price history for t3.medium in us-east-1
  (it moves by the hour and zone, roughly $0.012-0.016; about 70% off on-demand).

Work per source minute: the worker encodes every quality in one FFmpeg run (x264
``veryfast``). Measured on this project's build machine (Xeon, 2 vCPUs like a t3.medium):
6 s of 1080p30 into 1080p + 720p + 480p took 13.4 CPU-seconds, 2.2 CPU-s per source
second, so ~67 s of wall time per source minute on 2 vCPUs. With the fixed per-job work
(download, probe, HLS packaging by stream copy, thumbnail, GIF, upload) that is ~90
instance-seconds per source minute. 4K sources cost several times more; the mix assumed
here is mostly 1080p and below. Override with measured numbers (the worker exports
``videoforge_encode_speed_ratio``).

Caveat: a t3.medium earns CPU credits for 20% of each vCPU. Encoding keeps both at 100%,
so in "unlimited" mode AWS bills the surplus at $0.05 per vCPU-hour (~$0.08/h more,
$0.12/h in all); in "standard" mode the instance throttles to its 20% baseline. See
docs/SCALE.md for a non-burstable alternative.
"""

from __future__ import annotations

from dataclasses import dataclass

ON_DEMAND_USD_PER_HOUR = 0.0416
SPOT_USD_PER_HOUR = 0.0125
INSTANCE_S_PER_SOURCE_MINUTE = 90.0


@dataclass(frozen=True)
class CostModel:
    on_demand_usd_per_hour: float = ON_DEMAND_USD_PER_HOUR
    spot_usd_per_hour: float = SPOT_USD_PER_HOUR
    instance_s_per_source_minute: float = INSTANCE_S_PER_SOURCE_MINUTE

    def costs(self, instance_hours: float, work_s: float) -> dict[str, float]:
        """Fleet cost and cost per transcoded source minute, on-demand and spot."""
        source_minutes = work_s / self.instance_s_per_source_minute
        on_demand = instance_hours * self.on_demand_usd_per_hour
        spot = instance_hours * self.spot_usd_per_hour
        per_minute = 1 / source_minutes if source_minutes else 0.0
        return {
            "source_minutes": source_minutes,
            "cost_on_demand_usd": on_demand,
            "cost_spot_usd": spot,
            "usd_per_source_minute_on_demand": on_demand * per_minute,
            "usd_per_source_minute_spot": spot * per_minute,
        }
