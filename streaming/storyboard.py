"""Storyboard cues served with the sprite sheet presigned.

The stored ``storyboard.vtt`` names its sprite relatively, one cue per line
(``storyboard.jpg#xywh=x,y,w,h``); serving it puts one presigned URL in its place, keeping
each cue's media fragment.
"""

from __future__ import annotations

import posixpath
import re

VTT_CONTENT_TYPE = "text/vtt"


def render_cues(text: str, *, sprite_key: str, sprite_url: str) -> str:
    """``text`` with every cue payload naming the sprite (by its file name, as stored beside
    it) pointing at ``sprite_url`` instead."""
    name = re.escape(posixpath.basename(sprite_key))
    return re.sub(rf"^{name}#", lambda _: f"{sprite_url}#", text, flags=re.M)
