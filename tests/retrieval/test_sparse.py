"""retrieval.sparse: filing-aware tokens, stable term ids, BM25 document/query weights."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval.sparse import Bm25Encoder, SparseVec, term_id

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def enc() -> Bm25Encoder:
    return Bm25Encoder()


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Revenues were $66,608 million", ["revenu", "66608", "million"]),
        ("66608 and 66,608", ["66608", "66608"]),
        ("margin 3.50% vs 3.5", ["margin", "3.5", "vs", "3.5"]),
        ("fiscal 2022.", ["fiscal", "2022"]),
        ("Form 10-K and 8-K; COVID-19", ["form", "10-k", "8-k", "covid-19"]),
        ("year-over-year growth", ["year", "year", "growth"]),
        ("The Company's R&D and S&P 500", ["compani", "r&d", "s&p", "500"]),
        ("U.S. operations of Inc.", ["u.s", "oper", "inc"]),
        ("net,income (1,234)", ["net", "incom", "1234"]),
        ("FY2021 Q3 EBITDA", ["fy2021", "q3", "ebitda"]),
        ("don\u2019t \ufb01nancial", ["dont", "financi"]),  # curly apostrophe, fi ligature
        ("the of and to a", []),
    ],
)
def test_tokenize(enc: Bm25Encoder, text: str, tokens: list[str]) -> None:
    assert enc.tokenize(text) == tokens


def test_stemming_merges_inflections(enc: Bm25Encoder) -> None:
    q = enc.encode_query("revenue")
    for form in ("revenues", "Revenue", "REVENUES"):
        assert enc.encode_query(form) == q
    assert enc.encode_query("10-K") != enc.encode_query("8-K")
    assert set(enc.encode_query("10-K").indices).isdisjoint(enc.encode_query("8-K").indices)


def test_term_ids_are_stable_across_processes(enc: Bm25Encoder) -> None:
    # Pinned values: changing them silently would orphan every bm25 vector already indexed.
    assert term_id("revenu") == 849703162
    assert term_id("10-k") == 494208743
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r});"
        "from retrieval.sparse import Bm25Encoder;"
        "v = Bm25Encoder().encode_document('Revenues of $66,608 million in the 2022 10-K');"
        "print(v.indices, v.values)"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout
        for seed in ("1", "2")
    }
    v = enc.encode_document("Revenues of $66,608 million in the 2022 10-K")
    assert outs == {f"{v.indices} {v.values}\n"}


def test_query_weights_are_one_per_distinct_term(enc: Bm25Encoder) -> None:
    q = enc.encode_query("revenue revenues Revenue 2022")
    assert q.values == [1.0, 1.0]
    assert q.indices == sorted({term_id("revenu"), term_id("2022")})
    assert enc.encode_query("the and of") == SparseVec()


def test_document_weights_follow_bm25(enc: Bm25Encoder) -> None:
    k1, b, avg = enc.k1, enc.b, enc.avg_len
    text = "revenue revenue revenue growth"
    weights = enc.encode_document(text).as_dict()
    dl = 4
    norm = k1 * (1 - b + b * dl / avg)
    assert weights[term_id("revenu")] == pytest.approx(3 * (k1 + 1) / (3 + norm))
    assert weights[term_id("growth")] == pytest.approx(1 * (k1 + 1) / (1 + norm))


def test_term_frequency_saturates_and_length_normalises(enc: Bm25Encoder) -> None:
    rid = term_id("revenu")

    def w(text: str) -> float:
        return enc.encode_document(text).as_dict()[rid]

    w1, w2, w10, w50 = (w(" ".join(["revenue"] * n)) for n in (1, 2, 10, 50))
    assert w1 < w2 < w10 < w50 < enc.k1 + 1  # grows, bounded by k1 + 1
    assert (w2 - w1) > (w10 - w2) / 8  # diminishing returns per extra occurrence
    short = w("revenue growth")
    long = w("revenue " + " ".join(f"filler{i}" for i in range(300)))
    assert short > long  # the same single mention counts less in a longer chunk


def test_parameters_change_weights() -> None:
    text = "revenue " * 3 + "growth " * 200
    no_norm = Bm25Encoder(b=0.0).encode_document(text).as_dict()[term_id("revenu")]
    assert no_norm == pytest.approx(3 * 2.2 / (3 + 1.2))  # b = 0: length ignored
    binary = Bm25Encoder(k1=0.0).encode_document(text).as_dict()[term_id("revenu")]
    assert binary == pytest.approx(1.0)  # k1 = 0: presence only
    with pytest.raises(ValueError, match="avg_len"):
        Bm25Encoder(avg_len=0)


def test_bm25_score_with_idf_ranks_like_bm25(enc: Bm25Encoder) -> None:
    """query . doc with Qdrant's IDF reproduces BM25 ordering on a toy corpus."""
    docs = [
        "Acme revenue grew in fiscal 2022",
        "Acme revenue revenue revenue, total revenue",
        "Globex goodwill impairment in 2022",
    ]
    vecs = [enc.encode_document(d).as_dict() for d in docs]
    n = len(docs)

    def idf(t: int) -> float:  # Qdrant's IDF modifier
        df = sum(t in v for v in vecs)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def score(query: str) -> list[float]:
        q = enc.encode_query(query)
        return [sum(idf(t) * v.get(t, 0.0) for t in q.indices) for v in vecs]

    s = score("revenue")
    assert s[1] > s[0] > 0 and s[2] == 0
    s = score("goodwill 2022")
    assert s[2] > s[0] > 0  # the rare term outweighs the shared year


def test_sparse_vec_is_well_formed(enc: Bm25Encoder) -> None:
    v = enc.encode_document("Acme revenue 2022 Acme")
    assert v.indices == sorted(set(v.indices))
    assert all(0 <= i < 2**32 for i in v.indices)
    assert all(x > 0 for x in v.values)
    with pytest.raises(ValueError, match="one value per index"):
        SparseVec(indices=[1, 2], values=[1.0])
