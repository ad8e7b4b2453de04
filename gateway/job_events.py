"""Server-sent events for one job: its state whenever it changes, until it finishes.

The database is the source of truth (workers write progress there), read at a bounded
interval with a short session per read, so an open stream holds no connection.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from common.job_state import JobStatus
from common.models import Job
from gateway.schemas import JobEvent
from gateway.state import GatewayState

# Tells an EventSource how long to wait before reconnecting after a dropped stream.
_RETRY_MS = 3000

Snapshot = Callable[[Session, Job], BaseModel]


def sse(event: JobEvent, data: Any) -> str:
    return f"event: {event.value}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _read(ctx: GatewayState, job_id: str, snapshot: Snapshot) -> dict[str, Any] | None:
    with ctx.sessions() as session:
        job = session.get(Job, job_id)
        return snapshot(session, job).model_dump(mode="json") if job else None


async def job_event_stream(
    ctx: GatewayState, job_id: str, *, snapshot: Snapshot
) -> AsyncIterator[str]:
    """``progress`` events on every change, then one last event: ``done`` with the
    finished job, ``gone`` if the job was deleted with its video while we watched (a job
    has no DELETED status: it no longer exists), or ``timeout`` after the longest allowed
    stream (the client reconnects)."""
    settings = ctx.settings
    started = last_sent = time.monotonic()
    last: Any = None
    yield f"retry: {_RETRY_MS}\n\n"
    while True:
        state = await run_in_threadpool(_read, ctx, job_id, snapshot)
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
