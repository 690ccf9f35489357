"""RAG-ICL selection: first stage, threshold actually applied, MMR, rerankers, top n, short lists."""

from __future__ import annotations

import numpy as np
import pytest

from bioie_kedro.retrieval.bm25 import BM25Scorer
from bioie_kedro.retrieval.index import VectorIndex
from bioie_kedro.retrieval.selection import (
    Bm25Fusion,
    CrossEncoderReranker,
    Reranker,
    SelectionSettings,
    mmr_order,
    ranks_of,
    reciprocal_rank_fusion,
    select_examples,
)
from tests.retrieval.builders import unit

# query along x; pool at decreasing cosine 0.99, 0.9, 0.8, 0.6, 0.3
QUERY = unit([1.0, 0.0])
ANGLES = np.arccos([0.99, 0.9, 0.8, 0.6, 0.3])
POOL = unit(*[[np.cos(a), np.sin(a)] for a in ANGLES])
IDS = ["a", "b", "c", "d", "e"]
TEXTS = [f"text {i}" for i in IDS]


def select(settings, *, reranker=None, exclude=None, queries=QUERY, index=None):
    index = index or VectorIndex.build(POOL, IDS)
    return select_examples(
        index,
        queries,
        [f"q{i}" for i in range(len(queries))],
        ["query"] * len(queries),
        TEXTS,
        settings,
        reranker=reranker,
        exclude=exclude,
    )


def test_similarity_top_k_then_top_n_with_scores():
    (selection,) = select(SelectionSettings(k=3, n=2))
    assert [e.id for e in selection.examples] == ["a", "b"]
    assert [e.first_stage_rank for e in selection.examples] == [1, 2]
    assert selection.examples[0].scores["dense"] == pytest.approx(0.99, abs=1e-5)
    assert (selection.retrieved, selection.above_threshold) == (3, 3)
    out = selection.to_dict()
    assert out["examples"][1] == {
        "id": "b",
        "rank": 2,
        "first_stage_rank": 2,
        "scores": {"dense": pytest.approx(0.9, abs=1e-5)},
    }


def test_threshold_is_applied():
    (selection,) = select(
        SelectionSettings(k=5, n=5, search_type="threshold", score_threshold=0.79)
    )
    assert [e.id for e in selection.examples] == ["a", "b", "c"]
    assert all(e.scores["dense"] >= 0.79 for e in selection.examples)
    assert (selection.retrieved, selection.above_threshold) == (5, 3)
    # in every mode, not only "threshold"
    (similarity,) = select(SelectionSettings(k=5, n=5, score_threshold=0.85))
    assert [e.id for e in similarity.examples] == ["a", "b"]


def test_threshold_above_everything_gives_no_examples():
    (selection,) = select(SelectionSettings(k=5, n=3, score_threshold=0.999))
    assert selection.examples == [] and selection.to_dict()["examples"] == []


def test_fewer_candidates_than_n():
    (selection,) = select(SelectionSettings(k=30, n=10))  # pool of 5
    assert [e.id for e in selection.examples] == IDS
    (excluded,) = select(SelectionSettings(k=3, n=10), exclude=[{0, 1}])
    assert [e.id for e in excluded.examples] == ["c", "d", "e"]


def test_excluded_positions_are_never_selected_and_replaced():
    (selection,) = select(SelectionSettings(k=2, n=2), exclude=[{0}])
    assert [e.id for e in selection.examples] == ["b", "c"]


def test_settings_are_checked():
    with pytest.raises(ValueError, match="needs a score_threshold"):
        SelectionSettings(search_type="threshold")
    with pytest.raises(ValueError, match="at least 1"):
        SelectionSettings(n=0)
    assert SelectionSettings(k=5, search_type="mmr").fetch_k == 20


def test_mmr_picks_a_diverse_example_where_top_k_picks_near_duplicates():
    # three near-copies close to the query, one different direction almost as close
    pool = unit([1.0, 0.30, 0.0], [1.0, 0.31, 0.0], [1.0, 0.29, 0.01], [1.0, 0.0, 0.45])
    query = unit([1.0, 0.1, 0.1])
    index = VectorIndex.build(pool, ["dup1", "dup2", "dup3", "other"])
    texts = ["x"] * 4

    def run(settings):
        (selection,) = select_examples(index, query, ["q"], ["q"], texts, settings)
        return [e.id for e in selection.examples], selection

    dense = (query @ pool.T)[0]
    assert dense[3] < dense[:3].min()  # "other" is the least similar
    top_k, _ = run(SelectionSettings(k=2, n=2))
    assert set(top_k) <= {"dup1", "dup2", "dup3"}
    mmr, selection = run(SelectionSettings(k=2, n=2, search_type="mmr", mmr_lambda=0.5))
    assert mmr[1] == "other" and mmr[0] in {"dup1", "dup2", "dup3"}
    assert set(selection.examples[1].scores) == {"dense", "mmr"}
    # lambda 1 is plain similarity
    assert run(SelectionSettings(k=2, n=2, search_type="mmr", mmr_lambda=1.0))[0] == top_k


