#!/usr/bin/env bash
# Optional: a separate venv with aeon (MiniRocket), used only as a peer toolkit by
# benchmarks/peer_minirocket_worker.py. Never a dependency of forecastlab itself. Safe to rerun.
#
# aeon 1.6.0's core requirements (numba, numpy, pandas, scikit-learn, scipy, ...) bring no torch;
# the constraints file pins torch to 2.13.0, the CPU wheel on local disk, all the same, so that a
# future dependency asking for torch can never make pip fetch gigabytes of CUDA builds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .aeon-venv/bin/python ]; then
    "$PY" -m venv .aeon-venv
fi
CONSTRAINTS=$(mktemp)
trap 'rm -f "$CONSTRAINTS"' EXIT
echo "torch==2.13.0" > "$CONSTRAINTS"
.aeon-venv/bin/python -m pip install -q -c "$CONSTRAINTS" "aeon==1.6.0" numpy pandas scikit-learn \
    2>&1 | grep -v "^WARNING: Location" || true
.aeon-venv/bin/python -c "import aeon, numba, sklearn; \
from aeon.classification.convolution_based import MiniRocketClassifier; \
print(f'aeon {aeon.__version__}, numba {numba.__version__}, sklearn {sklearn.__version__}')"
