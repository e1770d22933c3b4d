"""Vocabulary check: the line items FinanceBench's metric questions name map to our concepts.

Each ``metrics-generated`` question's justification names the line items its answer used, as
printed in the filing. The check maps each name with :func:`core.concepts.concept_of` (no
statement, no section: the bare label) and prints the mapping rate per set. Synonyms come from
general US GAAP vocabulary; both sets' line-item lists (dev 8, dev2 66) were read while the list
was written, so neither set is a clean confirmation of the other: the held-out set is. Skipped
when ``../shared/data`` is absent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.concepts import concept_of

_REPO = Path(__file__).resolve().parents[2]
# ../shared beside the checkout; a worktree kept one folder deeper finds it one level up
DATA = next(
    (
        d
        for d in (_REPO.parent / "shared" / "data", _REPO.parent.parent / "shared" / "data")
        if d.is_dir()
    ),
    _REPO.parent / "shared" / "data",
)
_NAMED = (
    re.compile(r"single line item named: ([^\n]*?)\.?\s*(?:\n|$)"),
    re.compile(r"line item name, as seen in the 10K, was: ([^\n]*?)\.(?:\s|$)"),
)


def _line_items(name: str) -> list[str]:
    path = DATA / name / "questions.jsonl"
    if not path.exists():
        pytest.skip(f"{path} not found (needs the shared FinanceBench data)")
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        if q.get("question_type") != "metrics-generated":
            continue
        for pattern in _NAMED:
            items += [m.strip() for m in pattern.findall(q.get("justification") or "")]
    # "[blank line item ...]": the filing printed no label, so there is nothing to map
    return [i for i in items if i and not i.startswith("[")]


@pytest.mark.parametrize("name", ["financebench-dev", "financebench-dev2"])
def test_metric_line_items_map_to_concepts(name):
    items = _line_items(name)
    assert items
    missed = [i for i in items if concept_of(i) is None]
    rate = 1 - len(missed) / len(items)
    print(f"{name}: {len(items) - len(missed)}/{len(items)} line items mapped ({rate:.0%})")
    assert rate >= 0.9, missed
