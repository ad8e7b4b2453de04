"""How the tests call the pipeline: the cheapest x264 preset (test clips only need to exist,
not to look good). ``transcode()`` reads no environment, so tests pass this."""

from __future__ import annotations

from processor.encode import EncodeSettings
from processor.transcode_settings import TranscodeSettings

FAST = TranscodeSettings(encode=EncodeSettings(preset="ultrafast"))
