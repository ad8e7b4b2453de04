"""``python -m videoforge.stack.identity --root DIR --port P``: serve the local user pool.

Admin calls must be signed with the key pair in ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` (the local stack's).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import uvicorn

from videoforge.stack.identity.app import IdentityApp
from videoforge.stack.identity.keys import SigningKey
from videoforge.stack.identity.tokens import Pool
from videoforge.stack.identity.users import UserStore
from videoforge.stack.sigv4 import Credentials, Verifier


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m videoforge.stack.identity")
    parser.add_argument("--root", type=Path, required=True, help="users and signing key")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    credentials = Credentials(os.environ["AWS_ACCESS_KEY_ID"],
                              os.environ["AWS_SECRET_ACCESS_KEY"])
    users = UserStore(args.root / "users.db")
    app = IdentityApp(users, SigningKey.load_or_create(args.root / "signing-key.pem"),
                      Pool.local(args.region), Verifier(credentials, service="cognito-idp"))
    try:
        uvicorn.run(app.asgi, host=args.host, port=args.port, log_level="warning",
                    access_log=False, timeout_graceful_shutdown=5)
    finally:
        users.close()


if __name__ == "__main__":
    main()
