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
TEMPLATE = PACKER_DIR / "images.pkr.hcl"
IMAGES = ("worker", "gateway", "control")
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
    return dict(template["source"][0]["amazon-ebs"]["image"])


def _images(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(template["locals"][0]["images"])


def _provisioners(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (kind, body)
        for block in template["build"][0]["provisioner"]
        for kind, body in block.items()
    ]


@needs_packer
def test_template_is_formatted() -> None:
    result = subprocess.run(
        [PACKER, "fmt", "-check", "-diff", str(TEMPLATE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_one_template_makes_every_image(template: dict[str, Any]) -> None:
    """One source and one build: the images differ only in local.images."""
    assert set(template["source"][0]["amazon-ebs"]) == {"image"}
    assert len(template["build"]) == 1
    assert sorted(p.name for p in PACKER_DIR.glob("*.pkr.hcl")) == [TEMPLATE.name]
    variables = {name: body for block in template["variable"] for name, body in block.items()}
    choices = variables["image"]["validation"][0]["condition"]
    images = _images(template)
    assert set(images) == set(IMAGES)
    for name in IMAGES:
        assert f'"{name}"' in choices and (ANSIBLE_DIR / f"{name}.yml").exists()
    # What provision looks for: videoforge-worker-*, videoforge-gateway-*, videoforge-control-*.
    assert _source(template)["ami_name"] == "videoforge-${var.image}-${local.timestamp}"
    assert _source(template)["instance_type"] == (
        '${var.instance_type != "" ? var.instance_type : local.image.instance_type}')
    assert template["locals"][0]["image"] == "${local.images[var.image]}"


def test_validation_checks_the_units_each_role_enables(template: dict[str, Any]) -> None:
    images = _images(template)
    control = yaml.safe_load((ANSIBLE_DIR / "roles/control/defaults/main.yml").read_text())
    assert images["control"]["units"].split() == [
        control[f"control_{unit}_service_name"] for unit in ("migrate", "autoscaler", "notifier")]
    gateway = yaml.safe_load((ANSIBLE_DIR / "roles/gateway/defaults/main.yml").read_text())
    assert images["gateway"]["units"] == gateway["gateway_service_name"]
    processor = yaml.safe_load((ANSIBLE_DIR / "roles/processor/defaults/main.yml").read_text())
    assert images["worker"]["units"] == processor["processor_service_name"]
    # Only the worker has FFmpeg, checked against the series it was built for.
    assert images["worker"]["ffmpeg"] == "${var.ffmpeg_version}"
    assert images["gateway"]["ffmpeg"] == images["control"]["ffmpeg"] == ""
    assert images["worker"]["tags"] == {"ffmpeg_version": "${var.ffmpeg_version}"}
    (validate,) = [body for kind, body in _provisioners(template)
                   if body.get("script", "").endswith("/validate.sh")]
    assert "FFMPEG_VERSION=${local.image.ffmpeg}" in validate["environment_vars"]
    assert "SERVICES=${local.image.units}" in validate["environment_vars"]


def test_plugins_are_declared(template: dict[str, Any]) -> None:
    plugins = template["packer"][0]["required_plugins"][0]
    assert plugins["amazon"]["source"] == "github.com/hashicorp/amazon"
    assert plugins["ansible"]["source"] == "github.com/hashicorp/ansible"


def test_variables_for_region_instance_type_and_subnet(template: dict[str, Any]) -> None:
    names = {name for block in template["variable"] for name in block}
    assert {"image", "region", "instance_type", "subnet_id", "git_revision",
            "ffmpeg_version", "wheel_dir"} <= names


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


def test_tags_record_revision_and_source_image(template: dict[str, Any]) -> None:
    tags = _source(template)["tags"]
    assert "git_revision    = var.git_revision" in TEMPLATE.read_text()
    assert "local.image.tags" in tags and '{{ .SourceAMI }}' in tags


def test_ansible_then_cleanup_then_validation(template: dict[str, Any]) -> None:
    provisioners = _provisioners(template)
    kinds = [kind for kind, _ in provisioners]
    ansible_at = kinds.index("ansible")
    ansible = provisioners[ansible_at][1]
    assert ansible["playbook_file"].endswith("/../ansible/${var.image}.yml")
    assert "local.image.ansible_vars" in ansible["extra_arguments"]
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
    "(`packer init packer/images.pkr.hcl`); not available on this machine",
)
def test_packer_validate() -> None:
    result = subprocess.run(
        [PACKER, "validate", "-var", "image=worker", "-var", "git_revision=0123456789abcdef",
         TEMPLATE.name],
        cwd=PACKER_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
