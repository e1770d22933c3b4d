"""Hostile text at the CLI's edges: questions cleaned, nothing echoed raw to a terminal.

The hostile strings: a colour (CSI), an OSC 8 hyperlink and a carriage return, in the question and
in document text (answers, quotes, file names, table cells, search hits, memory entries).
"""

from __future__ import annotations

import contextlib
import json

import pytest
import typer
from typer.testing import CliRunner

from core.records import Answer, Chunk, Citation, Hit, MemoryEntry
from ui.cli import app

runner = CliRunner()
HOSTILE = "\x1b[31mred\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x07\rover"
SAFE = "red linkover"  # what HOSTILE shows as
NOT_UTF8 = b"revenue \xff 2023".decode("utf-8", "surrogateescape")  # argv bytes, PEP 383


def assert_inert(text: str) -> None:
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text, repr(text)


@pytest.fixture
def fake_agent(monkeypatch):
    """``finrag ask`` over an agent whose progress and answer carry hostile document text."""
    import agent.graph
    import ui.commands
    from agent.graph import AgentReply
    from core.text import clean_question

    asked: list[str] = []

    class Corpus(contextlib.nullcontext):
        def __enter__(self):
            return self

        def filings(self, acl):
            return []

    class FakeAgent:
        def __init__(self, corpus):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def stream(self, question, *, thread_id, acl_groups, filters):
            question = clean_question(question).text  # as the real Agent.stream does
            asked.append(question)
            yield {"step": "retrieve", "detail": f"searched {HOSTILE}"}
            answer = Answer(
                text=f"Revenue was {HOSTILE} [1].",
                citations=[
                    Citation(doc_id="d", file_name=f"{HOSTILE}.pdf", page_no=3, quote=HOSTILE)
                ],
                scope=f"scope {HOSTILE}",
            )
            yield AgentReply(
                question=question,
                standalone=question,
                answer=answer,
                scope=answer.scope,
                thread_id=thread_id,
            )

    monkeypatch.setattr(ui.commands, "open_corpus", lambda settings: Corpus())
    monkeypatch.setattr(agent.graph, "Agent", FakeAgent)
    return asked


def test_ask_cleans_the_question_and_prints_nothing_raw(settings, fake_agent):
    env = {"FINRAG_DATA_DIR": str(settings.data_dir)}
    result = runner.invoke(app, ["ask", f"What was {HOSTILE}? {NOT_UTF8}"], env=env)
    assert result.exit_code == 0, result.output
    assert fake_agent == [f"What was {SAFE}? revenue \ufffd 2023"]
    assert_inert(result.output)
    assert "note: 1 undecodable byte (not UTF-8) replaced by U+FFFD" in result.stderr
    assert "note: terminal escape sequences and control characters removed" in result.stderr
    assert f"searched {SAFE}" in result.stderr  # the progress line
    assert f"A: Revenue was {SAFE} [1]." in result.stdout
    assert f"[1] {SAFE}.pdf p.3: {SAFE}" in result.stdout and f"(scope {SAFE};" in result.stdout


def test_ask_json_escapes_control_characters(settings, fake_agent):
    result = runner.invoke(
        app, ["ask", "revenue?", "--json"], env={"FINRAG_DATA_DIR": str(settings.data_dir)}
    )
    assert result.exit_code == 0, result.output
    assert_inert(result.stdout)  # JSON writes them as \u001b, \r
    assert json.loads(result.stdout)["answer"] == f"Revenue was {HOSTILE} [1]."


@pytest.mark.parametrize("question", ["\x1b[2J\x1b[H", "  \r\x07 "])
def test_a_question_of_only_controls_is_one_red_line(settings, question):
    result = runner.invoke(app, ["ask", question], env={"FINRAG_DATA_DIR": str(settings.data_dir)})
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: the question is empty once control characters are removed; type it in words"
    )


