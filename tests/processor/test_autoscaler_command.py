"""``videoforge autoscaler --once`` as a real process: SQS and the database in, an Auto
Scaling group's desired capacity and a CloudWatch metric out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common import aws
from common.broker import SqsBroker
from common.messages import WakeUp
from common.settings import CommonSettings
from tests.support.autoscaling import create_group
from tests.support.aws_resources import AwsResources
from videoforge.cli import main

REPO = Path(__file__).resolve().parents[2]


def autoscaler(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "videoforge", "autoscaler", "--backend", "asg", "--once", *args],
        cwd=REPO, env={**os.environ, **env, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=60,
    )


def test_once_scales_the_group_out_with_the_queue(
        settings_env: dict[str, str], aws_resources: AwsResources) -> None:
    settings = CommonSettings(aws_endpoint_url=aws_resources.endpoint_url)
    broker = SqsBroker(aws.client("sqs", settings), queue_url=aws_resources.queue_url)
    for _ in range(12):
        broker.send(WakeUp())
    group = create_group(aws_resources.endpoint_url)

    done = autoscaler("--max", "3", env={**settings_env, "VF_AUTOSCALER_ASG_NAME": group})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("desired 3 (out)")
    assert "scaling_decision" in done.stderr  # the decision is logged with its inputs

    described = aws.client("autoscaling", settings).describe_auto_scaling_groups(
        AutoScalingGroupNames=[group])["AutoScalingGroups"][0]
    assert described["DesiredCapacity"] == 3
    metrics = aws.client("cloudwatch", settings).list_metrics(
        Namespace="VideoForge", MetricName="BacklogPerInstance",
        Dimensions=[{"Name": "AutoScalingGroupName", "Value": group}])["Metrics"]
    assert len(metrics) == 1


@pytest.mark.parametrize(("args", "extra_env", "code", "message"), [
    (["--min", "3", "--max", "1"], {}, 2, "min_size"),
    ([], {"VF_JOBS_QUEUE_NAME": "no-such-queue"}, 1, "cannot reach the job queue"),
])
def test_bad_input_and_missing_queue(
        settings_env: dict[str, str], args: list[str], extra_env: dict[str, str], code: int,
        message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # In process: both fail before the command sets up logging or signal handlers.
    for key, value in {**settings_env, **extra_env}.items():
        monkeypatch.setenv(key, value)
    assert main(["autoscaler", "--backend", "asg", "--once", *args]) == code
    assert message in capsys.readouterr().err


def _events(log: Path, name: str) -> list[dict[str, object]]:
    lines = log.read_text().splitlines() if log.exists() else []
    events = [json.loads(line) for line in lines if line.startswith("{")]
    return [e for e in events if e.get("event") == name]


def test_local_pool_starts_its_minimum_and_drains_it_on_sigterm(
        settings_env: dict[str, str], tmp_path: Path) -> None:
    pytest.importorskip("processor.worker")
    log = tmp_path / "autoscaler.log"
    env = {**os.environ, **settings_env, "PYTHONPATH": str(REPO), "VF_POLL_WAIT_S": "1",
           "VF_AUTOSCALER_CLOUDWATCH": "false", "VF_AUTOSCALER_WORKER_METRICS_BASE_PORT": "0"}
    with log.open("w") as stderr:
        autoscaler = subprocess.Popen(
            [sys.executable, "-m", "videoforge", "autoscaler", "--backend", "local",
             "--min", "2", "--max", "2", "--interval", "0.2", "--metrics-port", "0"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 60
        while len(_events(log, "worker_started")) < 2:
            assert time.monotonic() < deadline and autoscaler.poll() is None, log.read_text()
            time.sleep(0.2)
        pids = [int(str(e["pid"])) for e in _events(log, "worker_started")]

        autoscaler.send_signal(signal.SIGTERM)
        assert autoscaler.wait(timeout=60) == 0
    finally:
        if autoscaler.poll() is None:
            autoscaler.kill()
    assert len(_events(log, "worker_exited")) == 2 and _events(log, "autoscaler_stopped")
    for pid in pids:  # drained and reaped: nothing is left behind
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
