"""Run Ansible from the tests, with the venv's tools and a clean environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "ansible"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """An Ansible command from the interpreter's venv (the tests never use a global one)."""
    return str(BIN / name)


def ansible_env(tmp: Path) -> dict[str, str]:
    # The host's pip settings point at paths that do not exist on a target; drop them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local"),
        ANSIBLE_ROLES_PATH=str(ANSIBLE_DIR / "roles"),
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_CALLBACK_RESULT_FORMAT="yaml",
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
        # One process per task on the target instead of copying each module over first.
        ANSIBLE_PIPELINING="1",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def run_playbook(
    playbook: Path, *, tmp: Path, inventory: str, extra_vars: dict[str, Any], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Apply ``playbook``; raise with Ansible's output when it fails."""
    inventory_file = tmp / "inventory.ini"
    inventory_file.write_text(inventory)
    vars_file = tmp / "extra-vars.json"
    vars_file.write_text(json.dumps(extra_vars))
    result = subprocess.run(
        [tool("ansible-playbook"), "-i", str(inventory_file), "-e", f"@{vars_file}", str(playbook)],
        cwd=tmp,
        env=ansible_env(tmp),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    (tmp / f"{playbook.stem}.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise AssertionError(
            f"ansible-playbook {playbook.name} failed ({result.returncode}):\n"
            f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
        )
    return result
