"""The user data provision gives its launch templates when the operator brings none: a
cloud-config that writes ``/etc/videoforge/instance.env``, naming the provisioned settings
secret and the region. At boot the app role's ``videoforge-runtime-env`` unit reads the
secret with the instance's role and writes what every VideoForge unit reads. Nothing
secret is in the user data (anyone who may describe the launch template can read it)."""

from __future__ import annotations

import json

from videoforge.provision.runtime_config import SECRET_VARIABLE

# The app role's app_instance_env_file and service group.
INSTANCE_ENV_FILE = "/etc/videoforge/instance.env"
SERVICE_GROUP = "videoforge"


def instance_user_data(*, secret: str, region: str) -> str:
    content = f'{SECRET_VARIABLE}="{secret}"\nVF_AWS_REGION="{region}"\n'
    # JSON is YAML, and quotes whatever the names hold.
    entry = {"path": INSTANCE_ENV_FILE, "owner": f"root:{SERVICE_GROUP}",
             "permissions": "0640", "content": content}
    return "#cloud-config\n" + json.dumps({"write_files": [entry]}, indent=2) + "\n"
