"""The ``finrag`` command.

Every command reads :class:`~core.settings.Settings` (``FINRAG_DATA_DIR`` chooses the corpus) and
turns a :class:`~core.errors.FinragError` into one readable line and exit status 2. Heavy libraries
are imported inside the commands so that ``finrag --help`` starts instantly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from core.errors import ConfigError
from ui.cli_ask import register as register_ask
from ui.cli_finetune import register as register_finetune
from ui.cli_memory import memory_app
from ui.cli_serve import register as register_serve
from ui.cli_ui import register as register_ui
from ui.commands import (
    Json,
    audit_log,
    cell,
    hit_row,
    load_settings,
    open_corpus,
    operator,
    question_arg,
    readable_errors,
    safe_terminal,
)

app = typer.Typer(
    name="finrag",
    help="Retrieval and question answering over financial filings.",
    epilog=(
        "finrag is the operator's tool: it runs with the operator's full access to the data "
        "dir (every filing and memory entry, any ACL group), with no roles checked. Analysts "
        "use the app behind the sign-in proxy, where roles apply. Changes made here are "
        "recorded in the audit log as <os user>@cli (finrag audit)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks whose figures go into the README.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
eval_app = typer.Typer(
    help="Quality evaluations on FinanceBench-format sets.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")


def main() -> None:
    """Console entry point."""
    app()


@app.command()
@readable_errors
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (searched recursively).")],
    company: Annotated[str | None, typer.Option(help="Override the company name.")] = None,
    ticker: Annotated[str | None, typer.Option(help="Override the ticker.")] = None,
    form: Annotated[
        str | None, typer.Option(help="Override the form (10-K, 10-Q, 8-K...).")
    ] = None,
    year: Annotated[int | None, typer.Option(help="Override the fiscal year.")] = None,
    period: Annotated[
        str | None, typer.Option(help="Override the fiscal period (FY, Q1..Q4).")
    ] = None,
    acl: Annotated[
        list[str] | None, typer.Option(help="Groups that may read these filings (repeatable).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Parse processes (default: one per core).")
    ] = None,
    follow_symlinks: Annotated[
        bool, typer.Option(help="Follow symbolic links found in folders (off: reported, skipped).")
    ] = False,
    max_files: Annotated[
        int | None, typer.Option(help="Most files in this batch (FINRAG_INGEST__MAX_BATCH_FILES).")
    ] = None,
    max_gb: Annotated[
        float | None, typer.Option(help="Most GB in this batch (FINRAG_INGEST__MAX_BATCH_GB).")
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(help="Where files are parsed: local (processes) or ray (a Ray cluster)."),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster address (default: a local Ray instance for this batch)."),
    ] = None,
    as_json: Json = False,
) -> None:
    """Ingest filings into the index, with a per-file report.

    An operator tool: any path the process can read, but links in folders are not followed
    without --follow-symlinks, and a batch over the caps is refused before anything is queued.
    Each new filing records the OS user as ``added_by``.
    """
    settings = load_settings()
    if workers is not None:
        settings.ingest.workers = workers
    settings.ingest.follow_symlinks = follow_symlinks or settings.ingest.follow_symlinks
    if max_files is not None:
        settings.ingest.max_batch_files = max_files
    if max_gb is not None:
        settings.ingest.max_batch_gb = max_gb
    if executor not in (None, "local", "ray"):
        raise ConfigError(f"unknown executor {executor!r}; known: local, ray")
    if address is not None:
        settings.ingest.ray_address = address
    settings.ingest.executor = executor or ("ray" if address else settings.ingest.executor)
    overrides = {
        "company": company,
        "ticker": ticker,
        "form": form,
        "fiscal_year": year,
        "fiscal_period": period,
        "acl": acl,
    }
    with open_corpus(settings) as corpus:
        named = ", ".join(str(p) for p in paths)
        with corpus.audit.attempt(operator(settings), "ingest", named) as attempt:
            report = _ingest_with_progress(paths, corpus, overrides, quiet=as_json)
            attempt.reason = f"{report.landed} of {len(report.files)} files landed"
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _print_report(report)
    if report.landed == 0 and report.files:
        raise typer.Exit(1)


def _ingest_with_progress(paths, corpus, overrides, quiet: bool):
    from tqdm import tqdm

    from ingest.pipeline import Ingestor, Requester

    bar = tqdm(total=0, unit="file", disable=quiet, file=sys.stderr, dynamic_ncols=True)
    pages = 0

    def progress(file_report, done: int, total: int) -> None:
        nonlocal pages
        bar.total = total
        pages += file_report.pages if file_report.status in ("ok", "partial") else 0
        name = safe_terminal(Path(file_report.path).name)
        bar.set_postfix_str(f"{pages} pages, last: {name} {file_report.status}")
        bar.update(1)

    try:
        return Ingestor(corpus).ingest(
            paths, overrides, progress=progress, requester=Requester(name=_os_user())
        )
    finally:
        bar.close()


def _os_user() -> str:
    """Who runs the CLI, for ``Filing.added_by`` ("operator" when the OS cannot say)."""
    import getpass

    try:
        return getpass.getuser() or "operator"
    except Exception:  # no login name (a container without a passwd entry)
        return "operator"


def _print_report(report) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Ingest report ({report.seconds:.1f} s)")
    for col in ("file", "status", "pages", "chunks", "reason"):
        table.add_column(col, overflow="fold")
    colors = {"ok": "green", "partial": "yellow", "failed": "red", "skipped-duplicate": "cyan"}
    for f in report.files:
        table.add_row(
            cell(Path(f.path).name),
            f"[{colors[f.status]}]{f.status}[/]",
            str(f.pages),
            str(f.chunks),
            cell(f.reason),
        )
    console = Console()
    console.print(table)
    counts = ", ".join(
        f"{report.count(s)} {s}" for s in ("ok", "partial", "failed", "skipped-duplicate")
    )
    console.print(counts)


@app.command()
@readable_errors
def search(
    question: Annotated[str, typer.Argument(help="What to look for.")],
    company: Annotated[list[str] | None, typer.Option(help="Company name (repeatable).")] = None,
    ticker: Annotated[list[str] | None, typer.Option(help="Ticker (repeatable).")] = None,
    form: Annotated[list[str] | None, typer.Option(help="Form type (repeatable).")] = None,
    year: Annotated[list[int] | None, typer.Option(help="Fiscal year (repeatable).")] = None,
    doc: Annotated[list[str] | None, typer.Option(help="Document id (repeatable).")] = None,
    modality: Annotated[list[str] | None, typer.Option(help="text | table | figure | page")] = None,
    groups: Annotated[
        list[str] | None, typer.Option(help="Your ACL groups (default: settings.default_acl).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Number of hits.")] = 10,
    as_json: Json = False,
) -> None:
    """Hybrid search (dense + BM25 fused in Qdrant) over the ingested chunks."""
    from core.records import Query, SearchFilters
    from retrieval.search import CorpusSearch

    settings = load_settings()
    filters = SearchFilters(
        companies=company or [],
        tickers=ticker or [],
        forms=form or [],
        fiscal_years=year or [],
        doc_ids=doc or [],
        modalities=modality or [],  # type: ignore[arg-type]
    )
    query = Query(
        text=question_arg(question),
        filters=filters,
        acl_groups=groups or settings.default_acl,
        top_k=limit,
    )
    with open_corpus(settings) as corpus:
        hits = CorpusSearch(corpus).search(query)
    if as_json:
        typer.echo(json.dumps([hit_row(h) for h in hits], indent=2))
        return
    if not hits:
        typer.echo("no hits (is anything ingested? try `finrag filings`)")
    for hit in hits:
        c = hit.chunk
        where = safe_terminal(" > ".join(c.section_path[-2:]))
        snippet = " ".join(safe_terminal(c.text).split())[:220]
        name = safe_terminal(c.file_name)
        typer.secho(
            f"{hit.rank:>2}. {name} p.{c.page_no} [{c.modality}] {hit.score:.3f}  {where}",
            bold=True,
        )
        typer.echo(f"    {snippet}")


@app.command()
@readable_errors
def facts(
    company: Annotated[list[str], typer.Option(help="Company name or part of it (repeatable).")],
    concept: Annotated[
        list[str] | None, typer.Option(help="Standard concept, e.g. revenue, ppe_net (repeatable).")
    ] = None,
    year: Annotated[list[int] | None, typer.Option(help="Fiscal year (repeatable).")] = None,
    form: Annotated[list[str] | None, typer.Option(help="Form type (repeatable).")] = None,
    groups: Annotated[
        list[str] | None, typer.Option(help="Your ACL groups (default: settings.default_acl).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Statement facts read at ingest: figures with their concept, period, unit and page."""
    from ui.commands import fact_rows, query_facts

    settings = load_settings()
    found = query_facts(
        settings, groups or settings.default_acl, company, concept or [], year or [], form or []
    )
    rows = fact_rows(found)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        typer.echo("no facts (is the company ingested and readable by your groups?)")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=cell(f"Facts for {', '.join(company)} ({len(rows)})"))
    for col in ("concept", "line item", "FY", "period", "end", "value", "unit", "file", "page"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            cell(r["concept"] or "-"),
            cell(r["line_item"][:50]),
            str(r["fiscal_year"] or "?"),
            cell(r["fiscal_period"] or "?"),
            str(r["period_end"] or "?"),
            f"{r['value']:,.4g}" if r["unit"] == "USD/share" else f"{r['value']:,.0f}",
            cell(r["unit"]),
            cell(r["file_name"]),
            str(r["page_no"]),
        )
    Console().print(table)