def test_mmr_order_by_hand():
    vectors = unit([1, 0], [1, 0], [0, 1])
    order, values = mmr_order(np.array([0.9, 0.9, 0.5]), vectors, 3, 0.5)
    assert order == [0, 2, 1]
    assert values == pytest.approx([0.45, 0.25, -0.05])


class ReverseReranker(Reranker):
    stage = "rerank"

    def rerank(self, query, candidates, pool_texts):
        return {"rerank": np.linspace(0.1, 0.9, len(candidates))}


def test_reranker_reorders_and_every_stage_score_is_kept():
    (selection,) = select(SelectionSettings(k=4, n=3), reranker=ReverseReranker())
    assert [e.id for e in selection.examples] == ["d", "c", "b"]
    assert [e.first_stage_rank for e in selection.examples] == [4, 3, 2]
    assert set(selection.examples[0].scores) == {"dense", "rerank"}
    (kept,) = select(SelectionSettings(k=4, n=3, rerank_threshold=0.5), reranker=ReverseReranker())
    assert [e.id for e in kept.examples] == ["d", "c"]


def test_rrf_by_hand():
    np.testing.assert_array_equal(ranks_of(np.array([0.1, 0.9, 0.9])), [3, 1, 2])
    fused = reciprocal_rank_fusion(np.array([1, 2]), np.array([2, 1]), rrf_k=60)
    np.testing.assert_allclose(fused, [1 / 61 + 1 / 62, 1 / 62 + 1 / 61])


def test_bm25_fusion_promotes_lexical_matches():
    texts = ["lithium toxicity in rats", "cisplatin nephrotoxicity", "weather report", "lithium"]
    bm25 = BM25Scorer(texts)
    fusion = Bm25Fusion(bm25, rrf_k=1)
    scores = fusion.rerank("cisplatin nephrotoxicity in children", [0, 1, 2], texts)
    assert scores["bm25"][1] > 0 and scores["bm25"][2] == 0
    # dense ranks 1, 2, 3; BM25 ranks 2, 1, 3: the fused order puts 0 and 1 level, 2 last
    np.testing.assert_allclose(scores["rrf"], [1 / 2 + 1 / 3, 1 / 3 + 1 / 2, 1 / 4 + 1 / 4])


def test_bm25_scores():
    bm25 = BM25Scorer(["lithium toxicity", "cisplatin", "the of and"])
    scores = bm25.scores("Lithium toxicity in children")
    assert scores.shape == (3,) and scores[0] > 0 and scores[1] == scores[2] == 0
    assert not bm25.scores("the of").any()  # stopwords only: nothing to match
    assert not bm25.scores("").any()


def test_cross_encoder_reranker_is_sigmoid_of_logit_on_truncated_pairs(tiny_bert):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    reranker = CrossEncoderReranker(str(tiny_bert), max_length=512, batch_size=2, device="cpu")
    long_text = " ".join(["nephrotoxicity"] * 1000)  # 1000+ sub-tokens: must be truncated
    texts = ["cisplatin nephrotoxicity", "weather report", long_text]
    scores = reranker.score_pairs("cisplatin kidney damage", texts)
    assert scores.shape == (3,) and ((scores > 0) & (scores < 1)).all()
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert).eval()
    batch = tokenizer(["cisplatin kidney damage"], texts[:1], return_tensors="pt")
    with torch.inference_mode():
        expected = torch.sigmoid(model(**batch).logits[0, 0]).item()
    assert scores[0] == pytest.approx(expected, abs=1e-5)
    (selection,) = select_examples(
        VectorIndex.build(unit([1, 0], [1, 0.1], [1, 0.2]), ["a", "b", "c"]),
        unit([1, 0]),
        ["q"],
        ["cisplatin kidney damage"],
        texts,
        SelectionSettings(k=3, n=2),
        reranker=reranker,
    )
    assert len(selection.examples) == 2
    assert selection.examples[0].scores["rerank"] >= selection.examples[1].scores["rerank"]
