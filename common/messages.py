"""The SQS message: a wake-up token, the one format the submitters send and workers read.

The database is the scheduler (common/scheduler.py). A message only says "there is work":
a worker that receives one claims the best runnable job in the database, whichever it is,
and takes the job's source and video from the claimed row. So a message names no job and
no source: nothing in it is trusted, and a forged or replayed one can at most make a
worker look for work.

What a token means, and what SQS still does with it:
- One token stands for one unit of runnable work. Submission sends one per job; a worker
  holds its token (heartbeating its visibility) while it works, and deletes it when the
  job it claimed has ended. Its count is the autoscaler's "messages" signal.
- The claimed job may not be the one the token was sent for: tokens are interchangeable,
  and an idle fleet works through any backlog, one user's or many.
- A release (shutdown) or a retry sends a fresh token (delayed by the backoff) and deletes
  the old one, so a token is received again only when its holder vanished without a word
  (or it found nothing to claim yet). Those receives are what SQS's maxReceiveCount counts:
  a token in the dead-letter queue is one whose holders kept dying, and the job it last
  carried is found in the database by ``jobs.claim_token`` (processor/dead_letters.py).
- A duplicate delivery, or a token left over after a cancel, finds nothing to claim and is
  deleted. A job left without a token (the token expired, was dead-lettered, or a surplus
  delete raced a commit) gets a new one from the reconciler (processor/wakeups.py).

Version 1 bodies (which named a job and its source) are still read, as plain tokens: their
fields are ignored, except the job id, which the dead-letter sweep uses for a legacy letter.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

# SQS caps a message body at 256 KiB (AWS SQS quotas, "Message size").
MAX_MESSAGE_BYTES = 256 * 1024
# Long polling waits at most 20 s (ReceiveMessage WaitTimeSeconds, AWS SQS API reference).
MAX_WAIT_TIME_S = 20
# Visibility timeout ranges 0 s .. 12 h (ChangeMessageVisibility, AWS SQS API reference).
MAX_VISIBILITY_TIMEOUT_S = 12 * 60 * 60
# A message can be delayed by at most 15 minutes (SendMessage DelaySeconds, AWS SQS API
# reference); a longer retry backoff is held by the job row's not_before instead.
MAX_DELAY_S = 15 * 60

FORMAT_VERSION = 2
_LEGACY_VERSION = 1


class MalformedMessage(ValueError):
    """A body that is not a wake-up token: it can never mean anything, so it is dropped."""


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class WakeUp:
    """There is runnable work. ``reason`` and ``issued_at`` are for logs and timing only."""

    reason: str = "submitted"  # submitted | released | retry | reconciled
    # When the first token of this chain was issued (a re-sent token keeps it), so the age
    # of a token that finds nothing to claim is measured from its origin.
    issued_at: str = field(default_factory=_now_iso)
    version: int = FORMAT_VERSION
    # Only on version 1 bodies: the job they named. Never used to choose work.
    legacy_job_id: str | None = field(default=None, compare=False)

    def encode(self) -> str:
        body = {k: v for k, v in asdict(self).items() if k != "legacy_job_id"}
        text = json.dumps(body, separators=(",", ":"), sort_keys=True)
        if len(text.encode()) > MAX_MESSAGE_BYTES:
            raise MalformedMessage("message exceeds the SQS size limit")
        return text

    def resent(self, reason: str) -> WakeUp:
        """The token that replaces this one (a release or a retry), same origin."""
        return WakeUp(reason=reason, issued_at=self.issued_at)

    def issued(self) -> datetime | None:
        try:
            parsed = datetime.fromisoformat(self.issued_at)
        except (TypeError, ValueError):
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    @classmethod
    def decode(cls, body: str) -> WakeUp:
        try:
            data: Any = json.loads(body)
        except (TypeError, ValueError) as exc:
            raise MalformedMessage(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise MalformedMessage("not a JSON object")
        version = data.get("version")
        if version == _LEGACY_VERSION:
            job_id = data.get("job_id")
            if not isinstance(job_id, str) or not job_id:
                raise MalformedMessage("a version 1 message without a job id")
            issued = data.get("submitted_at")
            return cls(reason="submitted", issued_at=issued if isinstance(issued, str) else "",
                       version=_LEGACY_VERSION, legacy_job_id=job_id)
        if version != FORMAT_VERSION:
            raise MalformedMessage(f"unsupported message version {version!r}")
        reason, issued = data.get("reason"), data.get("issued_at")
        if not isinstance(reason, str) or not isinstance(issued, str):
            raise MalformedMessage("a wake-up token needs a reason and issued_at")
        return cls(reason=reason, issued_at=issued)
