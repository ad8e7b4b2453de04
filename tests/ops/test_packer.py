"""The image templates (worker, gateway): formatting, structure, and validation where
plugins exist."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from tests.ops.ansible_run import ANSIBLE_DIR, REPO

PACKER_DIR = REPO / "packer"
TEMPLATE = PACKER_DIR / "worker.pkr.hcl"
SERVICE_TEMPLATE = PACKER_DIR / "service.pkr.hcl"
TEMPLATES = [TEMPLATE, SERVICE_TEMPLATE]
PACKER = shutil.which("packer")
needs_packer = pytest.mark.skipif(PACKER is None, reason="packer not installed")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    with TEMPLATE.open() as f:
        return dict(_plain(hcl2.load(f)))


def _plain(value: Any) -> Any:
    """python-hcl2's tree without its quotes and bookkeeping keys."""
    if isinstance(value, dict):
        return {
            _plain(k): _plain(v)
            for k, v in value.items()
            if k not in ("__is_block__", "__comments__")
        }
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _source(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["source"][0]["amazon-ebs"]["worker"])


def _provisioners(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (kind, body)
        for block in template["build"][0]["provisioner"]
        for kind, body in block.items()
    ]


@needs_packer
@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_template_is_formatted(path: Path) -> None:
    result = subprocess.run(
        [PACKER, "fmt", "-check", "-diff", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_service_images_are_their_playbooks_hardened_like_the_worker(
        template: dict[str, Any]) -> None:
    with SERVICE_TEMPLATE.open() as f:
        service = dict(_plain(hcl2.load(f)))
    source = dict(service["source"][0]["amazon-ebs"]["service"])
    worker = _source(template)
    # What provision looks for: videoforge-gateway-*, videoforge-control-*.
    assert source["ami_name"] == "videoforge-${var.service}-${local.timestamp}"
    for same in ("source_ami_filter", "metadata_options", "imds_support", "encrypt_boot"):
        assert source[same] == worker[same], same
    assert source["launch_block_device_mappings"][0]["encrypted"] is True
    assert source["tags"]["git_revision"] == "${var.git_revision}"
    provisioners = _provisioners(service)
    kinds = [kind for kind, _ in provisioners]
    ansible = provisioners[kinds.index("ansible")][1]
    assert ansible["playbook_file"].endswith("/../ansible/${var.service}.yml")
    after = [Path(body.get("script", "")).name
             for _, body in provisioners[kinds.index("ansible") + 1:]]
    assert after == ["cleanup.sh", "validate-service.sh"]
    variables = {name: body for block in service["variable"] for name, body in block.items()}
    assert "ffmpeg_version" not in variables and "wheel_dir" in variables
    choices = variables["service"]["validation"][0]["condition"]
    locals_ = service["locals"][0]
    for name in ("gateway", "control"):
        assert f'"{name}"' in choices and (ANSIBLE_DIR / f"{name}.yml").exists()
        assert set(locals_["units"]) == set(locals_["imports"]) == {"gateway", "control"}
    # Validation checks exactly the units the control role enables.
    control = yaml.safe_load((ANSIBLE_DIR / "roles/control/defaults/main.yml").read_text())
    assert locals_["units"]["control"].split() == [
        control[f"control_{unit}_service_name"] for unit in ("migrate", "autoscaler", "notifier")]


def test_plugins_are_declared(template: dict[str, Any]) -> None:
    plugins = template["packer"][0]["required_plugins"][0]
    assert plugins["amazon"]["source"] == "github.com/hashicorp/amazon"
    assert plugins["ansible"]["source"] == "github.com/hashicorp/ansible"


def test_variables_for_region_instance_type_and_subnet(template: dict[str, Any]) -> None:
    names = {name for block in template["variable"] for name in block}
    assert {"region", "instance_type", "subnet_id", "git_revision", "ffmpeg_version"} <= names


def test_source_is_newest_ubuntu_2404_from_canonical(template: dict[str, Any]) -> None:
    ami_filter = _source(template)["source_ami_filter"][0]
    assert ami_filter["most_recent"] is True
    assert ami_filter["filters"]["name"].endswith("/ubuntu-noble-24.04-amd64-server-*")
    assert ami_filter["owners"] == ["${local.canonical_owner_id}"]
    assert template["locals"][0]["canonical_owner_id"] == "099720109477"


def test_imdsv2_is_required(template: dict[str, Any]) -> None:
    source = _source(template)
    assert source["metadata_options"][0]["http_tokens"] == "required"
    assert source["imds_support"] == "v2.0"


def test_root_volume_and_image_are_encrypted(template: dict[str, Any]) -> None:
    source = _source(template)
    root = source["launch_block_device_mappings"][0]
    assert root["device_name"] == "/dev/sda1"
    assert root["encrypted"] is True
    assert source["encrypt_boot"] is True


def test_tags_record_revision_ffmpeg_and_source_image(template: dict[str, Any]) -> None:
    tags = _source(template)["tags"]
    assert tags["git_revision"] == "${var.git_revision}"
    assert tags["ffmpeg_version"] == "${var.ffmpeg_version}"
    assert tags["source_ami"] == "{{ .SourceAMI }}"


def test_ansible_then_cleanup_then_validation(template: dict[str, Any]) -> None:
    provisioners = _provisioners(template)
    kinds = [kind for kind, _ in provisioners]
    ansible_at = kinds.index("ansible")
    assert provisioners[ansible_at][1]["playbook_file"].endswith("/../ansible/worker.yml")
    after = [Path(body.get("script", "")).name for _, body in provisioners[ansible_at + 1 :]]
    assert after == ["cleanup.sh", "validate.sh"]
    for script in after:
        assert (PACKER_DIR / "scripts" / script).exists()


@pytest.mark.parametrize(
    "script", sorted((PACKER_DIR / "scripts").glob("*.sh")), ids=lambda p: p.name
)
def test_scripts_are_strict_bash(script: Path) -> None:
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    subprocess.run(["bash", "-n", str(script)], check=True)


def _plugins_installed() -> bool:
    """Packer >= 1.7 lists installed plugins; 1.6 has no plugins command at all."""
    if PACKER is None:
        return False
    result = subprocess.run([PACKER, "plugins", "installed"], capture_output=True, text=True)
    return result.returncode == 0 and all(p in result.stdout for p in ("amazon", "ansible"))


@pytest.mark.skipif(
    not _plugins_installed(),
    reason="packer validate needs Packer >= 1.7 with the amazon and ansible plugins "
    "(`packer init packer/worker.pkr.hcl`); not available on this machine",
)
def test_packer_validate() -> None:
    result = subprocess.run(
        [PACKER, "validate", "-var", "git_revision=0123456789abcdef", TEMPLATE.name],
        cwd=PACKER_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
