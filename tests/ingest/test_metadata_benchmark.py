"""Filing metadata on the real filings of the FinanceBench development sets.

The sets are benchmarks kept beside the checkout (``../shared/data/financebench-dev*``, CC-BY-NC):
they are read, never copied. Each set's ``documents.jsonl`` gives the gold ``company`` (a short
label such as "AMD" or "Coca-Cola"), ``doc_type`` and ``doc_period`` (the fiscal year). Only the
pages metadata reads are parsed, so the 56 PDFs take about 15 s. Skipped when the sets are absent.

Scoring the company fairly: the gold label is a short form of the registered name, so it must be
the leading words of the extracted name once case, punctuation, "the" and legal suffixes are
ignored ("Coca-Cola" and "THE COCA-COLA COMPANY"), or its initials ("AMD" and "ADVANCED MICRO
DEVICES, INC."). The gold labels use today's names; a filing prints the name at the time it was
filed, which is what the extractor must read, so :data:`FORMER_NAMES` lists the renames between the
two (public facts about the gold, not rules of the extractor).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pymupdf
import pytest

from core.settings import IngestSettings
from ingest.front_matter import BODY_PAGES
from ingest.metadata import extract_metadata
from ingest.pdf import PdfParser

SETS = ("financebench-dev", "financebench-dev2")
FORMS = {"10k": "10-K", "10q": "10-Q", "8k": "8-K", "earnings": "earnings-release"}
# Gold label -> names its older filings were filed under. Square, Inc. became Block, Inc. in
# December 2021; its 2016 and 2020 10-Ks print "SQUARE, INC.".
FORMER_NAMES = {"Block": ("Square",)}
_SUFFIXES = {
    "the",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "plc",
    "ltd",
    "limited",
    "llc",
}


def _data_root() -> Path | None:
    # ../shared beside the checkout; a worktree kept one folder deeper finds it one level up.
    repo = Path(__file__).resolve().parents[2]
    for folder in (repo.parent / "shared" / "data", repo.parent.parent / "shared" / "data"):
        if (folder / SETS[0] / "documents.jsonl").exists():
            return folder
    return None


def _words(name: str) -> list[str]:
    text = re.sub(r"[^a-z0-9 ]", " ", name.lower().replace("&", " and "))
    return [w for w in text.split() if w not in _SUFFIXES]


def company_matches(gold: str, extracted: str | None) -> bool:
    """The gold short label names the extracted registrant (see the module docstring)."""
    if not extracted:
        return False
    got = _words(extracted)
    for label in (gold, *FORMER_NAMES.get(gold, ())):
        want = _words(label)
        if not want:
            continue
        if got[: len(want)] == want or "".join(got).startswith("".join(want)):
            return True
        if len(want) == 1 and len(got) > 1 and want[0] == "".join(w[0] for w in got):
            return True
    return False


def test_company_scoring_rule() -> None:
    assert company_matches("Coca-Cola", "THE COCA-COLA COMPANY")
    assert company_matches("AMD", "ADVANCED MICRO DEVICES, INC.")
    assert company_matches("MGM Resorts", "MGM RESORTS INTERNATIONAL")
    assert company_matches("Block", "SQUARE, INC.")
    assert not company_matches("Amazon", "AMCOR PLC")
    assert not company_matches("Best Buy", "(I.R.S. Employer Identification No.)")
    assert not company_matches("Boeing", None)


def _front_pages(pdf: Path, folder: Path) -> Path:
    """The first pages of ``pdf`` (what metadata reads), as a file of their own."""
    out = folder / pdf.name
    with pymupdf.open(pdf) as src, pymupdf.open() as part:
        part.insert_pdf(src, to_page=min(BODY_PAGES, src.page_count) - 1)
        part.save(out)
    return out


@pytest.mark.parametrize("name", SETS)
def test_metadata_of_every_benchmark_filing(name: str, tmp_path: Path) -> None:
    root = _data_root()
    if root is None or not (root / name / "documents.jsonl").exists():
        pytest.skip(f"{name} is not beside the checkout (../shared/data/{name}); nothing to score")
    parser = PdfParser(IngestSettings(render_pages=False, figures=False, ocr="none"))
    documents = [
        json.loads(line)
        for line in (root / name / "documents.jsonl").read_text().splitlines()
        if line.strip()
    ]
    wrong = []
    for gold in documents:
        path = _front_pages(root / name / "pdfs" / gold["doc"], tmp_path)
        meta = extract_metadata(parser.parse(path, "doc", None), gold["doc"])
        checks = {
            "company": company_matches(gold["company"], meta.company),
            "form": meta.form == FORMS[gold["doc_type"].lower()],
            "fiscal_year": meta.fiscal_year == gold["doc_period"],
        }
        if not all(checks.values()):
            got = (meta.company, meta.form, meta.fiscal_year)
            want = (gold["company"], gold["doc_type"], gold["doc_period"])
            wrong.append(f"{gold['doc']}: got {got}, gold {want}")
        assert all(e.confidence >= 0.5 for e in meta.evidence.values())
    right = len(documents) - len(wrong)
    assert not wrong, f"{name}: {right}/{len(documents)} right; wrong:\n" + "\n".join(wrong)