@app.command()
@readable_errors
def filings(as_json: Json = False) -> None:
    """List the catalog of ingested filings."""
    from retrieval.catalog import Catalog

    settings = load_settings()
    if not settings.catalog_path.exists():
        typer.echo("no filings yet: run `finrag ingest PATH`")
        return
    # The catalog alone, not the whole corpus: listing works while an ingest holds the index.
    catalog = Catalog(settings.catalog_path)
    rows = catalog.export()
    catalog.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=cell(f"Filings in {settings.data_dir}"))
    for col in (
        "file",
        "company",
        "ticker",
        "form",
        "FY",
        "period end",
        "pages",
        "chunks",
        "state",
    ):
        table.add_column(col)
    for r in sorted(rows, key=lambda r: (r.get("company") or "", r.get("fiscal_year") or 0)):
        table.add_row(
            cell(r["file_name"]),
            cell(r.get("company") or "?"),
            cell(r.get("ticker") or "?"),
            cell(r.get("form") or "?"),
            cell(
                str(r.get("fiscal_year") or "?")
                + (f" {r['fiscal_period']}" if r.get("fiscal_period") else "")
            ),
            str(r.get("period_end") or "?"),
            str(r["page_count"]),
            str(r["chunk_count"]),
            cell(r["state"]),
        )
    Console().print(table)


