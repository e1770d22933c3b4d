"""Ask page extras through AppTest: scope filters, feedback, save to memory, and who sees what."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.errors import AccessError
from core.settings import Settings, UsersSettings
from retrieval.feedback import FeedbackStore
from tests.fixtures.corpora import ingest_into
from ui.identity import resolve_user

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
Q_2023 = "What was Northwind Robotics' total revenue in fiscal 2023?"
Q_CONTOSO = "How much did Contoso Foods spend on capital expenditures in fiscal 2024?"
CITE = "[1] northwind_2023_10k.pdf p.6"
GROUPS = '{"ann": ["public"], "bob": ["public", "finance"]}'


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, model_cache, sample_folder):
    """The samples, with Contoso's 10-K readable by the finance group only."""
    data_dir = tmp_path_factory.mktemp("ask-features")
    public, finance = data_dir / "public", data_dir / "finance"
    public.mkdir()
    finance.mkdir()
    for pdf in Path(sample_folder).glob("*.pdf"):
        shutil.copy(pdf, (finance if "contoso" in pdf.name else public) / pdf.name)
    settings = Settings(data_dir=data_dir, model_cache=model_cache)
    settings.ingest.workers = 1
    assert ingest_into([public], settings).count("ok") == 2
    assert ingest_into([finance], settings, overrides={"acl": ["finance"]}).count("ok") == 1
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINRAG_DATA_DIR", str(data_dir))
        mp.setenv("FINRAG_MODEL_CACHE", str(model_cache))
        mp.setenv("FINRAG_CONFIG", str(data_dir / "absent.toml"))
        mp.setenv("FINRAG_USERS__GROUPS", GROUPS)
        yield settings


def _app(path: str = APP, user: str = "bob"):
    from streamlit.testing.v1 import AppTest

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINRAG_USERS__DEFAULT_USER", user)
        at = AppTest.from_file(path, default_timeout=60)
        at.run()
    assert not at.exception, at.exception
    return at


def _run(at, user: str = "bob"):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINRAG_USERS__DEFAULT_USER", user)
        at.run()
    assert not at.exception, at.exception
    return at


def _ask(at, question: str, user: str = "bob"):
    at.chat_input[0].set_value(question)
    return _run(at, user)


def _click(at, key: str, user: str = "bob"):
    at.button(key=key).click()
    return _run(at, user)


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_scope_is_prefilled_from_the_resolver_and_an_edit_restricts_the_next_question(corpus):
    at = _ask(_app(), Q_2023)
    assert at.multiselect(key="scope_companies").value == ["Northwind Robotics"]
    assert at.multiselect(key="scope_years").value == [2023]
    assert any("Prefilled from your last question" in c.value for c in at.sidebar.caption)

    # Left as prefilled, the next question is resolved afresh: Contoso's question finds Contoso.
    at = _ask(at, Q_CONTOSO)
    assert any(b.label.startswith("[1] contoso") for b in at.button), [b.label for b in at.button]
    assert at.multiselect(key="scope_companies").value == ["Contoso Foods"]

    # Edited, the scope replaces the resolver's choice: Contoso's question asked within Northwind
    # cannot cite Contoso's filing.
    at.multiselect(key="scope_companies").set_value(["Northwind Robotics"])
    at.multiselect(key="scope_years").set_value([])
    _run(at)
    assert any("searches only this scope" in c.value for c in at.sidebar.caption)
    _click(at, "scope_reask")
    last = [b.label for b in at.button if b.key and b.key.startswith("cite-2-")]
    assert not any("contoso" in label for label in last), last
    searched = [c.value for c in at.caption if c.value.startswith("Searched")]
    assert len(searched) == 3 and "Northwind" in searched[-1] and "Contoso" not in searched[-1]

    _click(at, "scope_clear")
    assert at.multiselect(key="scope_companies").value == []


def test_feedback_is_stored_and_a_changed_vote_replaces_the_old_one(corpus):
    at = _ask(_app(), Q_2023)
    _click(at, "vote-up-0")
    store = FeedbackStore(corpus.feedback_path)
    try:
        records = store.list()
        assert len(records) == 1
        assert records[0].verdict == "up" and records[0].user == "bob"
        assert "2,255.4" in records[0].answer and records[0].citations

        _button(at, CITE).click()
        _run(at)
        _click(at, "wrong-0-0")
        _click(at, "vote-down-0")
        records = store.list()
        assert len(records) == 1  # one record per user and turn
        assert records[0].verdict == "down"
        assert records[0].wrong_citations == [records[0].citations[0].chunk_id]
        assert store.list(acl_groups=["nobody"]) == []
    finally:
        store.close()


def test_save_an_answer_to_the_memory_bank_as_a_pending_entry(corpus):
    at = _ask(_app(), Q_2023)
    form_button = next(b for b in at.button if b.label == "Save as pending entry")
    form_button.click()
    _run(at)
    assert any("pending a curator" in c.value for c in at.caption), [c.value for c in at.caption]

    from retrieval.memory_bank import MemoryBank
    from ui.corpus import app_corpus

    bank = MemoryBank(app_corpus(Settings()))
    entries = [e for e in bank.list() if "2,255.4" in e.answer]
    assert len(entries) == 1
    entry = entries[0]
    assert not entry.approved and entry.author == "bob"
    assert entry.company == "Northwind Robotics, Inc." and entry.period == "FY2023"
    assert entry.source is not None and entry.source.page_no == 6
    assert entry.acl == ["public", "finance"]


