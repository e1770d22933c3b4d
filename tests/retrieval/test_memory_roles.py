"""Who may write the memory bank: roles, groups, stamps, guarded imports and hidden entries."""

from __future__ import annotations

import json

import pytest

from core.errors import AccessError, MemoryBankError
from core.roles import Actor
from core.settings import Settings
from retrieval.corpus import Corpus
from retrieval.memory_bank import HIDDEN_COLLISION, MemoryBank, make_entry

Q = "What was Acme's total revenue in FY2023?"
ALICE = Actor(name="alice", role="curator", groups=["finance"])
MALLORY = Actor(name="mallory", role="reader", groups=["public"])
CAROL = Actor(name="carol", role="curator", groups=["public"])  # a curator of another group


@pytest.fixture
def bank(tmp_path, model_cache):
    settings = Settings(data_dir=tmp_path / "data", model_cache=model_cache)
    with Corpus.open(settings) as corpus:
        yield MemoryBank(corpus, threshold=0.5)


def _finance_entry(bank: MemoryBank):
    entry = make_entry(
        Q, "$1.2 billion", company="Acme Corp", period="FY2023", acl=["finance"], approved=True
    )
    return bank.add(entry, by=ALICE)


def test_stamps_come_from_the_actor_not_the_entry(bank):
    added = bank.add(
        make_entry(Q, "$1.2bn", acl=["finance"], approved=True, approved_by="cfo", added_by="x"),
        by=ALICE,
    )
    assert (added.added_by, added.approved_by) == ("alice", "alice")
    with pytest.raises(AccessError, match="curator role; mallory is a reader"):
        bank.add(make_entry("Another?", "no", acl=["public"]), by=MALLORY)
    with pytest.raises(AccessError, match="only share entries with your own groups"):
        bank.add(make_entry("Another?", "no", acl=["finance"]), by=CAROL)


def test_approval_needs_a_curator_of_every_group_of_the_entry(bank):
    bob = Actor(name="bob", role="curator", groups=["finance", "public"])
    pending = bank.add(make_entry(Q, "$1.2bn", acl=["finance", "public"]), by=bob)
    with pytest.raises(AccessError, match="curator role"):
        bank.approve(pending.entry_id, by=MALLORY)
    with pytest.raises(AccessError, match="also shared with finance"):
        bank.approve(pending.entry_id, by=CAROL)  # carol reads it (public) but is not finance
    with pytest.raises(AccessError, match="also shared with public"):
        bank.approve(pending.entry_id, by=ALICE)
    assert bank.approve(pending.entry_id, approver="ignored", by=bob).approved_by == "bob"


def test_a_hidden_entry_is_neither_overwritten_nor_described(bank):
    hidden = _finance_entry(bank)
    planted = make_entry(Q, "$9.9 billion", company="Acme Corp", period="FY2023", acl=["public"])
    with pytest.raises(AccessError) as refused:
        bank.add(planted, by=CAROL)
    message = str(refused.value)
    assert message == HIDDEN_COLLISION
    assert hidden.entry_id[:8] not in message and "finance" not in message
    # nor can carol reach it by id or prefix: it reads as missing
    for ref in (hidden.entry_id, hidden.entry_id[:10]):
        with pytest.raises(MemoryBankError, match="no memory entry"):
            bank.retire(ref, by=CAROL)
    assert bank.get(hidden.entry_id).answer == "$1.2 billion"


def test_a_guarded_import_refuses_rows_one_by_one(bank, tmp_path):
    hidden = _finance_entry(bank)
    rows = [
        # mallory's pen-test row: finance ACL and a forged approver
        {
            "question": Q,
            "answer": "$9.9bn",
            "company": "Acme Corp",
            "period": "FY2023",
            "acl": ["finance"],
            "approved": True,
            "approved_by": "cfo",
        },
        # the same entry, re-shared as public: lands on the hidden entry
        {
            "question": Q,
            "answer": "$9.9bn",
            "company": "Acme Corp",
            "period": "FY2023",
            "acl": ["public"],
            "approved": True,
        },
        {
            "question": "What does EBITDA stand for?",
            "answer": "Earnings before ...",
            "approved_by": "cfo",
        },
        {
            "question": "What does EBIT stand for?",
            "answer": "Earnings before interest and tax",
            "approved": True,
            "added_by": "cfo",
        },
    ]
    path = tmp_path / "planted.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    with pytest.raises(AccessError, match="importing memory entries needs the curator role"):
        bank.import_file(path, by=MALLORY)
    report = bank.import_file(path, by=CAROL)
    statuses = [(r.line, r.status) for r in report.rows]
    assert statuses == [(1, "invalid"), (2, "invalid"), (3, "invalid"), (4, "added")]
    reasons = [r.reason for r in report.rows]
    assert "not in (finance)" in reasons[0]
    assert reasons[1] == HIDDEN_COLLISION and report.rows[1].entry_id is None
    assert "approver 'cfo'" in reasons[2]
    assert all("\n" not in r for r in reasons)
    ebit = bank.get(report.rows[3].entry_id)
    assert (ebit.acl, ebit.added_by, ebit.approved_by) == (["public"], "carol", "carol")
    # what finance users are served is unchanged
    kept = bank.get(hidden.entry_id, acl_groups=["finance"])
    assert (kept.answer, kept.approved_by, kept.acl) == ("$1.2 billion", "alice", ["finance"])
    hits = bank.search(Q, ["finance"])
    assert [h.entry.answer for h in hits] == ["$1.2 billion"]


def test_the_operator_path_trusts_the_file(bank, tmp_path):
    path = tmp_path / "restore.jsonl"
    row = {
        "question": Q,
        "answer": "$1.2bn",
        "acl": ["finance"],
        "approved": True,
        "approved_by": "cfo",
        "added_by": "ana",
    }
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    report = bank.import_file(path)  # by=None: an export restored by the operator's CLI
    entry = bank.get(report.rows[0].entry_id)
    assert (entry.approved_by, entry.added_by, entry.acl) == ("cfo", "ana", ["finance"])
