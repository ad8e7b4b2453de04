"""The local AWS endpoint: a moto server in its own process on a free loopback port."""

from __future__ import annotations

import sys
from collections.abc import MutableMapping

from videoforge.stack.net import answers, free_port
from videoforge.stack.processes import Child, Supervisor

# Credentials that only moto accepts: the local stack must never reach real AWS, even
# when the user's shell holds real keys or a profile.
_LOCAL_AWS = {"AWS_ACCESS_KEY_ID": "videoforge-local",
              "AWS_SECRET_ACCESS_KEY": "videoforge-local",
              "AWS_DEFAULT_REGION": "us-east-1"}
_REAL_AWS = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
             "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")


def use_local_aws(env: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """``env`` (changed in place and returned) with moto's fake credentials only."""
    for name in _REAL_AWS:
        env.pop(name, None)
    env.update(_LOCAL_AWS)
    return env


def start_moto(supervisor: Supervisor, *, env: dict[str, str], port: int = 0) -> tuple[Child, str]:
    """Start ``moto.server`` and wait until it answers; returns the child and its URL."""
    port = port or free_port()
    child = supervisor.start(
        "moto",
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stop_timeout_s=5,
    )
    url = f"http://127.0.0.1:{port}"
    supervisor.wait_until(lambda: answers(f"{url}/moto-api/"), timeout_s=30, what="moto")
    return child, url
