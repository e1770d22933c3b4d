"""Page renders with a cited region highlighted, for the analyst app.

Contract: :func:`highlight` takes a page PNG written by ingest (``Page.image_path``, rendered at
``settings.ingest.render_dpi``) and a :class:`~core.records.BBox` in PDF points (origin top-left)
and returns an RGB :class:`PIL.Image.Image` with the box tinted and outlined; pixels outside the
box are unchanged. :func:`highlighted_page` is the same, cached by Streamlit across reruns so
flipping between citations does not re-read and re-composite the PNG.

:func:`cited_region` is what the citation panel shows first: the cited box with its context at a
readable resolution. A small box (a table cell, a line) is widened to the page's width so the row's
label reads beside the figure; the region is rendered from the source PDF at
:data:`ZOOM_DPI` (the 100-dpi page render shrunk into a side panel cannot be read), or cropped
from the render when the source is not a PDF or is gone.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st
from PIL import Image, ImageDraw

from core.records import BBox

log = logging.getLogger(__name__)

ZOOM_DPI = 200
MAX_ZOOM_PIXELS = 8_000_000  # a huge cited box renders at a lower dpi, never as a pixel bomb
ROW_HEIGHT = 40.0  # points: a box lower than this is a cell or a line, shown across the page
CONTEXT = 18.0  # points of page kept around the cited box

TINT = (255, 193, 7)  # amber: readable over black text and white paper alike
TINT_ALPHA = 90  # of 255; the quoted figures must stay legible under the tint
OUTLINE = (230, 120, 0, 255)


def render_path(renders_dir: Path, doc_id: str, page_no: int) -> Path:
    """Where ingest wrote the render of ``page_no`` of ``doc_id``."""
    return renders_dir / doc_id / f"p{page_no}.png"


def _render_dpi(image: Image.Image, default: float) -> float:
    """The dpi a render was made at: ingest stores it in the PNG (a huge page renders below
    ``render_dpi`` to stay under ``ingest.max_render_megapixels``); older renders lack it."""
    stored = image.info.get("dpi")
    return float(stored[0]) if stored and stored[0] > 0 else float(default)


def highlight(image_path: str | Path, bbox: BBox | None, dpi: int) -> Image.Image:
    """The page at ``image_path`` with ``bbox`` (PDF points) drawn as a translucent rectangle.

    Args:
        image_path: a page render (grayscale renders are converted to RGB).
        bbox: the cited region; None returns the page as is.
        dpi: the resolution the render was made at (points are 1/72 in).
    """
    try:
        with Image.open(image_path) as src:
            page = src.convert("RGB")
            dpi = _render_dpi(src, dpi)
    except Image.DecompressionBombError as exc:  # a render made before renders were capped
        raise OSError(f"the render is too large to show ({exc}); re-ingest the filing") from exc
    if bbox is None:
        return page
    scale = dpi / 72.0
    # Clamp so that a box reaching past the page edge (rounding in the parser) still draws.
    x0 = max(0, min(page.width - 1, round(bbox.x0 * scale)))
    y0 = max(0, min(page.height - 1, round(bbox.y0 * scale)))
    x1 = max(x0, min(page.width - 1, round(bbox.x1 * scale)))
    y1 = max(y0, min(page.height - 1, round(bbox.y1 * scale)))
    overlay = Image.new("RGBA", page.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle((x0, y0, x1, y1), fill=(*TINT, TINT_ALPHA), outline=OUTLINE, width=2)
    return Image.alpha_composite(page.convert("RGBA"), overlay).convert("RGB")


@st.cache_data(show_spinner=False, max_entries=64)
def highlighted_page(
    image_path: str, box: tuple[float, float, float, float] | None, dpi: int
) -> Image.Image:
    """:func:`highlight` cached by (path, box, dpi); ``box`` is ``(x0, y0, x1, y1)`` in points."""
    bbox = BBox(x0=box[0], y0=box[1], x1=box[2], y1=box[3]) if box else None
    return highlight(image_path, bbox, dpi)


def _region(bbox: BBox, width: float, height: float, row_start: float | None = None) -> BBox:
    """The part of a ``width`` x ``height`` page (points) shown around ``bbox``.

    A cell or line is shown from its row's first word (the line item's label, ``row_start``; the
    page's left edge when unknown) to just past the cell, so the label and the figure read
    together at the largest size the panel allows.
    """
    if bbox.y1 - bbox.y0 < ROW_HEIGHT:
        x0 = 0.0 if row_start is None else min(row_start, bbox.x0) - CONTEXT
        x1 = width if row_start is None else bbox.x1 + CONTEXT
    else:
        x0, x1 = bbox.x0 - CONTEXT, bbox.x1 + CONTEXT
    return BBox(
        x0=max(0.0, x0),
        y0=max(0.0, bbox.y0 - CONTEXT * 2),
        x1=min(width, x1),
        y1=min(height, bbox.y1 + CONTEXT),
    )


def _tint(image: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle(box, fill=(*TINT, TINT_ALPHA), outline=OUTLINE, width=2)
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def _from_pdf(source: Path, page_no: int, bbox: BBox, dpi: int) -> Image.Image | None:
    import pymupdf

    try:
        with pymupdf.open(source) as doc:
            if not 1 <= page_no <= doc.page_count:
                return None
            page = doc[page_no - 1]
            middle = (bbox.y0 + bbox.y1) / 2
            row = [w[0] for w in page.get_text("words") if w[1] <= middle <= w[3]]
            region = _region(bbox, page.rect.width, page.rect.height, min(row, default=None))
            area_in2 = max(1.0, region.area) / 72.0**2
            dpi = min(dpi, int((MAX_ZOOM_PIXELS / area_in2) ** 0.5))
            clip = pymupdf.Rect(region.x0, region.y0, region.x1, region.y1)
            pix = page.get_pixmap(dpi=max(dpi, 1), clip=clip, alpha=False)
            image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    except (RuntimeError, ValueError, OSError) as exc:  # pymupdf raises these on bad files
        log.warning("could not render %s page %s: %s", source, page_no, exc)
        return None
    scale = image.width / max(1.0, region.x1 - region.x0)
    box = (
        (bbox.x0 - region.x0) * scale,
        (bbox.y0 - region.y0) * scale,
        (bbox.x1 - region.x0) * scale,
        (bbox.y1 - region.y0) * scale,
    )
    return _tint(image, box)


def _from_render(render: Path, bbox: BBox, render_dpi: int) -> Image.Image | None:
    try:
        with Image.open(render) as src:
            page = src.convert("RGB")
            render_dpi = _render_dpi(src, render_dpi)
    except (OSError, Image.DecompressionBombError) as exc:
        log.warning("could not read the render %s: %s", render, exc)
        return None
    scale = render_dpi / 72.0
    region = _region(bbox, page.width / scale, page.height / scale)
    crop = page.crop(
        (round(region.x0 * scale), round(region.y0 * scale))
        + (round(region.x1 * scale), round(region.y1 * scale))
    )
    box = tuple(
        (v - o) * scale
        for v, o in zip(
            (bbox.x0, bbox.y0, bbox.x1, bbox.y1),
            (region.x0, region.y0, region.x0, region.y0),
            strict=True,
        )
    )
    return _tint(crop, box)  # type: ignore[arg-type]


def cited_region(
    source: Path | None,
    render: Path | None,
    page_no: int,
    bbox: BBox,
    render_dpi: int,
    zoom_dpi: int = ZOOM_DPI,
) -> Image.Image | None:
    """The cited ``bbox`` of ``page_no`` with its context, highlighted and readable.

    Args:
        source: the filing's file; used when it is a PDF that still exists.
        render: the page render ingest wrote (the fallback).
        page_no: 1-based page.
        bbox: the cited box in PDF points.
        render_dpi: the render's resolution.
        zoom_dpi: the resolution of a region rendered from the PDF (lowered for huge boxes so the
            image stays under :data:`MAX_ZOOM_PIXELS`).

    Returns None when neither the PDF nor the render can be read.
    """
    if source is not None and source.suffix.lower() == ".pdf" and source.is_file():
        image = _from_pdf(source, page_no, bbox, zoom_dpi)
        if image is not None:
            return image
    if render is not None and render.is_file():
        return _from_render(render, bbox, render_dpi)
    return None


@st.cache_data(show_spinner=False, max_entries=64)
def cited_region_cached(
    source: str | None,
    render: str | None,
    page_no: int,
    box: tuple[float, float, float, float],
    render_dpi: int,
) -> Image.Image | None:
    """:func:`cited_region` cached by its arguments (paths as strings, the box as a tuple)."""
    bbox = BBox(x0=box[0], y0=box[1], x1=box[2], y1=box[3])
    source_path = Path(source) if source else None
    return cited_region(source_path, Path(render) if render else None, page_no, bbox, render_dpi)
