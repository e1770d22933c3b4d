"""FinanceBench-format evaluation sets.

A set is a folder with ``questions.jsonl`` (one object per line with at least ``question``,
``doc`` — the PDF file name — and ``evidence_pages``, 1-based physical pages; ``answer`` and ``id``
when present) and a ``pdfs/`` folder holding the documents.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field

from core.errors import ConfigError

# The development set beside a checkout (../shared), offered by the app's forms when present.
DEV_SET = Path("../shared/data/financebench-dev")


def default_set_dir() -> str:
    """:data:`DEV_SET` when it holds a set, else "" (the app's forms prefill it)."""
    return str(DEV_SET) if (DEV_SET / "questions.jsonl").exists() else ""


class EvalQuestion(BaseModel):
    id: str
    question: str
    doc: str
    evidence_pages: list[int]
    answer: str | None = None
    question_type: str | None = None
    extra: dict = Field(default_factory=dict)


class EvalSet(BaseModel):
    name: str
    root: Path
    questions: list[EvalQuestion]

    @property
    def pdf_dir(self) -> Path:
        return self.root / "pdfs"


def load_set(folder: Path) -> EvalSet:
    """Read and validate a FinanceBench-format folder; errors say which line is wrong."""
    qfile = folder / "questions.jsonl"
    if not qfile.exists():
        raise ConfigError(f"{folder} is not an evaluation set: questions.jsonl is missing")
    if not (folder / "pdfs").is_dir():
        raise ConfigError(f"{folder} is not an evaluation set: the pdfs/ folder is missing")
    questions: list[EvalQuestion] = []
    for number, line in enumerate(qfile.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            known = {k: raw[k] for k in ("question", "doc", "evidence_pages")}
        except (json.JSONDecodeError, KeyError) as exc:
            raise ConfigError(f"{qfile}:{number}: not a valid question record ({exc})") from None
        questions.append(
            EvalQuestion(
                id=str(raw.get("id") or f"q{number}"),
                answer=raw.get("answer"),
                question_type=raw.get("question_type"),
                extra={k: v for k, v in raw.items() if k not in known},
                **known,
            )
        )
    missing = sorted({q.doc for q in questions if not (folder / "pdfs" / q.doc).exists()})
    if missing:
        raise ConfigError(
            f"{folder}/pdfs lacks documents named in questions.jsonl: {', '.join(missing)}"
        )
    return EvalSet(name=folder.resolve().name, root=folder, questions=questions)
