#!/usr/bin/env bash
# One entry point that sets itself up: a virtual environment in .venv with the
# pinned, tested stack (CPU torch) and skneural installed in editable mode.
#   bash run.sh demo          the main job: a grid-searched, cross-validated MLP on digits
#   bash run.sh test [args]   the test suite (extra args go to pytest)
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements-pinned.txt pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-pinned.txt
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
    rm -f .venv/.installed-*
    touch "$stamp"
fi

task=${1:-}
[ $# -gt 0 ] && shift
case "$task" in
    demo) exec .venv/bin/python examples/demo.py "$@" ;;
    test) exec .venv/bin/python -m pytest "$@" ;;
    *) echo "usage: bash run.sh demo | test [pytest args]" >&2; exit 2 ;;
esac
