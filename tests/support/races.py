"""Making a race happen on purpose: run the other side at the worst moment.

``before_statement`` hooks the engine's cursor: just before a statement that starts with
the given SQL runs, the test's ``action`` runs (another session's claim, a barrier two
threads meet at). That puts a concurrent change exactly between a check and its act,
every time, with the real database deciding the outcome; nothing of ours is mocked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def before_statement(engine: Engine, sql_prefix: str, action: Callable[[], None], *,
                     times: int = 1) -> Iterator[list[str]]:
    """Run ``action`` before each of the first ``times`` statements on ``engine`` that
    start with ``sql_prefix`` (case-insensitive); yields the statements it fired on."""
    fired: list[str] = []
    lock = threading.Lock()
    prefix = sql_prefix.upper()

    def hook(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        with lock:
            if len(fired) >= times or not statement.lstrip().upper().startswith(prefix):
                return
            fired.append(statement)
        action()

    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield fired
    finally:
        event.remove(engine, "before_cursor_execute", hook)


class ClaimRacer:
    """A worker's claim (``job_state.claim_next``) on its own connection, started as a
    ``before_statement`` action. The action waits for it at most ``wait_s``: the claim may
    be blocked behind the very transaction the test holds open, and finishes after it."""

    def __init__(self, sessions: Any, *, worker_id: str = "racer", wait_s: float = 1.0,
                 stale_after: timedelta = timedelta(minutes=5)) -> None:
        self.sessions = sessions
        self.worker_id = worker_id
        self.wait_s = wait_s
        self.stale_after = stale_after
        self.claimed: list[str | None] = []
        self._thread: threading.Thread | None = None

    def __call__(self) -> None:
        self._thread = threading.Thread(target=self._claim, daemon=True)
        self._thread.start()
        self._thread.join(timeout=self.wait_s)

    def _claim(self) -> None:
        from common import job_state
        from common.db import transaction

        with transaction(self.sessions) as session:
            got = job_state.claim_next(session, worker_id=self.worker_id,
                                       stale_after=self.stale_after)
            self.claimed.append(got.job_id if got else None)

    def result(self) -> list[str | None]:
        """What the claim got (None: nothing), once it has finished."""
        if self._thread is not None:
            self._thread.join(timeout=30)
        return self.claimed
