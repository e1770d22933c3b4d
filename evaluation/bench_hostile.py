"""``finrag bench hostile``: what hostile files cost, measured one fresh process per file.

Each case is generated into a temporary folder (a DOCX and an XLSX zip bomb, a 50 MB one-line HTML
over the HTML cap, an 18 MB one-line HTML under it that the parse worker must stop, a 14,000-pt PDF
page, and a good filing as the control) and ingested alone by a fresh ``python -m
evaluation.bench_hostile`` process into a fresh data dir with the default limits (parse workers
isolated). That process reports its outcome, wall time and peak RSS: the larger of its own
``ru_maxrss`` and ``RUSAGE_CHILDREN``'s (its parse workers, reaped before it reads them), so one
figure covers the whole single-file ingest.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from core.settings import Settings

CASES = (
    "good_10q.pdf",
    "docx_bomb.docx",
    "xlsx_bomb.xlsx",
    "html_50mb_one_line.html",
    "html_18mb_one_line.html",
    "page_14000pt.pdf",
)


def write_case(name: str, folder: Path) -> Path:
    """Generate the hostile (or control) file ``name`` under ``folder``."""
    path = folder / name
    if name == "good_10q.pdf":
        from samples.filings import write_samples

        samples = write_samples(folder / "samples")
        (samples / "northwind_2024q2_10q.pdf").rename(path)
    elif name.endswith(("_bomb.docx", "_bomb.xlsx")):
        member = "word/document.xml" if name.endswith("docx") else "xl/worksheets/sheet1.xml"
        row = b"<w:p><w:r><w:t>" + b"A" * 1000 + b"</w:t></w:r></w:p>"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            with archive.open(member, "w", force_zip64=True) as out:
                block = row * 1000
                for _ in range(1100 * 2**20 // len(block)):  # 1.1 GB of XML
                    out.write(block)
    elif name.startswith("html_"):
        megabytes = 50 if "50mb" in name else 18
        row = "<tr>" + "<td>1,234</td>" * 50 + "</tr>"
        with path.open("w") as f:
            f.write("<html><body><table>")
            for _ in range(megabytes * 2**20 // len(row)):
                f.write(row)
            f.write("</table></body></html>")
    elif name == "page_14000pt.pdf":
        import pymupdf

        doc = pymupdf.open()
        page = doc.new_page(width=14_000, height=14_000)
        page.insert_text((72, 72), "Revenue was $2,255.4 million in fiscal 2023.")
        doc.save(str(path))
        doc.close()
    else:
        raise ValueError(f"unknown case {name!r}; known: {', '.join(CASES)}")
    return path


def ingest_one(path: Path, data_dir: Path) -> dict:
    """Ingest one file into a fresh corpus in this process; its outcome and peak RSS (MB)."""
    from ingest.pipeline import Ingestor
    from retrieval.corpus import Corpus

    settings = Settings(data_dir=data_dir)
    settings.ingest.isolate = True
    started = time.perf_counter()
    with Corpus.open(settings) as corpus:
        report = Ingestor(corpus).ingest([path])
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    entry = report.files[0]
    return {
        "file": path.name,
        "bytes": path.stat().st_size,
        "status": entry.status,
        "reason": entry.reason,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(max(own, children) / 1024),  # ru_maxrss is KB on Linux
        "parent_rss_mb": round(own / 1024),
        "worker_rss_mb": round(children / 1024),
    }


def bench_hostile(base: Settings) -> dict:
    """Run every case in a fresh process; return the machine and one row per case."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="finrag-hostile-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ)
        if base.model_cache is not None:
            env["FINRAG_MODEL_CACHE"] = str(base.model_cache)
        for name in CASES:
            path = write_case(name, folder)
            done = subprocess.run(
                [sys.executable, "-m", "evaluation.bench_hostile", str(path), str(folder / "d")],
                capture_output=True,
                text=True,
                env=env,
                timeout=1800,
            )
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode != 0 or not lines:
                rows.append({"file": name, "status": "bench-error", "reason": done.stderr[-300:]})
            else:
                rows.append(json.loads(lines[-1]))
            path.unlink()
            subprocess.run(["rm", "-rf", str(folder / "d")], check=False)
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "worker_memory_mb": base.ingest.worker_memory_mb,
        "cases": rows,
    }


def format_hostile(result: dict) -> str:
    lines = [
        f"machine: {result['machine']}; parse worker limit {result['worker_memory_mb']} MB",
        f"{'file':28} {'MB':>6} {'status':8} {'s':>6} {'peak RSS MB':>11}  reason",
    ]
    for row in result["cases"]:
        lines.append(
            f"{row['file']:28} {row.get('bytes', 0) / 2**20:6.1f} {row['status']:8} "
            f"{row.get('seconds', 0):6.1f} {row.get('peak_rss_mb', 0):11}  {row['reason'][:90]}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(ingest_one(Path(sys.argv[1]), Path(sys.argv[2]))))