def test_search_hits_are_printed_inert(settings, monkeypatch):
    import retrieval.search
    import ui.commands

    queries = []

    class FakeSearch:
        def __init__(self, corpus):
            pass

        def search(self, query):
            queries.append(query.text)
            chunk = Chunk(
                chunk_id="c",
                doc_id="d",
                page_no=2,
                modality="text",
                text=f"body {HOSTILE}",
                section_path=[f"Item 7 {HOSTILE}"],
                file_name=f"{HOSTILE}.pdf",
            )
            return [Hit(chunk=chunk, score=0.5, source="fused", rank=1)]

    monkeypatch.setattr(ui.commands, "open_corpus", lambda settings: contextlib.nullcontext())
    monkeypatch.setattr(retrieval.search, "CorpusSearch", FakeSearch)
    env = {"FINRAG_DATA_DIR": str(settings.data_dir)}
    result = runner.invoke(app, ["search", f"revenue {HOSTILE} {NOT_UTF8}"], env=env)
    assert result.exit_code == 0, result.output
    assert queries == [f"revenue {SAFE} revenue \ufffd 2023"]
    assert_inert(result.output)
    assert f"1. {SAFE}.pdf p.2 [text] 0.500  Item 7 {SAFE}" in result.stdout
    assert f"body {SAFE}" in result.stdout


def test_facts_and_filings_tables_show_cells_as_plain_text(settings):
    from core.records import Fact, Filing
    from retrieval.catalog import Catalog
    from retrieval.facts import FactStore

    markup = "[link=http://evil]Total[/link]"  # rich markup in a filing must stay text
    store = FactStore(settings.facts_path)
    fact = Fact(
        fact_id="f1",
        doc_id="d1",
        page_no=4,
        line_item=f"{markup} {HOSTILE}",
        concept="revenue",
        period_type="duration",
        months=12,
        fiscal_year=2024,
        fiscal_period="FY",
        value=1.0e9,
        company="Tailspin",
        form="10-K",
        file_name=f"{HOSTILE}.pdf",
        acl=["public"],
    )
    store.replace("d1", [fact])
    store.close()
    env = {"FINRAG_DATA_DIR": str(settings.data_dir), "COLUMNS": "300"}
    result = runner.invoke(app, ["facts", "--company", "tailspin"], env=env)
    assert result.exit_code == 0, result.output
    assert_inert(result.output)
    assert "]8;" not in result.output  # no hyperlink, neither from OSC 8 nor from the markup
    assert markup in result.stdout and SAFE in result.stdout
    catalog = Catalog(settings.catalog_path)
    filing = Filing(
        doc_id="d1",
        source_path="/x",
        file_name=f"{markup}{HOSTILE}.pdf",
        company=HOSTILE,
        ticker=markup,
        form="10-K",
    )
    catalog.put(filing, "ready")
    catalog.close()
    result = runner.invoke(app, ["filings"], env=env)
    assert result.exit_code == 0, result.output
    assert_inert(result.output)
    assert "]8;" not in result.output and markup in result.stdout and SAFE in result.stdout


def test_memory_entries_are_printed_inert(capsys):
    from ui.cli_memory import _show

    entry = MemoryEntry(
        entry_id="e" * 16,
        question=f"Q {HOSTILE}",
        answer=f"A {HOSTILE}",
        paraphrases=[f"P {HOSTILE}"],
        company=f"C {HOSTILE}",
        acl=["public"],
        source=Citation(doc_id="d", file_name=f"{HOSTILE}.pdf", page_no=1, quote=HOSTILE),
    )
    _show(entry, verbose=True)
    out = capsys.readouterr().out
    assert_inert(out)
    assert f"Q {SAFE}" in out and f"A {SAFE}" in out and f"~ P {SAFE}" in out
    assert f'source: {SAFE}.pdf p.1 "{SAFE}"' in out


def test_error_messages_are_printed_inert():
    from core.errors import FinragError
    from ui.commands import readable_errors

    def fails() -> None:
        raise FinragError(f"cannot read {HOSTILE}.pdf")

    one = typer.Typer()
    one.command("fails")(readable_errors(fails))
    one.command("noop")(lambda: None)
    result = runner.invoke(one, ["fails"])
    assert result.exit_code == 2 and result.stderr == f"error: cannot read {SAFE}.pdf\n"
