"""The LangGraph answering agent and `finrag ask` on the generated sample filings."""

from __future__ import annotations

import json
import shutil

import pytest
import typer
from typer.testing import CliRunner

from agent.graph import CONVERSATIONS_FILE, Agent, AgentReply
from agent.nodes import standalone_question
from core.records import MatchedSpan, Resolution, SearchFilters
from core.settings import Settings
from ingest.pipeline import Ingestor
from retrieval.corpus import Corpus

Q_2023 = "What was Northwind Robotics' total revenue in fiscal 2023?"
STEPS = [
    "start",
    "resolving",
    "recalling",
    "calling tools",
    "searching",
    "reranking",
    "calculating",
    "answering",
    "verifying",
    "responding",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, model_cache, sample_folder):
    settings = Settings(data_dir=tmp_path_factory.mktemp("agent-corpus"), model_cache=model_cache)
    settings.ingest.workers = 1
    with Corpus.open(settings) as corpus:
        assert Ingestor(corpus).ingest([sample_folder]).count("ok") == 3
        yield corpus


@pytest.fixture(scope="module")
def agent(corpus):
    with Agent(corpus) as a:
        yield a


def test_figure_question_cites_the_right_file_and_page(agent):
    reply = agent.ask(Q_2023, thread_id="figure", acl_groups=["public"])
    assert not reply.answer.abstained
    assert "2,255.4" in reply.answer.text
    first = reply.answer.citations[0]
    assert (first.file_name, first.page_no) == ("northwind_2023_10k.pdf", 6)
    assert "2,255.4" in first.quote and first.col_header == "2023"
    assert "Northwind" in reply.scope
    assert {"resolve", "memory", "tools", "retrieve", "rerank", "answer", "verify"} <= set(
        reply.timings_ms
    )


def test_events_follow_the_graph_in_order(agent):
    items = list(agent.stream(Q_2023, thread_id="events", acl_groups=["public"]))
    assert isinstance(items[-1], AgentReply)
    steps = [e["step"] for e in items[:-1]]
    assert steps == STEPS[1:]
    assert [e["step"] for e in items[-1].events] == STEPS[1:]
    assert "northwind_2023_10k.pdf p.6" in items[STEPS.index("searching") - 1]["detail"]


def test_follow_up_on_a_thread_persists_across_agent_instances(corpus, agent):
    first = agent.ask(Q_2023, thread_id="conv", acl_groups=["public"])
    assert "2,255.4" in first.answer.text
    db = corpus.data_dir / CONVERSATIONS_FILE
    assert db.is_file() and db.stat().st_size > 0
    # A fresh agent with its own SQLite connection continues the thread from the file (over the
    # same open corpus: the embedded index admits one opener at a time).
    with Agent(corpus) as again:
        assert again.history("conv") == [Q_2023]
        follow = again.ask("And the year before?", thread_id="conv", acl_groups=["public"])
        assert follow.standalone == "What was Northwind Robotics' total revenue in fiscal 2022?"
        assert "1,883.4" in follow.answer.text and "2,255.4" not in follow.answer.text
        assert follow.answer.citations[0].col_header == "2022"
        assert follow.answer.citations[0].file_name == "northwind_2023_10k.pdf"
        assert again.history("conv")[-1].endswith("fiscal 2022?")
    # Another thread does not see this conversation.
    assert agent.history("other") == []


def test_unanswerable_question_abstains_with_the_scope(agent):
    reply = agent.ask(
        "What was Northwind Robotics' favourite colour of the CEO in fiscal 2023?",
        thread_id="abstain",
        acl_groups=["public"],
    )
    assert reply.answer.abstained and reply.answer.citations == []
    assert reply.scope and reply.scope in reply.answer.text
    assert reply.answer.text.startswith("I could not determine this")


