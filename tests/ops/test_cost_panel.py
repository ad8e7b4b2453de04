"""The fleet dashboard's cost-per-source-minute panel, evaluated by promtool on counters
that the cost model (common/costs.py) priced: what Grafana draws is what the model says."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

from common.costs import Prices, cost_of
from tests.ops.monitoring_config import ROLE

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
FLEET = ROLE / "files" / "dashboards" / "fleet.json"
PRICES = Prices()  # the workers and the autoscaler price at the defaults here
MINUTES = 20
# Per minute: one worker spends 50 instance-seconds on jobs and publishes 40 s of source;
# the fleet runs 2 instances (120 instance-seconds a minute: idle time is billed too).
JOB_S, SOURCE_S, FLEET_S = 50.0, 40.0, 120.0
# promtool compares sample values exactly; the panel's value is compared at 1e-9 USD.
SCALE = 1e9


def _panel(title: str) -> dict[str, object]:
    board = json.loads(FLEET.read_text())
    return next(p for p in board["panels"] if p["title"] == title)


def _counter(series: str, per_minute: float) -> dict[str, str]:
    values = " ".join(repr(per_minute * i) for i in range(MINUTES + 1))
    return {"series": series, "values": values}


def _priced(name: str, seconds_per_minute: float) -> list[dict[str, str]]:
    cost = cost_of(instance_seconds=seconds_per_minute, prices=PRICES)
    return [_counter(f'{name}{{pricing="on_demand", instance="w1"}}', cost.compute_on_demand_usd),
            _counter(f'{name}{{pricing="spot", instance="w1"}}', cost.compute_spot_usd)]


def _expected(seconds_per_minute: float) -> list[dict[str, object]]:
    cost = cost_of(instance_seconds=seconds_per_minute, source_seconds=SOURCE_S, prices=PRICES)
    return [{"labels": f'{{pricing="{pricing}"}}', "value": round(usd * SCALE)}
            for pricing, usd in (("on_demand", cost.per_source_minute(cost.compute_on_demand_usd)),
                                 ("spot", cost.per_source_minute(cost.compute_spot_usd)))]


def test_cost_per_source_minute_panel_shows_the_cost_model(tmp_path: Path) -> None:
    panel = _panel("Cost per source minute")
    exprs = {t["legendFormat"].split(",")[0]: t["expr"]  # type: ignore[index]
             for t in panel["targets"]}  # type: ignore[attr-defined]
    assert set(exprs) == {"jobs", "fleet"}
    series = [*_priced("videoforge_job_cost_usd_total", JOB_S),
              *_priced("videoforge_fleet_cost_usd_total", FLEET_S),
              _counter('videoforge_job_source_seconds_total{instance="w1"}', SOURCE_S)]
    expected = {"jobs": _expected(JOB_S), "fleet": _expected(FLEET_S)}
    tests = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": series,
            "promql_expr_test": [
                {"expr": f"round(({expr.replace('$__rate_interval', '5m')}) * {SCALE:g})",
                 "eval_time": "10m", "exp_samples": expected[which]}
                for which, expr in exprs.items()
            ],
        }],
    }
    spec = tmp_path / "cost-panel.test.yml"
    spec.write_text(yaml.safe_dump(tests))
    result = subprocess.run([PROMTOOL, "test", "rules", str(spec)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    # The figures themselves, by hand: 50 s at $0.0416/h for 40 s of source.
    assert expected["jobs"][0]["value"] == round(50 / 3600 * 0.0416 / (40 / 60) * SCALE)
