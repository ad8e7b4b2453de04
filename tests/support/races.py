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
