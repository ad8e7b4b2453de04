"""The SQS job message: the one format the gateway sends and the worker reads."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

# SQS caps a message body at 256 KiB (AWS SQS quotas, "Message size").
MAX_MESSAGE_BYTES = 256 * 1024
# Long polling waits at most 20 s (ReceiveMessage WaitTimeSeconds, AWS SQS API reference).
MAX_WAIT_TIME_S = 20
# Visibility timeout ranges 0 s .. 12 h (ChangeMessageVisibility, AWS SQS API reference).
MAX_VISIBILITY_TIMEOUT_S = 12 * 60 * 60

FORMAT_VERSION = 1


class MalformedMessage(ValueError):
    """A body that is not a job message: it can never succeed, so it is dropped."""


@dataclass(frozen=True)
class JobMessage:
    job_id: str
    video_id: str
    source_bucket: str
    source_key: str
    qualities: list[str] | None = None
    priority: int = 0
    submitted_at: str | None = None  # ISO 8601, for queue-wait timing
    version: int = field(default=FORMAT_VERSION)

    def encode(self) -> str:
        body = json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)
        if len(body.encode()) > MAX_MESSAGE_BYTES:
            raise MalformedMessage("job message exceeds the SQS size limit")
        return body

    @classmethod
    def decode(cls, body: str) -> JobMessage:
        try:
            data: Any = json.loads(body)
        except (TypeError, ValueError) as exc:
            raise MalformedMessage(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise MalformedMessage("not a JSON object")
        if data.get("version") != FORMAT_VERSION:
            raise MalformedMessage(f"unsupported message version {data.get('version')!r}")
        for name in ("job_id", "video_id", "source_bucket", "source_key"):
            if not isinstance(data.get(name), str) or not data[name]:
                raise MalformedMessage(f"missing or invalid {name!r}")
        qualities = data.get("qualities")
        if qualities is not None and not (
            isinstance(qualities, list) and all(isinstance(q, str) for q in qualities)
        ):
            raise MalformedMessage("qualities must be a list of strings")
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})