def test_explicit_filters_replace_the_resolution(agent):
    reply = agent.ask(
        "What were capital expenditures?",
        thread_id="filters",
        acl_groups=["public"],
        filters=SearchFilters(companies=["Contoso Foods Corporation"], fiscal_years=[2024]),
    )
    assert reply.answer.citations
    assert {c.file_name for c in reply.answer.citations} == {"contoso_fy2024_10k.pdf"}
    assert (
        reply.scope.startswith("Searched with filters")
        and "Contoso Foods Corporation" in reply.scope
    )


def test_standalone_question_only_rewrites_elliptical_follow_ups():
    res = Resolution(
        question="And the year before?",
        fiscal_years=[2022],
        inherited=["company", "period"],
        matched_text=[
            MatchedSpan(start=4, end=19, text="the year before", kind="relative", value="prev-year")
        ],
    )
    assert standalone_question("And the year before?", [Q_2023], res) == (
        "What was Northwind Robotics' total revenue in fiscal 2022?"
    )
    named = res.model_copy(
        update={
            "question": "And net income the year before?",
            "matched_text": [
                MatchedSpan(
                    start=15, end=30, text="the year before", kind="relative", value="prev-year"
                )
            ],
        }
    )
    assert standalone_question("And net income the year before?", [Q_2023], named) == (
        "And net income the year before?"
    )
    assert standalone_question("And the year before?", [], res) == "And the year before?"


def test_cli_ask_json(corpus, tmp_path):
    from ui.cli_ask import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # two commands, so `ask` is addressed by name
    data = tmp_path / "data"
    # A copy of the corpus: the module's agent holds the embedded index open.
    shutil.copytree(corpus.data_dir, data, ignore=shutil.ignore_patterns(CONVERSATIONS_FILE + "*"))
    env = {
        "FINRAG_DATA_DIR": str(data),
        "FINRAG_MODEL_CACHE": str(corpus.settings.model_cache),
        "FINRAG_CONFIG": str(tmp_path / "absent.toml"),
        "HF_HUB_OFFLINE": "1",
    }
    result = CliRunner().invoke(app, ["ask", Q_2023, "--json", "--thread", "cli"], env=env)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["abstained"] is False and "2,255.4" in out["answer"]
    assert (
        out["citations"][0]["file"] == "northwind_2023_10k.pdf" and out["citations"][0]["page"] == 6
    )
    assert out["citations"][0]["row_header"] == "Total revenue"
    calc = out["calculations"][-1]  # read from the statement facts, the input cited to its cell
    assert calc["formula"] == "revenue" and calc["result"] == 2_255_400_000
    assert [(i["file"], i["page"], i["quote"]) for i in calc["inputs"]] == [
        ("northwind_2023_10k.pdf", 6, out["citations"][0]["quote"])
    ]
    assert "Northwind" in out["scope"] and "answer" in out["timings_ms"]
    result = CliRunner().invoke(
        app,
        [
            "ask",
            "What was total revenue?",
            "--json",
            "--company",
            "Contoso Foods",
            "--year",
            "2024",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["citations"] and {c["file"] for c in out["citations"]} == {"contoso_fy2024_10k.pdf"}
    assert (data / CONVERSATIONS_FILE).is_file()


def test_stream_cleans_the_question_and_says_so(agent):
    from core.errors import InvalidQuestionError

    typed = f"{Q_2023}\x1b[31m\r" + b"\xff".decode("utf-8", "surrogateescape")
    items = list(agent.stream(typed, thread_id="hostile", acl_groups=["public"]))
    first, reply = items[0], items[-1]
    assert first["step"] == "clean" and "1 undecodable byte" in first["detail"]
    assert reply.question == f"{Q_2023}\ufffd" and reply.events[0] == first
    assert "2,255.4" in reply.answer.text
    assert agent.history("hostile") == [f"{Q_2023}\ufffd"]  # stored: no surrogates left
    with pytest.raises(InvalidQuestionError):
        list(agent.stream("\x1b[2J\x07", thread_id="hostile", acl_groups=["public"]))
