#!/usr/bin/env bash
# Are the floors in pyproject.toml true? Installs every direct dependency at its floor
# (uv's lowest-direct resolution) into a throwaway venv and runs the tests there.
# It runs the whole suite by default (slow: run it after moving a floor, not in `make test`);
# arguments go to pytest, e.g. `scripts/check-floors.sh tests/gateway -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VF_FLOORS_VENV:-/tmp/vf-floors}
UV=.venv/bin/uv
test -x "$UV" || { echo "error: run make first (uv comes with the dev dependencies)" >&2; exit 2; }
rm -rf "$VENV"
"$UV" venv -q --python "${PYTHON:-python3.11}" "$VENV"
# pip: tests/ops builds a chroot with the interpreter's own pip.
"$UV" pip install -q --python "$VENV/bin/python" --resolution lowest-direct -e '.[dev,local]' pip
"$UV" pip freeze --python "$VENV/bin/python" > "$VENV/floors.txt"
echo "floors installed (list in $VENV/floors.txt); running the tests"
# The environment check compares with the lock, which the floors are not.
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
  --deselect tests/test_lock.py::test_this_environment_is_the_lock "${@:-tests}"
