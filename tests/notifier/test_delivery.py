"""Delivery to a real HTTP receiver on loopback: signed, retried with backoff until the
receiver recovers, duplicates recognisable by their event id, nothing for a rolled-back
change, the 24-hour horizon on an injected clock, several notifiers sharing the work."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from common.db import session_factory
from common.events import EventType, record_event
from common.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from common.webhook_deliveries import RETRY_HORIZON
from notifier.service import Notifier
from tests.support.webhooks import Receiver, add_endpoint, commit_event, signature_valid


def _deliveries(database_url: str) -> list[WebhookDelivery]:
    with session_factory(database_url)() as session:
        return list(session.execute(select(WebhookDelivery)
                                    .order_by(WebhookDelivery.created_at)).scalars())


def _until_settled(notifier: Notifier, clock, database_url: str, *, max_steps: int = 200
                   ) -> list[datetime]:
    """Step the notifier, moving the clock to each retry, until nothing is pending;
    returns the time of every attempt."""
    attempts = []
    for _ in range(max_steps):
        if notifier.step():
            attempts.append(clock.now)
        notifier.drain(10)
        pending = [d for d in _deliveries(database_url) if d.status == DeliveryStatus.PENDING]
        if not pending:
            return attempts
        clock.now = max(clock.now, min(d.next_attempt_at for d in pending))
    raise AssertionError("deliveries still pending")


def test_retries_back_off_until_the_receiver_recovers(notifier, notifier_settings, clock,
                                                      receiver) -> None:
    receiver.fail_first = 3
    db = notifier_settings.database_url
    endpoint = add_endpoint(db, owner_id="u1", url=receiver.url("/hooks?src=vf"))
    event = commit_event(db, owner_id="u1", type=EventType.JOB_SUCCEEDED)
    times = _until_settled(notifier, clock, db)

    got = receiver.wait_for(4)
    assert len(got) == 4 and all(r.path == "/hooks?src=vf" for r in got)
    # Every attempt is the same event, byte for byte: a duplicate is recognisable.
    assert {r.body for r in got} == {event.body.encode()}
    assert {r.headers["VideoForge-Event-Id"] for r in got} == {event.id}
    assert json.loads(got[0].body)["id"] == event.id
    assert [r.headers["VideoForge-Delivery-Attempt"] for r in got] == ["1", "2", "3", "4"]
    for r, at in zip(got, times, strict=True):
        assert r.headers["Content-Type"] == "application/json"
        assert r.headers["VideoForge-Event-Type"] == "job.succeeded"
        assert signature_valid(r.headers["VideoForge-Signature"], r.body, endpoint.secret,
                               now=at.timestamp())
    # Backoff: retry n waits between half and all of 10 s × 2^(n-1).
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    for n, gap in enumerate(gaps, start=1):
        assert 10 * 2 ** (n - 1) / 2 <= gap <= 10 * 2 ** (n - 1), gaps
    [delivery] = _deliveries(db)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.SUCCEEDED, 4, 204)
    assert delivery.last_error is None


def test_a_rolled_back_change_sends_nothing(notifier, notifier_settings, receiver) -> None:
    db = notifier_settings.database_url
    add_endpoint(db, owner_id="u1", url=receiver.url())
    with session_factory(db)() as session:
        record_event(session, type=EventType.JOB_FAILED, owner_id="u1", subject_id="j",
                     payload={})
        session.rollback()
    committed = commit_event(db, owner_id="u1", subject_id="after")
    notifier.step()
    notifier.drain(10)
    [only] = receiver.wait_for(1)
    assert only.headers["VideoForge-Event-Id"] == committed.id
    assert len(receiver.received) == 1


def test_only_subscribed_endpoints_of_the_owner_get_an_event(notifier, notifier_settings,
                                                              receiver) -> None:
    db = notifier_settings.database_url
    add_endpoint(db, owner_id="u1", url=receiver.url("/wants-it"), event_types=["job.failed"])
    add_endpoint(db, owner_id="u1", url=receiver.url("/other-types"),
                 event_types=["video.ready"])
    add_endpoint(db, owner_id="u2", url=receiver.url("/other-owner"))
    add_endpoint(db, owner_id="u1", url=receiver.url("/disabled"), enabled=False)
    commit_event(db, owner_id="u1", type=EventType.JOB_FAILED)
    notifier.step()
    notifier.drain(10)
    assert [r.path for r in receiver.wait_for(1)] == ["/wants-it"]


def test_after_24_hours_of_failures_the_delivery_gives_up_and_the_endpoint_is_disabled(
        notifier, notifier_settings, clock, receiver) -> None:
    receiver.fail_first = 10_000
    db = notifier_settings.database_url
    endpoint = add_endpoint(db, owner_id="u1", url=receiver.url())
    commit_event(db, owner_id="u1")
    start = clock.now
    times = _until_settled(notifier, clock, db)

    [delivery] = _deliveries(db)
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_status_code == 500
    assert delivery.attempts == len(times) == len(receiver.received)
    # Retried for 24 hours, not longer: the last attempt is at the horizon.
    assert times[-1] - start == RETRY_HORIZON
    assert times[-2] - start < RETRY_HORIZON
    # ~10 s doubling to the 1 h cap, then 30-60 min apart: a few dozen attempts in all.
    assert 25 <= len(times) <= 60, len(times)
    with session_factory(db)() as session:
        shown = session.get(WebhookEndpoint, endpoint.id)
        assert shown is not None and shown.enabled is False
        assert shown.disabled_reason and "no delivery succeeded for 24 hours" in \
            shown.disabled_reason and "HTTP 500" in shown.disabled_reason
    # A disabled endpoint gets nothing new, and nothing is retried after giving up.
    commit_event(db, owner_id="u1", subject_id="later")
    clock.advance(hours=2)
    assert notifier.step() == 0


def test_an_endpoint_that_succeeded_within_the_horizon_stays_enabled(
        notifier, notifier_settings, clock) -> None:
    receiver = Receiver(fail_when=lambda body: b"doomed" in body)
    try:
        db = notifier_settings.database_url
        endpoint = add_endpoint(db, owner_id="u1", url=receiver.url())
        commit_event(db, owner_id="u1", subject_id="doomed", created_at=clock.now)
        notifier.step()
        notifier.drain(10)
        clock.advance(hours=1)  # an hour into the doomed delivery's 24 h, one succeeds
        commit_event(db, owner_id="u1", subject_id="fine", created_at=clock.now)
        _until_settled(notifier, clock, db)
        assert sorted(d.status for d in _deliveries(db)) == [DeliveryStatus.FAILED,
                                                             DeliveryStatus.SUCCEEDED]
        with session_factory(db)() as session:
            shown = session.get(WebhookEndpoint, endpoint.id)
            assert shown is not None and shown.enabled is True
    finally:
        receiver.close()


def test_a_success_before_the_failing_window_does_not_keep_an_endpoint_enabled(
        notifier, notifier_settings, clock, receiver) -> None:
    db = notifier_settings.database_url
    endpoint = add_endpoint(db, owner_id="u1", url=receiver.url())
    commit_event(db, owner_id="u1", subject_id="ok")
    _until_settled(notifier, clock, db)
    receiver.fail_first = 10_000  # from now on it fails
    clock.advance(hours=1)
    commit_event(db, owner_id="u1", subject_id="doomed", created_at=clock.now)
    _until_settled(notifier, clock, db)
    with session_factory(db)() as session:
        shown = session.get(WebhookEndpoint, endpoint.id)
        assert shown is not None and shown.enabled is False


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_several_notifiers_deliver_each_event_exactly_once(backend, notifier_settings,
                                                           receiver, tmp_path) -> None:
    from common.db import migrate

    db = notifier_settings.database_url
    if backend == "sqlite":
        db = f"sqlite:///{tmp_path / 'vf.db'}"
        migrate(db)
    add_endpoint(db, owner_id="u1", url=receiver.url())
    add_endpoint(db, owner_id="u1", url=receiver.url("/second"))
    events = [commit_event(db, owner_id="u1", subject_id=f"s{i}") for i in range(25)]
    notifiers = [Notifier(notifier_settings.model_copy(update={
        "database_url": db, "notifier_id": f"n{i}", "webhook_concurrency": 4}),
        sessions=session_factory(db)) for i in range(3)]
    done = threading.Event()

    def work(n: Notifier) -> None:
        while not done.is_set():
            if not n.step():
                n.drain(5)
                done.wait(0.01)
        n.drain(10)

    threads = [threading.Thread(target=work, args=(n,)) for n in notifiers]
    for t in threads:
        t.start()
    try:
        got = receiver.wait_for(50, timeout_s=60)
    finally:
        done.set()
        for t in threads:
            t.join(30)
    pairs = [(r.path, r.headers["VideoForge-Event-Id"]) for r in got]
    assert len(pairs) == len(set(pairs)) == 50
    assert {e for _, e in pairs} == {e.id for e in events}
    assert {d.status for d in _deliveries(db)} == {DeliveryStatus.SUCCEEDED}
    claimers = {r.headers["VideoForge-Delivery-Id"] for r in got}
    assert len(claimers) == 50


def test_created_at_gate_skips_events_older_than_the_endpoint(notifier, notifier_settings,
                                                              receiver) -> None:
    db = notifier_settings.database_url
    old = commit_event(db, owner_id="u1", subject_id="before")
    add_endpoint(db, owner_id="u1", url=receiver.url(),
                 created_at=old.created_at + timedelta(seconds=1))
    notifier.step()
    notifier.drain(5)
    assert receiver.received == []
