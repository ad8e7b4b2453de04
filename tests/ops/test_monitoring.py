"""The monitoring role's Prometheus and Grafana configuration, as the role renders it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ops.monitoring_config import DASHBOARDS, HERE, MonitoringConfig, alert_rules

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
SERVICES = {"gateway", "gallery", "streaming", "autoscaler", "notifier"}
FLEET_PANELS = {
    "Queue depth",
    "In flight",
    "Workers: desired vs in service vs busy",
    "Jobs per minute by outcome",
    "Encode speed (× realtime)",
    "Queue wait p50 / p95",
    "Job duration p50 / p95",
}
API_PANELS = {"Requests per second", "Latency p50 / p95", "Server errors per second"}


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([PROMTOOL, *map(str, args)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"promtool {args[:2]}:\n{result.stdout}\n{result.stderr}"
    return result


def test_alert_rules_pass_promtool_check(monitoring_config: MonitoringConfig) -> None:
    _promtool("check", "rules", monitoring_config.rules)


def test_alert_rules_cover_the_issue(monitoring_config: MonitoringConfig) -> None:
    names = {rule["alert"] for rule in alert_rules(monitoring_config)}
    assert names == {
        "DeadLetterQueueNotEmpty",
        "OldestQueuedJobTooOld",
        "NoWorkersWhileWorkIsQueued",
        "JobFailureRateHigh",
        "JobDurationP95AboveTarget",
        "ApiErrorRateHigh",
        "AutoscalerNotRunning",
        "NotifierNotRunning",
        "WebhookOutboxLagging",
    }


def test_alert_rules_unit_tests(monitoring_config: MonitoringConfig, tmp_path: Path) -> None:
    shutil.copy(monitoring_config.rules, tmp_path)
    tested = set()
    for test_file in sorted((HERE / "promtool").glob("*.test.yml")):
        shutil.copy(test_file, tmp_path)
        _promtool("test", "rules", tmp_path / test_file.name)
        for case in yaml.safe_load(test_file.read_text())["tests"]:
            tested |= {t["alertname"] for t in case.get("alert_rule_test", []) if t["exp_alerts"]}
    untested = {rule["alert"] for rule in alert_rules(monitoring_config)} - tested
    assert not untested, f"alerts never shown firing by a unit test: {untested}"


def test_scrape_config_passes_promtool_check(monitoring_config: MonitoringConfig) -> None:
    _promtool("check", "config", monitoring_config.prometheus_yml)


def test_scrape_config_covers_services_and_fleet(monitoring_config: MonitoringConfig) -> None:
    from gallery.settings import GallerySettings
    from gateway.settings import GatewaySettings
    from notifier.settings import NotifierSettings
    from processor.autoscaler.settings import AutoscalerSettings
    from streaming.settings import StreamingSettings
    from videoforge.commands.serve import DEFAULT_PORTS

    jobs = {job["job_name"]: job for job in monitoring_config.scrape_config()["scrape_configs"]}
    assert set(jobs) >= SERVICES
    # Each service is scraped on its metrics listener's default port, never its public one.
    listeners = {
        "gateway": GatewaySettings.model_fields["gateway_metrics_port"].default,
        "gallery": GallerySettings.model_fields["gallery_metrics_port"].default,
        "streaming": StreamingSettings.model_fields["streaming_metrics_port"].default,
        "autoscaler": AutoscalerSettings.model_fields["autoscaler_metrics_port"].default,
        "notifier": NotifierSettings.model_fields["notifier_metrics_port"].default,
    }
    public = set(DEFAULT_PORTS.values())
    for service in SERVICES:
        ports = {int(t.rsplit(":", 1)[1]) for t in jobs[service]["static_configs"][0]["targets"]}
        assert ports == {listeners[service]} and not ports & public, service
    worker_sd = jobs["worker"]["ec2_sd_configs"][0]
    assert worker_sd["port"] == 9101  # processor.settings.ProcessorSettings.metrics_port
    group_tag = {"name": "tag:aws:autoscaling:groupName", "values": ["videoforge-workers"]}
    assert group_tag in worker_sd["filters"]
    assert "ec2_sd_configs" in jobs["node"]


def test_aws_instances_are_found_in_the_groups_provision_makes(
        monitoring_config: MonitoringConfig) -> None:
    from gateway.settings import GatewaySettings
    from notifier.settings import NotifierSettings
    from processor.autoscaler.settings import AutoscalerSettings
    from processor.settings import ProcessorSettings
    from videoforge.provision.control import ControlSpec
    from videoforge.provision.gateway import GatewaySpec
    from videoforge.provision.network import METRICS_PORTS, NODE_EXPORTER_PORT

    workers = AutoscalerSettings.model_fields["autoscaler_asg_name"].default
    gateway, control = GatewaySpec().fleet.group_name, ControlSpec().fleet.group_name
    expected = {
        "worker": (ProcessorSettings.model_fields["metrics_port"].default, [workers]),
        "gateway": (GatewaySettings.model_fields["gateway_metrics_port"].default, [gateway]),
        "autoscaler": (AutoscalerSettings.model_fields["autoscaler_metrics_port"].default,
                       [control]),
        "notifier": (NotifierSettings.model_fields["notifier_metrics_port"].default, [control]),
        "node": (NODE_EXPORTER_PORT, [workers, gateway, control]),
    }
    # Each port is one its instances' security group opens to the monitoring host.
    opened = {"worker": METRICS_PORTS["workers"], "gateway": METRICS_PORTS["gateway"],
              "autoscaler": METRICS_PORTS["control"], "notifier": METRICS_PORTS["control"],
              "node": (NODE_EXPORTER_PORT,)}
    jobs = {job["job_name"]: job for job in monitoring_config.scrape_config()["scrape_configs"]}
    for job, (port, groups) in expected.items():
        (sd,) = jobs[job]["ec2_sd_configs"]
        assert sd["port"] == port and port in opened[job], job
        assert {"name": "tag:aws:autoscaling:groupName", "values": groups} in sd["filters"], job
        labels = {r["target_label"] for r in jobs[job]["relabel_configs"]}
        assert {"instance", "group"} <= labels, job


def test_rules_and_config_use_the_rendered_rules_dir(monitoring_config: MonitoringConfig) -> None:
    rule_files = monitoring_config.scrape_config()["rule_files"]
    assert rule_files == [f"{monitoring_config.rules.parent}/*.yml"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_is_well_formed(path: Path) -> None:
    board = json.loads(path.read_text())
    assert board["uid"].startswith("videoforge-")
    panel_ids = [panel["id"] for panel in board["panels"]]
    assert len(panel_ids) == len(set(panel_ids)), "duplicate panel ids"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], f"panel {panel['title']!r} has no query"


def test_dashboards_have_the_panels_the_issue_asks_for() -> None:
    titles = {
        path.stem: {p["title"] for p in json.loads(path.read_text())["panels"]}
        for path in DASHBOARDS
    }
    assert titles["fleet"] >= FLEET_PANELS
    assert titles["apis"] >= API_PANELS


def test_grafana_provisioning_points_at_dashboards_and_prometheus(
    monitoring_config: MonitoringConfig,
) -> None:
    provisioning = monitoring_config.grafana / "provisioning"
    source = yaml.safe_load((provisioning / "datasources" / "videoforge.yml").read_text())
    assert source["datasources"][0]["type"] == "prometheus"
    assert source["datasources"][0]["url"] == "http://127.0.0.1:9090"
    # The Lambda functions' numbers (no metrics listener there) come from CloudWatch.
    cloudwatch = source["datasources"][1]
    assert cloudwatch["type"] == "cloudwatch" and cloudwatch["jsonData"]["authType"] == "default"
    provider = yaml.safe_load((provisioning / "dashboards" / "videoforge.yml").read_text())
    dashboards_dir = Path(provider["providers"][0]["options"]["path"])
    assert sorted(p.name for p in dashboards_dir.glob("*.json")) == [p.name for p in DASHBOARDS]
