"""Prometheus metrics of the fleet: the worker and the autoscaler.

Names are a contract with ansible/ dashboards and alert rules (tests check it).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from common.costs import Cost, Prices, cost_of

_DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400)

# --- worker -----------------------------------------------------------------------
JOBS = Counter(
    "videoforge_jobs_total",
    "Jobs finished by this worker, by outcome (succeeded, failed, cancelled, released). "
    "A chunked job counts once, by the task that ends it (its stitch, or a task failing "
    "or cancelling it).",
    ["outcome"],
)
TASKS = Counter(
    "videoforge_tasks_total",
    "Chunked jobs' tasks finished by this worker, by kind (audio, chunk, stitch) and "
    "outcome.",
    ["kind", "outcome"],
)
JOB_DURATION = Histogram(
    "videoforge_job_duration_seconds",
    "Wall time from claim to outcome of a job.",
    buckets=_DURATION_BUCKETS,
)
QUEUE_WAIT = Histogram(
    "videoforge_queue_wait_seconds",
    "Time a job waited in the queue between submission and claim.",
    buckets=_DURATION_BUCKETS,
)
ENCODE_SPEED = Gauge(
    "videoforge_encode_speed_ratio",
    "Encode speed of the current or last job as a multiple of realtime.",
)
JOBS_IN_FLIGHT = Gauge(
    "videoforge_jobs_in_flight",
    "Jobs or chunked jobs' tasks this worker holds right now (0 or 1).",
)

# --- cost (dollars from common/costs.py at the configured prices) ---------------------
# Instance time is counted for every attempt (a released or failed one was paid for too);
# source seconds and stored bytes only for what was published. Their ratio is the cost
# per source minute on the fleet dashboard.
PRICINGS = ("on_demand", "spot")
JOB_INSTANCE_SECONDS = Counter(
    "videoforge_job_instance_seconds_total",
    "Instance-seconds this worker spent on job attempts, whatever their outcome.",
)
JOB_COST = Counter(
    "videoforge_job_cost_usd_total",
    "Compute cost of this worker's job attempts, by pricing (on_demand, spot).",
    ["pricing"],
)
JOB_SOURCE_SECONDS = Counter(
    "videoforge_job_source_seconds_total",
    "Seconds of source media in the jobs this worker published.",
)
JOB_STORED_BYTES = Counter(
    "videoforge_job_stored_bytes_total",
    "Bytes of the assets this worker published.",
)

# --- autoscaler ---------------------------------------------------------------------
QUEUE_VISIBLE = Gauge("videoforge_queue_visible_messages", "Messages waiting in the job queue.")
QUEUE_IN_FLIGHT = Gauge(
    "videoforge_queue_inflight_messages", "Messages received by workers, not yet deleted."
)
DLQ_MESSAGES = Gauge("videoforge_dlq_messages", "Messages in the dead-letter queue.")
OLDEST_QUEUED_AGE = Gauge(
    "videoforge_oldest_queued_job_age_seconds", "Age of the oldest job still QUEUED."
)
QUEUED_WORK = Gauge(
    "videoforge_queued_work_seconds", "Estimated encode seconds of queued and running work."
)
FLEET_DESIRED = Gauge("videoforge_fleet_desired_size", "Fleet size the autoscaler asked for.")
FLEET_IN_SERVICE = Gauge("videoforge_fleet_in_service", "Workers in service.")
FLEET_PENDING = Gauge("videoforge_fleet_pending", "Workers launching, not yet in service.")
FLEET_BUSY = Gauge("videoforge_fleet_busy", "Workers holding a job.")
BACKLOG_PER_INSTANCE = Gauge(
    "videoforge_backlog_per_instance", "Queue messages per in-service worker."
)
SCALING_DECISIONS = Counter(
    "videoforge_scaling_decisions_total", "Autoscaler decisions, by direction.", ["direction"]
)
FLEET_INSTANCE_SECONDS = Counter(
    "videoforge_fleet_instance_seconds_total",
    "Instance-seconds the fleet ran (in service or launching; busy, idle and booting).",
)
FLEET_COST = Counter(
    "videoforge_fleet_cost_usd_total",
    "What the fleet's instance time cost, by pricing (on_demand, spot).",
    ["pricing"],
)


def count_cost(cost: Cost, *, seconds: Counter, usd: Counter) -> None:
    """Add ``cost`` to an instance-seconds counter and its dollars-by-pricing counter."""
    seconds.inc(cost.instance_seconds)
    usd.labels("on_demand").inc(cost.compute_on_demand_usd)
    usd.labels("spot").inc(cost.compute_spot_usd)



def count_attempt(seconds: float, prices: Prices) -> None:
    """A job attempt took ``seconds`` of this worker's time (whatever its outcome)."""
    count_cost(cost_of(instance_seconds=max(0.0, seconds), prices=prices),
               seconds=JOB_INSTANCE_SECONDS, usd=JOB_COST)


def count_published(*, source_seconds: float | None, stored_bytes: int) -> None:
    """A job published ``stored_bytes`` of assets for ``source_seconds`` of source."""
    JOB_SOURCE_SECONDS.inc(max(0.0, source_seconds or 0.0))
    JOB_STORED_BYTES.inc(max(0, stored_bytes))

# Every pricing's series exists from the start (at 0), so rates over it are defined.
for _pricing in PRICINGS:
    JOB_COST.labels(_pricing)
    FLEET_COST.labels(_pricing)
