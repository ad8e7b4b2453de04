"""``videoforge provision --json`` in-process, read back as data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from videoforge.cli import main


def provision_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code = main(["provision", "--json", *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return dict(json.loads(out))
