"""A fake EC2 instance metadata service (IMDSv2) on loopback, for the termination tests.

It speaks the real protocol: ``PUT /latest/api/token`` hands out a session token, reads
without a valid one are 401, absent paths are 404 (``spot/instance-action`` is, until a
spot interruption is scheduled). The target lifecycle state can follow a real (moto)
Auto Scaling group: an instance the group no longer lists is being terminated.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeImds:
    instance_id: str = "i-0123456789abcdef0"
    target_state: Callable[[], str] = field(default=lambda: "InService")
    spot_action: str | None = None  # the raw body of spot/instance-action; None: 404
    url: str = ""
    token_puts: int = 0
    _tokens: set[str] = field(default_factory=set)
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def schedule_spot_interruption(self, at: datetime, action: str = "terminate") -> None:
        self.spot_action = json.dumps({"action": action,
                                       "time": at.strftime("%Y-%m-%dT%H:%M:%SZ")})

    def revoke_tokens(self) -> None:
        """Forget every token handed out (as after a token expiry)."""
        self._tokens.clear()

    def _paths(self) -> dict[str, str | None]:
        return {"instance-id": self.instance_id,
                "autoscaling/target-lifecycle-state": self.target_state(),
                "spot/instance-action": self.spot_action}

    def handler(self) -> type[BaseHTTPRequestHandler]:
        imds = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                if (self.path != "/latest/api/token"
                        or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")):
                    return self._reply(400, "")
                imds.token_puts += 1
                token = f"token-{next(imds._counter)}"
                imds._tokens.add(token)
                self._reply(200, token)

            def do_GET(self) -> None:
                if self.headers.get("X-aws-ec2-metadata-token") not in imds._tokens:
                    return self._reply(401, "")
                value = imds._paths().get(self.path.removeprefix("/latest/meta-data/"))
                self._reply(404, "") if value is None else self._reply(200, value)

            def _reply(self, status: int, body: str) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body.encode())))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def serve_imds(imds: FakeImds | None = None) -> Iterator[FakeImds]:
    imds = imds or FakeImds()
    server = ThreadingHTTPServer(("127.0.0.1", 0), imds.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    imds.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield imds
    finally:
        server.shutdown()
        server.server_close()


def group_target_state(autoscaling: Any, instance_id: str) -> Callable[[], str]:
    """The target lifecycle state as a moto Auto Scaling group implies it: an instance the
    group has let go (TerminateInstanceInAutoScalingGroup) is ``Terminated``."""

    def state() -> str:
        found = autoscaling.describe_auto_scaling_instances(InstanceIds=[instance_id])
        instances = found.get("AutoScalingInstances") or []
        if not instances or instances[0]["LifecycleState"].startswith("Terminating"):
            return "Terminated"
        return "InService"

    return state
