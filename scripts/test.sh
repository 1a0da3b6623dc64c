#!/usr/bin/env bash
# README command 2 (and what .ci/run calls): install, lint, run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# With the optional Keras reference venv (scripts/keras-venv.sh), the Keras parity tests run too.
if [ -z "${FORECASTLAB_KERAS_PYTHON:-}" ] && [ -x .keras-venv/bin/python ]; then
    export FORECASTLAB_KERAS_PYTHON="$PWD/.keras-venv/bin/python"
fi
# The pinned aeon wheel (6.4 MB, from the package registry) holds the UCR series the real-data tests read;
# forecastlab checks its sha256 (forecastlab.data.ucr.AEON_WHEEL). Without it those tests skip and say why.
WHEEL=.whl/aeon-1.6.0-py3-none-any.whl
if [ -z "${FORECASTLAB_AEON_WHEEL:-}" ]; then
    [ -f "$WHEEL" ] || .venv/bin/python -m pip download -q --no-deps --only-binary=:all: -d .whl aeon==1.6.0 \
        >/dev/null 2>&1 || echo "WARNING: could not download $WHEEL; the real-UCR tests will be skipped" >&2
    [ -f "$WHEEL" ] && export FORECASTLAB_AEON_WHEEL="$PWD/$WHEEL"
fi
.venv/bin/ruff check src tests benchmarks
# Two workers, one per core (each runs one torch thread, see tests/conftest.py); a test file stays on one
# worker, so its module fixtures are built once. Pass -n 0 to run in one process.
exec .venv/bin/python -m pytest -q -n 2 --dist loadfile --durations=25 "$@"
