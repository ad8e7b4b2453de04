"""The streaming service's app state: the shared one plus the HLS grant signer and the
presigned-URL and stored-text caches."""

from __future__ import annotations

from common.app_state import ServiceState
from streaming.grants import GrantSigner
from streaming.playback import PresignCache
from streaming.settings import StreamingSettings
from streaming.text_cache import TextCache


class StreamingState(ServiceState[StreamingSettings]):
    def __init__(self, settings: StreamingSettings) -> None:
        super().__init__(settings)
        key = settings.stream_signing_key
        self.grants = GrantSigner(key.get_secret_value().encode() if key else None)
        self.presigner = PresignCache(self.s3)
        self.texts = TextCache(self.s3)
