"""Hostile input: generated bombs, links and oversized pages fail alone, the batch lands.

Files are built here, small on disk: a DOCX zip bomb (repetitive XML, compressed), a one-line HTML
over the HTML cap, a 14,000-pt PDF page, a link to a file outside the folder. The batch tests run
with the parse workers isolated (``ingest.isolate``), as the app does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import time
import zipfile
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from core.errors import AccessError, BatchTooLargeError, FileTooLargeError, FinragError
from core.settings import IngestSettings
from ingest.limits import check_archive
from ingest.pipeline import PreparedFile, _Isolated, _Todo
from ingest.sources import collect_files, resolve_in_roots, resolve_server_path, save_upload
from retrieval.corpus import Corpus
from tests.fixtures.corpora import ingest_into

GOOD = "northwind_2024q2_10q.pdf"


def docx_bomb(path: Path, megabytes: int = 30) -> Path:
    """A DOCX whose document.xml expands to ``megabytes`` MB (a few hundred KB on disk)."""
    run = b"<w:p><w:r><w:t>" + b"A" * 1000 + b"</w:t></w:r></w:p>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(b"<w:document><w:body>")
            chunk = run * 1000
            for _ in range(megabytes * 2**20 // len(chunk)):
                member.write(chunk)
            member.write(b"</w:body></w:document>")
    return path


def one_line_html(path: Path, megabytes: float) -> Path:
    cell = "<td>1,234</td>" * 50
    row = f"<tr>{cell}</tr>"
    with path.open("w") as f:
        f.write("<html><body><table>")
        for _ in range(int(megabytes * 2**20 / len(row)) + 1):
            f.write(row)
        f.write("</table></body></html>")
    return path


def huge_page_pdf(path: Path, points: float = 14_000.0) -> Path:
    doc = pymupdf.open()
    page = doc.new_page(width=points, height=points)
    page.insert_text((72, 72), "Northwind Trading annual report: revenue was $2,255.4 million.")
    page.insert_text((72, 144), "Operating income grew on higher volumes across every segment.")
    doc.save(str(path))
    doc.close()
    return path


# --- refused before parsing ------------------------------------------------------------------


def test_zip_bomb_is_refused_from_the_directory_quickly(tmp_path):
    bomb = docx_bomb(tmp_path / "bomb.docx", megabytes=30)  # the same shape, a tenth the size
    assert bomb.stat().st_size < 2**20
    started = time.perf_counter()
    with pytest.raises(FileTooLargeError) as caught:
        check_archive(bomb, IngestSettings(max_zip_uncompressed_mb=20))
    assert time.perf_counter() - started < 1.0
    assert "MAX_ZIP_UNCOMPRESSED_MB" in str(caught.value) and "\n" not in str(caught.value)
    ratio_only = IngestSettings(max_zip_uncompressed_mb=10_000)
    with pytest.raises(FileTooLargeError, match="MAX_ZIP_RATIO"):
        check_archive(bomb, ratio_only)

    many = tmp_path / "many.xlsx"
    with zipfile.ZipFile(many, "w") as archive:
        for n in range(30):
            archive.writestr(f"xl/m{n}.xml", "<x/>")
    with pytest.raises(FileTooLargeError, match="MAX_ZIP_MEMBERS"):
        check_archive(many, IngestSettings(max_zip_members=20))


def test_folder_walk_does_not_follow_links_and_caps_the_batch(tmp_path, sample_folder):
    folder = tmp_path / "shared"
    folder.mkdir()
    shutil.copy(sample_folder / GOOD, folder)
    secret = tmp_path / "outside" / "passwd.html"
    secret.parent.mkdir()
    secret.write_text("<html><body>root:x:0:0:root</body></html>")
    (folder / "y.html").symlink_to(secret)
    (folder / "linked_dir").symlink_to(secret.parent)

    files, problems = collect_files([folder])
    assert [f.name for f in files] == [GOOD]
    assert sorted(Path(p.path).name for p in problems) == ["linked_dir", "y.html"]
    assert all("not followed" in p.reason for p in problems)
    followed, _ = collect_files([folder], follow_symlinks=True)
    assert sorted(f.name for f in followed) == sorted([GOOD, "y.html", "passwd.html"])

    for n in range(5):
        (folder / f"n{n}.html").write_text("<p>x</p>")
    with pytest.raises(BatchTooLargeError, match="MAX_BATCH_FILES"):
        collect_files([folder], max_files=3)
    with pytest.raises(BatchTooLargeError, match="MAX_BATCH_GB"):
        collect_files([folder], max_bytes=1000)

    empty = tmp_path / "notes"
    empty.mkdir()
    (empty / "readme.txt").write_text("nothing to see")
    files, problems = collect_files([empty])
    assert files == [] and "no supported files" in problems[0].reason


def test_server_paths_stay_inside_the_allowed_roots(tmp_path, settings):
    root = settings.samples_dir
    root.mkdir(parents=True)
    (root / "a.pdf").write_bytes(b"%PDF-1.7")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "out").symlink_to(outside)
    assert settings.allowed_roots == [settings.uploads_dir, settings.samples_dir]

    assert resolve_in_roots(root / "a.pdf", [root]) == (root / "a.pdf").resolve()
    for escape in (root / ".." / ".." / "elsewhere", outside, "/etc", root / "out"):
        with pytest.raises(AccessError, match="ALLOWED_ROOTS"):
            resolve_in_roots(escape, [root])
    with pytest.raises(FinragError, match="does not exist"):
        resolve_in_roots(root / "missing.pdf", [root])

    alice = save_upload(b"%PDF-1.7 alice", "q.pdf", settings.uploads_dir, "alice")
    assert resolve_server_path(alice, settings, "alice") == alice.resolve()
    with pytest.raises(AccessError, match="your own uploads"):
        resolve_server_path(settings.uploads_dir / "alice", settings, "mallory")
    with pytest.raises(AccessError):
        resolve_server_path(outside, settings, "alice")
    assert resolve_server_path("a.pdf", settings, "x") == (root / "a.pdf").resolve()


def test_uploads_are_per_owner_content_addressed_and_never_overwrite(tmp_path):
    uploads = tmp_path / "uploads"
    alice = save_upload(b"alice's filing", "10k.pdf", uploads, "alice")
    mallory = save_upload(b"mallory's file", "10k.pdf", uploads, "mallory")
    assert alice != mallory and alice.read_bytes() == b"alice's filing"
    assert alice.parent.name == "alice"
    assert alice.stem == hashlib.sha256(b"alice's filing").hexdigest()
    assert save_upload(b"alice's filing", "other.pdf", uploads, "alice") == alice
    crafted = save_upload(b"x", "../../evil.pdf", uploads, "../bob")
    assert crafted.resolve().is_relative_to(uploads.resolve())
    with pytest.raises(FinragError, match="unsupported"):
        save_upload(b"x", "run.sh", uploads, "alice")


# --- ownership and duplicates ----------------------------------------------------------------


def test_duplicate_of_an_unreadable_filing_is_refused_and_the_acl_kept(settings, sample_folder):
    from ingest.pipeline import Requester

    uploads = settings.uploads_dir
    data = (sample_folder / GOOD).read_bytes()
    alice_path = save_upload(data, "alice-q2.pdf", uploads, "alice")
    report = ingest_into(
        [alice_path],
        settings,
        overrides={"acl": ["finance"]},
        requester=Requester(name="alice", groups=["finance"]),
        names={str(alice_path): "alice-q2.pdf"},
    )
    assert report.count("ok") == 1

    # mallory (public) uploads the same bytes under another name, asking for a public ACL
    mallory_path = save_upload(data, "q2.pdf", uploads, "mallory")
    refused = ingest_into(
        [mallory_path],
        settings,
        overrides={"acl": ["public"]},
        requester=Requester(name="mallory", groups=["public"]),
    )
    entry = refused.files[0]
    assert entry.status == "failed" and "may not read it" in entry.reason
    assert "alice" not in entry.reason and "finance" not in entry.reason
    with Corpus.open(settings) as corpus:
        (filing,) = corpus.catalog.filings()
        assert filing.acl == ["finance"] and filing.added_by == "alice"
        assert filing.file_name == "alice-q2.pdf" and filing.source_path == str(alice_path)
        assert corpus.index.count(acl_groups=["public"]) == 0
        assert corpus.facts.query(acl_groups=["public"]) == []


def test_same_name_upload_from_another_user_keeps_both(settings, sample_folder):
    from ingest.pipeline import Requester

    uploads = settings.uploads_dir
    alice = save_upload((sample_folder / GOOD).read_bytes(), "report.pdf", uploads, "alice")
    mallory_bytes = (sample_folder / "contoso_fy2024_10k.pdf").read_bytes()
    mallory = save_upload(mallory_bytes, "report.pdf", uploads, "mallory")
    for path, who, groups in ((alice, "alice", ["finance"]), (mallory, "mallory", ["public"])):
        report = ingest_into(
            [path],
            settings,
            overrides={"acl": groups},
            requester=Requester(name=who, groups=groups),
            names={str(path): "report.pdf"},
        )
        assert report.count("ok") == 1, report
    with Corpus.open(settings) as corpus:
        filings = {f.added_by: f for f in corpus.catalog.filings()}
    assert set(filings) == {"alice", "mallory"}
    assert filings["alice"].acl == ["finance"] and filings["mallory"].acl == ["public"]
    assert all(f.file_name == "report.pdf" for f in filings.values())
    assert alice.read_bytes() == (sample_folder / GOOD).read_bytes()


def test_set_acl_changes_catalog_chunks_and_facts_together(settings, sample_folder):

    ingest_into([sample_folder / "contoso_fy2024_10k.pdf"], settings, overrides={"acl": ["a"]})
    with Corpus.open(settings) as corpus:
        (filing,) = corpus.catalog.filings()
        points = corpus.index.doc_point_count(filing.doc_id)
        facts = corpus.facts.count(filing.doc_id)
        assert facts > 0 and corpus.index.count(acl_groups=["a"]) == points

        changed = corpus.set_acl(filing.doc_id, ["finance", "audit"])
        assert changed.acl == ["audit", "finance"]
        assert corpus.catalog.get(filing.doc_id).acl == ["audit", "finance"]
        assert corpus.index.count(acl_groups=["a"]) == 0
        assert corpus.index.count(acl_groups=["audit"]) == points
        assert len(corpus.facts.query(acl_groups=["finance"])) == facts
        assert corpus.facts.query(acl_groups=["a"]) == []
        assert all(f.acl == ["audit", "finance"] for f in corpus.facts.query(acl_groups=["audit"]))
        with pytest.raises(FinragError, match="at least one ACL group"):
            corpus.set_acl(filing.doc_id, [])
        with pytest.raises(FinragError, match="no searchable filing"):
            corpus.set_acl("0" * 64, ["x"])


# --- the batch lands around hostile files ----------------------------------------------------


def test_hostile_batch_fails_each_bad_file_alone_and_lands_the_rest(
    settings, sample_folder, tmp_path
):
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(sample_folder / GOOD, folder)
    docx_bomb(folder / "bomb.docx", megabytes=30)
    one_line_html(folder / "huge.html", megabytes=1.2)
    huge_page_pdf(folder / "huge_page.pdf")
    outside = tmp_path / "passwd.html"
    outside.write_text("<html><body>root:x:0:0</body></html>")
    (folder / "y.html").symlink_to(outside)
    settings.ingest.isolate = True
    settings.ingest.workers = 2
    settings.ingest.max_html_mb = 1.0
    settings.ingest.max_zip_uncompressed_mb = 20

    report = ingest_into([folder], settings)
    by_name = {Path(f.path).name: f for f in report.files}
    assert len(report.files) == 5
    assert by_name[GOOD].status == "ok" and by_name[GOOD].chunks > 0
    for name, why in (
        ("bomb.docx", "decompression bomb"),
        ("huge.html", "MAX_HTML_MB"),
        ("y.html", "not followed"),
    ):
        assert by_name[name].status == "failed" and why in by_name[name].reason, by_name[name]
        assert "\n" not in by_name[name].reason
    # The huge page is a real page: it is ingested, rendered under the pixel cap.
    assert by_name["huge_page.pdf"].status == "ok"
    with Corpus.open(settings) as corpus:
        doc_id = by_name["huge_page.pdf"].doc_id
        assert corpus.index.doc_point_count(doc_id) > 0
        assert {f.file_name for f in corpus.catalog.filings()} == {GOOD, "huge_page.pdf"}
    render = settings.renders_dir / doc_id / "p1.png"
    with Image.open(render) as image:
        assert image.width * image.height <= settings.ingest.max_render_megapixels * 1e6
        dpi = image.info["dpi"][0]
    assert 20 < dpi < settings.ingest.render_dpi
    from core.records import BBox
    from ui.page_view import highlight

    shown = highlight(render, BBox(x0=7000, y0=7000, x1=14000, y1=14000), dpi=100)
    assert shown.getpixel((shown.width - 5, shown.height - 5)) != (255, 255, 255)


# --- worker isolation: a dying or hanging worker fails only its own file ----------------------


def fake_prepare(path: Path, doc_id: str, settings, overrides) -> PreparedFile:
    """Stands in for the parser in the worker: dies, hangs, or succeeds by the file's name."""
    if "crash" in path.name:
        os._exit(9)  # what the kernel's OOM killer or the RSS watchdog does to a worker
    if "slow" in path.name:
        time.sleep(60)  # interrupted by the worker's own timer
    if "stuck" in path.name:  # a hang in C code that never lets the timer's handler run
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)
    from core.records import Filing

    filing = Filing(doc_id=doc_id, source_path=str(path), file_name=path.name)
    return PreparedFile(filing=filing, pages=[], chunks=[], warnings=[], timings={})