@bench_app.command("ingest")
@readable_errors
def bench_ingest(
    folder: Annotated[Path, typer.Argument(help="Folder of filings to ingest.")],
    as_json: Json = False,
) -> None:
    """Ingest a folder into a fresh temporary corpus twice; report pages/s per stage and RSS."""
    from evaluation.bench_ingest import bench_ingest as run
    from evaluation.bench_ingest import format_bench

    result = run(folder, load_settings())
    typer.echo(json.dumps(result, indent=2) if as_json else safe_terminal(format_bench(result)))


@bench_app.command("hostile")
@readable_errors
def bench_hostile_cmd(
    as_json: Json = False,
) -> None:
    """Ingest generated hostile files (zip bomb, huge HTML, huge page) each in a fresh process;
    report each one's outcome and peak RSS (figures for the README's security model)."""
    from evaluation.bench_hostile import bench_hostile, format_hostile

    result = bench_hostile(load_settings())
    typer.echo(json.dumps(result, indent=2) if as_json else format_hostile(result))


@bench_app.command("search")
@readable_errors
def bench_search_cmd(
    chunks: Annotated[int, typer.Option(help="Synthetic collection size.")] = 50_000,
    engine: Annotated[str, typer.Option(help="edge | local")] = "edge",
    queries: Annotated[int, typer.Option(help="Number of timed queries.")] = 200,
    quantization: Annotated[
        str | None, typer.Option(help="int8 | none; default: settings.qdrant.quantization")
    ] = None,
    as_json: Json = False,
) -> None:
    """Hybrid query latency, HNSW build time, recall, RSS and disk on a synthetic collection.

    Not run in CI: 1M chunks take 10 to 21 minutes on 2 cores (README, "Capacity plan").
    """
    import tempfile

    from evaluation.bench_search import bench_search

    qdrant = {"quantization": quantization} if quantization else None
    with tempfile.TemporaryDirectory() as tmp:
        result = bench_search(
            n_chunks=chunks, engine=engine, n_queries=queries, data_dir=Path(tmp), qdrant=qdrant
        )
    typer.echo(
        json.dumps(result, indent=2)
        if as_json
        else "\n".join(f"{k}: {v}" for k, v in result.items())
    )


