#!/usr/bin/env bash
# Optional: a separate venv with Darts (torch models), used only as a peer toolkit by
# benchmarks/peer_darts.py. Never a dependency of forecastlab itself. Safe to rerun.
#
# u8darts 0.41.0 is a redirect to darts==0.41.0; its [torch] extra brings pytorch-lightning,
# which darts' torch models (BlockRNNModel, TCNModel) need. torch is pinned to 2.13.0, the CPU
# wheel on local disk, through a constraints file: darts asks for torch>=2.0.0, and any range
# would make pip fetch gigabytes of CUDA builds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .darts-venv/bin/python ]; then
    "$PY" -m venv .darts-venv
fi
CONSTRAINTS=$(mktemp)
trap 'rm -f "$CONSTRAINTS"' EXIT
echo "torch==2.13.0" > "$CONSTRAINTS"
.darts-venv/bin/python -m pip install -q -c "$CONSTRAINTS" "torch==2.13.0" "u8darts[torch]==0.41.0" \
    pandas numpy 2>&1 | grep -v "^WARNING: Location" || true
.darts-venv/bin/python -c "import darts, torch; from darts.models import BlockRNNModel, TCNModel; \
print(f'darts {darts.__version__}, torch {torch.__version__}')" 2>/dev/null