def test_a_user_never_sees_another_groups_filing(corpus):
    # ann (public only) asking about Contoso gets nothing from its finance-only 10-K.
    at = _ask(_app(user="ann"), Q_CONTOSO, user="ann")
    labels = [b.label for b in at.button]
    assert not any("contoso" in label.lower() for label in labels), labels
    assert any("2 filings readable" in c.value for c in at.sidebar.caption)
    assert "Contoso Foods" not in at.multiselect(key="scope_companies").options

    # bob (finance) gets it cited.
    at = _ask(_app(user="bob"), Q_CONTOSO)
    assert any(b.label.startswith("[1] contoso") for b in at.button)


def _library() -> None:
    from ui.views.library import render

    render()


def _memory() -> None:
    from ui.views.memory import render

    render()


def test_the_library_lists_only_readable_filings_and_refuses_foreign_groups(corpus):
    from streamlit.testing.v1 import AppTest

    def files(user: str) -> list[str]:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("FINRAG_USERS__DEFAULT_USER", user)
            at = AppTest.from_function(_library, default_timeout=60)
            at.run()
        assert not at.exception, at.exception
        frame = next(f.value for f in at.dataframe if "file" in f.value.columns)
        return sorted(frame["file"])

    assert "contoso_fy2024_10k.pdf" in files("bob")
    assert "contoso_fy2024_10k.pdf" not in files("ann")

    from ui.identity import User
    from ui.views.library import acl_for_batch

    ann = User(name="ann", groups=["public"], source="local")
    assert acl_for_batch(ann, None) == ["public"]
    with pytest.raises(Exception, match="only share filings with your own groups"):
        acl_for_batch(ann, ["finance"])


def test_the_memory_page_refuses_sharing_with_a_foreign_group(corpus):
    from streamlit.testing.v1 import AppTest

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINRAG_USERS__DEFAULT_USER", "ann")
        at = AppTest.from_function(_memory, default_timeout=60)
        at.run()
        at.text_input(key="add-question").set_value("What is Contoso's secret metric?")
        at.text_area(key="add-answer").set_value("42")
        at.text_input(key="add-acl").set_value("finance")
        at.button[[b.label for b in at.button].index("Add entry")].click()
        at.run()
    assert any("only share entries with your own groups" in e.value for e in at.error)


def test_identity_from_a_trusted_header():
    settings = Settings(
        users=UsersSettings(identity_header="X-Forwarded-User", groups={"bob": ["finance"]})
    )
    bob = resolve_user(settings, {"x-forwarded-user": "bob"})
    assert (bob.name, bob.groups, bob.source) == ("bob", ["finance"], "X-Forwarded-User")
    stranger = resolve_user(settings, {"X-Forwarded-User": "mallory"})
    assert stranger.groups == []  # unknown users read nothing
    with pytest.raises(AccessError, match="X-Forwarded-User"):
        resolve_user(settings, {})
    local = resolve_user(Settings(default_acl=["public", "research"]), {})
    assert (local.name, local.groups, local.source) == ("local", ["public", "research"], "local")


def test_the_app_refuses_a_request_without_the_identity_header(corpus, monkeypatch):
    monkeypatch.setenv("FINRAG_USERS__IDENTITY_HEADER", "X-Forwarded-User")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("X-Forwarded-User" in e.value for e in at.error)
    assert len(at.chat_input) == 0  # the page stops before drawing the chat


def test_header_identity_decides_what_the_library_shows(corpus, monkeypatch):
    import ui.identity

    monkeypatch.setenv("FINRAG_USERS__IDENTITY_HEADER", "X-Forwarded-User")
    monkeypatch.setattr(ui.identity, "request_headers", lambda: {"X-Forwarded-User": "ann"})
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_library, default_timeout=60)
    at.run()
    assert not at.exception
    frame = next(f.value for f in at.dataframe if "file" in f.value.columns)
    assert "contoso_fy2024_10k.pdf" not in set(frame["file"]) and len(frame) == 2


def test_evidence_rows_name_their_source():
    from core.records import MemoryHit, PageHit, ToolResult
    from retrieval.memory_bank import make_entry
    from ui.views.ask import Turn, evidence_rows

    entry = make_entry(
        "What was Acme's FY2023 revenue?", "$1.2 billion", company="Acme", period="FY2023"
    )
    turn = Turn(
        question="q",
        memory=[
            MemoryHit(
                entry=entry, score=0.91, cosine=0.95, lexical=0.8, matched_phrasing=entry.question
            )
        ],
        tools=[
            ToolResult(
                tool="market_data", ok=False, status="unavailable", message="no endpoint configured"
            )
        ],
        pages=[PageHit(doc_id="d", page_no=6, file_name="acme.pdf", score=0.03, rank=1)],
    )
    rows = evidence_rows(turn)
    assert [r["source"] for r in rows] == ["memory bank", "tool: market_data", "corpus"]
    assert (
        rows[0]["evidence"] == "What was Acme's FY2023 revenue? -> $1.2 billion"
        and rows[0]["score"] == 0.91
    )
    assert rows[1]["note"] == "unavailable"
    assert rows[2]["evidence"] == "acme.pdf p.6"
