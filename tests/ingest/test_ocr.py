"""OCR of a page without a text layer, offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.errors import MissingDependencyError
from core.records import ParsedDocument
from core.settings import IngestSettings
from ingest import ocr
from ingest.pdf import PdfParser
from tests.fixtures import filings


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> ParsedDocument:
    root = tmp_path_factory.mktemp("scan")
    path = filings.make_scanned_pdf(root / "scan.pdf", height=250)  # a strip: cheaper OCR
    return PdfParser(IngestSettings(ocr="rapidocr")).parse(path, "scan", root / "renders")


def _words(doc: ParsedDocument) -> dict[str, list]:
    out: dict[str, list] = {}
    for element in doc.elements:
        for word in element.words:
            out.setdefault(word.text.strip(".,"), []).append(word)
    return out


def test_scanned_page_is_ocrd(scanned: ParsedDocument) -> None:
    (page,) = scanned.pages
    assert not page.has_text_layer and page.ocr_used
    assert scanned.elements and all(e.ocr and e.kind == "text" for e in scanned.elements)
    assert not [e for e in scanned.elements if e.kind == "figure"]  # the scan is not a figure
    text = " ".join(e.text for e in scanned.elements)
    for line in filings.SCANNED_LINES:
        assert line in text
    assert scanned.timings["ocr"] > 0


def test_ocr_words_are_boxed_in_pdf_points(scanned: ParsedDocument) -> None:
    words = _words(scanned)
    for i, line in enumerate(filings.SCANNED_LINES):
        first = words[line.split()[0]][0]
        baseline = 120 + 40 * i  # where make_scanned_pdf drew it, 20 pt type
        assert first.bbox.x0 == pytest.approx(72, abs=6)
        assert baseline - 22 <= first.bbox.y0 <= baseline - 8
        assert baseline - 4 <= first.bbox.y1 <= baseline + 10
        assert first.confidence is not None and first.confidence > 0.8
    revenue = words["4,250"][0]
    assert revenue.bbox.x0 > words["Revenue"][0].bbox.x1  # words in left-to-right order


def test_rapidocr_never_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    from rapidocr.utils import download_file

    def refuse(*args, **kwargs):
        raise AssertionError("rapidocr tried to download a model")

    monkeypatch.setattr(download_file.DownloadFile, "run", classmethod(refuse))
    engine = ocr.RapidOcrEngine()  # a fresh engine, not the cached one
    assert engine is not ocr.get_engine("rapidocr")


def test_ocr_none_leaves_a_warning(tmp_path: Path) -> None:
    path = filings.make_scanned_pdf(tmp_path / "scan.pdf")
    doc = PdfParser(IngestSettings(ocr="none")).parse(path, "d", None)
    assert doc.elements == [] and "OCR is off" in doc.warnings[0]


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr not installed")
def test_tesseract_engine(tmp_path: Path) -> None:
    path = filings.make_scanned_pdf(tmp_path / "scan.pdf")
    doc = PdfParser(IngestSettings(ocr="tesseract")).parse(path, "d", None)
    assert "Revenue" in " ".join(e.text for e in doc.elements)


def test_missing_tesseract_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(MissingDependencyError, match="apt-get install tesseract-ocr"):
        ocr.TesseractEngine()


class _NothingFound:
    """What RapidOCR 3 returns when detection finds no text: one bare (text, score, box)."""

    word_results = (("", 1.0, None),)


def test_rapidocr_empty_answer_is_no_lines() -> None:
    engine = object.__new__(ocr.RapidOcrEngine)  # no model load: only the answer's parsing
    engine._engine = lambda png, **kwargs: _NothingFound()
    assert engine.recognize(b"png") == []


def test_a_page_with_only_a_blank_image_is_not_a_page_failure(tmp_path: Path) -> None:
    # Regression: a logo-only page at the back of a 10-K failed with "not enough values to
    # unpack" because RapidOCR's empty answer is not a list of lines.
    path = filings.make_blank_image_page_pdf(tmp_path / "blank.pdf")
    doc = PdfParser(IngestSettings(ocr="rapidocr", figures=False)).parse(path, "b", None)
    assert not [w for w in doc.warnings if "could not be parsed" in w]
    assert [p.page_no for p in doc.pages] == [1, 2] and doc.pages[1].ocr_used


def test_a_full_scanned_page_is_ocrd_inside_the_limited_parse_worker(tmp_path: Path) -> None:
    # Regression: with the worker's address space capped at its RSS limit, onnxruntime's arena
    # reservations failed OCR of ordinary scanned letter pages (std::bad_alloc at ~1 GB RSS).
    from core.options import HashEmbedderOptions
    from core.settings import Settings
    from tests.fixtures.corpora import ingest_into

    folder = tmp_path / "scans"
    folder.mkdir()
    filings.make_scanned_pdf(folder / "scan.pdf", dpi=200, dense=True)
    settings = Settings(data_dir=tmp_path / "data", embedder=HashEmbedderOptions())
    settings.ingest.workers = 1
    assert settings.ingest.isolate  # the default: a limited worker parses the file
    report = ingest_into([folder], settings)
    (entry,) = report.files
    assert entry.status == "ok", entry.reason  # "partial" names a page that failed
