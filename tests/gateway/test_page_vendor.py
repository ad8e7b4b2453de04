"""The page's hls.js: the pinned version has HLS variable substitution (EXT-X-DEFINE, since
1.4), and the page loads the full build, which keeps it (the light build compiles it out)."""

from __future__ import annotations

import json

from gateway.web import NODE_MODULES, STATIC_DIR, VENDOR_FILES

ROOT = STATIC_DIR.parents[1]


def test_the_pinned_hls_js_supports_variable_substitution() -> None:
    lock = json.loads((ROOT / "web" / "package-lock.json").read_text())
    version = lock["packages"]["node_modules/hls.js"]["version"]
    assert tuple(int(p) for p in version.split(".")[:2]) >= (1, 4), version
    assert VENDOR_FILES["hls.min.js"] == "hls.js/dist/hls.min.js"  # the full build
    assert "/static/vendor/hls.min.js" in (STATIC_DIR / "player.js").read_text()
    built = (NODE_MODULES / VENDOR_FILES["hls.min.js"]).read_text()
    assert "EXT-X-DEFINE" in built
    light = NODE_MODULES / "hls.js" / "dist" / "hls.light.min.js"
    assert "EXT-X-DEFINE" not in light.read_text()  # why the page must not load that one
