"""The whole platform on one machine: moto, the database, the gateway (with gallery and
streaming mounted in-process), the autoscaler with its local worker pool, the webhook
notifier.

:class:`LocalStack` starts the parts in dependency order and stops them in reverse
(autoscaler first so it drains its workers, then the gateway, then moto).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from botocore.exceptions import ClientError

from common.db import migrate
from common.settings import CommonSettings
from gallery.uploads import S3_MIN_PART_BYTES
from videoforge.provision import ProvisionConfig, provision
from videoforge.stack import accounts, monitoring
from videoforge.stack.moto import start_moto, use_local_aws
from videoforge.stack.net import answers, port_free
from videoforge.stack.processes import Supervisor

# Local pool workers get this long to finish their job on Ctrl-C before they are killed
# (they release the job back to the queue when they stop early).
DRAIN_TIMEOUT_S = 15.0
AUTOSCALER_INTERVAL_S = 2.0
HEARTBEAT_INTERVAL_S = 2.0
STARTUP_TIMEOUT_S = 60.0
# The notifier's attempts in flight finish within their budget (25 s by default).
NOTIFIER_STOP_TIMEOUT_S = 35.0
LOOPBACK_NETWORKS = ["127.0.0.0/8", "::1/128"]


@dataclass
class StackOptions:
    data_dir: Path = Path(".videoforge")
    host: str = "127.0.0.1"
    port: int = 8000
    max_workers: int = 2
    database_url: str | None = None      # None: SQLite in data_dir
    redis_url: str | None = None         # None: in-process rate limits
    demo_user: str = accounts.DEFAULT_DEMO_USER
    demo_password: str = accounts.DEFAULT_DEMO_PASSWORD

    @classmethod
    def from_env(cls, **overrides: object) -> StackOptions:
        env = os.environ
        base = cls(
            database_url=env.get("VF_DATABASE_URL") or None,
            redis_url=env.get("VF_REDIS_URL") or None,
            demo_user=env.get("VF_DEMO_USER") or accounts.DEFAULT_DEMO_USER,
            demo_password=env.get("VF_DEMO_PASSWORD") or accounts.DEFAULT_DEMO_PASSWORD,
        )
        for name, value in overrides.items():
            if value is not None:
                setattr(base, name, value)
        return base


@dataclass
class Endpoints:
    page_url: str
    aws_endpoint_url: str
    database_url: str
    metrics: dict[str, str] = field(default_factory=dict)  # job -> URL(s)
    prometheus_config: Path | None = None
    logs: Path | None = None


class StackError(RuntimeError):
    """The stack cannot start; the message says why and what to do."""


class LocalStack:
    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.data_dir = options.data_dir.resolve()
        self.supervisor = Supervisor(log_dir=self.data_dir / "logs")
        self.endpoints: Endpoints | None = None

    def start(self) -> Endpoints:
        o = self.options
        if not port_free(o.port, o.host):
            raise StackError(f"port {o.port} on {o.host} is in use: pass --port")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        database_url = o.database_url or self._fresh_sqlite()
        # This process talks to moto too (provisioning): fake credentials here as well.
        env = dict(use_local_aws(os.environ))
        if importlib.util.find_spec("moto") is None:
            raise StackError("the local stack needs moto: pip install 'videoforge[local]'")
        _, moto_url = start_moto(self.supervisor, env=env)
        migrate(database_url)
        # A wildcard address listens everywhere; this machine's browser uses loopback.
        host = "127.0.0.1" if o.host in ("0.0.0.0", "::") else o.host
        page_url = f"http://{host}:{o.port}"
        settings = self._provision(CommonSettings(
            database_url=database_url, aws_endpoint_url=moto_url, redis_url=o.redis_url),
            origins=(page_url, f"http://localhost:{o.port}"))

        env.update(self._service_env(settings))
        self._start_gateway(env, page_url)
        targets = {"gateway": [f"{host}:{o.port}"], **self._start_autoscaler(env),
                   **self._start_notifier(env)}
        self.endpoints = Endpoints(
            page_url=page_url + "/",
            aws_endpoint_url=moto_url,
            database_url=database_url,
            metrics=monitoring.metrics_urls(targets),
            prometheus_config=monitoring.write_prometheus_config(
                self.data_dir / "prometheus.yml", targets),
            logs=self.supervisor.log_dir,
        )
        return self.endpoints

    def _provision(self, settings: CommonSettings, *, origins: tuple[str, ...]
                   ) -> CommonSettings:
        """Buckets, queues and Cognito in moto, and the demo user; returns ``settings``
        completed with the user pool and app client ids."""
        # The page uploads and plays straight from the moto endpoint: CORS for its origins.
        report = provision(settings, ProvisionConfig(cors_origins=origins))
        settings = settings.model_copy(update={
            "cognito_user_pool_id": report.outputs["user_pool_id"],
            "cognito_client_id": report.outputs["app_client_id"]})
        o = self.options
        try:
            accounts.ensure_user(settings, username=o.demo_user, password=o.demo_password)
        except ClientError as exc:
            reason = exc.response.get("Error", {}).get("Message", str(exc))
            raise StackError(f"cannot create the demo user {o.demo_user!r}: {reason} "
                             "(see VF_DEMO_USER / VF_DEMO_PASSWORD)") from None
        return settings

    def _fresh_sqlite(self) -> str:
        # moto keeps its objects in memory, so rows from an earlier run would point at
        # media that no longer exists: each run starts with an empty database.
        db = self.data_dir / "videoforge.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{db}"

    def _service_env(self, settings: CommonSettings) -> dict[str, str]:
        o = self.options
        env = {
            "VF_DATABASE_URL": settings.database_url,
            "VF_AWS_ENDPOINT_URL": str(settings.aws_endpoint_url),
            "VF_AWS_REGION": settings.aws_region,
            "VF_UPLOADS_BUCKET": settings.uploads_bucket,
            "VF_MEDIA_BUCKET": settings.media_bucket,
            "VF_JOBS_QUEUE_NAME": settings.jobs_queue_name,
            "VF_DEAD_LETTER_QUEUE_NAME": settings.dead_letter_queue_name,
            "VF_COGNITO_USER_POOL_ID": str(settings.cognito_user_pool_id),
            "VF_COGNITO_CLIENT_ID": str(settings.cognito_client_id),
            "VF_HOST": o.host,
            "VF_PORT": str(o.port),
            "VF_GATEWAY_MODE": "mount",
            # S3's smallest part: a dropped connection costs the least re-upload.
            "VF_MULTIPART_PART_BYTES": str(S3_MIN_PART_BYTES),
            # Webhook endpoints on this machine (a receiver you run locally) are allowed.
            "VF_WEBHOOK_ALLOWED_NETWORKS": json.dumps(LOOPBACK_NETWORKS),
            "PYTHONUNBUFFERED": "1",
        }
        if o.redis_url:
            env["VF_REDIS_URL"] = o.redis_url
        return env

    def _start_gateway(self, env: dict[str, str], page_url: str) -> None:
        self.supervisor.start("gateway", [sys.executable, "-m", "videoforge", "serve", "gateway"],
                              env=env, stop_timeout_s=10)
        self.supervisor.wait_until(lambda: answers(page_url + "/"),
                                   timeout_s=STARTUP_TIMEOUT_S, what="the gateway")

    def _start_autoscaler(self, env: dict[str, str]) -> dict[str, list[str]]:
        """Start the autoscaler; returns the metrics targets of it and its workers."""
        metrics_port = monitoring.autoscaler_port()
        workers_base = monitoring.workers_base_port(self.options.max_workers)
        env = {
            **env,
            "VF_AUTOSCALER_BACKEND": "local",
            "VF_AUTOSCALER_INTERVAL_S": str(AUTOSCALER_INTERVAL_S),
            "VF_AUTOSCALER_MIN_SIZE": "1",
            "VF_AUTOSCALER_MAX_SIZE": str(self.options.max_workers),
            "VF_AUTOSCALER_METRICS_PORT": str(metrics_port),
            "VF_AUTOSCALER_DRAIN_TIMEOUT_S": str(DRAIN_TIMEOUT_S),
            "VF_AUTOSCALER_WARMUP_S": "10",
            "VF_AUTOSCALER_SCALE_IN_WINDOW_S": "60",
            # Workers report progress (and extend their message) this often: live bars.
            "VF_HEARTBEAT_INTERVAL_S": str(HEARTBEAT_INTERVAL_S),
            # Local worker N serves its metrics on base+N.
            "VF_AUTOSCALER_WORKER_METRICS_BASE_PORT": str(workers_base),
        }
        self.supervisor.start("autoscaler",
                              [sys.executable, "-m", "videoforge", "autoscaler",
                               "--backend", "local"],
                              env=env, stop_timeout_s=DRAIN_TIMEOUT_S + 10)
        workers = range(workers_base + 1, workers_base + self.options.max_workers + 1)
        # "Up" means the fleet is there: the controller, and the pool's first worker.
        for port, what in ((metrics_port, "the autoscaler"), (workers[0], "the first worker")):
            url = f"http://127.0.0.1:{port}/metrics"
            self.supervisor.wait_until(partial(answers, url), timeout_s=STARTUP_TIMEOUT_S,
                                       what=what)
        return {"autoscaler": [f"127.0.0.1:{metrics_port}"],
                "worker": [f"127.0.0.1:{port}" for port in workers]}

    def _start_notifier(self, env: dict[str, str]) -> dict[str, list[str]]:
        """Start the webhook notifier; returns its metrics target."""
        port = monitoring.notifier_port()
        self.supervisor.start("notifier", [sys.executable, "-m", "videoforge", "notifier"],
                              env={**env, "VF_NOTIFIER_METRICS_PORT": str(port)},
                              stop_timeout_s=NOTIFIER_STOP_TIMEOUT_S)
        self.supervisor.wait_until(partial(answers, f"http://127.0.0.1:{port}/metrics"),
                                   timeout_s=STARTUP_TIMEOUT_S, what="the notifier")
        return {"notifier": [f"127.0.0.1:{port}"]}

    def stop(self) -> None:
        self.supervisor.stop_all()
