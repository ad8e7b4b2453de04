"""Real ``videoforge notifier`` processes: an event whose writer died right after its commit
is delivered by a notifier started later; a notifier killed mid-attempt loses nothing; the
process exports its metrics and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

from sqlalchemy import select

from common.db import session_factory
from common.models import DeliveryStatus, WebhookDelivery
from tests.support.local_stack import subprocess_env
from tests.support.webhooks import Receiver, add_endpoint, signature_valid
from tests.support.worker import wait_for
from videoforge.stack.net import free_port

_COMMIT_THEN_DIE = """
import os, signal, sys
from common.db import session_factory
from common.events import EventType, record_event
with session_factory(sys.argv[1])() as session:
    event = record_event(session, type=EventType.JOB_SUCCEEDED, owner_id="u1",
                         subject_id="j1", payload={"job": "j1"})
    session.commit()
    print(event.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # every process dies right after the commit
"""


def _notifier(database_url: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "videoforge", "notifier"],
        env=subprocess_env(VF_DATABASE_URL=database_url,
                           VF_WEBHOOK_ALLOWED_NETWORKS='["127.0.0.0/8"]',
                           VF_WEBHOOK_POLL_INTERVAL_S="0.1", **env),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.wait(30)


def test_an_event_committed_by_a_process_that_died_is_delivered_by_a_new_notifier(
        notifier_settings, receiver: Receiver) -> None:
    db = notifier_settings.database_url
    endpoint = add_endpoint(db, owner_id="u1", url=receiver.url())
    writer = subprocess.run([sys.executable, "-c", _COMMIT_THEN_DIE, db], capture_output=True,
                            text=True, env=subprocess_env(), timeout=60)
    assert writer.returncode == -signal.SIGKILL, writer.stderr
    event_id = writer.stdout.strip()
    port = free_port()
    proc = _notifier(db, VF_NOTIFIER_METRICS_PORT=str(port))
    try:
        [got] = receiver.wait_for(1, timeout_s=30)
        assert got.headers["VideoForge-Event-Id"] == event_id
        assert json.loads(got.body)["data"] == {"job": "j1"}
        import time

        assert signature_valid(got.headers["VideoForge-Signature"], got.body, endpoint.secret,
                               now=time.time())

        def scraped() -> str | None:
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                              timeout=2).read().decode()
            except OSError:
                return None
            return text if 'videoforge_webhook_attempts_total{outcome="succeeded"} 1.0' in \
                text else None

        metrics = wait_for(scraped, timeout=20)
        assert "videoforge_webhook_pending_deliveries" in metrics
        assert "videoforge_webhook_outbox_lag_seconds" in metrics
    finally:
        code = _stop(proc)
    assert code == 0, proc.stdout.read() if proc.stdout else ""


def test_a_notifier_killed_mid_attempt_is_replaced_without_losing_the_event(
        notifier_settings) -> None:
    db = notifier_settings.database_url
    receiver = Receiver(hold_first_s=20)  # the first attempt hangs until the kill
    try:
        add_endpoint(db, owner_id="u1", url=receiver.url())
        from tests.support.webhooks import commit_event

        event = commit_event(db, owner_id="u1")
        fast = {"VF_WEBHOOK_CONNECT_TIMEOUT_S": "0.5", "VF_WEBHOOK_READ_TIMEOUT_S": "3",
                "VF_NOTIFIER_METRICS_PORT": "0"}  # lease: 0.5 + 2 × 3 + 5 = 11.5 s
        first = _notifier(db, VF_NOTIFIER_ID="first", **fast)
        receiver.wait_for(1, timeout_s=30)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        second = _notifier(db, VF_NOTIFIER_ID="second", **fast)
        try:
            got = receiver.wait_for(2, timeout_s=40)
        finally:
            assert _stop(second) == 0
        assert [r.headers["VideoForge-Event-Id"] for r in got] == [event.id, event.id]
        assert [r.headers["VideoForge-Delivery-Attempt"] for r in got] == ["1", "2"]
        with session_factory(db)() as session:
            [delivery] = session.execute(select(WebhookDelivery)).scalars().all()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 2)
    finally:
        receiver.close()
