"""The provisioned settings: one Secrets Manager secret, ``{prefix}/runtime``, holding the
``VF_*`` variables every deployed process needs (database and Redis URLs, buckets, queues,
user pool, the HLS signing key, the HTTP API's URL).

``videoforge provision`` writes it, merging what this run knows into what is there (a key
it does not know is kept; generated values such as passwords are made once and kept).
Instances read it at boot (``videoforge runtime-env``, run by the app role's unit) with
their role's ``secretsmanager:GetSecretValue`` on this one secret; ``videoforge deploy
lambdas`` puts it into the functions' environment. Values never reach a report or a log:
only the names of the keys that changed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import string
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.exceptions import ClientError

from videoforge.provision.results import Changes, ProvisionError, Result, error_code

SECRET_SUFFIX = "runtime"
# Set in /etc/videoforge/instance.env by the launch templates' user data.
SECRET_VARIABLE = "VF_RUNTIME_SECRET"
# Letters and digits only: safe unquoted in URLs, systemd environment files and shells.
_ALPHABET = string.ascii_letters + string.digits
_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def secret_name(prefix: str) -> str:
    return f"{prefix}/{SECRET_SUFFIX}"


def secret_arn_pattern(*, part: str, region: str, account: str, prefix: str) -> str:
    """Secrets Manager appends six random characters to a secret's ARN."""
    return f"arn:{part}:secretsmanager:{region}:{account}:secret:{secret_name(prefix)}-??????"


def generate(length: int = 32) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def password_in(url: str | None, *, host: str) -> str | None:
    """The password a stored URL carries, if it still points at ``host`` (a database or
    Redis URL of a resource that was replaced is useless)."""
    if not url:
        return None
    parts = urlsplit(url)
    return unquote(parts.password) if parts.hostname == host and parts.password else None


def read(sm: Any, name: str) -> dict[str, str] | None:
    """The stored settings, or None when the secret does not exist (yet)."""
    try:
        value = sm.get_secret_value(SecretId=name)["SecretString"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    try:
        settings = json.loads(value)
    except ValueError:
        raise ProvisionError(f"secret {name} is not a JSON object of VF_* settings") from None
    if not isinstance(settings, dict):
        raise ProvisionError(f"secret {name} is not a JSON object of VF_* settings")
    return {str(k): str(v) for k, v in settings.items()}


def ensure(sm: Any, *, name: str, values: Mapping[str, str],
           generated: Mapping[str, Callable[[], str]] = {},
           kms_key_id: str | None = None, tags: Mapping[str, str] = {}
           ) -> tuple[Result, dict[str, str]]:
    """Merge ``values`` into the secret; a ``generated`` key is made only when missing.
    Returns the result (changed key names, never values) and the settings now stored."""
    changes = Changes("secret", name)
    current = read(sm, name)
    merged = dict(current or {})
    merged.update(values)
    for key, make in generated.items():
        merged.setdefault(key, make())
    body = json.dumps(dict(sorted(merged.items())))
    if current is None:
        extra: dict[str, Any] = {"KmsKeyId": kms_key_id} if kms_key_id else {}
        created = sm.create_secret(
            Name=name, SecretString=body, Tags=[{"Key": k, "Value": v}
                                                for k, v in sorted(tags.items())],
            Description="VideoForge: the VF_* settings of the deployed services", **extra)
        changes.created = True
        return changes.result(id=created["ARN"]), merged
    differing = sorted(k for k in merged if current.get(k) != merged[k])
    if differing:
        sm.put_secret_value(SecretId=name, SecretString=body)
        changes.note(*differing)
    arn = sm.describe_secret(SecretId=name)["ARN"]
    return changes.result(id=arn), merged


def env_file_text(settings: Mapping[str, str]) -> str:
    """A systemd EnvironmentFile: each value in double quotes, where systemd drops a
    backslash before ``"``, ``\\``, ``$`` and a backquote (systemd.exec(5), EnvironmentFile)."""
    lines = ["# Written by `videoforge runtime-env` from the provisioned settings."]
    for key, value in sorted(settings.items()):
        if not _NAME.match(key):
            raise ProvisionError(f"{key!r} is not an environment variable name")
        if not value.isprintable():
            raise ProvisionError(f"the value of {key} has a control character")
        quoted = "".join("\\" + c if c in '"\\$`' else c for c in value)
        lines.append(f'{key}="{quoted}"')
    return "\n".join(lines) + "\n"


def write_env_file(path: Path, settings: Mapping[str, str]) -> None:
    """Atomically, readable by its owner and group only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o640)
        with os.fdopen(fd, "w") as out:
            out.write(env_file_text(settings))
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
