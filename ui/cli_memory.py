"""``finrag memory``: curate the expert memory bank (add, review, approve, retire, import, export).

Every command reads :class:`~core.settings.Settings` (``FINRAG_DATA_DIR`` chooses the corpus) and
turns a :class:`~core.errors.FinragError` into one red line and exit status 2
(:func:`ui.commands.readable_errors`). :mod:`ui.cli` mounts it as ``finrag memory``.

Entry ids can be shortened to any unique prefix of 8+ characters, as ``list`` shows them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from ui.commands import Json, question_arg, readable_errors, safe_terminal

memory_app = typer.Typer(
    help="The expert-curated memory bank: approved answers served as evidence.",
    no_args_is_help=True,
)


@contextmanager
def _bank() -> Iterator[Any]:
    """The memory bank of the corpus ``FINRAG_DATA_DIR`` names, open for one command."""
    from retrieval.memory_bank import MemoryBank
    from ui.commands import load_settings, open_corpus

    with open_corpus(load_settings()) as corpus:
        yield MemoryBank(corpus)


def _audited(bank, action: str, obj: str):
    """Record a CLI change in the corpus's audit log, as the operator (see ui.commands)."""
    from ui.commands import operator

    return bank.corpus.audit.attempt(operator(bank.corpus.settings), action, obj)


def _show(entry, verbose: bool = False) -> None:
    shown = safe_terminal
    state = "retired" if entry.retired else ("approved" if entry.approved else "pending")
    colour = {"approved": "green", "pending": "yellow", "retired": "red"}[state]
    scope = " ".join(x for x in (entry.company, entry.period) if x) or "any company/period"
    typer.echo(
        f"{entry.entry_id[:12]}  "
        + typer.style(f"[{state}]", fg=colour)
        + f"  {shown(scope)}  acl={shown(','.join(entry.acl))}"
    )
    typer.secho(f"    Q: {shown(entry.question)}", bold=True)
    for p in entry.paraphrases if verbose else []:
        typer.echo(f"       ~ {shown(p)}")
    typer.echo(f"    A: {shown(entry.answer)}")
    if verbose and entry.source:
        s = entry.source
        typer.echo(
            f"    source: {shown(s.file_name)} p.{s.page_no}"
            + (f' "{shown(s.quote)}"' if s.quote else "")
        )


@memory_app.command()
@readable_errors
def add(
    question: Annotated[str, typer.Argument(help="The question as users ask it.")],
    answer: Annotated[str, typer.Argument(help="The curated answer.")],
    company: Annotated[
        str | None, typer.Option(help="Company the entry is about (none: any).")
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="Fiscal period, e.g. FY2023 or Q2 2023 (none: any).")
    ] = None,
    source_file: Annotated[str | None, typer.Option(help="File name of the source filing.")] = None,
    source_page: Annotated[int | None, typer.Option(help="Page of the source (1-based).")] = None,
    source_doc: Annotated[
        str | None, typer.Option(help="Document id of the source filing.")
    ] = None,
    quote: Annotated[str, typer.Option(help="The supporting text from the source.")] = "",
    author: Annotated[str, typer.Option(help="Who wrote the entry.")] = "",
    paraphrase: Annotated[
        list[str] | None, typer.Option(help="Another phrasing (repeatable).")
    ] = None,
    valid_from: Annotated[
        str | None, typer.Option(help="First day the answer holds (YYYY-MM-DD).")
    ] = None,
    valid_to: Annotated[
        str | None, typer.Option(help="Last day the answer holds (YYYY-MM-DD).")
    ] = None,
    acl: Annotated[
        list[str] | None,
        typer.Option(help="Groups that may see it (repeatable; default: settings.default_acl)."),
    ] = None,
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve at once (needs --author).")
    ] = False,
    as_json: Json = False,
) -> None:
    """Add an entry (pending until approved, unless --approve)."""
    from core.errors import MemoryBankError
    from core.records import Citation
    from retrieval.memory_bank import make_entry

    if approve and not author:
        raise MemoryBankError("--approve needs --author (the approver)")
    source = None
    if source_file or source_doc:
        source = Citation(
            doc_id=source_doc or "",
            file_name=source_file or "",
            page_no=source_page or 0,
            quote=question_arg(quote) if quote else "",
        )
    with _bank() as bank:
        entry = make_entry(
            question_arg(question),
            question_arg(answer),
            company=company,
            period=period,
            source=source,
            author=author,
            paraphrases=[question_arg(p) for p in paraphrase or []],
            valid_from=_day(valid_from),
            valid_to=_day(valid_to),
            acl=acl or bank.corpus.settings.default_acl,
            approved=approve,
            approved_by=author if approve else "",
        )
        with _audited(bank, "memory.add", entry.entry_id):
            entry = bank.add(entry)
    if as_json:
        typer.echo(entry.model_dump_json(indent=2))
    else:
        _show(entry, verbose=True)


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        from core.errors import MemoryBankError

        raise MemoryBankError(f"{text!r} is not a date; write YYYY-MM-DD") from None


