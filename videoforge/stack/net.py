"""Loopback ports and readiness checks for the local stack."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if a server could listen on ``port`` now. With SO_REUSEADDR, as uvicorn binds:
    a port whose last connections linger in TIME_WAIT after a stop is free to it."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def answers(url: str, *, timeout_s: float = 1.0) -> bool:
    """True once anything answers HTTP at ``url`` (any status)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def free_port_block(count: int, host: str = "127.0.0.1", *, tries: int = 50) -> int:
    """A base port such that ``base+1 … base+count`` are all free right now."""
    for _ in range(tries):
        base = free_port(host)
        if base + count < 65536 and all(port_free(base + i, host)
                                        for i in range(1, count + 1)):
            return base
    raise OSError(f"no {count} consecutive free ports on {host}")
