#!/usr/bin/env bash
# README command 1: set everything up, then run the chapter's pipeline (quick profile).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# No --out: each run gets its own timestamped folder under runs/, so a rerun never overwrites one.
exec .venv/bin/forecastlab reproduce --profile quick "$@"
