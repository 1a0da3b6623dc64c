#!/usr/bin/env bash
# Optional: a separate venv with Keras 3 + TensorFlow (CPU), used only as a reference by the Keras
# parity tests and the benchmarks. Never a dependency of forecastlab itself.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .keras-venv/bin/python ]; then
    "$PY" -m venv .keras-venv
fi
.keras-venv/bin/python -m pip install -q "tensorflow-cpu==2.21.0" "keras==3.15.1" 2>&1 | grep -v "^WARNING: Location" || true
.keras-venv/bin/python -c "import keras, tensorflow as tf; print(f'keras {keras.__version__}, tensorflow {tf.__version__}')" 2>/dev/null
