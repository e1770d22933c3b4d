"""Page renders with a cited region highlighted, for the analyst app.

Contract: :func:`highlight` takes a page PNG written by ingest (``Page.image_path``, rendered at
``settings.ingest.render_dpi``) and a :class:`~core.records.BBox` in PDF points (origin top-left)
and returns an RGB :class:`PIL.Image.Image` with the box tinted and outlined; pixels outside the
box are unchanged. :func:`highlighted_page` is the same, cached by Streamlit across reruns so
flipping between citations does not re-read and re-composite the PNG.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st
from PIL import Image, ImageDraw

from core.records import BBox

log = logging.getLogger(__name__)

TINT = (255, 193, 7)  # amber: readable over black text and white paper alike
TINT_ALPHA = 90  # of 255; the quoted figures must stay legible under the tint
OUTLINE = (230, 120, 0, 255)


def render_path(renders_dir: Path, doc_id: str, page_no: int) -> Path:
    """Where ingest wrote the render of ``page_no`` of ``doc_id``."""
    return renders_dir / doc_id / f"p{page_no}.png"


def highlight(image_path: str | Path, bbox: BBox | None, dpi: int) -> Image.Image:
    """The page at ``image_path`` with ``bbox`` (PDF points) drawn as a translucent rectangle.

    Args:
        image_path: a page render (grayscale renders are converted to RGB).
        bbox: the cited region; None returns the page as is.
        dpi: the resolution the render was made at (points are 1/72 in).
    """
    with Image.open(image_path) as src:
        page = src.convert("RGB")
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
