"""The instance metadata service (IMDSv2: a session token, then reads), as a worker on
EC2 uses it: its instance id, and whether Auto Scaling is terminating it. Off EC2 every
read is ``None``, quickly."""

from __future__ import annotations

import urllib.error
import urllib.request

IMDS_URL = "http://169.254.169.254"
# IMDSv2 session tokens live up to 6 hours (EC2 User Guide, "Use IMDSv2").
_IMDS_TOKEN_TTL_S = 21600
# The service answers locally in milliseconds; off EC2 nothing answers at all.
_IMDS_TIMEOUT_S = 1.0


class InstanceMetadata:
    """The few IMDSv2 reads a worker needs; ``None`` off EC2."""

    def __init__(self, base_url: str = IMDS_URL) -> None:
        self.base_url = base_url.rstrip("/")

    def _token(self) -> str:
        request = urllib.request.Request(
            f"{self.base_url}/latest/api/token", method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": str(_IMDS_TOKEN_TTL_S)},
        )
        with urllib.request.urlopen(request, timeout=_IMDS_TIMEOUT_S) as response:
            return str(response.read().decode())

    def get(self, path: str) -> str | None:
        try:
            request = urllib.request.Request(
                f"{self.base_url}/latest/meta-data/{path}",
                headers={"X-aws-ec2-metadata-token": self._token()},
            )
            with urllib.request.urlopen(request, timeout=_IMDS_TIMEOUT_S) as response:
                return str(response.read().decode()).strip()
        except (urllib.error.URLError, OSError):
            return None

    def instance_id(self) -> str | None:
        return self.get("instance-id")

    def target_lifecycle_state(self) -> str | None:
        return self.get("autoscaling/target-lifecycle-state")
