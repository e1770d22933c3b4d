"""Offline OCR for pages without a text layer.

Contract: :func:`ocr_page` renders a PyMuPDF page, runs the engine named by
``IngestSettings.ocr`` and returns text-line :class:`~core.records.Element` items (``ocr=True``)
whose ``words`` carry boxes in PDF points. Engines are built once per process and cached.

* ``rapidocr`` (default): RapidOCR 3 on onnxruntime. Its det/rec/cls models ship inside the wheel
  (``rapidocr/models``); we pass their paths explicitly, so the code path that downloads a model
  when ``model_path`` is unset is never taken. The recogniser's character list is read from the
  ONNX metadata, so no dictionary download either.
* ``tesseract``: the Debian ``tesseract-ocr`` binary through a subprocess (TSV output); no Python
  wrapper needed.
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import pymupdf

from core.backends import OCR_ENGINES
from core.errors import IngestError, MissingDependencyError
from core.records import BBox, Element, Word

logger = logging.getLogger(__name__)

# one recognised line: (word, pixel box x0 y0 x1 y1, confidence) per word
OcrLine = list[tuple[str, tuple[float, float, float, float], float]]

OCR_DPI = 200  # recognisers want ~30 px x-height; 200 dpi gives that for 9-10 pt text


class OcrEngine(Protocol):
    def recognize(self, png: bytes) -> list[OcrLine]:
        """Text lines of a PNG; each line is a list of (word, pixel box x0 y0 x1 y1, confidence)."""
        ...


class RapidOcrEngine:
    """RapidOCR with the models from its wheel (never downloads)."""

    def __init__(self, threads: int | None = None) -> None:
        try:
            import rapidocr
            from rapidocr import RapidOCR
        except ImportError as exc:  # pragma: no cover - installed with the project
            raise MissingDependencyError(
                "rapidocr is not installed: pip install 'rapidocr>=3,<4' onnxruntime, "
                "or set FINRAG_INGEST__OCR=tesseract|none"
            ) from exc
        models = Path(rapidocr.__file__).parent / "models"
        paths = {
            "Det.model_path": models / "PP-OCRv6_det_small.onnx",
            "Rec.model_path": models / "PP-OCRv6_rec_small.onnx",
            "Cls.model_path": models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
        }
        missing = [str(p) for p in paths.values() if not p.exists()]
        if missing:
            raise MissingDependencyError(
                f"rapidocr models missing from the wheel ({', '.join(missing)}); reinstall "
                "rapidocr>=3,<4 or set FINRAG_INGEST__OCR=tesseract"
            )
        params: dict[str, object] = {k: str(v) for k, v in paths.items()}
        params["Global.log_level"] = "warning"
        params["Global.use_cls"] = False  # filings are upright; the angle classifier costs time
        if threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
        self._engine = RapidOCR(params=params)

    def recognize(self, png: bytes) -> list[OcrLine]:
        result = self._engine(png, return_word_box=True)
        lines = []
        for line_words in getattr(result, "word_results", None) or ():
            words = []
            for word in line_words:
                # When detection finds nothing, RapidOCR 3 answers ``(("", 1.0, None),)``: a
                # bare (text, score, box) triple where a line of such triples belongs, so the
                # "words" are a string, a float and None. Keep only well-formed words with text
                # and a box.
                if not (isinstance(word, (tuple, list)) and len(word) == 3):
                    continue
                text, score, quad = word
                if not (isinstance(text, str) and text.strip() and quad is not None):
                    continue
                xs = [p[0] for p in quad]
                ys = [p[1] for p in quad]
                words.append((text, (min(xs), min(ys), max(xs), max(ys)), float(score)))
            if words:
                lines.append(words)
        return lines


class TesseractEngine:
    """The ``tesseract`` command line (Debian package ``tesseract-ocr``)."""

    def __init__(self, lang: str = "eng", **_: object) -> None:
        self.binary = shutil.which("tesseract")
        if self.binary is None:
            raise MissingDependencyError(
                "tesseract is not installed: apt-get install tesseract-ocr, "
                "or set FINRAG_INGEST__OCR=rapidocr"
            )
        self.lang = lang

    def recognize(self, png: bytes) -> list[OcrLine]:
        proc = subprocess.run(
            [self.binary, "stdin", "stdout", "-l", self.lang, "tsv"],
            input=png,
            capture_output=True,
            check=False,
            timeout=300,
        )
        if proc.returncode != 0:
            raise IngestError(f"tesseract failed: {proc.stderr.decode(errors='replace')[:200]}")
        lines: dict[tuple[int, int, int], list] = {}
        reader = csv.DictReader(
            io.StringIO(proc.stdout.decode("utf-8", errors="replace")),
            delimiter="\t",
            quoting=csv.QUOTE_NONE,
        )
        for row in reader:
            text = (row.get("text") or "").strip()
            if row.get("level") != "5" or not text:
                continue
            x, y, w, h = (float(row[k]) for k in ("left", "top", "width", "height"))
            key = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
            lines.setdefault(key, []).append(
                (text, (x, y, x + w, y + h), max(0.0, float(row["conf"])) / 100)
            )
        return list(lines.values())


@lru_cache(maxsize=4)
def get_engine(name: str, threads: int | None = None) -> OcrEngine:
    """The OCR engine ``name`` (an :data:`~core.backends.OCR_ENGINES` name), built once per
    process and thread count: loading its models is the expensive part."""
    return OCR_ENGINES.create(name, threads=threads)


def ocr_page(
    page: pymupdf.Page, engine: OcrEngine, page_no: int, dpi: int = OCR_DPI
) -> list[Element]:
    """OCR one page: one ``text`` element per recognised line, words in PDF points."""
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    scale = 72.0 / dpi
    elements = []
    for line in engine.recognize(pix.tobytes("png")):
        words = [
            Word(
                text=text,
                confidence=conf,
                bbox=BBox(x0=b[0] * scale, y0=b[1] * scale, x1=b[2] * scale, y1=b[3] * scale),
            )
            for text, b, conf in line
        ]
        box = words[0].bbox
        for w in words[1:]:
            box = box.union(w.bbox)
        elements.append(
            Element(
                kind="text",
                page_no=page_no,
                text=" ".join(w.text for w in words),
                bbox=box,
                words=words,
                ocr=True,
            )
        )
    elements.sort(key=lambda e: (round(e.bbox.y0 / 4), e.bbox.x0) if e.bbox else (0, 0))
    return elements
