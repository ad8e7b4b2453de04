"""Apply ansible/gateway.yml for real to a throwaway Debian 12 chroot, then inspect it: the
gateway's unit (uvicorn workers, graceful stop), its environment (proxy mode to the HTTP
API), and the gateway app itself starting from the installed virtualenv."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.ansible_run import ANSIBLE_DIR
from tests.ops.baked_image import IMAGE_TEST_MARKS, baked_image, in_root, unit_settings

UNIT = "etc/systemd/system/videoforge-gateway.service"
VENV_BIN = "/opt/videoforge/venv/bin"

pytestmark = IMAGE_TEST_MARKS


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with baked_image(ANSIBLE_DIR / "gateway.yml", tmp_path_factory.mktemp("gateway-image"),
                     extra_vars={"gateway_workers": 3}) as root:
        yield root


def test_unit_runs_uvicorn_workers_and_stops_gracefully(image: Path) -> None:
    unit = unit_settings((image / UNIT).read_text())
    assert unit["ExecStart"] == [f"{VENV_BIN}/videoforge serve gateway --host 0.0.0.0 "
                                 "--port 8000 --workers 3"]
    assert unit["User"] == ["videoforge"] and unit["Restart"] == ["always"]
    assert unit["KillSignal"] == ["SIGTERM"] and unit["KillMode"] == ["mixed"]
    # Longer than the load balancer's deregistration delay (30 s): requests finish first.
    assert int(unit["TimeoutStopSec"][0]) > 30
    # Baked defaults, then the provisioned settings (fetched at boot), then local overrides.
    assert unit["EnvironmentFile"] == ["/etc/videoforge/gateway.env",
                                       "-/run/videoforge/runtime.env",
                                       "-/etc/videoforge/gateway.local.env"]
    assert "videoforge-runtime-env.service" in unit["After"][0]
    enabled = image / "etc/systemd/system/multi-user.target.wants/videoforge-gateway.service"
    assert enabled.is_symlink(), "the gateway is not enabled at boot"
    assert not (image / "etc/systemd/system/videoforge-worker.service").exists()


def test_unit_passes_systemd_analyze_verify(image: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    result = subprocess.run(["systemd-analyze", "verify", f"--root={image}", f"/{UNIT}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_environment_proxies_to_the_http_api(image: Path) -> None:
    env_file = image / "etc/videoforge/gateway.env"
    assert env_file.stat().st_mode & 0o777 == 0o640
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    assert env["VF_GATEWAY_MODE"] == '"proxy"' and env["VF_PROXY_SIGNING"] == '"sigv4"'
    assert env["VF_TRUSTED_PROXIES"] == '"1"' and env["VF_ENV"] == '"production"'
    # Metrics on their own listener, the port the gateway's security group opens to the
    # monitoring host (videoforge/provision/network.py).
    assert env["VF_GATEWAY_METRICS_PORT"] == '"9104"'


def test_the_gateway_app_builds_from_the_virtualenv_in_proxy_mode(image: Path) -> None:
    script = ("from videoforge.services import build; app = build('gateway'); "
              "print(sorted({getattr(r, 'path', '') for r in app.routes})[:3])")
    out = in_root(image, "env", "VF_GATEWAY_MODE=proxy", "VF_PROXY_SIGNING=sigv4",
                  "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x",
                  "VF_GALLERY_URL=https://api.example", "VF_STREAMING_URL=https://api.example",
                  "VF_STREAM_SIGNING_KEY=" + "k" * 32, "VF_DATABASE_URL=sqlite:////tmp/g.db",
                  f"{VENV_BIN}/python", "-c", script, user="videoforge")
    assert out.startswith("[")
