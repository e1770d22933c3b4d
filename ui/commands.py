"""What every ``finrag`` sub-command shares: settings, the open corpus, readable errors.

Contract: :func:`load_settings` reads :class:`~core.settings.Settings` once per command and sets
up logging; :func:`open_corpus` opens the corpus ``FINRAG_DATA_DIR`` names for one command (use
``with``); :func:`readable_errors` turns a :class:`~core.errors.FinragError` into one red line
and exit status 2 (Ctrl-C into a line saying how to resume), never a traceback. The command
modules (:mod:`ui.cli`, :mod:`ui.cli_memory`, :mod:`ui.cli_ask`, :mod:`ui.cli_ui`,
:mod:`ui.cli_finetune`) import these from here, so each can be imported on its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from core.errors import FinragError

if TYPE_CHECKING:
    from agent.graph import AgentReply
    from core.records import Fact, Hit
    from core.settings import Settings
    from retrieval.corpus import Corpus

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def load_settings() -> Settings:
    """The settings of this command, with logging set up at ``settings.log_level``."""
    from core.logs import configure_logging
    from core.settings import Settings

    settings = Settings()
    configure_logging(settings.log_level)
    return settings


def open_corpus(settings: Settings) -> Corpus:
    """The corpus of ``settings.data_dir``, opened for one command (``with``)."""
    from retrieval.corpus import Corpus

    return Corpus.open(settings)


def readable_errors(command: Callable[..., None]) -> Callable[..., None]:
    """A FinragError becomes one red line and exit status 2, never a traceback."""

    @functools.wraps(command)
    def run(*args: object, **kwargs: object) -> None:
        try:
            command(*args, **kwargs)
        except FinragError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.secho("interrupted: re-run the same command to resume", err=True)
            raise typer.Exit(130) from None

    return run


def query_facts(
    settings: Settings,
    acl_groups: list[str],
    companies: list[str],
    concepts: list[str],
    years: list[int],
    forms: list[str],
) -> list[Fact]:
    """Facts the groups may read, from the fact store alone (works while an ingest runs)."""
    from retrieval.facts import FactStore

    if not settings.facts_path.exists():
        return []
    store = FactStore(settings.facts_path)
    try:
        found = store.query(
            acl_groups=acl_groups,
            companies=companies or None,
            concepts=concepts or None,
            fiscal_years=years or None,
        )
    finally:
        store.close()
    wanted = {f.lower() for f in forms}
    return [f for f in found if not wanted or (f.form or "").lower() in wanted]


def fact_rows(facts: list[Fact]) -> list[dict]:
    """Facts as the rows ``finrag facts`` prints (and ``--json`` emits)."""
    return [
        {
            "concept": f.concept,
            "line_item": f.line_item,
            "path": f.path,
            "statement": f.statement,
            "fiscal_year": f.fiscal_year,
            "fiscal_period": f.fiscal_period,
            "period_type": f.period_type,
            "period_end": f.period_end,
            "months": f.months,
            "value": f.value,
            "unit": f.unit,
            "text": f.text,
            "company": f.company,
            "form": f.form,
            "file_name": f.file_name,
            "doc_id": f.doc_id,
            "page_no": f.page_no,
            "fact_id": f.fact_id,
        }
        for f in facts
    ]


def hit_row(hit: Hit) -> dict:
    """A search hit as ``finrag search --json`` (and the HTTP API) emits it."""
    c = hit.chunk
    return {
        "rank": hit.rank,
        "score": hit.score,
        "source": hit.source,
        "file": c.file_name,
        "doc_id": c.doc_id,
        "page": c.page_no,
        "modality": c.modality,
        "section": c.section_path,
        "company": c.company,
        "form": c.form,
        "fiscal_year": c.fiscal_year,
        "chunk_id": c.chunk_id,
        "text": c.text,
    }


def reply_json(reply: AgentReply, thread_id: str) -> dict:
    """An answer as ``finrag ask --json`` (and the HTTP API) emits it: text, citations,
    calculations with their inputs, scope, per-step timings and the thread to follow up on."""
    answer = reply.answer
    return {
        "answer": answer.text,
        "abstained": answer.abstained,
        "citations": [
            {
                "file": c.file_name,
                "page": c.page_no,
                "quote": c.quote,
                "row_header": c.row_header,
                "col_header": c.col_header,
            }
            for c in answer.citations
        ],
        "calculations": [
            {
                "metric": calc.metric,
                "formula": calc.formula,
                "result": calc.result,
                "unit": calc.unit,
                "text": calc.text,
                "judgement": calc.judgement,
                "rule": calc.rule,
                "missing": calc.missing,
                "inputs": [
                    {
                        "name": i.name,
                        "period": i.period,
                        "value": i.value,
                        "unit": i.unit,
                        "file": i.file_name,
                        "page": i.page_no,
                        "quote": i.quote,
                    }
                    for i in calc.inputs
                ],
            }
            for calc in answer.calculations
        ],
        "scope": reply.scope,
        "timings_ms": reply.timings_ms,
        "thread": thread_id,
    }


def catalog_names(given: list[str], filings: list) -> list[str]:
    """Catalog spellings of company names a user typed ("contoso" -> "Contoso Foods Corp.")."""
    known = sorted({f.company for f in filings if f.company})
    names: list[str] = []
    for name in given:
        matches = [k for k in known if name.lower() in k.lower()]
        names.extend(matches or [name])
    return names