def test_a_dying_worker_fails_only_its_file_and_the_pool_is_rebuilt(settings, tmp_path):
    names = ["a.pdf", "crash.pdf", "b.pdf", "c.pdf", "slow.pdf", "e.pdf", "stuck.pdf", "d.pdf"]
    todo = []
    for n, name in enumerate(names):
        (tmp_path / name).write_bytes(b"%PDF")
        todo.append(_Todo(tmp_path / name, f"{n:064d}", {}, "operator"))
    from core.options import HashEmbedderOptions

    settings = settings.model_copy(update={"embedder": HashEmbedderOptions()}, deep=True)
    settings.ingest.file_timeout_s = 1.0
    pool = _Isolated(settings, workers=2, formats=("pdf",), target=fake_prepare)
    pool.grace_s = 2.0
    reported = [(item.path.name, outcome) for item, outcome, _ in pool.run(todo)]
    outcomes = dict(reported)
    assert sorted(name for name, _ in reported) == sorted(names)  # each file reported once
    for name in ("a.pdf", "b.pdf", "c.pdf", "d.pdf", "e.pdf"):
        assert isinstance(outcomes[name], PreparedFile), outcomes[name]
    assert "worker died" in str(outcomes["crash.pdf"])
    assert "longer than 1 s" in str(outcomes["slow.pdf"])
    assert "longer than 1 s" in str(outcomes["stuck.pdf"])
