"""Opaque cursors for newest-first keyset pagination over (created_at, id)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from common.http import ApiError


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    id: str

    def encode(self) -> str:
        raw = json.dumps({"t": self.created_at.isoformat(), "id": self.id}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """The cursor a previous page handed out; 400 for anything else."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw)
            created_at = datetime.fromisoformat(data["t"])
            row_id = str(uuid.UUID(data["id"]))
            if created_at.tzinfo is None:
                raise ValueError("naive timestamp")
        except (binascii.Error, ValueError, TypeError, KeyError, AttributeError):
            raise ApiError(400, "cursor is not valid; pass next_cursor from a previous page",
                           code="bad_cursor") from None
        return cls(created_at, row_id)
