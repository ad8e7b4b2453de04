"""The streaming service's app state: the shared one plus the HLS grant signer and the
presigned-URL cache."""

from __future__ import annotations

from common.app_state import ServiceState
from streaming.grants import GrantSigner
from streaming.playback import PresignCache
from streaming.settings import StreamingSettings


class StreamingState(ServiceState[StreamingSettings]):
    def __init__(self, settings: StreamingSettings) -> None:
        super().__init__(settings)
        key = settings.stream_signing_key
        self.grants = GrantSigner(key.get_secret_value().encode() if key else None)
        self.presigner = PresignCache(self.s3)
