"""Server-sent events for one job: its state whenever it changes, until it finishes.

The database is the source of truth (workers write progress there), read at a bounded
interval with a short session per read, so an open stream holds no connection. A queued
job's position comes from a board that computes every position at most once per poll
interval for all the streams of the app: one query per interval, however many are open.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any, Protocol

import anyio
from pydantic import BaseModel
from sqlalchemy.orm import Session

from common.job_state import JobStatus
from common.job_view import has_position
from common.models import Job
from common.queue_order import queue_positions
from gateway.schemas import JobEvent
from gateway.state import GatewayState
from gateway.stream_slots import Slot

# Tells an EventSource how long to wait before reconnecting after a dropped stream.
_RETRY_MS = 3000



class Snapshot(Protocol):
    def __call__(self, session: Session, job: Job, *, position: int | None) -> BaseModel: ...


class QueueBoard:
    """Every queued job's position, at most ``max_age_s`` old."""

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self._at = float("-inf")
        self._positions: dict[str, int] = {}
        self._lock = threading.Lock()

    def position(self, session: Session, job: Job) -> int | None:
        if not has_position(job):
            return None
        with self._lock:
            if time.monotonic() - self._at >= self.max_age_s:
                self._positions = queue_positions(session, None)
                self._at = time.monotonic()
            return self._positions.get(job.id)


_boards: weakref.WeakKeyDictionary[GatewayState, QueueBoard] = weakref.WeakKeyDictionary()


def _board(ctx: GatewayState) -> QueueBoard:
    board = _boards.get(ctx)
    if board is None:
        board = _boards.setdefault(ctx, QueueBoard(ctx.settings.sse_poll_interval_s))
    return board


def sse(event: JobEvent, data: Any) -> str:
    return f"event: {event.value}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _read(ctx: GatewayState, job_id: str, snapshot: Snapshot) -> dict[str, Any] | None:
    with ctx.sessions() as session:
        job = session.get(Job, job_id)
        if job is None or job.video_id is None:  # its video was deleted: nothing to follow
            return None
        position = _board(ctx).position(session, job)
        return snapshot(session, job, position=position).model_dump(mode="json")


async def job_event_stream(
    ctx: GatewayState, job_id: str, *, snapshot: Snapshot, slot: Slot | None = None
) -> AsyncIterator[str]:
    """``progress`` events on every change, then one last event: ``done`` with the
    finished job, ``gone`` if the job's video was deleted while we watched (a job has no
    DELETED status: it stays, with no video, for usage), or ``timeout`` after the longest allowed
    stream (the client reconnects). ``slot`` (the stream's place under the caps) is given
    back however the stream ends, a client that goes away included."""
    try:
        async for chunk in _events(ctx, job_id, snapshot=snapshot):
            yield chunk
    finally:
        if slot is not None:
            slot.release()


async def _events(ctx: GatewayState, job_id: str, *, snapshot: Snapshot) -> AsyncIterator[str]:
    settings = ctx.settings
    started = last_sent = time.monotonic()
    last: Any = None
    yield f"retry: {_RETRY_MS}\n\n"
    while True:
        # Within the process's session budget, like any request's read.
        state = await ctx.session_budget.run(_read, ctx, job_id, snapshot)
        now = time.monotonic()
        if state is None:
            yield sse(JobEvent.GONE, {"id": job_id})
            return
        if JobStatus(state["status"]).is_terminal:
            yield sse(JobEvent.DONE, state)
            return
        changed = {k: state[k] for k in ("status", "progress", "cancel_requested",
                                         "queue_position", "attempts")}
        if changed != last:
            yield sse(JobEvent.PROGRESS, state)
            last, last_sent = changed, now
        elif now - last_sent >= settings.sse_keepalive_s:
            yield ": keep-alive\n\n"  # a comment line: keeps proxies from closing the stream
            last_sent = now
        if now - started >= settings.sse_max_duration_s:
            yield sse(JobEvent.TIMEOUT, {"id": job_id})
            return
        await anyio.sleep(settings.sse_poll_interval_s)
