#!/usr/bin/env bash
# Create .venv (if missing) and install forecastlab with its test tools. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# lightgbm's wheel links the system's OpenMP runtime.
if ! ldconfig -p 2>/dev/null | grep -q "libgomp.so.1"; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq libgomp1
fi
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
# torch==2.13.0 is pinned in pyproject.toml: it is the CPU wheel, a range would fetch CUDA builds.
.venv/bin/python -m pip install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import forecastlab, torch; print(f'forecastlab {forecastlab.__version__}, torch {torch.__version__}')"
