#!/usr/bin/env bash
# Smoke benchmark of the Qwen3-VL embedder and rerankers (see scripts/gpu_check.py for the output).
# Models: FINRAG_GPU_CHECK_EMBEDDER / _RERANKER / _LISTWISE (local folders); unset = tiny random model.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .venv/bin/activate ]; then . .venv/bin/activate; fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_NO_ADVISORY_WARNINGS=1
exec python scripts/gpu_check.py "$@"
