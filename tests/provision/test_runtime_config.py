"""The provisioned settings secret: merged, generated once, read back by an instance's
``videoforge runtime-env`` into a systemd environment file (on moto)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from videoforge.provision import runtime_config


def systemd_env_file(text: str) -> dict[str, str]:
    """What systemd reads from an EnvironmentFile of KEY="value" lines: inside double
    quotes a backslash before one of ``"\\$``` is dropped, any other is kept."""
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, quoted = line.split("=", 1)
        assert quoted[0] == quoted[-1] == '"', line
        body, out, i = quoted[1:-1], [], 0
        while i < len(body):
            if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in '"\\$`':
                i += 1
            out.append(body[i])
            i += 1
        values[key] = "".join(out)
    return values


def test_values_merge_and_generated_ones_are_made_once(client: Any) -> None:
    sm = client("secretsmanager")
    name = runtime_config.secret_name(f"vf-{uuid.uuid4().hex[:8]}")
    first, stored = runtime_config.ensure(
        sm, name=name, values={"VF_MEDIA_BUCKET": "media"},
        generated={"VF_STREAM_SIGNING_KEY": runtime_config.generate})
    assert first.outcome == "created" and first.id and ":secret:" in first.id
    key = stored["VF_STREAM_SIGNING_KEY"]
    assert len(key) == 32 and key.isalnum()

    again, stored = runtime_config.ensure(
        sm, name=name, values={"VF_MEDIA_BUCKET": "media"},
        generated={"VF_STREAM_SIGNING_KEY": runtime_config.generate})
    assert again.outcome == "unchanged" and stored["VF_STREAM_SIGNING_KEY"] == key

    # Another run that knows other things keeps what it does not know; the report names
    # keys, never values.
    changed, stored = runtime_config.ensure(sm, name=name, values={"VF_GALLERY_URL": "https://x"})
    assert changed.outcome == "updated" and changed.changes == ("VF_GALLERY_URL",)
    assert runtime_config.read(sm, name) == {"VF_MEDIA_BUCKET": "media", "VF_GALLERY_URL":
                                             "https://x", "VF_STREAM_SIGNING_KEY": key}


def test_an_instance_writes_the_settings_as_an_environment_file(
        client: Any, moto_endpoint: str, tmp_path: Path) -> None:
    sm = client("secretsmanager")
    name = runtime_config.secret_name(f"vf-{uuid.uuid4().hex[:8]}")
    url = 'postgresql://videoforge:p"w\\d$`x@db.internal:5432/videoforge?sslmode=require'
    runtime_config.ensure(sm, name=name, values={"VF_DATABASE_URL": url, "VF_REGION_X": "a b"})
    output = tmp_path / "run" / "runtime.env"
    env = {**os.environ, "VF_AWS_ENDPOINT_URL": moto_endpoint,
           runtime_config.SECRET_VARIABLE: name}
    done = subprocess.run([sys.executable, "-m", "videoforge", "runtime-env", "--output",
                           str(output)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert output.stat().st_mode & 0o777 == 0o640
    # What systemd would read from it.
    assert systemd_env_file(output.read_text()) == {"VF_DATABASE_URL": url, "VF_REGION_X": "a b"}
    assert "p\"w" not in done.stdout + done.stderr

    env[runtime_config.SECRET_VARIABLE] = name + "-missing"
    done = subprocess.run([sys.executable, "-m", "videoforge", "runtime-env", "--output",
                           str(output)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "run `videoforge provision` first" in done.stderr
    del env[runtime_config.SECRET_VARIABLE]
    done = subprocess.run([sys.executable, "-m", "videoforge", "runtime-env", "--output",
                           str(output)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and runtime_config.SECRET_VARIABLE in done.stderr
