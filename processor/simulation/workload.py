"""How much worker time a source minute takes: the link between a trace and its cost.

Measured on this project's build machine (Xeon, 2 vCPUs like a t3.medium): 6 s of 1080p30
into 1080p + 720p + 480p in one x264 ``veryfast`` run took 13.4 CPU-seconds, 2.2 CPU-s
per source second, so ~67 s of wall time per source minute on 2 vCPUs. With the fixed
per-job work (download, probe, HLS packaging by stream copy, thumbnail, GIF, upload) that
is ~90 instance-seconds per source minute. 4K sources cost several times more; the mix
assumed here is mostly 1080p and below. Override with measured numbers (the worker
records each job's ``instance_seconds`` and exports ``videoforge_job_instance_seconds_total``
beside ``videoforge_job_source_seconds_total``).

Prices, and how instance time becomes dollars, are the platform's one cost model
(``common/costs.py``): the simulator asks it exactly as the worker and the gateway do.
"""

from __future__ import annotations

INSTANCE_S_PER_SOURCE_MINUTE = 90.0


def source_seconds(work_s: float,
                   instance_s_per_source_minute: float = INSTANCE_S_PER_SOURCE_MINUTE) -> float:
    """Source media that ``work_s`` instance-seconds of transcoding stand for."""
    return work_s / instance_s_per_source_minute * 60.0
