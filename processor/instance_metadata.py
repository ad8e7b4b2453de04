"""The instance metadata service (IMDSv2: a session token, then reads), as a worker on
EC2 uses it: its instance id, and whether it is about to go (Auto Scaling terminating it,
or a spot interruption). Off EC2 every read is ``None``, quickly."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

IMDS_URL = "http://169.254.169.254"
# IMDSv2 session tokens live up to 6 hours (EC2 User Guide, "Use IMDSv2"); a cached one is
# renewed a minute before it expires, or at once when the service refuses it (401).
_IMDS_TOKEN_TTL_S = 21600
_TOKEN_RENEW_EARLY_S = 60
# The service answers locally in milliseconds; off EC2 nothing answers at all.
_IMDS_TIMEOUT_S = 1.0
# Target lifecycle states that take the instance out of service: terminated, or sent to a
# warm pool (stopped or hibernated) (EC2 Auto Scaling User Guide, "Retrieve the target
# lifecycle state through instance metadata").
_LEAVING_STATES = ("Terminated", "Warmed:")
# A spot interruption notice comes two minutes before the action (EC2 User Guide, "Spot
# Instance interruption notices").
SPOT_NOTICE_S = 120.0


@dataclass(frozen=True)
class SpotInterruption:
    """``spot/instance-action``: EC2 will stop, hibernate or terminate the instance at
    ``time`` (two minutes after the notice appears)."""

    action: str
    time: datetime


class InstanceMetadata:
    """The few IMDSv2 reads a worker needs; ``None`` off EC2."""

    def __init__(self, base_url: str = IMDS_URL) -> None:
        self.base_url = base_url.rstrip("/")
        self._token: tuple[str, float] | None = None  # (token, monotonic expiry)
        self._lock = threading.Lock()

    def _fresh_token(self) -> str:
        request = urllib.request.Request(
            f"{self.base_url}/latest/api/token", method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": str(_IMDS_TOKEN_TTL_S)},
        )
        with urllib.request.urlopen(request, timeout=_IMDS_TIMEOUT_S) as response:
            token = str(response.read().decode())
        self._token = (token, time.monotonic() + _IMDS_TOKEN_TTL_S - _TOKEN_RENEW_EARLY_S)
        return token

    def _session_token(self, *, renew: bool = False) -> str:
        with self._lock:
            if renew or self._token is None or time.monotonic() >= self._token[1]:
                return self._fresh_token()
            return self._token[0]

    def get(self, path: str) -> str | None:
        """The text at ``latest/meta-data/<path>``; None when absent (404) or off EC2."""
        try:
            return self._read(path, self._session_token())
        except urllib.error.HTTPError as exc:
            if exc.code != 401:
                return None
        except (urllib.error.URLError, OSError):
            return None
        try:  # the token expired or the service restarted: one more try with a new one
            return self._read(path, self._session_token(renew=True))
        except (urllib.error.URLError, OSError):
            return None

    def _read(self, path: str, token: str) -> str:
        request = urllib.request.Request(f"{self.base_url}/latest/meta-data/{path}",
                                         headers={"X-aws-ec2-metadata-token": token})
        with urllib.request.urlopen(request, timeout=_IMDS_TIMEOUT_S) as response:
            return str(response.read().decode()).strip()

    def instance_id(self) -> str | None:
        return self.get("instance-id")

    def target_lifecycle_state(self) -> str | None:
        return self.get("autoscaling/target-lifecycle-state")

    def leaving_auto_scaling_group(self) -> bool:
        """True once Auto Scaling has decided to terminate this instance (or to move it to
        a warm pool, which stops it)."""
        state = self.target_lifecycle_state() or ""
        return state.startswith(_LEAVING_STATES)

    def spot_interruption(self) -> SpotInterruption | None:
        """The pending spot interruption, if any (the path is 404 until there is one)."""
        text = self.get("spot/instance-action")
        if not text:
            return None
        try:
            data = json.loads(text)
            when = datetime.fromisoformat(str(data["time"]).replace("Z", "+00:00"))
            return SpotInterruption(action=str(data["action"]),
                                    time=when if when.tzinfo else when.replace(tzinfo=UTC))
        except (ValueError, KeyError, TypeError, AttributeError):
            # A notice we cannot read is still a notice: assume the full two minutes.
            return SpotInterruption(action="unknown",
                                    time=datetime.now(UTC) + timedelta(seconds=SPOT_NOTICE_S))
