"""ansible/ passes ansible-lint's production profile and a syntax check, and every
setting a role uses is declared in its defaults."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ops.ansible_run import ANSIBLE_DIR, REPO, ansible_env, tool

PLAYBOOKS = sorted(ANSIBLE_DIR.glob("*.yml"))
ROLES = sorted(p for p in (ANSIBLE_DIR / "roles").iterdir() if p.is_dir())


def test_ansible_lint_production_profile(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            tool("ansible-lint"),
            "--offline",
            "-c",
            str(ANSIBLE_DIR / ".ansible-lint"),
            str(ANSIBLE_DIR),
        ],
        cwd=REPO,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.name)
def test_playbook_syntax(playbook: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [tool("ansible-playbook"), "--syntax-check", "-i", "localhost,", str(playbook)],
        cwd=tmp_path,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_settings_are_all_in_defaults(role: Path) -> None:
    defaults = set(yaml.safe_load((role / "defaults" / "main.yml").read_text()))
    assert (role / "meta" / "main.yml").exists()
    sources = [p for d in ("tasks", "handlers", "templates") for p in (role / d).glob("*")]
    text = "\n".join(p.read_text() for p in sources)
    # Facts a role computes itself are not settings.
    computed = set(re.findall(r"^\s+register:\s+(\w+)", text, re.M))
    computed |= set(re.findall(r"set_fact:\n\s+(\w+):", text))
    used = set(re.findall(rf"\b({role.name}_[a-z0-9_]+)\b", text))
    assert used - computed - defaults == set()
    assert defaults - used == set(), "defaults nobody reads"
