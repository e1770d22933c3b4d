"""Roles and the audit log through AppTest: two users behind the identity header.

alice (finance, curator) and mallory (public, reader; promoted to curator of public for the
import and add attempts) drive the Memory bank, Library and Evaluate pages; root (admin) re-shares
and deletes a filing. Every allowed and refused write must land in the audit log.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.settings import Settings

ROOT = str(Path(__file__).resolve().parents[2])
HEADER = "X-Forwarded-User"
Q = "What was Acme Corp's total revenue in fiscal 2023?"
PUBLIC_Q = "What does EBITDA stand for?"


def _script(page: str) -> str:
    return (
        f"import sys\nsys.path.insert(0, {ROOT!r})\nfrom ui.views import {page}\n{page}.render()\n"
    )


@pytest.fixture
def users(tmp_path, model_cache, monkeypatch):
    """Two users behind the header; ``users("alice")`` signs the next requests in as alice."""
    import ui.identity

    monkeypatch.setenv("FINRAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FINRAG_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("FINRAG_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("FINRAG_EMBEDDER__NAME", raising=False)
    monkeypatch.setenv("FINRAG_USERS__IDENTITY_HEADER", HEADER)
    groups = {"alice": ["finance"], "mallory": ["public"], "carol": ["public"], "root": ["public"]}
    monkeypatch.setenv("FINRAG_USERS__GROUPS", json.dumps(groups))
    monkeypatch.setenv("FINRAG_USERS__ROLES", json.dumps({"alice": "curator", "carol": "curator"}))
    headers: dict[str, str] = {}
    monkeypatch.setattr(ui.identity, "request_headers", lambda: dict(headers))

    def sign_in(name: str | None) -> None:
        headers.clear()
        if name:
            headers[HEADER] = name

    return sign_in


def _app(page: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(_script(page), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _button(at, label: str):
    return next((b for b in at.button if b.label == label), None)


def _texts(at) -> list[str]:
    kinds = ("error", "warning", "info", "success", "caption", "markdown")
    out = [e.value for kind in kinds for e in getattr(at, kind)]
    return out + [str(f.value.to_dict("records")) for f in at.dataframe]


def _events():
    from ui.corpus import app_corpus

    return app_corpus(Settings()).audit.events()


def test_memory_writes_need_a_curator_of_the_groups_and_never_reveal_hidden_entries(
    users, monkeypatch, tmp_path
):
    from retrieval.memory_bank import HIDDEN_COLLISION, MemoryBank, entry_id_for
    from ui.corpus import app_corpus

    # alice, a finance curator, adds and approves a finance-only answer
    users("alice")
    at = _app("memory")
    at.text_input(key="add-question").set_value(Q)
    at.text_area(key="add-answer").set_value("$1.2 billion")
    at.text_input(key="add-company").set_value("Acme Corp")
    at.text_input(key="add-period").set_value("FY2023")
    at.text_input(key="add-acl").set_value("finance")
    at.checkbox(key="add-approve").check()
    _button(at, "Add entry").click().run()
    assert not at.error, [e.value for e in at.error]
    hidden = entry_id_for(Q, "Acme Corp", "FY2023")
    bank = MemoryBank(app_corpus(Settings()))
    stored = bank.get(hidden)
    assert (stored.approved_by, stored.added_by, stored.acl) == ("alice", "alice", ["finance"])

    # carol, a public curator, adds a pending public entry
    users("carol")
    at = _app("memory")
    at.text_input(key="add-question").set_value(PUBLIC_Q)
    at.text_area(key="add-answer").set_value("Earnings before interest, taxes, D and A")
    _button(at, "Add entry").click().run()
    assert not at.error, [e.value for e in at.error]

    # mallory, a reader, sees the public entry only and no write control: she cannot approve
    users("mallory")
    at = _app("memory")
    table = at.dataframe[0].value
    assert list(table["question"]) == [PUBLIC_Q]
    for label in ("Add entry", "Approve", "Retire", "Remove", "Import", "Save changes"):
        assert _button(at, label) is None, label
    assert any("needs the curator role" in i.value for i in at.info)
    assert not bank.get(entry_id_for(PUBLIC_Q, None, None)).approved

    # made a curator of public, mallory tries the pen test's import and the Add form
    monkeypatch.setenv(
        "FINRAG_USERS__ROLES",
        json.dumps({"alice": "curator", "carol": "curator", "mallory": "curator"}),
    )
    rows = [
        {
            "question": Q,
            "answer": "$9.9 billion",
            "company": "Acme Corp",
            "period": "FY2023",
            "acl": ["finance"],
            "approved": True,
            "approved_by": "cfo",
        },
        {
            "question": Q,
            "answer": "$9.9 billion",
            "company": "Acme Corp",
            "period": "FY2023",
            "acl": ["public"],
        },
    ]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    at = _app("memory")
    at.file_uploader(key="memory-upload").set_value(("planted.jsonl", data, "application/json"))
    at.run()
    _button(at, "Import").click().run()
    assert not at.exception, at.exception
    assert any("0 added, 0 updated, 0 skipped, 2 invalid" in s.value for s in at.success)
    warning = at.warning[0].value
    assert "line 1: acl names group(s) you are not in (finance)" in warning
    assert f"line 2: {HIDDEN_COLLISION}" in warning

    at.text_input(key="add-question").set_value(Q)
    at.text_area(key="add-answer").set_value("$9.9 billion")
    at.text_input(key="add-company").set_value("Acme Corp")
    at.text_input(key="add-period").set_value("FY2023")
    _button(at, "Add entry").click().run()
    assert [e.value for e in at.error] == [HIDDEN_COLLISION]
    shown = " ".join(_texts(at))
    assert hidden[:8] not in shown and "finance" not in shown.replace("(finance)", "")

    # finance users are served exactly what alice approved
    hits = bank.search(Q, ["finance"])
    assert [(h.entry.answer, h.entry.approved_by) for h in hits] == [("$1.2 billion", "alice")]
    assert bank.get(hidden).acl == ["finance"]

    events = [(e.user, e.role, e.action, e.object, e.outcome) for e in _events()]
    assert ("alice", "curator", "memory.add", hidden, "ok") in events
    assert ("carol", "curator", "memory.add", entry_id_for(PUBLIC_Q, None, None), "ok") in events
    assert ("mallory", "curator", "memory.import", "planted.jsonl", "ok") in events
    refused = [e for e in events if e[0] == "mallory" and e[4] == "refused"]
    assert ("mallory", "curator", "memory.import", "planted.jsonl line 1", "refused") in refused
    assert ("mallory", "curator", "memory.import", "planted.jsonl line 2", "refused") in refused
    assert ("mallory", "curator", "memory.add", hidden, "refused") in refused


def _seed_filing(doc_id: str = "d" * 64):
    from core.records import Filing
    from ui.corpus import app_corpus

    filing = Filing(
        doc_id=doc_id, source_path="/nowhere/acme.pdf", file_name="acme.pdf", company="Acme"
    )
    app_corpus(Settings()).catalog.put(filing, "ok")
    return filing


def test_library_deletes_and_reshares_are_for_admins(users, monkeypatch):
    from ui.corpus import app_corpus

    filing = _seed_filing()
    users("mallory")
    at = _app("library")
    frame = next(f.value for f in at.dataframe if "file" in f.value.columns)
    assert list(frame["file"]) == ["acme.pdf"]  # readers see the catalog of what they may read
    delete = at.button(key="library_delete")
    assert "admin role" in delete.help  # a hint; the server decides when it is pressed
    delete.click().run()
    assert any("deleting a filing needs the admin role" in e.value for e in at.error)
    at.button(key="library_set_acl").click().run()
    assert any("changing a filing's ACL needs the admin role" in e.value for e in at.error)
    # a reader ingests into their own groups only
    at.text_input(key="library_acl").set_value("finance")
    next(b for b in at.button if b.label == "Ingest").click().run()
    assert any("only share filings with your own groups" in e.value for e in at.error)
    corpus = app_corpus(Settings())
    assert corpus.catalog.get(filing.doc_id).acl == ["public"]

    monkeypatch.setenv("FINRAG_USERS__ROLES", json.dumps({"root": "admin"}))
    users("root")
    at = _app("library")
    at.text_input(key=f"library_acl_{filing.doc_id}").set_value("public, finance")
    at.button(key="library_set_acl").click().run()
    assert not at.error, [e.value for e in at.error]
    assert corpus.catalog.get(filing.doc_id).acl == ["finance", "public"]  # sorted
    at.button(key="library_delete").click().run()
    assert not at.error, [e.value for e in at.error]
    assert corpus.catalog.get(filing.doc_id) is None

    events = [(e.user, e.role, e.action, e.outcome) for e in _events()]
    assert events == [
        ("mallory", "reader", "filing.delete", "refused"),
        ("mallory", "reader", "filing.acl", "refused"),
        ("mallory", "reader", "ingest", "refused"),
        ("root", "admin", "filing.acl", "ok"),
        ("root", "admin", "filing.delete", "ok"),
    ]
    objects = [e.object for e in _events()]
    assert all(filing.doc_id in o for o in objects[:2] + objects[3:])
    assert _events()[3].reason == "public -> finance, public"


def test_the_evaluate_page_needs_an_identity_and_runs_are_for_admins(users):
    users(None)  # no header: the request did not come through the proxy
    at = _app("evaluate")
    assert any(HEADER in e.value for e in at.error)
    assert not at.text_input and not at.button and not at.dataframe and not at.info

    users("mallory")
    at = _app("evaluate")
    assert not at.error, [e.value for e in at.error]
    assert not [t for t in at.text_input if t.key == "eval_set"]
    assert any("needs the admin role" in c.value for c in at.caption)
    assert any("No saved retrieval runs" in i.value for i in at.info)


def test_the_audit_page_is_for_admins(users, monkeypatch):
    _seed_filing()
    users("mallory")
    assert "for admins" in _app("audit").error[0].value
    at = _app("library")
    at.button(key="library_delete").click().run()
    monkeypatch.setenv("FINRAG_USERS__ROLES", json.dumps({"root": "admin"}))
    users("root")
    at = _app("audit")
    assert not at.error
    rows = at.dataframe[0].value.to_dict("records")
    assert [(r["user"], r["action"], r["outcome"]) for r in rows] == [
        ("mallory", "filing.delete", "refused")
    ]


def test_identity_carries_the_role_and_admins_ingest_for_any_group():
    from core.settings import UsersSettings
    from ui.identity import User, resolve_user
    from ui.views.library import acl_for_batch

    settings = Settings(
        users=UsersSettings(
            identity_header=HEADER,
            groups={"alice": ["finance"], "root": ["public"]},
            roles={"alice": "curator", "root": "admin"},
        )
    )
    alice = resolve_user(settings, {HEADER: "alice"})
    assert (alice.role, alice.can("memory.approve"), alice.can("filing.delete")) == (
        "curator",
        True,
        False,
    )
    assert resolve_user(settings, {HEADER: "stranger"}).role == "reader"
    assert resolve_user(Settings(), {}).role == "admin"  # the single local user
    root = User(name="root", role="admin", groups=["public"], source=HEADER)
    assert acl_for_batch(root, ["finance"]) == ["finance"]
    with pytest.raises(Exception, match="an admin may ingest for any group"):
        acl_for_batch(alice, ["public"])