@memory_app.command("list")
@readable_errors
def list_entries(
    show_all: Annotated[bool, typer.Option("--all", help="Include retired entries.")] = False,
    pending: Annotated[
        bool, typer.Option("--pending", help="Only entries awaiting approval.")
    ] = False,
    company: Annotated[str | None, typer.Option(help="Only this company's entries.")] = None,
    as_json: Json = False,
) -> None:
    """List entries (approved and pending; --all adds retired ones)."""
    with _bank() as bank:
        entries = bank.list(
            approved=False if pending else None, company=company, include_retired=show_all
        )
    if as_json:
        typer.echo(json.dumps([e.model_dump(mode="json") for e in entries], indent=2))
        return
    if not entries:
        typer.echo("no memory entries (add one with `finrag memory add` or `finrag memory import`)")
    for e in entries:
        _show(e)


@memory_app.command("approve")
@readable_errors
def approve_entry(
    entry_id: Annotated[str, typer.Argument(help="Entry id (or a unique prefix).")],
    by: Annotated[str, typer.Option("--by", help="Approver's name.")] = "curator",
) -> None:
    """Approve an entry: the agent may use it from now on."""
    with _bank() as bank, _audited(bank, "memory.approve", entry_id):
        entry = bank.approve(entry_id, approver=by)
    by_whom = safe_terminal(entry.approved_by)
    typer.secho(f"approved {entry.entry_id[:12]} by {by_whom}", fg=typer.colors.GREEN)


@memory_app.command()
@readable_errors
def retire(entry_id: Annotated[str, typer.Argument(help="Entry id (or a unique prefix).")]) -> None:
    """Stop serving an entry but keep it in the bank."""
    with _bank() as bank, _audited(bank, "memory.retire", entry_id):
        entry = bank.retire(entry_id)
    typer.echo(f"retired {entry.entry_id[:12]}")


@memory_app.command()
@readable_errors
def remove(entry_id: Annotated[str, typer.Argument(help="Entry id (or a unique prefix).")]) -> None:
    """Delete an entry for good."""
    with _bank() as bank, _audited(bank, "memory.remove", entry_id):
        entry = bank.remove(entry_id)
    typer.echo(f"removed {entry.entry_id[:12]}: {safe_terminal(entry.question)}")


@memory_app.command("import")
@readable_errors
def import_entries(
    path: Annotated[Path, typer.Argument(help="A .csv (header row) or .jsonl file.")],
    as_json: Json = False,
) -> None:
    """Add or update entries from a file; re-importing the same file changes nothing.

    Exit status 1 when any row is invalid (each is listed with its line number).
    """
    with _bank() as bank, _audited(bank, "memory.import", str(path)) as attempt:
        report = bank.import_file(path)  # the operator's import: rows are trusted as written
        attempt.reason = report.summary
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        for row in report.rows:
            if row.status == "invalid":
                reason = safe_terminal(row.reason)
                typer.secho(f"line {row.line}: invalid: {reason}", fg=typer.colors.RED)
            elif row.status != "skipped":
                question = safe_terminal(row.question)
                typer.echo(f"line {row.line}: {row.status} {(row.entry_id or '')[:12]} {question}")
        typer.echo(f"{safe_terminal(path.name)}: {safe_terminal(report.summary)}")
    if report.count("invalid"):
        raise typer.Exit(1)


@memory_app.command()
@readable_errors
def export(path: Annotated[Path, typer.Argument(help="A .csv or .jsonl file to write.")]) -> None:
    """Write every entry (pending and retired included) to CSV or JSONL."""
    with _bank() as bank, _audited(bank, "memory.export", str(path)) as attempt:
        n = bank.export(path)
        attempt.reason = f"{n} entries"
    typer.echo(f"wrote {n} entries to {safe_terminal(path)}")


@memory_app.command()
@readable_errors
def search(
    question: Annotated[str, typer.Argument(help="A question, as a user would ask it.")],
    company: Annotated[
        str | None, typer.Option(help="Resolved company (default: read from the question).")
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="Resolved period (default: read from the question).")
    ] = None,
    groups: Annotated[
        list[str] | None, typer.Option(help="Your ACL groups (default: settings.default_acl).")
    ] = None,
    pending: Annotated[
        bool, typer.Option("--pending", help="Also match entries awaiting approval.")
    ] = False,
    stale: Annotated[
        bool, typer.Option("--stale", help="Also show entries outside their validity window.")
    ] = False,
    limit: Annotated[int, typer.Option(help="Hits to show.")] = 3,
    as_json: Json = False,
) -> None:
    """What the agent would get from the memory bank for a question."""
    with _bank() as bank:
        hits = bank.search(
            question_arg(question),
            groups or bank.corpus.settings.default_acl,
            company=company,
            period=period,
            limit=limit,
            include_stale=stale,
            approved_only=not pending,
        )
        threshold = bank.threshold if not as_json else None
    if as_json:
        typer.echo(json.dumps([h.model_dump(mode="json") for h in hits], indent=2))
        return
    if not hits:
        typer.echo(
            f"no entry clears the threshold ({threshold}); the agent would search the corpus"
        )
    for h in hits:
        flag = typer.style(" STALE", fg=typer.colors.RED) if h.stale else ""
        typer.echo(
            f"{h.rank}. score {h.score:.3f} (cosine {h.cosine:.3f}, lexical {h.lexical:.2f}){flag}"
        )
        typer.echo(f"   matched: {safe_terminal(h.matched_phrasing)}")
        _show(h.entry, verbose=True)
