"""``finrag ask``: one question to the answering agent, with citations and per-step timings.

Mounted by :mod:`ui.cli` through :func:`register`. ``--company`` / ``--year`` become explicit
:class:`~core.records.SearchFilters` (they replace the resolver's filing selection); ``--thread``
continues a conversation stored in ``data_dir/conversations.sqlite``.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import typer


def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    company: Annotated[list[str] | None, typer.Option(help="Company name (repeatable).")] = None,
    year: Annotated[list[int] | None, typer.Option(help="Fiscal year (repeatable).")] = None,
    thread: Annotated[
        str | None, typer.Option(help="Conversation id; reuse it for follow-ups.")
    ] = None,
    groups: Annotated[
        list[str] | None, typer.Option(help="Your ACL groups (default: settings.default_acl).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Answer a question from the ingested filings, citing file, page and quote."""
    from agent.graph import Agent, AgentReply
    from core.records import SearchFilters
    from ui.commands import (
        catalog_names,
        load_settings,
        open_corpus,
        question_arg,
        reply_json,
        safe_terminal,
    )

    question = question_arg(question)
    settings = load_settings()
    thread_id = safe_terminal(thread) if thread else uuid.uuid4().hex[:12]
    acl = groups or settings.default_acl
    with open_corpus(settings) as corpus, Agent(corpus) as agent:
        filters = SearchFilters(
            companies=catalog_names(company or [], corpus.filings(acl)),
            fiscal_years=year or [],
        )
        reply = None
        for item in agent.stream(
            question,
            thread_id=thread_id,
            acl_groups=acl,
            filters=None if filters.is_empty() else filters,
        ):
            if isinstance(item, AgentReply):
                reply = item
            elif not as_json:
                typer.secho(
                    f"  {item['step']}: {safe_terminal(item['detail'])}", dim=True, err=True
                )
    assert reply is not None
    answer = reply.answer
    if as_json:
        typer.echo(json.dumps(reply_json(reply, thread_id), indent=2))
        return
    shown = safe_terminal
    typer.secho(f"\nQ: {shown(question)}", fg=typer.colors.BLUE, bold=True)
    typer.echo(f"A: {shown(answer.text)}")
    for calc in answer.calculations:
        result = f" = {calc.text}" if calc.result is not None else " (not computed)"
        typer.echo(f"   {shown(calc.metric)}: {shown(calc.formula)}{shown(result)}")
    for number, c in enumerate(answer.citations, start=1):
        typer.echo(f"   [{number}] {shown(c.file_name)} p.{c.page_no}: {shown(c.quote[:160])}")
    steps = ", ".join(f"{k} {v:.0f} ms" for k, v in reply.timings_ms.items() if "." not in k)
    typer.secho(f"   ({shown(reply.scope)}; {steps})", dim=True)
    typer.secho(f"   thread: {thread_id} (pass --thread {thread_id} to follow up)", dim=True)


def register(app: typer.Typer) -> None:
    """Mount ``ask`` on ``app`` with the CLI's readable error handling."""
    from ui.commands import readable_errors

    app.command("ask")(readable_errors(ask))
