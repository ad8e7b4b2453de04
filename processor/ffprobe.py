"""Short FFmpeg/ffprobe runs that read a file and report on it (intake, output checks).

Each run is bounded: a wall-clock timeout and a CPU-seconds limit, both sized by the caller
from the file's size, so no input can keep one running. Their stderr goes to the log,
never into a message a user sees.
"""

from __future__ import annotations

import contextlib
import json
import resource
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processor.demuxers import input_args
from processor.errors import BudgetExceeded

# A run over a file gets this much plus time per byte (reading a 20 GiB source through
# the demuxer takes minutes on a slow disk, a tiny one milliseconds).
_BASE_TIMEOUT_S = 120.0
_BYTES_PER_WALL_S = 10 * 1024**2
_BASE_CPU_S = 60.0
_BYTES_PER_CPU_S = 40 * 1024**2


@dataclass(frozen=True)
class RunLimits:
    timeout_s: float
    cpu_s: float

    @classmethod
    def for_size(cls, size_bytes: int) -> RunLimits:
        return cls(timeout_s=_BASE_TIMEOUT_S + size_bytes / _BYTES_PER_WALL_S,
                   cpu_s=_BASE_CPU_S + size_bytes / _BYTES_PER_CPU_S)


DEFAULT_RUN_LIMITS = RunLimits(timeout_s=_BASE_TIMEOUT_S, cpu_s=_BASE_CPU_S)


def run_tool(cmd: Sequence[str], limits: RunLimits = DEFAULT_RUN_LIMITS
             ) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` to completion; :class:`BudgetExceeded` if it outlives ``limits``."""
    proc = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace")
    limit_cpu(proc.pid, limits.cpu_s)
    try:
        out, err = proc.communicate(timeout=limits.timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise BudgetExceeded(f"reading the source took over {limits.timeout_s:.0f} s") from None
    if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise BudgetExceeded(f"reading the source used over {limits.cpu_s:.0f} CPU-seconds")
    return subprocess.CompletedProcess(list(cmd), proc.returncode, out, err)


def limit_cpu(pid: int, cpu_s: float) -> None:
    """RLIMIT_CPU on a running child: SIGXCPU at ``cpu_s``, SIGKILL a little later.

    Set from the parent with prlimit(2) rather than in a ``preexec_fn``, which is unsafe
    in a threaded process like the worker. The child may have run a few milliseconds
    before; the limit counts them all the same.
    """
    soft = max(1, int(cpu_s))
    with contextlib.suppress(ProcessLookupError):  # it already finished
        resource.prlimit(pid, resource.RLIMIT_CPU, (soft, soft + 10))


def ffprobe_json(path: Path, *, container: str | None = None, entries: Sequence[str] = (
        "-show_format", "-show_streams"), limits: RunLimits = DEFAULT_RUN_LIMITS,
                 ) -> tuple[dict[str, Any], str]:
    """ffprobe's report on ``path`` as JSON ({} if it failed) and its stderr."""
    cmd = ["ffprobe", "-hide_banner", "-v", "error", *input_args(path, container),
           *entries, "-of", "json"]
    proc = run_tool(cmd, limits)
    try:
        data = json.loads(proc.stdout or "{}") if proc.returncode == 0 else {}
    except json.JSONDecodeError:
        data = {}
    return data, proc.stderr.strip()
