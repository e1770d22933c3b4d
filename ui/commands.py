"""What every ``finrag`` sub-command shares: settings, the open corpus, readable errors.

Contract: :func:`load_settings` reads :class:`~core.settings.Settings` once per command and sets
up logging; :func:`operator` is who a command runs as (the CLI is the operator's tool: an admin,
recorded in the audit log under the OS user's name); :func:`audit_log` opens the audit log for a
command that does not open the whole corpus; :func:`open_corpus` opens the corpus
``FINRAG_DATA_DIR`` names for one command (use ``with``); :func:`readable_errors` turns a
:class:`~core.errors.FinragError` into one red line and exit status 2 (Ctrl-C into a line saying
how to resume), never a traceback; :func:`question_arg` cleans a typed question
(:func:`~core.text.clean_question`) and says on stderr what it changed. Every print of user or
document text goes through :func:`~core.text.safe_terminal` (re-exported here; :func:`cell` for
rich tables, which also keeps rich from reading ``[link=...]`` in a filing as markup). The command
modules (:mod:`ui.cli`, :mod:`ui.cli_memory`, :mod:`ui.cli_ask`, :mod:`ui.cli_ui`,
:mod:`ui.cli_finetune`) import these from here, so each can be imported on its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from core.errors import FinragError
from core.text import clean_question, safe_terminal

if TYPE_CHECKING:
    from agent.graph import AgentReply
    from core.records import Fact, Hit
    from core.roles import Actor
    from core.settings import Settings
    from retrieval.audit import AuditLog
    from retrieval.corpus import Corpus

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def load_settings() -> Settings:
    """The settings of this command, with logging set up at ``settings.log_level``."""
    from core.logs import configure_logging
    from core.settings import Settings

    settings = Settings()
    configure_logging(settings.log_level)
    return settings


def operator(settings: Settings) -> Actor:
    """Who runs this command: the OS user, with the operator's full access (role admin).

    The CLI reads and writes the data dir directly, so whoever can run it could edit the files
    anyway; roles guard the app, and the CLI's writes are recorded as ``<user>@cli``.
    """
    import getpass

    from core.roles import Actor

    try:
        name = getpass.getuser()
    except Exception:  # no login name in some containers
        name = "operator"
    return Actor(name=f"{name}@cli", role="admin", groups=list(settings.default_acl))


def audit_log(settings: Settings) -> AuditLog:
    """The audit log of ``settings.data_dir`` for a command that opens no corpus (``with``)."""
    from contextlib import closing

    from retrieval.audit import AuditLog

    return closing(AuditLog(settings.audit_path))  # type: ignore[return-value]


def open_corpus(settings: Settings) -> Corpus:
    """The corpus of ``settings.data_dir``, opened for one command (``with``)."""
    from retrieval.corpus import Corpus

    return Corpus.open(settings)


def readable_errors(command: Callable[..., None]) -> Callable[..., None]:
    """A FinragError (or text that is not UTF-8) becomes one red line and exit status 2."""

    @functools.wraps(command)
    def run(*args: object, **kwargs: object) -> None:
        try:
            command(*args, **kwargs)
        except FinragError as exc:
            typer.secho(f"error: {safe_terminal(exc)}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
        except UnicodeError as exc:  # an argument or file name that is not UTF-8, past the checks
            typer.secho(
                f"error: text that is not valid UTF-8 ({safe_terminal(exc)}); "
                "retype it or rename the file",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.secho("interrupted: re-run the same command to resume", err=True)
            raise typer.Exit(130) from None

    return run


def question_arg(text: str) -> str:
    """``text`` cleaned for the agent and the stores; a note on stderr says what changed.

    Raises:
        InvalidQuestionError: nothing usable is left (one red line through readable_errors).
    """
    cleaned = clean_question(text)
    for note in cleaned.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    return cleaned.text


def cell(value: object):
    """A rich table cell showing ``value`` as plain, terminal-safe text (never as markup)."""
    from rich.text import Text

    return Text(safe_terminal(value))


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