@bench_app.command("rerank")
@readable_errors
def bench_rerank_cmd(
    model: Annotated[
        Path | None,
        typer.Option(help="A fine-tuned model folder (default: untrained MiniLM layers)."),
    ] = None,
    candidates: Annotated[int, typer.Option(help="Passages per query.")] = 30,
    calls: Annotated[int, typer.Option(help="Timed calls.")] = 20,
    runtime: Annotated[str, typer.Option(help="onnx | torch")] = "onnx",
    eval_set: Annotated[
        Path,
        typer.Option(
            "--set", help="Learned page ranker: the questions whose real hits it reorders."
        ),
    ] = Path("../shared/data/financebench-dev"),
    as_json: Json = False,
) -> None:
    """Reranking latency: a cross-encoder over CANDIDATES passages for one query, or a learned
    page ranker (``--model`` of a ``learned`` job) over each question of ``--set``'s real hits."""
    from finetune.bench import learned_latency, run
    from finetune.gate import MODEL_INFO, model_info

    if (
        model is not None
        and (model / MODEL_INFO).exists()
        and model_info(model)["backend"] == "learned"
    ):
        if not (eval_set / "questions.jsonl").is_file():
            raise typer.BadParameter(
                f"{eval_set} is not a question set (questions.jsonl + pdfs/): the learned ranker "
                "is timed on real retrieval hits; pass --set",
                param_hint="--set",
            )
        result = learned_latency(model, load_settings(), eval_set)
        typer.echo(json.dumps(result, indent=2))
        return
    pdfs = Path("../shared/data/financebench-dev/pdfs")
    result = run(
        model,
        candidates=candidates,
        calls=calls,
        runtime=runtime,
        pdfs=pdfs if pdfs.is_dir() else None,
    )
    typer.echo(
        json.dumps(result, indent=2)
        if as_json
        else "\n".join(f"{k}: {v}" for k, v in result.items())
    )


@eval_app.command("retrieval")
@readable_errors
def eval_retrieval_cmd(
    set_dir: Annotated[Path, typer.Option("--set", help="Folder with questions.jsonl and pdfs/.")],
    top_k: Annotated[int, typer.Option(help="Pages retrieved per question.")] = 10,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    as_json: Json = False,
) -> None:
    """Page-level Recall@k, MRR, nDCG@10 and latency, shared index and filing given."""
    from evaluation.run_retrieval import eval_retrieval, format_retrieval
    from evaluation.runs import save_run

    settings = load_settings()
    result = eval_retrieval(set_dir, settings, top_k=top_k, limit=limit)
    typer.echo(json.dumps(result, indent=2) if as_json else safe_terminal(format_retrieval(result)))
    # stderr, so that with --json the JSON stays the only thing on stdout
    record = save_run(
        settings, "retrieval", set_dir, result, params={"limit": limit, "top_k": top_k}
    )
    typer.echo(f"run saved: {record.run_id}", err=True)


@eval_app.command("answers")
@readable_errors
def eval_answers_cmd(
    set_dir: Annotated[Path, typer.Option("--set", help="Folder with questions.jsonl and pdfs/.")],
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    as_json: Json = False,
) -> None:
    """Answer correctness, citation precision/recall, abstention, unsupported figures, latency."""
    from evaluation.run_answers import eval_answers, format_answers
    from evaluation.runs import save_run

    settings = load_settings()
    result = eval_answers(set_dir, settings, limit=limit)
    typer.echo(json.dumps(result, indent=2) if as_json else safe_terminal(format_answers(result)))
    # stderr, so that with --json the JSON stays the only thing on stdout
    record = save_run(settings, "answers", set_dir, result, params={"limit": limit})
    typer.echo(f"run saved: {record.run_id}", err=True)


