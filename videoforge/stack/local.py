"""The whole platform on one machine: the local AWS (moto, the object store, the identity
provider), the database, the gateway (with gallery and streaming mounted in-process), the
autoscaler with its local worker pool, the webhook notifier.

Everything a user makes lives in the data directory and survives a restart: the SQLite
database (unless VF_DATABASE_URL names another), the objects, the users and their ids.
Only the queue starts empty, and the jobs waiting in the database get their wake-up
messages again (processor/wakeups.py). The data directory is locked while ``up``
runs, so a second ``up`` on it refuses instead of sharing it.

:class:`LocalStack` starts the parts in dependency order and stops them in reverse
(autoscaler first so it drains its workers, then the gateway, then the local AWS).
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

from common import aws
from common.broker import SqsBroker
from common.db import migrate, session_factory
from common.settings import CommonSettings, Mode
from gallery.multipart import S3_MIN_PART_BYTES
from processor.wakeups import reconcile
from videoforge.provision import ProvisionConfig, provision
from videoforge.stack import accounts, monitoring
from videoforge.stack.datadir import DataDir, DataDirInUse, DataDirLock
from videoforge.stack.local_aws import LocalAws, start_local_aws
from videoforge.stack.moto import use_local_aws
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
    objects_url: str = ""
    identity_url: str = ""
    data_dir: Path | None = None
    requeued: int = 0                     # jobs woken up again after a restart
    metrics: dict[str, str] = field(default_factory=dict)  # job -> URL(s)
    prometheus_config: Path | None = None
    logs: Path | None = None


class StackError(RuntimeError):
    """The stack cannot start; the message says why and what to do."""


class LocalStack:
    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.data_dir = options.data_dir.resolve()
        self.paths = DataDir(self.data_dir)
        self.lock = DataDirLock(self.paths)
        self.supervisor = Supervisor(log_dir=self.paths.logs)
        self.endpoints: Endpoints | None = None

    def start(self) -> Endpoints:
        o = self.options
        try:
            self.lock.acquire()
        except DataDirInUse as exc:
            raise StackError(str(exc)) from None
        if not port_free(o.port, o.host):
            raise StackError(f"port {o.port} on {o.host} is in use: pass --port")
        if importlib.util.find_spec("moto") is None:
            raise StackError("the local stack needs moto: pip install 'videoforge[local]'")
        database_url = o.database_url or f"sqlite:///{self.paths.database}"
        # This process talks to the local AWS too (provisioning): fake credentials here.
        env = dict(use_local_aws(os.environ))
        # One machine: the relaxed mode (readable logs, a per-process grant key is fine).
        env.setdefault("VF_ENV", Mode.LOCAL.value)
        local_aws = start_local_aws(self.supervisor, self.paths, env=env,
                                    region=CommonSettings().aws_region)
        migrate(database_url)
        # A wildcard address listens everywhere; this machine's browser uses loopback.
        host = "127.0.0.1" if o.host in ("0.0.0.0", "::") else o.host
        page_url = f"http://{host}:{o.port}"
        settings = self._provision(CommonSettings(
            database_url=database_url, aws_endpoint_url=local_aws.moto_url,
            aws_endpoint_urls=local_aws.endpoint_urls, redis_url=o.redis_url,
            cognito_user_pool_id=local_aws.pool.pool_id,
            cognito_client_id=local_aws.pool.client_id),
            origins=(page_url, f"http://localhost:{o.port}"))
        requeued = self._wake_jobs(settings)

        env.update(self._service_env(settings, local_aws))
        gateway_metrics = monitoring.gateway_port()
        env["VF_GATEWAY_METRICS_PORT"] = str(gateway_metrics)
        self._start_gateway(env, page_url)
        targets = {"gateway": [f"127.0.0.1:{gateway_metrics}"], **self._start_autoscaler(env),
                   **self._start_notifier(env)}
        self.endpoints = Endpoints(
            page_url=page_url + "/",
            aws_endpoint_url=local_aws.moto_url,
            database_url=database_url,
            objects_url=local_aws.s3_url,
            identity_url=local_aws.identity_url,
            data_dir=self.data_dir,
            requeued=requeued,
            metrics=monitoring.metrics_urls(targets),
            prometheus_config=monitoring.write_prometheus_config(
                self.data_dir / "prometheus.yml", targets),
            logs=self.supervisor.log_dir,
        )
        return self.endpoints

    def _provision(self, settings: CommonSettings, *, origins: tuple[str, ...]
                   ) -> CommonSettings:
        """Buckets and queues, and the demo user in the local identity provider."""
        # The page uploads and plays straight from the object store: CORS for its origins.
        provision(settings, ProvisionConfig(cors_origins=origins, cognito=False, iam=False,
                                           settings_secret=False))
        o = self.options
        try:
            accounts.ensure_user(settings, username=o.demo_user, password=o.demo_password)
        except ClientError as exc:
            reason = exc.response.get("Error", {}).get("Message", str(exc))
            raise StackError(f"cannot create the demo user {o.demo_user!r}: {reason} "
                             "(see VF_DEMO_USER / VF_DEMO_PASSWORD)") from None
        return settings

    def _wake_jobs(self, settings: CommonSettings) -> int:
        broker = SqsBroker.from_name(aws.client("sqs", settings), settings.jobs_queue_name)
        return reconcile(broker, session_factory(settings.database_url), limit=None)

    def _service_env(self, settings: CommonSettings, local_aws: LocalAws) -> dict[str, str]:
        o = self.options
        env = {
            **local_aws.env(),
            "VF_DATABASE_URL": settings.database_url,
            "VF_AWS_REGION": settings.aws_region,
            "VF_UPLOADS_BUCKET": settings.uploads_bucket,
            "VF_MEDIA_BUCKET": settings.media_bucket,
            "VF_JOBS_QUEUE_NAME": settings.jobs_queue_name,
            "VF_DEAD_LETTER_QUEUE_NAME": settings.dead_letter_queue_name,
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
        try:
            self.supervisor.stop_all()
        finally:
            self.lock.release()
