"""Apply ansible/worker.yml for real to a throwaway Debian 12 chroot, then inspect it.

A chroot because this machine has no Docker engine and no VMs; it is a real Debian
filesystem where apt, users, files and the virtualenv are real. What it cannot cover is
systemd at runtime (nothing runs as PID 1 in it): services are enabled, never started.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import hcl2
import pytest

from tests.ops.ansible_run import ANSIBLE_DIR, REPO
from tests.ops.baked_image import IMAGE_TEST_MARKS, baked_image, in_root, unit_settings

UNIT = "etc/systemd/system/videoforge-worker.service"
VENV_BIN = "/opt/videoforge/venv/bin"

pytestmark = IMAGE_TEST_MARKS


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A Debian 12 root with the worker playbook applied."""
    with baked_image(ANSIBLE_DIR / "worker.yml", tmp_path_factory.mktemp("worker-image")) as root:
        yield root


def test_service_user_is_a_locked_system_account(image: Path) -> None:
    entries = {
        line.split(":")[0]: line.split(":")
        for line in (image / "etc/passwd").read_text().splitlines()
    }
    user = entries["videoforge"]
    assert int(user[2]) < 1000, "not a system account"
    assert user[6] == "/usr/sbin/nologin"
    shadow = {
        line.split(":")[0]: line.split(":")[1]
        for line in (image / "etc/shadow").read_text().splitlines()
    }
    assert shadow["videoforge"].startswith("!"), "password login must be locked"


def test_worker_unit_runs_the_worker_as_the_service_user(image: Path) -> None:
    unit = unit_settings((image / UNIT).read_text())
    assert unit["ExecStart"][0].startswith(f"{VENV_BIN}/videoforge worker")
    assert unit["User"] == ["videoforge"]
    assert unit["Restart"] == ["always"]
    assert unit["KillSignal"] == ["SIGTERM"]
    assert int(unit["TimeoutStopSec"][0]) >= 600, "too short for a job to drain"
    assert unit["WantedBy"] == ["multi-user.target"]
    assert unit["EnvironmentFile"] == ["/etc/videoforge/worker.env",
                                       "-/run/videoforge/runtime.env",
                                       "-/etc/videoforge/worker.local.env"]
    enabled = image / "etc/systemd/system/multi-user.target.wants/videoforge-worker.service"
    assert enabled.is_symlink(), "the worker is not enabled at boot"


def test_worker_unit_passes_systemd_analyze_verify(image: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={image}", f"/{UNIT}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_environment_file_is_private_to_the_service_group(image: Path) -> None:
    env_file = image / "etc/videoforge/worker.env"
    assert env_file.stat().st_mode & 0o777 == 0o640
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    assert env["VF_ENV"] == '"production"'
    assert env["VF_PROTECTION"] == '"autoscaling"'
    unit = unit_settings((image / UNIT).read_text())
    drain = float(env["VF_DRAIN_TIMEOUT_S"].strip('"'))
    assert drain < int(unit["TimeoutStopSec"][0]), "systemd would kill a draining worker"


def test_videoforge_runs_from_the_virtualenv_as_the_service_user(image: Path) -> None:
    out = in_root(image, f"{VENV_BIN}/videoforge", "--help", user="videoforge")
    assert "worker" in out


def test_ffmpeg_node_exporter_and_hardened_ssh_are_installed(image: Path) -> None:
    assert in_root(image, "ffmpeg", "-hide_banner", "-version").startswith("ffmpeg version")
    wants = image / "etc/systemd/system/multi-user.target.wants"
    assert (wants / "chrony.service").is_symlink(), "chrony is not enabled at boot"
    assert (image / "usr/bin/prometheus-node-exporter").exists()
    hardening = (image / "etc/ssh/sshd_config.d/10-videoforge-hardening.conf").read_text()
    assert "PasswordAuthentication no" in hardening
    effective = in_root(image, "/usr/sbin/sshd", "-T")
    assert "permitrootlogin no" in effective
    assert "passwordauthentication no" in effective


# Last on purpose: it deletes the SSH host keys the tests above rely on.
def test_packer_cleanup_then_validation_pass(image: Path) -> None:
    scripts = image / "run/packer-scripts"
    shutil.copytree(REPO / "packer" / "scripts", scripts)
    (image / "root/.ssh").mkdir(mode=0o700, exist_ok=True)
    (image / "root/.ssh/authorized_keys").write_text("ssh-ed25519 AAAA build-key\n")
    in_root(image, "bash", "/run/packer-scripts/cleanup.sh")
    assert not list((image / "etc/ssh").glob("ssh_host_*"))
    assert not (image / "root/.ssh/authorized_keys").exists()
    # What packer/images.pkr.hcl has validate.sh check on the worker image.
    with (REPO / "packer" / "images.pkr.hcl").open() as f:
        worker = hcl2.load(f)["locals"][0]["images"]["worker"]
    out = in_root(
        image,
        "env",
        "FFMPEG_VERSION=5.1",
        f"VENV={VENV_BIN.rsplit('/', 1)[0]}",
        f"SERVICES={worker['units'].strip(chr(34))}",
        f"IMPORTS={worker['imports'].strip(chr(34))}",
        "bash",
        "/run/packer-scripts/validate.sh",
    )
    assert "validate: ok" in out
