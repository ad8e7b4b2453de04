"""The local stack's AWS: moto for the queues, alarms and metrics (whose state may start
afresh), and two servers of our own for what must survive a restart: the object store
(S3) and the identity provider (Cognito), both keeping their data in the data directory.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from videoforge.stack.datadir import DataDir
from videoforge.stack.identity.tokens import Pool
from videoforge.stack.moto import start_moto
from videoforge.stack.net import answers, free_port
from videoforge.stack.processes import Supervisor

_START_TIMEOUT_S = 30


@dataclass(frozen=True)
class LocalAws:
    moto_url: str
    s3_url: str
    identity_url: str
    pool: Pool

    @property
    def endpoint_urls(self) -> dict[str, str]:
        """The per-service overrides (VF_AWS_ENDPOINT_URLS); moto serves the rest."""
        return {"s3": self.s3_url, "cognito-idp": self.identity_url}

    def env(self) -> dict[str, str]:
        return {"VF_AWS_ENDPOINT_URL": self.moto_url,
                "VF_AWS_ENDPOINT_URLS": json.dumps(self.endpoint_urls, sort_keys=True),
                "VF_COGNITO_USER_POOL_ID": self.pool.pool_id,
                "VF_COGNITO_CLIENT_ID": self.pool.client_id}


def _serve(supervisor: Supervisor, name: str, module: str, root: Path, *,
           env: dict[str, str], extra: tuple[str, ...] = ()) -> str:
    port = free_port()
    supervisor.start(name, [sys.executable, "-m", module, "--root", str(root),
                            "--port", str(port), *extra], env=env, stop_timeout_s=10)
    url = f"http://127.0.0.1:{port}"
    supervisor.wait_until(lambda: answers(url + "/"), timeout_s=_START_TIMEOUT_S, what=name)
    return url


def start_local_aws(supervisor: Supervisor, data_dir: DataDir, *, env: dict[str, str],
                    region: str) -> LocalAws:
    _, moto_url = start_moto(supervisor, env=env)
    s3_url = _serve(supervisor, "objectstore", "videoforge.stack.objectstore",
                    data_dir.objects, env=env)
    identity_url = _serve(supervisor, "identity", "videoforge.stack.identity",
                          data_dir.identity, env=env, extra=("--region", region))
    return LocalAws(moto_url, s3_url, identity_url, Pool.local(region))
