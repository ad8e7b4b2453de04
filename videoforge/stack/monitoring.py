"""The local stack's metrics endpoints, and a Prometheus config that scrapes them.

Ports are the autoscaler's own defaults (which ansible/roles/monitoring scrapes) when
they are free, so a Prometheus set up from there finds the local stack as it is.
"""

from __future__ import annotations

import json
from pathlib import Path

from gateway.settings import GatewaySettings
from notifier.settings import NotifierSettings
from processor.autoscaler.settings import AutoscalerSettings
from videoforge.stack.net import free_port, free_port_block, port_free

_DEFAULTS = AutoscalerSettings.model_fields
AUTOSCALER_PORT: int = _DEFAULTS["autoscaler_metrics_port"].default
# Local worker N serves metrics on base+N.
WORKERS_BASE_PORT: int = _DEFAULTS["autoscaler_worker_metrics_base_port"].default
NOTIFIER_PORT: int = NotifierSettings.model_fields["notifier_metrics_port"].default
GATEWAY_PORT: int = GatewaySettings.model_fields["gateway_metrics_port"].default
SCRAPE_INTERVAL = "15s"


def autoscaler_port() -> int:
    return AUTOSCALER_PORT if port_free(AUTOSCALER_PORT) else free_port()


def gateway_port() -> int:
    return GATEWAY_PORT if port_free(GATEWAY_PORT) else free_port()


def notifier_port() -> int:
    return NOTIFIER_PORT if port_free(NOTIFIER_PORT) else free_port()


def workers_base_port(count: int) -> int:
    wanted = range(WORKERS_BASE_PORT + 1, WORKERS_BASE_PORT + count + 1)
    return WORKERS_BASE_PORT if all(port_free(p) for p in wanted) else free_port_block(count)


def metrics_urls(targets: dict[str, list[str]]) -> dict[str, str]:
    """job -> the metrics URL(s) to show a person."""
    return {job: ", ".join(f"http://{t}/metrics" for t in hosts)
            for job, hosts in targets.items()}


def write_prometheus_config(path: Path, targets: dict[str, list[str]]) -> Path:
    """A prometheus.yml scraping ``targets`` (job -> ["host:port", …]).

    JSON is valid YAML, so no YAML library is needed to write it.
    """
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL,
                   "external_labels": {"platform": "videoforge", "stack": "local"}},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": hosts}]}
            for job, hosts in targets.items()
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path
