"""``python -m videoforge.stack.objectstore --root DIR --port P``: serve the local store.

It accepts the one key pair in ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (the
local stack's), and no other.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import uvicorn

from videoforge.stack.objectstore.app import ObjectStoreApp
from videoforge.stack.objectstore.store import Store
from videoforge.stack.sigv4 import Credentials, Verifier


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m videoforge.stack.objectstore")
    parser.add_argument("--root", type=Path, required=True, help="where objects are kept")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    credentials = Credentials(os.environ["AWS_ACCESS_KEY_ID"],
                              os.environ["AWS_SECRET_ACCESS_KEY"])
    store = Store(args.root)
    app = ObjectStoreApp(store, Verifier(credentials, service="s3"))
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                    access_log=False, timeout_graceful_shutdown=5)
    finally:
        store.close()


if __name__ == "__main__":
    main()
