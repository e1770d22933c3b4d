"""Company folds of the learned page ranker's recipe: as served (window 5) and the model alone.

Usage: FINRAG_DATA_DIR=/tmp/r15/data python scripts/ranker_folds.py SET [SET ...] --out FILE.json

The README's "Learned page ranker" table; ``finrag finetune evaluate MODEL --folds company`` runs
the same folds for one candidate and gates it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.settings import Settings
from finetune.folds import collect_set, company_folds, format_folds
from finetune.ranker import PARAMS, ROUNDS
from rerank.learned import WINDOW


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings()
    questions, synthetic = [], []
    for set_dir in args.sets:
        q, s = collect_set(settings, set_dir, settings.data_dir / "finetune" / "folds")
        questions += q
        synthetic += s
    recipes = {
        "served": {"params": PARAMS, "rounds": ROUNDS, "window": WINDOW},
        "alone": {"params": PARAMS, "rounds": ROUNDS, "window": None},
    }
    result = company_folds(questions, synthetic, recipes)
    print(format_folds(result))
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
