"""Apply ansible/control.yml for real to a throwaway Debian 12 chroot, then inspect it: the
migrations and the autoscaler run under a database lock, the notifier has no way to the
instance's credentials, every unit reads the provisioned settings, and the installed
virtualenv turns the provisioned secret (on moto) into the environment file they read."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common import aws
from common.settings import CommonSettings
from tests.ops.ansible_run import ANSIBLE_DIR
from tests.ops.baked_image import IMAGE_TEST_MARKS, baked_image, in_root, unit_settings
from videoforge.provision import runtime_config

VENV_BIN = "/opt/videoforge/venv/bin"
UNITS = "etc/systemd/system"
SERVICES = ("videoforge-migrate", "videoforge-autoscaler", "videoforge-notifier")
ENVIRONMENT_FILES = ["/etc/videoforge/control.env", "-/run/videoforge/runtime.env",
                     "-/etc/videoforge/control.local.env"]
METADATA = "169.254.169.254/32 fd00:ec2::254/128"

pytestmark = IMAGE_TEST_MARKS


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with baked_image(ANSIBLE_DIR / "control.yml",
                     tmp_path_factory.mktemp("control-image")) as root:
        yield root


def _unit(image: Path, name: str) -> dict[str, list[str]]:
    return unit_settings((image / UNITS / f"{name}.service").read_text())


def test_migrations_and_the_autoscaler_hold_a_lock(image: Path) -> None:
    migrate = _unit(image, "videoforge-migrate")
    assert migrate["Type"] == ["oneshot"] and migrate["Restart"] == ["on-failure"]
    assert migrate["ExecStart"] == [f"{VENV_BIN}/videoforge singleton --poll 5 migrate -- "
                                    "migrate"]
    autoscaler = _unit(image, "videoforge-autoscaler")
    assert autoscaler["ExecStart"] == [f"{VENV_BIN}/videoforge singleton --poll 5 "
                                       "--kill-after 30 autoscaler -- autoscaler "
                                       "--metrics-port 9102"]
    assert autoscaler["Restart"] == ["always"]
    for unit in (autoscaler, _unit(image, "videoforge-notifier")):
        assert "videoforge-migrate.service" in unit["After"][0]
    env = dict(line.split("=", 1) for line in
               (image / "etc/videoforge/control.env").read_text().splitlines() if "=" in line)
    assert env["VF_AUTOSCALER_BACKEND"] == '"asg"'


def test_the_notifier_drains_and_cannot_reach_instance_credentials(image: Path) -> None:
    notifier = _unit(image, "videoforge-notifier")
    assert notifier["ExecStart"] == [f"{VENV_BIN}/videoforge notifier --metrics-port 9103"]
    assert notifier["KillSignal"] == ["SIGTERM"]
    env = (image / "etc/videoforge/control.env").read_text()
    drain = int(env.split('VF_NOTIFIER_DRAIN_TIMEOUT_S="', 1)[1].split('"')[0])
    assert int(notifier["TimeoutStopSec"][0]) > drain
    assert notifier["IPAddressDeny"] == [METADATA]
    assert _unit(image, "videoforge-migrate")["IPAddressDeny"] == [METADATA]
    # The autoscaler is the one that calls AWS (the queue, the group): it keeps the way.
    assert "IPAddressDeny" not in _unit(image, "videoforge-autoscaler")


def test_every_unit_reads_the_provisioned_settings_and_starts_at_boot(image: Path) -> None:
    wants = image / UNITS / "multi-user.target.wants"
    for name in SERVICES:
        unit = _unit(image, name)
        assert unit["User"] == ["videoforge"], name
        assert unit["EnvironmentFile"] == ENVIRONMENT_FILES, name
        assert "videoforge-runtime-env.service" in unit["Wants"][0], name
        assert unit["NoNewPrivileges"] == ["yes"] and unit["ProtectSystem"] == ["strict"]
        assert (wants / f"{name}.service").is_symlink(), f"{name} is not enabled at boot"
    runtime = _unit(image, "videoforge-runtime-env")
    assert runtime["ConditionPathExists"] == ["/etc/videoforge/instance.env"]
    assert runtime["ExecStart"] == [f"{VENV_BIN}/videoforge runtime-env --output "
                                    "/run/videoforge/runtime.env"]
    assert runtime["RuntimeDirectory"] == ["videoforge"]
    assert (wants / "videoforge-runtime-env.service").is_symlink()
    assert not (image / UNITS / "videoforge-worker.service").exists()
    assert not (image / UNITS / "videoforge-gateway.service").exists()


def test_units_pass_systemd_analyze_verify(image: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    units = [f"/{UNITS}/{name}.service" for name in (*SERVICES, "videoforge-runtime-env")]
    result = subprocess.run(["systemd-analyze", "verify", f"--root={image}", *units],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_installed_command_writes_the_provisioned_settings(
        image: Path, moto_endpoint: str) -> None:
    # The chroot shares this host's network, so its virtualenv reaches the moto server.
    sm: Any = aws.client("secretsmanager", CommonSettings(aws_endpoint_url=moto_endpoint))
    name = runtime_config.secret_name(f"vf-{uuid.uuid4().hex[:8]}")
    runtime_config.ensure(sm, name=name, values={"VF_DATABASE_URL": "postgresql://db/vf"})
    (image / "var/lib/videoforge/run").mkdir(parents=True, exist_ok=True)
    shutil.chown(image / "var/lib/videoforge/run", "root", "root")
    (image / "var/lib/videoforge/run").chmod(0o777)
    out = in_root(image, "env", f"VF_AWS_ENDPOINT_URL={moto_endpoint}",
                  f"VF_RUNTIME_SECRET={name}", "AWS_ACCESS_KEY_ID=testing",
                  "AWS_SECRET_ACCESS_KEY=testing", f"{VENV_BIN}/videoforge", "runtime-env",
                  "--output", "/var/lib/videoforge/run/runtime.env", user="videoforge")
    assert "1 settings" in out
    written = image / "var/lib/videoforge/run/runtime.env"
    assert 'VF_DATABASE_URL="postgresql://db/vf"' in written.read_text()
    assert written.stat().st_mode & 0o777 == 0o640


def test_the_control_services_import_from_the_virtualenv(image: Path) -> None:
    in_root(image, f"{VENV_BIN}/python", "-c",
            "import notifier.service, processor.autoscaler.factory, videoforge.singleton",
            user="videoforge")
