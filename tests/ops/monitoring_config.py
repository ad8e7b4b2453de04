"""The monitoring role's real output, rendered by Ansible into a test directory."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.ops.ansible_run import ANSIBLE_DIR, run_playbook

HERE = Path(__file__).resolve().parent
ROLE = ANSIBLE_DIR / "roles" / "monitoring"
PYTHON = sys.executable
DASHBOARDS = sorted((ROLE / "files" / "dashboards").glob("*.json"))


@dataclass(frozen=True)
class MonitoringConfig:
    root: Path

    @property
    def prometheus_yml(self) -> Path:
        return self.root / "prometheus" / "prometheus.yml"

    @property
    def rules(self) -> Path:
        return self.root / "prometheus" / "rules" / "videoforge-alerts.yml"

    @property
    def grafana(self) -> Path:
        return self.root / "grafana"

    def scrape_config(self) -> dict[str, Any]:
        return dict(yaml.safe_load(self.prometheus_yml.read_text()))


def render(root: Path, **overrides: Any) -> MonitoringConfig:
    """Run the role's config tasks with their files under ``root``; nothing is started."""
    root.mkdir(parents=True, exist_ok=True)
    extra_vars = {
        "monitoring_manage_services": False,
        "monitoring_prometheus_config_dir": str(root / "prometheus"),
        "monitoring_prometheus_rules_dir": str(root / "prometheus" / "rules"),
        "monitoring_prometheus_defaults_file": str(root / "prometheus.default"),
        "monitoring_prometheus_group": "root",
        "monitoring_grafana_provisioning_dir": str(root / "grafana" / "provisioning"),
        "monitoring_grafana_dashboards_dir": str(root / "grafana" / "dashboards"),
        "monitoring_grafana_group": "root",
        **overrides,
    }
    run_playbook(
        HERE / "render_monitoring.yml",
        tmp=root,
        inventory=f"localhost ansible_connection=local ansible_python_interpreter={PYTHON}\n",
        extra_vars=extra_vars,
        timeout=180,
    )
    return MonitoringConfig(root)


def alert_rules(config: MonitoringConfig) -> list[dict[str, Any]]:
    groups = yaml.safe_load(config.rules.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_exprs(path: Path) -> list[str]:
    """Every PromQL expression of a dashboard: panel targets and variable queries."""
    board = json.loads(path.read_text())
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", []) if "expr" in t]
    for variable in board.get("templating", {}).get("list", []):
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        # label_values(metric, label): only the metric is a series name.
        exprs += re.findall(r"label_values\(\s*([A-Za-z_:][\w:]*)\s*,", text)
    return exprs
