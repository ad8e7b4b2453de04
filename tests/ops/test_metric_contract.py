"""Dashboards and alert rules may only use metrics that the code exports."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ops.monitoring_config import DASHBOARDS, MonitoringConfig, alert_rules, dashboard_exprs
from tests.ops.promql import exported_names, is_external, metric_names


def _unknown(exprs: list[str]) -> set[str]:
    exported = exported_names()
    referenced = set().union(*map(metric_names, exprs)) if exprs else set()
    return {name for name in referenced if name not in exported and not is_external(name)}


def test_alert_rules_reference_only_exported_metrics(monitoring_config: MonitoringConfig) -> None:
    exprs = [rule["expr"] for rule in alert_rules(monitoring_config)]
    assert exprs
    assert _unknown(exprs) == set()


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_references_only_exported_metrics(path: Path) -> None:
    exprs = dashboard_exprs(path)
    assert exprs
    assert _unknown(exprs) == set()


def test_an_invented_metric_is_caught() -> None:
    assert _unknown(["sum(rate(videoforge_jobs_total[5m])) / videoforge_made_up_total"]) == {
        "videoforge_made_up_total"
    }
    assert _unknown(['up{job="worker"} == 0 or node_load1 > 4']) == set()


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (service, le) (rate(a_bucket{service=~"$service"}[$__rate_interval]))',
            {"a_bucket"},
        ),
        ("x > 0 and on() y < 1", {"x", "y"}),
        (
            "histogram_quantile(0.95, sum without (instance) (rate(h_bucket[5m]))) > 1e3",
            {"h_bucket"},
        ),
        ("topk(5, m offset 5m)", {"m"}),
    ],
)
def test_metric_names_are_found_in_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names
