"""An open-loop HTTP load generator: requests leave on a fixed schedule, whatever the
server's speed, and latency is measured from the *scheduled* send time, so a slow server
cannot hide its queueing (no coordinated omission).

A minimal keep-alive HTTP/1.1 client over asyncio streams keeps the generator's own CPU
cost far below the server's; run it in its own process.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

REQUEST_TIMEOUT_S = 10.0
# Connections the generator may hold open, like a browser fleet behind a proxy; a request
# that finds them all busy waits, and that wait counts in its latency.
MAX_CONNECTIONS = 64


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    client_cpu_ms: float = float("nan")  # the generator's own CPU per request


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, host: str, path: str, headers: dict[str, str]) -> int:
        head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(head.encode())
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("server closed the idle connection")
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            while (size := int((await self.reader.readline()).strip(), 16)) > 0:
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        else:
            await self.reader.readexactly(length)
        return status


async def _run(base_url: str, paths: Sequence[str], *, rate: float, duration_s: float,
               warmup_s: float, headers: dict[str, str]) -> LoadResult:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    idle: list[_Connection] = []
    slots = asyncio.Semaphore(MAX_CONNECTIONS)
    result = LoadResult()
    cycle = itertools.cycle(paths)

    async def one(scheduled: float, path: str, measured: bool) -> None:
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        async with slots:
            conn = idle.pop() if idle else None
            try:
                if conn is not None:
                    try:
                        status = await asyncio.wait_for(
                            conn.get(f"{host}:{port}", path, headers), REQUEST_TIMEOUT_S)
                    except ConnectionResetError:  # keep-alive expired: a new connection
                        conn.writer.close()
                        conn = None
                if conn is None:
                    conn = _Connection(*await asyncio.open_connection(host, port))
                    status = await asyncio.wait_for(conn.get(f"{host}:{port}", path, headers),
                                                    REQUEST_TIMEOUT_S)
            except (OSError, ValueError, asyncio.IncompleteReadError, TimeoutError):
                if conn is not None:
                    conn.writer.close()
                if measured:
                    result.errors += 1
                return
            idle.append(conn)
        if measured:
            result.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status >= 400:
                result.errors += 1

    start = time.perf_counter() + 0.05
    total = int((warmup_s + duration_s) * rate)
    warm = int(warmup_s * rate)
    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        # Create tasks a little ahead of their time so creation never delays a send.
        while scheduled - time.perf_counter() > 0.05:
            await asyncio.sleep(0.01)
        tasks.append(asyncio.create_task(one(scheduled, next(cycle), i >= warm)))
    await asyncio.gather(*tasks)
    result.elapsed_s = time.perf_counter() - (start + warmup_s)
    for conn in idle:
        conn.writer.close()
    return result


def run_load(base_url: str, paths: Sequence[str], *, rate: float, duration_s: float,
             warmup_s: float = 2.0, headers: dict[str, str] | None = None) -> LoadResult:
    """Send ``rate`` GETs per second cycling through ``paths``; measure after the warm-up."""
    started = time.process_time()
    result = asyncio.run(_run(base_url, paths, rate=rate, duration_s=duration_s,
                              warmup_s=warmup_s, headers=headers or {}))
    sent = int((warmup_s + duration_s) * rate)
    result.client_cpu_ms = (time.process_time() - started) * 1000 / max(1, sent)
    return result


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]
