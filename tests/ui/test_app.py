"""The Streamlit analyst app (Ask page) through AppTest, on the generated sample filings."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from core.records import BBox
from core.settings import Settings
from tests.fixtures.corpora import ingest_into
from ui.page_view import MAX_ZOOM_PIXELS, ZOOM_DPI, cited_region, highlight

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
Q_2023 = "What was Northwind Robotics' total revenue in fiscal 2023?"
CITE = "[1] northwind_2023_10k.pdf p.6"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, model_cache, sample_folder):
    data_dir = tmp_path_factory.mktemp("app-corpus")
    settings = Settings(data_dir=data_dir, model_cache=model_cache)
    settings.ingest.workers = 1
    assert ingest_into([sample_folder], settings).count("ok") == 3
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINRAG_DATA_DIR", str(data_dir))
        mp.setenv("FINRAG_MODEL_CACHE", str(model_cache))
        mp.setenv("FINRAG_CONFIG", str(data_dir / "absent.toml"))
        yield settings


def _app():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def _ask(at, question: str):
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def test_answer_cites_the_page_and_shows_it_highlighted(corpus):
    at = _ask(_app(), Q_2023)
    assert any("2,255.4" in md.value for md in at.markdown), [md.value for md in at.markdown]
    labels = [b.label for b in at.button]
    assert CITE in labels, labels
    assert len(at.image) == 0  # nothing selected yet

    next(b for b in at.button if b.label == CITE).click().run()
    assert not at.exception
    # the cited region zoomed from the PDF, and the whole page in an expander
    assert len(at.image) == 2
    assert any(e.label == "Full page 6" for e in at.expander)
    assert any(md.value.startswith("> ") and "2,255.4" in md.value for md in at.markdown)
    assert any("Column: 2023" in c.value for c in at.caption)
    assert any("northwind_2023_10k.pdf, page 6" in h.value for h in at.subheader)
    # The evidence table lists the retrieved pages with their scores, the cited page among them.
    evidence = next(f.value for f in at.dataframe if "evidence" in f.value.columns)
    corpus_rows = evidence[evidence["source"] == "corpus"]
    assert "northwind_2023_10k.pdf p.6" in set(corpus_rows["evidence"])
    assert (corpus_rows["score"] > 0).all()


def test_unanswerable_question_abstains_without_error(corpus):
    at = _ask(_app(), "What was Globex Corporation's dividend per share in fiscal 2019?")
    assert not at.error
    texts = [w.value for w in at.warning]
    assert any("I could not determine" in t for t in texts), [m.value for m in at.markdown]
    assert any(c.value.startswith("Searched") for c in at.caption)
    assert not [b.label for b in at.button if b.label.startswith("[")]  # nothing to cite


def test_config_error_shows_as_a_message_not_a_traceback(corpus, monkeypatch, tmp_path):
    # An unknown embedder backend: the registry raises UnknownBackendError (a FinragError).
    monkeypatch.setenv("FINRAG_DATA_DIR", str(tmp_path / "other"))
    monkeypatch.setenv("FINRAG_EMBEDDER__NAME", "no-such-embedder")
    at = _app()
    assert at.error, [m.value for m in at.markdown]
    assert "no-such-embedder" in at.error[0].value


def test_highlight_tints_inside_the_box_only(tmp_path):
    page = Image.new("L", (200, 300), 255)  # a grayscale render, as ingest writes text pages
    path = tmp_path / "p1.png"
    page.save(path)
    # 36 pt = 0.5 in = 50 px at 100 dpi
    out = highlight(path, BBox(x0=36, y0=72, x1=108, y1=144), dpi=100)
    assert out.mode == "RGB" and out.size == (200, 300)
    inside = out.getpixel((75, 150))
    assert inside != (255, 255, 255) and inside[2] < inside[0]  # amber tint over white paper
    for outside in [(10, 10), (49 - 3, 150), (75, 97 - 3), (153, 150), (75, 203), (199, 299)]:
        assert out.getpixel(outside) == (255, 255, 255), outside
    assert highlight(path, None, dpi=100).getpixel((75, 150)) == (255, 255, 255)


def _pdf(path: Path, width: float = 612, height: float = 792) -> Path:
    import pymupdf

    with pymupdf.open() as doc:
        page = doc.new_page(width=width, height=height)
        page.insert_text((72, 300), "Total net sales            2,255.4", fontsize=10)
        doc.save(path)
    return path


def test_cited_region_is_the_row_from_its_label_to_the_cell_at_a_readable_resolution(tmp_path):
    cell = BBox(x0=190, y0=290, x1=240, y1=302)
    image = cited_region(_pdf(tmp_path / "f.pdf"), None, 1, cell, render_dpi=100)
    scale = ZOOM_DPI / 72
    assert image is not None
    left = 72 - 18  # the label starts at x=72; one context margin before it
    assert image.width == pytest.approx((240 + 18 - left) * scale, abs=2)  # label .. cell
    assert image.height < 100 * scale  # a strip around the row, not the page
    top = 290 - 36  # two context margins above the box
    inside = image.getpixel((round((215 - left) * scale), round((296 - top) * scale)))
    assert inside[2] < inside[0]  # tinted
    label = [image.getpixel((x, round((296 - top) * scale))) for x in range(200)]
    assert min(p[0] for p in label) < 128  # the label's ink is in the picture
    assert image.getpixel((5, 5)) == (255, 255, 255)


def test_cited_region_falls_back_to_the_render_and_never_builds_a_pixel_bomb(tmp_path):
    render = tmp_path / "p1.png"
    Image.new("L", (850, 1100), 255).save(render)  # 612 x 792 pt at 100 dpi
    cell = BBox(x0=190, y0=290, x1=240, y1=302)
    crop = cited_region(tmp_path / "gone.pdf", render, 1, cell, render_dpi=100)
    assert crop is not None and crop.width == 850 and crop.height < 100
    assert cited_region(None, None, 1, cell, render_dpi=100) is None
    # a whole 14,000-pt page cited: rendered at a lower resolution, not 378 megapixels
    huge = _pdf(tmp_path / "huge.pdf", width=14_000, height=14_000)
    whole = BBox(x0=0, y0=0, x1=14_000, y1=14_000)
    image = cited_region(huge, None, 1, whole, render_dpi=100)
    assert image is not None and image.width * image.height <= MAX_ZOOM_PIXELS * 1.05


def test_ui_command_runs_streamlit_headless(monkeypatch):
    import typer
    from typer.testing import CliRunner

    import ui.cli_ui
    from ui.cli_ui import register

    calls = []
    monkeypatch.setattr(ui.cli_ui, "serve", lambda cmd, env: calls.append((cmd, env)) or 0)
    monkeypatch.delenv("STREAMLIT_SERVER_HEADLESS", raising=False)
    app = typer.Typer()
    app.command("noop")(lambda: None)  # a second command keeps `ui` a named subcommand
    register(app)
    result = CliRunner().invoke(app, ["ui", "--host", "0.0.0.0", "--port", "8599"])
    assert result.exit_code == 0, result.output
    ((cmd, env),) = calls
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == APP
    flags = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert env["STREAMLIT_SERVER_HEADLESS"] == "true"
    assert (flags["--server.address"], flags["--server.port"]) == ("0.0.0.0", "8599")


def test_a_computed_answer_shows_its_formula_and_each_input_opens_its_cell(corpus):
    at = _ask(
        _app(),
        "How much did Northwind Robotics' total revenue grow from fiscal 2022 to fiscal 2023?",
    )
    assert any(e.label == "How it was computed" for e in at.expander)
    assert any(m.value.startswith("`growth") and "19.8%" in m.value for m in at.markdown)
    inputs = [b for b in at.button if b.label.startswith("[") and "revenue FY20" in b.label]
    assert len(inputs) == 2 and all("$" in b.label and "p.6" in b.label for b in inputs)
    inputs[1].click().run()
    assert not at.exception
    assert any(m.value.startswith("> ") and "1,883.4" in m.value for m in at.markdown)


def test_a_looked_up_figure_is_said_once_and_not_shown_as_a_calculation(corpus):
    at = _ask(_app(), Q_2023)
    answer = next(m.value for m in at.markdown if "2,255.4" in m.value and "[1]" in m.value)
    assert answer.count("2,255.4") == 1, answer
    assert not any(e.label == "How it was computed" for e in at.expander)
