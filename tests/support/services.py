"""Where the real services the tests use are (override with the environment)."""

from __future__ import annotations

import os

ADMIN_DATABASE_URL = os.environ.get(
    "VF_TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("VF_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
