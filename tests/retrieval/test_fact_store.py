"""The fact store: atomic replace per filing, delete, ACL-enforced filtered queries."""

from __future__ import annotations

from datetime import date

from core.records import Fact
from retrieval.facts import FactStore


def _fact(n: int, doc: str = "a", **kw) -> Fact:
    base = dict(
        fact_id=f"{doc}-{n}",
        doc_id=doc,
        page_no=3,
        line_item="Net sales",
        concept="revenue",
        statement="income",
        period_type="duration",
        period_end=date(2019, 12, 31),
        months=12,
        fiscal_year=2019,
        fiscal_period="FY",
        value=1.0e9 + n,
        company="ACME CORP",
        form="10-K",
        acl=["public"],
    )
    base.update(kw)
    return Fact(**base)


def test_replace_query_delete(tmp_path):
    store = FactStore(tmp_path / "facts.sqlite")
    store.replace(
        "a", [_fact(1), _fact(2, concept="ppe_net", statement="balance", fiscal_year=2018)]
    )
    store.replace("b", [_fact(1, "b", company="Other Inc", acl=["analysts"])])
    assert store.count() == 3 and store.count("a") == 2
    got = store.query(acl_groups=["public"], companies=["acme"], concepts=["revenue"])
    assert [f.fact_id for f in got] == ["a-1"] and got[0] == _fact(1)
    assert [f.fact_id for f in store.query(acl_groups=["public"], fiscal_years=[2018])] == ["a-2"]
    assert store.query(acl_groups=["public"], statements=["balance"])[0].concept == "ppe_net"
    assert store.query(acl_groups=["public"], fiscal_periods=["Q2"]) == []
    assert store.query(acl_groups=["public"], doc_ids=["b"]) == []  # not readable by public
    assert [f.doc_id for f in store.query(acl_groups=["analysts"])] == ["b"]
    assert len(store.query(acl_groups=["public", "analysts"])) == 3
    assert store.query(acl_groups=[]) == []
    # a re-ingest replaces the filing's facts (an ACL change included), never duplicates
    store.replace("a", [_fact(1, acl=["analysts"])])
    assert store.count("a") == 1
    assert store.query(acl_groups=["public"]) == []
    assert {f.doc_id for f in store.query(acl_groups=["analysts"])} == {"a", "b"}
    store.delete("a")
    assert store.count() == 1 and store.count("a") == 0
    store.close()
    reopened = FactStore(tmp_path / "facts.sqlite")
    assert reopened.count() == 1
    reopened.close()


def test_replace_refuses_another_filings_facts(tmp_path):
    import pytest

    store = FactStore(tmp_path / "facts.sqlite")
    with pytest.raises(ValueError, match="another filing"):
        store.replace("a", [_fact(1, "b")])
    store.close()


def test_corpus_owns_the_store_and_deleting_a_filing_removes_its_facts(settings, open_corpus):
    from ui.views.library import delete_filing

    corpus = open_corpus(settings)
    assert (settings.data_dir / "facts.sqlite").exists()
    corpus.facts.replace("a", [_fact(1)])
    delete_filing(corpus, "a")
    assert corpus.facts.count() == 0