@app.command()
@readable_errors
def demo(
    interactive: Annotated[
        bool, typer.Option(help="Ask your own questions after the examples.")
    ] = True,
    serve: Annotated[
        bool, typer.Option(help="Then serve the analyst app on localhost (finrag ui).")
    ] = False,
    port: Annotated[int, typer.Option(help="Port of the app with --serve.")] = 8501,
) -> None:
    """Generate the bundled sample filings, ingest them and answer the sample questions.

    Answers come from the answering agent with the offline default (figures computed from the
    statement facts with every input cited, else quoted cells and sentences; every figure
    verified). With ``--serve`` the analyst app then starts on http://127.0.0.1:PORT over the same
    corpus; otherwise you may ask more questions here.
    """
    import uuid

    from agent.graph import Agent
    from samples.filings import SAMPLE_QUESTIONS, write_samples

    settings = load_settings()
    folder = write_samples(settings.data_dir / "samples")
    typer.secho(f"Sample filings in {folder}", bold=True)

    with open_corpus(settings) as corpus, Agent(corpus) as agent:
        report = _ingest_with_progress([folder], corpus, {}, quiet=False)
        _print_report(report)

        def answer(question: str) -> None:
            reply = agent.ask(
                question, thread_id=f"demo-{uuid.uuid4().hex[:8]}", acl_groups=settings.default_acl
            )
            typer.secho(f"\nQ: {safe_terminal(question)}", fg=typer.colors.BLUE, bold=True)
            typer.echo(f"A: {safe_terminal(reply.answer.text)}")
            for calc in reply.answer.calculations:
                if not calc.lookup:
                    shown = f"{calc.metric}: {calc.formula} = {calc.text}"
                    typer.echo(f"   {safe_terminal(shown)}")
            for number, citation in enumerate(reply.answer.citations, start=1):
                where = f"{citation.file_name} p.{citation.page_no}"
                quote = citation.quote[:150]
                typer.echo(f"   [{number}] {safe_terminal(where)}: {safe_terminal(quote)}")
            took = sum(v for k, v in reply.timings_ms.items() if "." not in k)
            typer.secho(f"   ({safe_terminal(reply.scope)}; {took:.0f} ms)", dim=True)

        for question in SAMPLE_QUESTIONS:
            answer(question)
        if not serve and interactive and sys.stdin.isatty():
            typer.echo("\nAsk a question (empty line to quit).")
            while question := input("> ").strip():
                answer(question_arg(question))
    if serve:
        from ui.cli_ui import ui as serve_app

        serve_app(port=port)


@app.command()
@readable_errors
def audit(
    since: Annotated[
        str | None, typer.Option(help="Only events from this day (YYYY-MM-DD, UTC) or time on.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the events as JSON lines (one per line).")
    ] = False,
) -> None:
    """Show the audit log: who ingested, deleted, re-shared, curated memory, promoted, evaluated.

    Every write through the app (allowed or refused) and through this CLI is recorded in
    DATA_DIR/audit.jsonl, oldest first.
    """
    from datetime import datetime

    from core.errors import FinragError

    settings = load_settings()
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            raise FinragError(f"--since {since!r} is not a date; write YYYY-MM-DD") from None
    with audit_log(settings) as log:
        events = log.events(since=start)
    for e in events:
        if as_json:
            typer.echo(e.model_dump_json())
            continue
        why = f"  ({e.reason})" if e.reason else ""
        typer.echo(
            f"{e.at:%Y-%m-%d %H:%M:%S} {e.user} [{e.role}] {e.action} {e.object}: {e.outcome}{why}"
        )
    if not events and not as_json:
        typer.echo(f"no audit events in {settings.audit_path}")


# Mounted last: the memory commands import readable_errors from this module.
app.add_typer(memory_app, name="memory")
register_ask(app)
register_ui(app)
register_serve(app)
register_finetune(app)


if __name__ == "__main__":
    main()
