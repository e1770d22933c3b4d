"""Figures: embedded raster images worth showing, cropped to PNG with a caption.

Contract: :func:`extract_figures` returns ``figure`` :class:`~core.records.Element` items for the
raster images on a page that cover at least ``min_area`` of the page (logos, rules and signature
scans are smaller), skipping near-full-page images (a scanned page is OCR'd instead). The crop is
rendered from the page (so overlaid vector labels are kept and odd image colourspaces need no
special handling) to ``out_dir/p<page>_fig<k>.png``; ``text`` is a nearby caption, if any.
Vector-drawn charts are not detected (they have no image to find).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pymupdf

from core.records import BBox, Element

logger = logging.getLogger(__name__)

_CAPTION = re.compile(r"^(figure|fig\.|chart|graph|exhibit|table)\s*\d*", re.I)


def extract_figures(
    page: pymupdf.Page,
    page_no: int,
    lines: list[tuple[pymupdf.Rect, str]],
    out_dir: Path | None,
    dpi: int = 100,
    min_area: float = 0.05,
    max_pixels: float = 25e6,
) -> list[Element]:
    """Figure elements for ``page``; ``lines`` (rect, text) are searched for captions. A crop is
    rendered at ``dpi`` (at least 100), lowered when it would pass ``max_pixels``."""
    page_area = page.rect.width * page.rect.height
    figures: list[Element] = []
    boxes: list[pymupdf.Rect] = []
    for info in page.get_image_info():
        rect = pymupdf.Rect(info["bbox"]) & page.rect
        if rect.is_empty or rect.get_area() < min_area * page_area:
            continue
        if rect.get_area() > 0.85 * page_area:
            continue  # a scan or a full-page background, not a figure
        if any(_same(rect, other) for other in boxes):
            continue  # the same image drawn twice (masks, tiling)
        boxes.append(rect)
    for k, rect in enumerate(sorted(boxes, key=lambda r: (r.y0, r.x0)), start=1):
        image_path = None
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            target = out_dir / f"p{page_no}_fig{k}.png"
            wanted = max(dpi, 100)
            pixels = (rect.width / 72 * wanted) * (rect.height / 72 * wanted)
            if pixels > max_pixels:
                wanted = max(1, int(wanted * (max_pixels / pixels) ** 0.5))
            page.get_pixmap(clip=rect, dpi=wanted).save(target)
            image_path = str(target)
        figures.append(
            Element(
                kind="figure",
                page_no=page_no,
                text=_caption(rect, lines),
                bbox=BBox(x0=rect.x0, y0=rect.y0, x1=rect.x1, y1=rect.y1),
                image_path=image_path,
            )
        )
    return figures


def _same(a: pymupdf.Rect, b: pymupdf.Rect) -> bool:
    inter = (a & b).get_area()
    return inter > 0.9 * min(a.get_area(), b.get_area())


def _caption(rect: pymupdf.Rect, lines: list[tuple[pymupdf.Rect, str]]) -> str:
    """A "Figure/Chart ..." line just below or above the image, else the nearest line below."""
    near: list[tuple[float, str]] = []
    for box, text in lines:
        if box.x1 < rect.x0 - 20 or box.x0 > rect.x1 + 20:
            continue
        below = box.y0 - rect.y1
        above = rect.y0 - box.y1
        if -2 <= below <= 36:
            near.append((below, text))
        elif -2 <= above <= 24 and _CAPTION.match(text):
            near.append((above, text))
    labelled = [n for n in near if _CAPTION.match(n[1])]
    pick = min(labelled or near, default=None)
    return pick[1].strip() if pick else ""
