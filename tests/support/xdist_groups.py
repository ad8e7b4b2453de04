"""How `pytest -n 2` (`make test`) shares the suite between its two processes.

A unit of work is a test file (its module fixtures are made once), except where tests
share something dearer: the stack's tests share one ``videoforge up`` (a package fixture)
and the image bakes take one cache lock in turn, so each of those runs in one process,
and they start first, so that neither is what the end of the run waits for.

xdist's own ``--dist loadgroup`` reads groups back out of node ids, which pytest 9 no
longer lets it change (pytest-xdist issue 1386): this scheduler groups by path instead.
"""

from __future__ import annotations

from fnmatch import fnmatch
from typing import Any

# (pattern of a test file's path, group), first match wins; longest-running first.
GROUPS = (
    ("tests/stack/*", "stack"),
    ("tests/ops/test_*_image.py", "images"),
)


def group_of(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return next((group for pattern, group in GROUPS if fnmatch(path, pattern)), path)


def rank(nodeid: str) -> int:
    """Sort key of a test: the long groups' tests first, in GROUPS order, then the rest."""
    names = [group for _, group in GROUPS]
    group = group_of(nodeid)
    return names.index(group) if group in names else len(names)


def scheduler(config: Any, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return GroupScheduling(config, log)
