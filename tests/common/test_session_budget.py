"""The session budget's own threads: a place is held until the work returns, even when
the caller gives up first, and the work sees the caller's context (log bindings)."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from common.app_state import SessionBudget

_REQUEST = contextvars.ContextVar("request", default="")


def test_work_runs_off_the_loop_with_the_callers_context() -> None:
    budget = SessionBudget(2)

    async def main() -> tuple[str, bool]:
        _REQUEST.set("req-1")
        loop_thread = threading.get_ident()
        return await budget.run(lambda: (_REQUEST.get(), threading.get_ident() != loop_thread))

    assert asyncio.run(main()) == ("req-1", True)


def test_a_cancelled_caller_keeps_its_place_until_the_work_returns() -> None:
    budget = SessionBudget(1)
    release = threading.Event()
    order: list[str] = []

    def slow() -> None:
        release.wait(5)
        order.append("slow done")

    async def main() -> None:
        caller = asyncio.create_task(budget.run(slow))
        await asyncio.sleep(0.05)
        caller.cancel()  # e.g. the client went away
        next_one = asyncio.create_task(budget.run(lambda: order.append("next ran")))
        await asyncio.sleep(0.05)
        assert order == []  # still waiting: the first work holds the only place
        release.set()
        await next_one

    asyncio.run(main())
    assert order == ["slow done", "next ran"]
